"""Sign-in through LDAP: django-auth-ldap's backend with Berth's rules on top.

Configured by `BERTH_LDAP_*` (dashboard/auth/signin_settings.py); settings.py adds
`BerthLDAPBackend` to AUTHENTICATION_BACKENDS only when BERTH_LDAP_SERVER_URI is set. Users
sign in on the page and to the token realm (`docker login`) with their directory password; the
Django user is created at the first sign-in (or by `ldap_user_populate`, for forms that name a
user who never signed in) and its names, email and superuser flag follow the directory.

- A Berth account with a password of its own (such as `admin`) is never taken over by a
  directory entry of the same name.
- With BERTH_LDAP_MIRROR_GROUPS the user's directory groups become their teams at each sign-in:
  missing teams are created, and the user leaves teams that exist as directory groups they are
  no longer in. Teams made in Berth that are not directory groups keep their members.
"""

from __future__ import annotations

import logging
from typing import Any

import ldap
from django.conf import settings
from django.contrib.auth.models import User
from django_auth_ldap.backend import LDAPBackend
from django_auth_ldap.config import LDAPSearch
from ldap.cidict import cidict

from dashboard.services.teams import team_memberships_mirror, team_name_error

logger = logging.getLogger(__name__)


class BerthLDAPBackend(LDAPBackend):  # type: ignore[misc]  # django-auth-ldap is untyped
    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[User, bool]:
        user, built = super().get_or_build_user(username, ldap_user)
        if not built and user.has_usable_password():
            raise ldap_user.AuthenticationFailed(f"{username} is a Berth account with a password")
        return user, built

    def get_user(self, user_id: int) -> User | None:
        # Like ModelBackend: deactivating a user ends their sessions at once.
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def authenticate_ldap_user(self, ldap_user: Any, password: str) -> User | None:
        user = super().authenticate_ldap_user(ldap_user, password)
        # Like ModelBackend: a deactivated user signs in nowhere (page or token realm).
        if user is None or not user.is_active:
            return None
        return self._mirror_teams(user, ldap_user)

    def populate_user(self, username: str) -> User | None:
        user = super().populate_user(username)
        if user is None:
            return None
        return self._mirror_teams(user, user.ldap_user)  # type: ignore[attr-defined]

    def _mirror_teams(self, user: User, ldap_user: Any) -> User | None:
        """`user` after mirroring their directory groups onto teams (when configured); None
        when the directory could not be read: like django-auth-ldap's own mirroring, a sign-in
        with unknown groups is refused."""
        if not settings.LDAP_MIRROR_GROUPS:
            return user
        try:
            groups = {name.lower() for name in ldap_user.group_names}
            others = set(user.groups.values_list("name", flat=True)) - groups
            leave = self._directory_groups(ldap_user, others)
        except ldap.LDAPError:
            logger.exception("could not read the LDAP groups of %s", user.get_username())
            return None
        team_memberships_mirror(user=user, teams=groups, leave=leave, source="ldap")
        return user

    def _directory_groups(self, ldap_user: Any, names: set[str]) -> set[str]:
        """Which of the team `names` exist as groups in the directory (one search)."""
        names = {name for name in names if team_name_error(name) is None}
        if not names:
            return set()
        search = self.settings.GROUP_SEARCH
        name_attr = self.settings.GROUP_TYPE.name_attr
        # Team names are letters, digits and `._-`: nothing to escape in a filter.
        wanted = "".join(f"({name_attr}={name})" for name in sorted(names))
        found = LDAPSearch(
            search.base_dn, search.scope, f"(&{search.filterstr}(|{wanted}))", [name_attr]
        ).execute(ldap_user.connection)
        # Servers may spell the attribute's name in another case than asked.
        return {cidict(attrs)[name_attr][0].lower() for _dn, attrs in found} & names


def ldap_user_populate(username: str) -> User | None:
    """The user named `username`, created from the directory when they have never signed in;
    None when LDAP is off or the directory has no such user (or cannot be reached)."""
    if not settings.LDAP_ENABLED or not username:
        return None
    user = BerthLDAPBackend().populate_user(username)
    return user if isinstance(user, User) and user.is_active else None
