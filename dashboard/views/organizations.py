"""Organizations: the list with the create form, one organization, its deletion."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from dashboard.forms import OrganizationCreateForm
from dashboard.models import Level
from dashboard.selectors.organizations import organization_list_for_user
from dashboard.selectors.repositories import repository_list_for_user
from dashboard.services.organizations import (
    organization_create,
    organization_delete,
    organization_quota,
)
from dashboard.views.common import (
    HtmxHttpRequest,
    get_organization_for_user,
    navigate,
    paginate,
    partial,
)
from dashboard.views.permissions import organization_section_context

PER_PAGE = 25


@login_required
@require_http_methods(["GET", "POST"])
def organization_list(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the organizations the user can see. POST: create one (the form is on the page)."""
    form = OrganizationCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            organization = organization_create(name=form.cleaned_data["name"], actor=request.user)
            messages.success(request, f"Organization {organization.name} created.")
            if not request.htmx:
                return redirect("dashboard:organization-detail", org=organization.name)
            form = OrganizationCreateForm()
        else:
            status = 422
    used, quota = organization_quota(user=request.user)
    context = {
        "form": form,
        "quota_used": used,
        "quota_limit": quota,
        "page": paginate(
            organization_list_for_user(user=request.user), PER_PAGE, request.GET.get("page")
        ),
    }
    return render(
        request, partial(request, "dashboard/organizations.html", "section"), context, status=status
    )


@login_required
def organization_detail(request: HtmxHttpRequest, org: str) -> HttpResponse:
    """One organization: its repositories the user can see, and who holds grants on it."""
    organization, level = get_organization_for_user(request, org)
    repositories = repository_list_for_user(
        user=request.user, organization=organization, sort="name"
    )
    page = paginate(repositories, PER_PAGE, request.GET.get("page"))
    context = {
        "organization": organization,
        "level": level,
        "page": page,
        # Members are for those who hold a grant on the organization itself.
        "members": bool(level),
        "can_delete": level >= Level.MANAGE and page.paginator.count == 0,
    }
    if level and not request.htmx:
        context.update(organization_section_context(request, organization, level))
    return render(
        request, partial(request, "dashboard/organization_detail.html", "repositories"), context
    )


@login_required
@require_http_methods(["GET", "POST"])
def organization_delete_view(request: HtmxHttpRequest, org: str) -> HttpResponse:
    """GET: confirm. POST: delete the (empty) organization and go back to the list."""
    organization, _level = get_organization_for_user(request, org, need=Level.MANAGE)
    if request.method == "POST":
        organization_delete(organization=organization, actor=request.user)
        messages.success(request, f"Organization {organization.name} deleted.")
        return navigate(request, reverse("dashboard:organization-list"))
    context = {
        "title": f"Delete organization {organization.name}?",
        "items": [],
        "explanation": "The organization is empty. Its permission grants are removed with it.",
        "action": reverse("dashboard:organization-delete", args=[organization.name]),
        "confirm_label": "Delete organization",
        "cancel_url": reverse("dashboard:organization-detail", args=[organization.name]),
    }
    return render(request, partial(request, "dashboard/confirm.html", "dialog"), context)
