"""Reads for the permission sections: the grants on an organization or a repository, and the
users and teams a grant may name."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import F, QuerySet

from dashboard.models import Organization, OrganizationPermission, Repository, RepositoryPermission

#: Users (no team) before teams, the same on every database: NULL ordering differs by engine.
_USERS_FIRST = F("team__name").asc(nulls_first=True)


def grants_for_organization(*, organization: Organization) -> QuerySet[OrganizationPermission]:
    """The grants on an organization, users before teams, highest level first; administrators'
    own grants are left out (they manage everything anyway). One query."""
    return (
        OrganizationPermission.objects.filter(organization=organization)
        .exclude(user__is_superuser=True)
        .select_related("user", "team")
        .order_by(_USERS_FIRST, "-level", "user__username")
    )


def grants_for_repository(*, repository: Repository) -> QuerySet[RepositoryPermission]:
    """The grants on one repository (not those it inherits from its organization), ordered and
    filtered as `grants_for_organization`. One query."""
    return (
        RepositoryPermission.objects.filter(repository=repository)
        .exclude(user__is_superuser=True)
        .select_related("user", "team")
        .order_by(_USERS_FIRST, "-level", "user__username")
    )


@dataclass(frozen=True)
class Principal:
    value: str  # `user:<name>` or `team:<name>`, as the grant form posts it
    label: str
    is_team: bool


def principal_choices() -> list[Principal]:
    """Every active non-administrator user, then every team, by name. Two queries."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, is_superuser=False)
        .order_by("username")
        .values_list("username", flat=True)
    )
    teams = Group.objects.order_by("name").values_list("name", flat=True)
    return [Principal(f"user:{u}", u, False) for u in users] + [
        Principal(f"team:{t}", t, True) for t in teams
    ]
