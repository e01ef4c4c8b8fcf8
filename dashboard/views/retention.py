"""The repository's Retention tab: the policy, its preview, its runs and SWR's retention logs.

Read holders see the policy, the last run and the logs; Manage holders preview a rule (a dry run
listing what goes, what stays and why), save it (which runs it at once), run it again or delete
it. The services decide and refuse; the ServiceError middleware renders refusals.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from dashboard.forms import RetentionPolicyForm
from dashboard.models import Level, Repository, RetentionPolicy
from dashboard.services.errors import ServiceError
from dashboard.services.jobs import job_can_cancel
from dashboard.services.retention import (
    RETENTION_NOT_FOUND,
    RetentionPlan,
    retention_logs_for_repository,
    retention_policy_create,
    retention_policy_delete,
    retention_policy_get,
    retention_policy_update,
    retention_preview,
    retention_rule_of,
    retention_run_start,
)
from dashboard.views.common import (
    HtmxHttpRequest,
    get_repository_for_user,
    navigate,
    paginate,
    partial,
    repository_url,
)

PAGE = "dashboard/repository_retention.html"
LOGS_PER_PAGE = 25
#: Rows of each list a preview shows; the counts always cover every tag.
PREVIEW_ROWS = 500


def _context(
    request: HtmxHttpRequest,
    repository: Repository,
    level: int,
    policy: RetentionPolicy | None,
    **extra: Any,
) -> dict[str, Any]:
    url = repository_url(repository)
    job = policy.last_job if policy is not None else None
    context = {
        "repository": repository,
        "repository_url": url,
        "retention_url": f"{url}-/retention/",
        "tab": "retention",
        "level": level,
        "can_manage": level >= Level.MANAGE,
        "policy": policy,
        "rule": retention_rule_of(policy) if policy is not None else None,
        "job": job,
        "can_cancel": job is not None and job_can_cancel(user=request.user, job=job),
        "logs": paginate(
            retention_logs_for_repository(repository=repository),
            LOGS_PER_PAGE,
            request.GET.get("page"),
        ),
        "preview_rows": PREVIEW_ROWS,
    }
    if "form" not in extra and level >= Level.MANAGE:
        extra["form"] = (
            RetentionPolicyForm.for_policy(policy.tag_selectors, policy.template, policy.value)
            if policy is not None
            else RetentionPolicyForm(initial={"template": "tag_rule", "value": "10"})
        )
    return {**context, **extra}


@login_required
def repository_retention(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """The Retention tab (Read holders); htmx asks for the logs partial when paging."""
    repository, level = get_repository_for_user(request, org, repo)
    policy = retention_policy_get(repository=repository)
    context = _context(request, repository, level, policy)
    return render(request, partial(request, PAGE, "logs"), context)


@login_required
@require_POST
def repository_retention_preview(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """A dry run of the rule in the form: the preview partial (htmx) or the page with it."""
    repository, level = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    form = RetentionPolicyForm(request.POST)
    policy = retention_policy_get(repository=repository)
    rule = form.rule()
    if policy is not None:
        rule["template"] = policy.template  # the type of a saved policy cannot change
    plan: RetentionPlan = retention_preview(repository=repository, actor=request.user, **rule)
    context = _context(request, repository, level, policy, form=form, plan=plan)
    return render(request, f"{PAGE}#preview" if request.htmx else PAGE, context)


@login_required
@require_POST
def repository_retention_save(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """Create or change the policy; either way it runs at once."""
    repository, _ = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    rule = RetentionPolicyForm(request.POST).rule()
    policy = retention_policy_get(repository=repository)
    if policy is None:
        policy, job = retention_policy_create(repository=repository, actor=request.user, **rule)
        messages.success(request, f"Retention policy saved; run #{job.pk} applies it now.")
    else:
        rule.pop("template")
        policy, job = retention_policy_update(policy=policy, actor=request.user, **rule)
        messages.success(request, f"Retention policy changed; run #{job.pk} applies it now.")
    return navigate(request, f"{repository_url(repository)}-/retention/")


def _policy(repository: Repository) -> RetentionPolicy:
    policy = retention_policy_get(repository=repository)
    if policy is None:
        raise ServiceError(RETENTION_NOT_FOUND, "This repository has no retention policy.", 404)
    return policy


@login_required
@require_POST
def repository_retention_run(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """Run the policy now."""
    repository, _ = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    job = retention_run_start(policy=_policy(repository), actor=request.user, message="Run now.")
    messages.success(request, f"Retention run #{job.pk} started.")
    return navigate(request, f"{repository_url(repository)}-/retention/")


@login_required
@require_POST
def repository_retention_delete(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """Delete the policy (its logs stay)."""
    repository, _ = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    retention_policy_delete(policy=_policy(repository), actor=request.user)
    messages.success(request, "Retention policy deleted; no more tags will be removed by it.")
    return navigate(request, f"{repository_url(repository)}-/retention/")
