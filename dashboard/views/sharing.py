"""The Sharing section of the repository page: list, share, change, stop sharing.

Readers see the list; Manage holders also get the forms. GET answers with the section (a
fragment for htmx, a small page otherwise); each POST answers with the section again for htmx (a
toast says what changed) or a redirect back without JavaScript. The services decide and refuse.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.forms import ShareForm
from dashboard.models import Level, Repository, Share
from dashboard.services.access import require_repository_level
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.services.sharing import (
    SHARE_NOT_FOUND,
    share_create,
    share_delete,
    share_update,
    shares_for_repository,
)
from dashboard.views.common import HtmxHttpRequest, get_repository_for_user, repository_url

SECTION = "dashboard/partials/_sharing.html"
PAGE = "dashboard/sharing.html"


def sharing_section_context(repository: Repository, level: int) -> dict[str, Any]:
    """What `_sharing.html` needs: the rows, and the team picker for Manage holders."""
    rows = shares_for_repository(repository=repository)
    can_share = level >= Level.MANAGE and not repository.is_public
    taken = {row.share.team_id for row in rows}
    teams = (
        [t for t in Group.objects.order_by("name").only("id", "name") if t.pk not in taken]
        if can_share
        else []
    )
    url = repository_url(repository)
    return {
        "repository": repository,
        "share_url": f"{url}-/sharing/",
        "share_back": url,
        "share_rows": rows,
        "share_can_manage": level >= Level.MANAGE,
        "share_can_create": can_share,
        "share_teams": teams,
    }


def _answer(
    request: HtmxHttpRequest, repository: Repository, level: int, message: str | None = None
) -> HttpResponse:
    if message:
        messages.success(request, message)
    context = sharing_section_context(repository, level)
    if request.method == "POST" and not request.htmx:
        return redirect(context["share_back"])
    return render(request, SECTION if request.htmx else PAGE, context)


def _until(share: Share) -> str:
    return (
        "permanently"
        if share.deadline is None
        else f"until {timezone.localtime(share.deadline):%Y-%m-%d}"
    )


@login_required
@require_http_methods(["GET", "POST"])
def repository_sharing(request: HtmxHttpRequest, org: str, repo: str) -> HttpResponse:
    """GET: the repository's shares (Read holders). POST: share with a team (Manage holders)."""
    repository, level = get_repository_for_user(request, org, repo, need=Level.READ)
    message = None
    if request.method == "POST":
        # Refuse non-managers before naming which teams exist.
        require_repository_level(user=request.user, repository=repository, level=Level.MANAGE)
        form = ShareForm(request.POST)
        deadline = form.deadline()
        name = form.cleaned_data.get("team", "")
        team = Group.objects.filter(name=name).first()
        if team is None:
            raise ServiceError(INVALID_PARAMETERS, f"There is no team {name!r}.", 400)
        share = share_create(
            repository=repository,
            team=team,
            deadline=deadline,
            description=form.cleaned_data.get("description", ""),
            actor=request.user,
        )
        message = f"Shared with team {team.name} {_until(share)}."
    return _answer(request, repository, level, message)


def _share(repository: Repository, pk: int) -> Share:
    share = Share.objects.select_related("team").filter(repository=repository, pk=pk).first()
    if share is None:
        raise ServiceError(SHARE_NOT_FOUND, "That share no longer exists.", 404)
    return share


@login_required
@require_POST
def repository_share_update(request: HtmxHttpRequest, org: str, repo: str, pk: int) -> HttpResponse:
    """Change one share's validity and description."""
    repository, level = get_repository_for_user(request, org, repo, need=Level.READ)
    share = _share(repository, pk)
    form = ShareForm(request.POST)
    share = share_update(
        repository=repository,
        team=share.team,
        deadline=form.deadline(),
        description=form.cleaned_data.get("description", ""),
        actor=request.user,
    )
    return _answer(
        request, repository, level, f"Share with team {share.team.name} now valid {_until(share)}."
    )


@login_required
@require_POST
def repository_share_delete(request: HtmxHttpRequest, org: str, repo: str, pk: int) -> HttpResponse:
    """Stop sharing with one team."""
    repository, level = get_repository_for_user(request, org, repo, need=Level.READ)
    share = _share(repository, pk)
    share_delete(repository=repository, team=share.team, actor=request.user)
    return _answer(request, repository, level, f"No longer shared with team {share.team.name}.")
