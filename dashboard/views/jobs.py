"""One job's status: a page, and a partial that htmx polls until the job ends."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django_htmx.http import HttpResponseStopPolling

from dashboard.models import Job
from dashboard.views.common import HtmxHttpRequest, partial


def _get_job_for_user(request: HtmxHttpRequest, pk: int) -> Job:
    """The job, for superusers and for the user who started it; 404 for everyone else."""
    job = Job.objects.select_related("created_by").filter(pk=pk).first()
    user = request.user
    if job is None or not (user.is_superuser or job.created_by_id == user.pk):
        raise Http404("No such job.")
    return job


@login_required
def job_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    job = _get_job_for_user(request, pk)
    response = render(request, partial(request, "dashboard/job_detail.html", "job"), {"job": job})
    if request.htmx and job.is_finished:
        # 286 tells htmx to stop polling; the body is the final state.
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        return stop
    return response
