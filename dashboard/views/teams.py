"""Teams: the list (with the create form for administrators), one team with its members and
managers (add and remove forms for administrators and the team's managers), deletion."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.auth.ldap import ldap_user_populate
from dashboard.forms import TeamCreateForm, TeamUserForm
from dashboard.models import TeamProfile
from dashboard.services.errors import INVALID_USERNAME, ServiceError
from dashboard.services.teams import (
    team_can_manage,
    team_create,
    team_delete,
    team_manager_add,
    team_manager_remove,
    team_member_add,
    team_member_remove,
)
from dashboard.views.common import HtmxHttpRequest, navigate, partial

ROLES = {
    "members": (team_member_add, team_member_remove),
    "managers": (team_manager_add, team_manager_remove),
}


def _teams_visible_to(request: HttpRequest) -> QuerySet[Group]:
    """All teams for administrators; the teams one belongs to or manages for anybody else."""
    teams = Group.objects.all()
    user = request.user
    if not user.is_superuser:
        # A subquery, not a join: counting members afterwards must see every member.
        mine = Group.objects.filter(Q(user=user.pk) | Q(profile__managers=user.pk))
        teams = teams.filter(id__in=mine.values("id"))
    return teams


def get_team_for_user(request: HttpRequest, name: str) -> tuple[Group, bool]:
    """The team named `name` and whether the user may change it.

    Raises Http404 for a team the user neither belongs to nor manages (administrators see all).
    """
    team = _teams_visible_to(request).filter(name=name).first()
    if team is None:
        raise Http404("No such team.")
    return team, team_can_manage(team=team, user=request.user)


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the teams the user can see. POST: create one (administrators)."""
    form = TeamCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = team_create(
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            actor=request.user,
        )
        messages.success(request, f"Team {team.name} created.")
        return navigate(request, reverse("dashboard:team-detail", args=[team.name]))
    teams = (
        _teams_visible_to(request)
        .select_related("profile")
        .annotate(member_count=Count("user", distinct=True))
        .order_by("name")
    )
    context = {"form": form, "teams": teams}
    return render(request, partial(request, "dashboard/teams.html", "section"), context)


def _team_context(team: Group, can_manage: bool) -> dict[str, Any]:
    users = get_user_model().objects.order_by("username")
    profile = TeamProfile.objects.filter(team=team).first()
    return {
        "team": team,
        "description": profile.description if profile else "",
        "members": list(users.filter(groups=team)),
        "managers": list(users.filter(managed_team_profiles__team=team)),
        "can_manage": can_manage,
    }


@login_required
def team_detail(request: HtmxHttpRequest, team: str) -> HttpResponse:
    """One team: members and managers, with forms for those who may change them."""
    group, can_manage = get_team_for_user(request, team)
    return render(
        request,
        partial(request, "dashboard/team_detail.html", "people"),
        _team_context(group, can_manage),
    )


def _user(username: str, *, from_directory: bool) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None and from_directory:
        # Someone in the LDAP directory who has never signed in: their user is created now.
        user = ldap_user_populate(username)
    if user is None:
        raise ServiceError(INVALID_USERNAME, f"There is no user {username!r}.", 400)
    return user


def _change(request: HtmxHttpRequest, team: str, role: str, remove: bool) -> HttpResponse:
    if role not in ROLES:
        raise Http404("No such list.")
    group, can_manage = get_team_for_user(request, team)
    form = TeamUserForm(request.POST)
    username = form.cleaned_data["username"] if form.is_valid() else ""
    user = _user(username, from_directory=can_manage and not remove)
    ROLES[role][remove](team=group, user=user, actor=request.user)
    noun = "member" if role == "members" else "manager"
    verb = "is no longer" if remove else "is now"
    messages.success(request, f"{user.get_username()} {verb} a {noun} of {group.name}.")
    if not request.htmx:
        return redirect("dashboard:team-detail", team=group.name)
    return render(
        request,
        "dashboard/team_detail.html#people",
        _team_context(group, team_can_manage(team=group, user=request.user)),
    )


@login_required
@require_POST
def team_user_add(request: HtmxHttpRequest, team: str, role: str) -> HttpResponse:
    """Add a member or manager (`role`: members, managers)."""
    return _change(request, team, role, remove=False)


@login_required
@require_POST
def team_user_remove(request: HtmxHttpRequest, team: str, role: str) -> HttpResponse:
    """Remove a member or manager (`role`: members, managers)."""
    return _change(request, team, role, remove=True)


@login_required
@require_http_methods(["GET", "POST"])
def team_delete_view(request: HtmxHttpRequest, team: str) -> HttpResponse:
    """GET: confirm. POST: delete the team (administrators) and go back to the list."""
    group, _can_manage = get_team_for_user(request, team)
    if request.method == "POST":
        team_delete(team=group, actor=request.user)
        messages.success(request, f"Team {group.name} deleted.")
        return navigate(request, reverse("dashboard:team-list"))
    context = {
        "title": f"Delete team {group.name}?",
        "items": [],
        "explanation": "Its members lose every permission granted to the team.",
        "action": reverse("dashboard:team-delete", args=[group.name]),
        "confirm_label": "Delete team",
        "cancel_url": reverse("dashboard:team-detail", args=[group.name]),
    }
    return render(request, partial(request, "dashboard/confirm.html", "dialog"), context)
