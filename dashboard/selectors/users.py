"""Reads for the administrators' Users pages: the filtered list, how each user signs in, one
user's teams and direct grants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Prefetch, Q, QuerySet

from dashboard.models import OrganizationPermission, RepositoryPermission

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: The list's status filter: value → label.
STATUSES = {
    "active": "Active",
    "inactive": "Deactivated",
    "admin": "Administrators",
}


def user_list(*, q: str = "", status: str = "") -> QuerySet[User]:
    """Every user by username, with their teams prefetched (by name), narrowed by `q` (a
    substring of the username, first or last name or email) and `status` (a key of STATUSES;
    anything else is ignored). Two queries for any page of it, however many teams."""
    users = get_user_model().objects.prefetch_related(
        Prefetch("groups", queryset=Group.objects.order_by("name"))
    )
    if q:
        users = users.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
        )
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "inactive":
        users = users.filter(is_active=False)
    elif status == "admin":
        users = users.filter(is_superuser=True)
    return users.order_by("username")


@dataclass(frozen=True)
class SignIn:
    kind: str  # local, ldap, oidc, external (LDAP or OIDC), none
    label: str

    @property
    def is_local(self) -> bool:
        return self.kind in ("local", "none")


def user_sign_in(*, user: User) -> SignIn:
    """How `user` signs in. Nothing on the user says which backend made it, so the rule is:
    a usable password means a local password (LDAP and OIDC never take such an account over);
    an unusable one means the directory (LDAP and OIDC users are created without a password),
    named after the backends configured: LDAP, OIDC, or "LDAP or OIDC" when both are. With
    neither configured the user has no way to sign in ("No password") until one is set.
    No query."""
    if user.has_usable_password():
        return SignIn("local", "Local password")
    ldap, oidc = settings.LDAP_ENABLED, settings.OIDC_ENABLED
    if ldap and oidc:
        return SignIn("external", "LDAP or OIDC")
    if ldap:
        return SignIn("ldap", "LDAP")
    if oidc:
        return SignIn("oidc", f"OIDC ({settings.OIDC_PROVIDER_NAME})")
    return SignIn("none", "No password")


@dataclass(frozen=True)
class UserGrants:
    organizations: list[OrganizationPermission]
    repositories: list[RepositoryPermission]


def user_grants(*, user: User) -> UserGrants:
    """The grants naming `user` directly (not through a team), by organization and repository
    name. Two queries."""
    return UserGrants(
        organizations=list(
            OrganizationPermission.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name")
        ),
        repositories=list(
            RepositoryPermission.objects.filter(user=user)
            .select_related("repository__organization")
            .order_by("repository__organization__name", "repository__name")
        ),
    )
