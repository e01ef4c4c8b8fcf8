"""The permission sections of the organization and repository pages: list, grant, change, revoke.

Each section answers GET with itself (a fragment for htmx, a small page otherwise) and each form
POST with the section again for htmx (a toast says what changed) or a redirect back without
JavaScript. Refusals come from the services; the middleware shows them in the section's error box.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.forms import PermissionGrantForm, PermissionLevelForm
from dashboard.models import (
    Level,
    Organization,
    OrganizationPermission,
    Repository,
    RepositoryPermission,
)
from dashboard.selectors.permissions import (
    grants_for_organization,
    grants_for_repository,
    principal_choices,
)
from dashboard.services.errors import INVALID_PARAMETERS, INVALID_USERNAME, ServiceError
from dashboard.services.permissions import (
    ORG_PERMISSION_NOT_FOUND,
    PERMISSION_NOT_FOUND,
    organization_grant,
    organization_grant_update,
    organization_revoke,
    repository_can_grant,
    repository_grant,
    repository_grant_update,
    repository_revoke,
)
from dashboard.views.common import (
    HtmxHttpRequest,
    get_organization_for_user,
    get_repository_for_user,
    repository_url,
)

SECTION = "dashboard/partials/_permissions.html"
PAGE = "dashboard/permissions.html"


def resolve_principal(value: str) -> tuple[Any, Group | None]:
    """The user or team a picker value (`user:<name>` or `team:<name>`) names.

    Raises ServiceError 4001067 (400) for an unknown user, 4000014 (400) otherwise.
    """
    kind, _sep, name = value.partition(":")
    if kind == "user":
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise ServiceError(INVALID_USERNAME, f"There is no user {name!r}.", 400)
        return user, None
    if kind == "team":
        team = Group.objects.filter(name=name).first()
        if team is None:
            raise ServiceError(INVALID_PARAMETERS, f"There is no team {name!r}.", 400)
        return None, team
    raise ServiceError(INVALID_PARAMETERS, "Choose a user or a team.", 400)


def _posted_level(form: PermissionGrantForm | PermissionLevelForm) -> int:
    # Anything but a number reaches the service as 0, which names SWR's invalid-level code.
    form.is_valid()
    return int(form.cleaned_data.get("level") or 0)


def _grants_and_choices(grants: list[Any], can_grant: bool) -> dict[str, Any]:
    # The picker leaves out who already holds a grant here (they are changed in their row).
    taken = {f"user:{g.user.get_username()}" if g.user else f"team:{g.team.name}" for g in grants}
    choices = [p for p in principal_choices() if p.value not in taken] if can_grant else []
    return {"perm_grants": grants, "perm_can_grant": can_grant, "perm_principals": choices}


def organization_section_context(
    request: HtmxHttpRequest, organization: Organization, level: int
) -> dict[str, Any]:
    """What `_permissions.html` needs on an organization page."""
    can_grant = level >= Level.MANAGE
    return {
        "perm_scope": "organization",
        "perm_url": reverse("dashboard:organization-permissions", args=[organization.name]),
        "perm_back": reverse("dashboard:organization-detail", args=[organization.name]),
        "perm_title": f"Permissions on {organization.name}",
        **_grants_and_choices(list(grants_for_organization(organization=organization)), can_grant),
        "perm_levels": _LEVELS,
    }


def repository_section_context(request: HtmxHttpRequest, repository: Repository) -> dict[str, Any]:
    """What `_permissions.html` needs on a repository page."""
    can_grant = repository_can_grant(repository=repository, user=request.user)
    url = repository_url(repository)
    return {
        "perm_scope": "repository",
        "perm_url": f"{url}-/permissions/",
        "perm_back": url,
        "perm_title": f"Permissions on {repository.full_name}",
        **_grants_and_choices(list(grants_for_repository(repository=repository)), can_grant),
        "perm_levels": _LEVELS,
    }


_LEVELS = [(Level.READ.value, "Read"), (Level.WRITE.value, "Write"), (Level.MANAGE.value, "Manage")]


def _answer(
    request: HtmxHttpRequest, context: dict[str, Any], message: str | None = None
) -> HttpResponse:
    if message:
        messages.success(request, message)
    if request.method == "POST" and not request.htmx:
        return redirect(context["perm_back"])
    template = SECTION if request.htmx else PAGE
    return render(request, template, context)


# -- organizations ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def organization_permissions(request: HtmxHttpRequest, org: str) -> HttpResponse:
    """GET: the organization's grants. POST: grant a user or team a level (Manage holders)."""
    organization, level = get_organization_for_user(request, org, need=Level.READ)
    message = None
    if request.method == "POST":
        form = PermissionGrantForm(request.POST)
        user, team = resolve_principal(request.POST.get("principal", ""))
        grant = organization_grant(
            organization=organization,
            actor=request.user,
            user=user,
            team=team,
            level=_posted_level(form),
        )
        message = f"{grant.user or grant.team} now has {Level(grant.level).label}."
    return _answer(request, organization_section_context(request, organization, level), message)


def _org_grant(organization: Organization, pk: int) -> OrganizationPermission:
    grant = (
        OrganizationPermission.objects.select_related("user", "team")
        .filter(organization=organization, pk=pk)
        .first()
    )
    if grant is None:
        raise ServiceError(ORG_PERMISSION_NOT_FOUND, "That permission no longer exists.", 404)
    return grant


@login_required
@require_POST
def organization_permission_update(request: HtmxHttpRequest, org: str, pk: int) -> HttpResponse:
    """Change one grant's level."""
    organization, level = get_organization_for_user(request, org, need=Level.READ)
    grant = _org_grant(organization, pk)
    grant = organization_grant_update(
        organization=organization,
        actor=request.user,
        user=grant.user,
        team=grant.team,
        level=_posted_level(PermissionLevelForm(request.POST)),
    )
    return _answer(
        request,
        organization_section_context(request, organization, level),
        f"{grant.user or grant.team} now has {Level(grant.level).label}.",
    )


@login_required
@require_POST
def organization_permission_revoke(request: HtmxHttpRequest, org: str, pk: int) -> HttpResponse:
    """Revoke one grant."""
    organization, level = get_organization_for_user(request, org, need=Level.READ)
    grant = _org_grant(organization, pk)
    organization_revoke(
        organization=organization, actor=request.user, user=grant.user, team=grant.team
    )
    return _answer(
        request,
        organization_section_context(request, organization, level),
        f"Permission of {grant.user or grant.team} revoked.",
    )


# -- repositories ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def repository_permissions(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """GET: the repository's own grants (for Write holders). POST: grant a level."""
    repository, _level = get_repository_for_user(request, org, repo, need=Level.WRITE)
    message = None
    if request.method == "POST":
        form = PermissionGrantForm(request.POST)
        user, team = resolve_principal(request.POST.get("principal", ""))
        grant = repository_grant(
            repository=repository,
            actor=request.user,
            user=user,
            team=team,
            level=_posted_level(form),
        )
        message = f"{grant.user or grant.team} now has {Level(grant.level).label}."
    return _answer(request, repository_section_context(request, repository), message)


def _repo_grant(repository: Repository, pk: int) -> RepositoryPermission:
    grant = (
        RepositoryPermission.objects.select_related("user", "team")
        .filter(repository=repository, pk=pk)
        .first()
    )
    if grant is None:
        raise ServiceError(PERMISSION_NOT_FOUND, "That permission no longer exists.", 404)
    return grant


@login_required
@require_POST
def repository_permission_update(
    request: HtmxHttpRequest, org: str, repo: str, pk: int
) -> HttpResponse:
    """Change one grant's level."""
    repository, _level = get_repository_for_user(request, org, repo, need=Level.WRITE)
    grant = _repo_grant(repository, pk)
    grant = repository_grant_update(
        repository=repository,
        actor=request.user,
        user=grant.user,
        team=grant.team,
        level=_posted_level(PermissionLevelForm(request.POST)),
    )
    return _answer(
        request,
        repository_section_context(request, repository),
        f"{grant.user or grant.team} now has {Level(grant.level).label}.",
    )


@login_required
@require_POST
def repository_permission_revoke(
    request: HtmxHttpRequest, org: str, repo: str, pk: int
) -> HttpResponse:
    """Revoke one grant."""
    repository, _level = get_repository_for_user(request, org, repo, need=Level.WRITE)
    grant = _repo_grant(repository, pk)
    repository_revoke(repository=repository, actor=request.user, user=grant.user, team=grant.team)
    return _answer(
        request,
        repository_section_context(request, repository),
        f"Permission of {grant.user or grant.team} revoked.",
    )
