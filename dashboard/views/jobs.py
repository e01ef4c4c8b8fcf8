"""Jobs: the list (filtered by kind, status and repository), a repository's jobs tab, one job's
page with a partial that htmx polls until the job ends, and cancelling."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from dashboard.models import Job
from dashboard.services.jobs import job_can_cancel, job_cancel, jobs_visible_to
from dashboard.views.common import (
    HtmxHttpRequest,
    get_repository_for_user,
    paginate,
    partial,
    repository_url,
)

JOBS_PER_PAGE = 25


def _get_job_for_user(request: HtmxHttpRequest, pk: int) -> Job:
    """The job, for whoever may see it (jobs_visible_to); 404 for everyone else."""
    job = jobs_visible_to(user=request.user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such job.")
    return job


def _filtered(request: HtmxHttpRequest, jobs: QuerySet[Job]) -> tuple[QuerySet[Job], QueryDict]:
    """`jobs` narrowed by ?kind=, ?status= and ?repository=org/name, and the params kept."""
    params = QueryDict(mutable=True)
    kind, status = request.GET.get("kind", ""), request.GET.get("status", "")
    target = request.GET.get("repository", "").strip()
    if kind in Job.Kind.values:
        jobs, params["kind"] = jobs.filter(kind=kind), kind
    if status in Job.Status.values:
        jobs, params["status"] = jobs.filter(status=status), status
    if target:
        jobs, params["repository"] = jobs.filter(target__icontains=target), target
    return jobs, params


@login_required
def job_list(request: HtmxHttpRequest) -> HttpResponse:
    """Every job the user may see, newest first."""
    jobs, params = _filtered(request, jobs_visible_to(user=request.user))
    context = {
        "page": paginate(jobs, JOBS_PER_PAGE, request.GET.get("page")),
        "params": params,
        "kinds": Job.Kind.choices,
        "statuses": Job.Status.choices,
    }
    return render(request, partial(request, "dashboard/jobs.html", "table"), context)


@login_required
def repository_jobs(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """A repository's jobs tab (Read holders)."""
    repository, level = get_repository_for_user(request, org, repo)
    jobs, params = _filtered(
        request, jobs_visible_to(user=request.user).filter(repository=repository)
    )
    context = {
        "repository": repository,
        "repository_url": repository_url(repository),
        "tab": "jobs",
        "level": level,
        "page": paginate(jobs, JOBS_PER_PAGE, request.GET.get("page")),
        "params": params,
        "kinds": Job.Kind.choices,
        "statuses": Job.Status.choices,
    }
    return render(request, partial(request, "dashboard/repository_jobs.html", "table"), context)


@login_required
def job_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    job = _get_job_for_user(request, pk)
    context = {"job": job, "can_cancel": job_can_cancel(user=request.user, job=job)}
    response = render(request, partial(request, "dashboard/job_detail.html", "job"), context)
    if request.htmx and job.is_finished:
        # 286 tells htmx to stop polling; the body is the final state.
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        return stop
    return response


@login_required
@require_POST
def job_cancel_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Cancel a job (its starter, Manage holders of its repository, superusers)."""
    job = job_cancel(job=_get_job_for_user(request, pk), actor=request.user)
    messages.info(
        request,
        f"Job #{job.pk} cancelled."
        if job.is_finished
        else f"Job #{job.pk} stops at its next step.",
    )
    if request.htmx:
        context = {"job": job, "can_cancel": job_can_cancel(user=request.user, job=job)}
        return render(request, "dashboard/job_detail.html#job", context)
    return redirect("dashboard:job-detail", pk=job.pk)
