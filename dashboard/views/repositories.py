"""Images: the list, one repository with its tags, editing its attributes, deleting it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from dashboard.forms import RepositoryEditForm, RepositoryFilterForm, TagFilterForm
from dashboard.models import Level, Repository
from dashboard.selectors.organizations import organization_list_for_user
from dashboard.selectors.repositories import SHARED_VIEWS, repository_list_for_user
from dashboard.selectors.tags import tag_page
from dashboard.services import reconcile, tags
from dashboard.services.repositories import repository_update
from dashboard.services.sharing import shared_by_user, shared_with_user
from dashboard.views.common import (
    HtmxHttpRequest,
    get_repository_for_user,
    navigate,
    paginate,
    partial,
    repository_url,
)

REPOSITORIES_PER_PAGE = 25
TAGS_PER_PAGE = 25


@login_required
def repository_list(request: HtmxHttpRequest) -> HttpResponse:
    """Every repository the user can see, filtered by name, organization, category, type.

    `?shared=with-me` and `?shared=by-me` list shares instead, valid and expired (SWR's
    "Images From Others" and "My shared images").
    """
    shared = request.GET.get("shared", "")
    if shared in SHARED_VIEWS:
        rows = (
            shared_with_user(user=request.user)
            if shared == "with-me"
            else shared_by_user(user=request.user)
        )
        return render(
            request, "dashboard/repositories.html", {"shared": shared, "shared_rows": rows}
        )
    filters = RepositoryFilterForm(request.GET)
    repositories = repository_list_for_user(user=request.user, **filters.filters())
    context = {
        "filters": filters,
        "page": paginate(repositories, REPOSITORIES_PER_PAGE, request.GET.get("page")),
        "organizations": organization_list_for_user(user=request.user).values_list(
            "name", flat=True
        ),
    }
    return render(request, partial(request, "dashboard/repositories.html", "table"), context)


@login_required
@require_POST
def reconcile_start_view(request: HtmxHttpRequest) -> HttpResponse:
    """Start a reconcile crawl now (administrators); the job reports what it changed."""
    job = reconcile.reconcile_start(actor=request.user)
    messages.info(request, f"Reconcile started (job #{job.pk}); the index updates as it runs.")
    if request.htmx:
        # The job's card, which polls itself until the crawl reports what it changed.
        return render(request, "dashboard/job_detail.html#job", {"job": job})
    return redirect("dashboard:job-detail", pk=job.pk)


def tags_context(request: HtmxHttpRequest, repository: Repository, level: int) -> dict[str, object]:
    """What the repository page and its tags partial need: the page of tags and the filters.

    Filters come from the query string, or from the form of a POST that changed the tags.
    """
    data = request.POST if request.method == "POST" else request.GET
    filters = TagFilterForm(data)
    params = QueryDict(mutable=True)
    params.update({key: data[key] for key in ("q", "sort") if data.get(key)})
    return {
        # Rows build their links from this prefix: reversing per row dominates the page's time.
        "repository_url": repository_url(repository),
        "pull_prefix": f"docker pull {settings.REGISTRY_HOST}/{repository.full_name}:",
        "tag_params": params,
        "repository": repository,
        "level": level,
        "can_write": level >= Level.WRITE,
        "can_manage": level >= Level.MANAGE,
        "tag_filters": filters,
        "tags_page": tag_page(
            repository=repository,
            number=data.get("page"),
            per_page=TAGS_PER_PAGE,
            **filters.filters(),
        ),
    }


@login_required
def repository_detail(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """One repository: pull address, attributes, counters, and its tags (sorted, filtered)."""
    repository, level = get_repository_for_user(request, org, repo)
    context = tags_context(request, repository, level)
    return render(request, partial(request, "dashboard/repository_detail.html", "tags"), context)


@login_required
@require_http_methods(["GET", "POST"])
def repository_edit(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """GET: the attributes form. POST: save type, category and description (Write)."""
    repository, level = get_repository_for_user(request, org, repo, need=Level.WRITE)
    initial = {
        "is_public": "true" if repository.is_public else "false",
        "category": repository.category,
        "description": repository.description,
    }
    form = RepositoryEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            repository_update(repository=repository, actor=request.user, **form.cleaned_data)
            messages.success(request, f"Saved the attributes of {repository.full_name}.")
            if not request.htmx:
                return redirect(repository_url(repository))
            context = {"repository": repository, "level": level, "oob": False}
            return render(request, "dashboard/repository_detail.html#summary", context)
        status = 422
    context = {"repository": repository, "form": form}
    response = render(
        request, partial(request, "dashboard/repository_edit.html", "form"), context, status=status
    )
    if status == 422 and request.htmx:
        # The form was aimed at the summary; its errors belong back in the dialog.
        retarget(response, "#berth-modal-content")
        reswap(response, "innerHTML")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def repository_delete_view(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """GET: confirm, naming how many tags go. POST: delete all its images (Manage)."""
    repository, _level = get_repository_for_user(request, org, repo, need=Level.MANAGE)
    if request.method == "POST":
        tags.repository_delete(repository=repository, actor=request.user)
        messages.success(request, f"Repository {repository.full_name} deleted.")
        return navigate(
            request, reverse("dashboard:organization-detail", args=[repository.organization.name])
        )
    context = {
        "title": f"Delete repository {repository.full_name}?",
        "explanation": (
            f"All {repository.tag_count} tags and their images are deleted from the registry. "
            "This cannot be undone."
        ),
        "items": [],
        "action": reverse("dashboard:repository-delete", args=[org, repo]),
        "confirm_label": "Delete repository",
        "cancel_url": repository_url(repository),
    }
    return render(request, partial(request, "dashboard/confirm.html", "dialog"), context)
