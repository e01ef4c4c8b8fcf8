"""Teams: Django groups with a profile (description, managers).

Superusers create and delete teams; superusers and a team's managers add and remove its members
and managers. A team's grants (dashboard/services/permissions.py) apply to all its members.
Team names are 1 to 64 characters: lowercase letters, digits, `.`, `_` and `-`, starting with a
letter or digit (SWR's 4000014 otherwise). Sign-in through LDAP or OIDC may also create teams
and change memberships, mirroring the directory's groups (`team_memberships_mirror`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from dashboard.models import TeamProfile
from dashboard.services.access import AnyUser
from dashboard.services.audit import audit_record
from dashboard.services.errors import FORBIDDEN, INVALID_PARAMETERS, ServiceError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

TEAM_NAME_MAX = 64
TEAM_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
DESCRIPTION_MAX = 500


def team_name_error(name: str) -> str | None:
    """Why `name` cannot be a team name, or None when it can."""
    if not name:
        return "The team name is required."
    if len(name) > TEAM_NAME_MAX:
        return f"The team name must be at most {TEAM_NAME_MAX} characters."
    if not TEAM_NAME_RE.match(name):
        return (
            "Only lowercase letters, digits, periods (.), underscores (_) and hyphens (-), "
            "starting with a letter or digit."
        )
    return None


def _profile(team: Group) -> TeamProfile:
    profile, _created = TeamProfile.objects.get_or_create(team=team)
    return profile


def team_can_manage(*, team: Group, user: AnyUser) -> bool:
    """Whether `user` may change the team's members and managers: superusers and its managers."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return TeamProfile.objects.filter(team=team, managers=user.pk).exists()


def _require_superuser(actor: AnyUser, doing: str) -> None:
    if not (actor.is_authenticated and actor.is_active and actor.is_superuser):
        raise ServiceError(FORBIDDEN, f"Only administrators {doing}.", 403)


def _require_manager(team: Group, actor: AnyUser) -> None:
    if not team_can_manage(team=team, user=actor):
        raise ServiceError(
            FORBIDDEN, f"Only administrators and managers of team {team.name} do this.", 403
        )


def team_create(*, name: str, actor: AnyUser, description: str = "") -> Group:
    """Create a team; the creator becomes one of its managers. Return the team.

    Raises ServiceError: 4039002 (403) unless the actor is a superuser, 4000014 (400) for an
    invalid name or a description over 500 characters, 4000014 (409) when the name is taken.
    """
    _require_superuser(actor, "create teams")
    problem = team_name_error(name)
    if problem is not None:
        raise ServiceError(INVALID_PARAMETERS, f"Invalid team name: {problem}", 400)
    if len(description) > DESCRIPTION_MAX:
        raise ServiceError(
            INVALID_PARAMETERS, f"The description is over {DESCRIPTION_MAX} characters.", 400
        )
    try:
        with transaction.atomic():
            team = Group.objects.create(name=name)
            profile = TeamProfile.objects.create(team=team, description=description)
            profile.managers.add(actor)  # type: ignore[arg-type]
            audit_record(action="createTeam", resource_type="team", resource_name=name, actor=actor)
    except IntegrityError:
        raise ServiceError(
            INVALID_PARAMETERS, f"A team named {name!r} already exists.", 409
        ) from None
    return team


def team_delete(*, team: Group, actor: AnyUser) -> None:
    """Delete a team and its grants. Raises ServiceError 4039002 (403) unless a superuser."""
    _require_superuser(actor, "delete teams")
    team.delete()
    audit_record(action="deleteTeam", resource_type="team", resource_name=team.name, actor=actor)


def _audit_person(action: str, *, team: Group, user: User, actor: AnyUser) -> None:
    """The trace of a membership change: who changed which user on which team."""
    audit_record(
        action=action,
        resource_type="team",
        resource_name=team.name,
        actor=actor,
        detail={"user": user.get_username()},
    )


def team_member_add(*, team: Group, user: User, actor: AnyUser) -> None:
    """Make `user` a member (nothing changes when they are one). Raises ServiceError 4039002."""
    _require_manager(team, actor)
    user.groups.add(team)
    _audit_person("addTeamMember", team=team, user=user, actor=actor)


def team_member_remove(*, team: Group, user: User, actor: AnyUser) -> None:
    """Remove `user` from the members (nothing changes when they are not one). Raises 4039002."""
    _require_manager(team, actor)
    user.groups.remove(team)
    _audit_person("removeTeamMember", team=team, user=user, actor=actor)


def team_manager_add(*, team: Group, user: User, actor: AnyUser) -> None:
    """Make `user` a manager of the team. Raises ServiceError 4039002 (403)."""
    _require_manager(team, actor)
    _profile(team).managers.add(user)
    _audit_person("addTeamManager", team=team, user=user, actor=actor)


def team_manager_remove(*, team: Group, user: User, actor: AnyUser) -> None:
    """Remove `user` from the team's managers. Raises ServiceError 4039002 (403)."""
    _require_manager(team, actor)
    _profile(team).managers.remove(user)
    _audit_person("removeTeamManager", team=team, user=user, actor=actor)


def team_memberships_mirror(
    *, user: User, teams: Collection[str], leave: Collection[str] | None, source: str
) -> None:
    """Mirror a directory's groups (LDAP groups, an OIDC groups claim) onto `user`'s teams.

    The user joins each team named in `teams`, created when missing (with a profile and no
    managers, so it is listed like any team), and leaves each team named in `leave`, or every
    other team when `leave` is None (the directory then decides all of the user's teams). Names
    that are not valid team names are skipped. Changes are traced with `source` as the actor.
    """
    wanted = {name for name in teams if team_name_error(name) is None}
    if skipped := sorted(set(teams) - wanted):
        logger.warning("%s groups of %s are not valid team names: %s", source, user, skipped)
    with transaction.atomic():
        current = {team.name: team for team in user.groups.all()}
        for name in sorted(wanted - current.keys()):
            team, created = Group.objects.get_or_create(name=name)
            _profile(team)
            if created:
                audit_record(
                    action="createTeam", resource_type="team", resource_name=name, actor_name=source
                )
            user.groups.add(team)
            audit_record(
                action="addTeamMember",
                resource_type="team",
                resource_name=name,
                actor_name=source,
                detail={"user": user.get_username()},
            )
        gone = current.keys() - wanted if leave is None else (current.keys() & set(leave)) - wanted
        for name in sorted(gone):
            user.groups.remove(current[name])
            audit_record(
                action="removeTeamMember",
                resource_type="team",
                resource_name=name,
                actor_name=source,
                detail={"user": user.get_username()},
            )
