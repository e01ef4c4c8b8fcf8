"""The repository's Sync tab: rules (targets), a manual sync whose batch card follows the copy
live, and the sync records (SWR's sync jobs).

Read holders see the rules, running batches and records; Manage holders also get the forms. The
batch card polls itself every second and stops (286) when its job ends, bringing the records
table up to date at the same time. The services decide and refuse.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling, reswap

from dashboard.forms import SyncImagesForm, SyncTargetForm
from dashboard.models import Job, Level, Repository, SyncJob, SyncRule
from dashboard.selectors.sync import (
    remote_registry_list,
    sync_batch_with_records,
    sync_batches_active,
    sync_recent_tags,
    sync_record_list,
    sync_rule_list,
)
from dashboard.services.jobs import job_can_cancel
from dashboard.services.sync import (
    remote_registry_get,
    sync_images,
    sync_rule_create,
    sync_rule_delete,
)
from dashboard.views.common import (
    HtmxHttpRequest,
    get_repository_for_user,
    paginate,
    partial,
    repository_url,
)

PAGE = "dashboard/repository_sync.html"
BATCH = "dashboard/partials/_sync_batch.html"
RECORDS_PER_PAGE = 25


def _sync_url(repository: Repository) -> str:
    return reverse(
        "dashboard:repository-sync", args=[repository.organization.name, repository.name]
    )


def _records_context(request: HtmxHttpRequest, repository: Repository) -> dict[str, Any]:
    status = request.GET.get("status", "")
    params = QueryDict(mutable=True)
    if status in SyncJob.Status.values:
        params["status"] = status
    return {
        "records": paginate(
            sync_record_list(repository=repository, status=status),
            RECORDS_PER_PAGE,
            request.GET.get("page"),
        ),
        "record_status": status,
        "record_statuses": SyncJob.Status.choices,
        "records_params": params,
    }


def _context(request: HtmxHttpRequest, repository: Repository, level: int) -> dict[str, Any]:
    can_manage = level >= Level.MANAGE
    context: dict[str, Any] = {
        "repository": repository,
        "repository_url": repository_url(repository),
        "sync_url": _sync_url(repository),
        "tab": "sync",
        "level": level,
        "can_manage": can_manage,
        "rules": sync_rule_list(repository=repository),
        "batches": sync_batches_active(repository=repository),
        **_records_context(request, repository),
    }
    if can_manage:
        context["remotes"] = list(remote_registry_list().only("name", "url"))
        context["recent_tags"] = sync_recent_tags(repository=repository)
    return context


@login_required
def repository_sync(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """The Sync tab (Read holders); for htmx (pagination, status filter) the records table."""
    repository, level = get_repository_for_user(request, org, repo, need=Level.READ)
    context = _context(request, repository, level)
    return render(request, partial(request, PAGE, "records"), context)


def _rules_answer(request: HtmxHttpRequest, repository: Repository, level: int) -> HttpResponse:
    if not request.htmx:
        return redirect(_sync_url(repository))
    return render(request, f"{PAGE}#rules", _context(request, repository, level))


@login_required
@require_POST
def sync_rule_create_view(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """Add a sync target (Manage holders): SWR's `POST .../sync_repo`."""
    repository, level = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    values = SyncTargetForm(request.POST).values()
    remote = remote_registry_get(name=str(values["remote"]))
    rule = sync_rule_create(
        repository=repository,
        remote=remote,
        remote_namespace=str(values["remote_namespace"]),
        sync_auto=bool(values["sync_auto"]),
        override=bool(values["override"]),
        actor=request.user,
    )
    messages.success(
        request,
        f"Sync rule to {remote.name}/{rule.remote_namespace} added"
        + (": new pushes are copied automatically." if rule.sync_auto else "."),
    )
    return _rules_answer(request, repository, level)


@login_required
@require_POST
def sync_rule_delete_view(request: HtmxHttpRequest, org: str, repo: str, pk: int) -> HttpResponse:
    """Remove one sync target (Manage holders): SWR's `DELETE .../sync_repo`."""
    repository, level = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    rule = SyncRule.objects.select_related("remote").filter(repository=repository, pk=pk).first()
    if rule is None:
        raise Http404("No such sync rule.")
    sync_rule_delete(
        repository=repository,
        remote=rule.remote,
        remote_namespace=rule.remote_namespace,
        actor=request.user,
    )
    messages.success(request, f"Sync rule to {rule.remote.name}/{rule.remote_namespace} removed.")
    return _rules_answer(request, repository, level)


@login_required
@require_POST
def sync_images_view(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """Copy chosen tags now (Manage holders): SWR's `sync_images`. Answers the batch card,
    which then follows the copy; tags that could not start are named in a warning."""
    repository, _ = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    form = SyncImagesForm(request.POST)
    values, tags = form.values(), form.tag_list()
    remote = remote_registry_get(name=str(values["remote"]))
    started = sync_images(
        repository=repository,
        tags=tags,
        remote=remote,
        remote_namespace=str(values["remote_namespace"]),
        override=bool(values["override"]),
        actor=request.user,
    )
    if started.failed:
        messages.warning(
            request, "Not started, no such tag: " + ", ".join(started.failed[:20]) + "."
        )
    if started.job is not None:
        messages.success(
            request,
            f"Copying {len(tags) - len(started.failed)} tag(s) to "
            f"{remote.name}/{values['remote_namespace']} (job #{started.job.pk}).",
        )
    if not request.htmx:
        return redirect(_sync_url(repository))
    if started.job is None:
        return reswap(HttpResponse(""), "none")
    return _batch_answer(request, repository, started.job)


def _batch_answer(request: HtmxHttpRequest, repository: Repository, job: Job) -> HttpResponse:
    context = {
        "repository": repository,
        "sync_url": _sync_url(repository),
        "batch": sync_batch_with_records(job=job),
        "can_cancel": job_can_cancel(user=request.user, job=job),
    }
    return render(request, BATCH, context)


@login_required
def sync_batch(request: HtmxHttpRequest, org: str, repo: str, pk: int) -> HttpResponse:
    """One sync job's card, polled while it runs (Read holders). When the job has ended the
    answer is 286 (htmx stops polling) and also refreshes the records table (out of band)."""
    repository, level = get_repository_for_user(request, org, repo, need=Level.READ)
    job = Job.objects.filter(pk=pk, kind=Job.Kind.SYNC, repository=repository).first()
    if job is None:
        raise Http404("No such sync job.")
    response = _batch_answer(request, repository, job)
    if not (request.htmx and job.is_finished):
        return response
    records = render_to_string(
        f"{PAGE}#records",
        {**_context(request, repository, level), "oob": True},
        request=request,
    )
    stop = HttpResponseStopPolling(response.content + records.encode())
    stop["Content-Type"] = response["Content-Type"]
    return stop
