"""Sign-in through an OpenID Connect provider: mozilla-django-oidc with Berth's user rules.

Configured by `BERTH_OIDC_*` (dashboard/auth/signin_settings.py); settings.py adds
`BerthOIDCBackend` to AUTHENTICATION_BACKENDS only when BERTH_OIDC_RP_CLIENT_ID is set, and the
views below answer 404 otherwise. The sign-in page links to `oidc_authentication_init`.

- The username is the `preferred_username` claim (else the local part of `email`), lowercased:
  users see it in grants and teams, so it must read like a name, never a hash. A claim that is
  not a valid username refuses the sign-in.
- A Berth account with a password of its own (such as `admin`) is never taken over.
- Names and email follow the provider's claims at every sign-in; with BERTH_OIDC_GROUPS_CLAIM
  the groups in that claim become the user's teams (the claim decides all of them).
- OIDC users have no password for `docker login`: they use login commands and access keys.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from dashboard.services.teams import team_memberships_mirror

#: Claims copied onto the user at every sign-in.
PROFILE_CLAIMS = {"email": "email", "first_name": "given_name", "last_name": "family_name"}


def oidc_username(claims: dict[str, Any]) -> str:
    """The Berth username for these claims. Raises SuspiciousOperation when there is none or it
    is not a valid username (mozilla-django-oidc then refuses the sign-in)."""
    name = claims.get("preferred_username") or str(claims.get("email") or "").partition("@")[0]
    name = str(name).strip().lower()
    if not name:
        raise SuspiciousOperation("the provider sent neither preferred_username nor email")
    if name.startswith(f"{settings.REGION}@"):
        # That is how login commands and access keys are named in `docker login`.
        raise SuspiciousOperation(f"username {name!r} looks like a registry credential")
    try:
        User._meta.get_field("username").run_validators(name)
    except ValidationError as error:
        raise SuspiciousOperation(f"username {name!r} is not valid: {error.messages}") from None
    return name


class BerthOIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]  # untyped library
    def get_user(self, user_id: int) -> User | None:
        # Like ModelBackend: deactivating a user ends their sessions at once.
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # Berth needs a username, not necessarily an email (the library's default check).
        return bool(claims.get("sub")) and bool(oidc_username(claims))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        return User.objects.filter(username=oidc_username(claims))

    def create_user(self, claims: dict[str, Any]) -> User:
        user = User(username=oidc_username(claims))
        user.set_unusable_password()
        return self._update(user, claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        if user.has_usable_password():
            raise SuspiciousOperation(f"{user.get_username()} is a Berth account with a password")
        return self._update(user, claims)

    def _update(self, user: User, claims: dict[str, Any]) -> User:
        for field, claim in PROFILE_CLAIMS.items():
            value = claims.get(claim)
            if isinstance(value, str):
                limit = getattr(User._meta.get_field(field), "max_length", None)
                setattr(user, field, value[:limit])
        user.save()
        claim = settings.OIDC_GROUPS_CLAIM
        if claim:
            groups = claims.get(claim) or []
            if not isinstance(groups, list):
                raise SuspiciousOperation(f"the {claim!r} claim is not a list")
            # Keycloak sends group paths (`/developers`) when asked for full paths.
            teams = {str(group).strip().lstrip("/").lower() for group in groups}
            team_memberships_mirror(user=user, teams=teams, leave=None, source="oidc")
        return user


class _EnabledOnly:
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.OIDC_ENABLED:
            raise Http404("Sign-in with OpenID Connect is not configured.")
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class OIDCAuthenticateView(_EnabledOnly, OIDCAuthenticationRequestView):  # type: ignore[misc]
    """`/oidc/authenticate/`: off → 404; on → redirect to the provider's authorization page."""


class OIDCCallbackView(_EnabledOnly, OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """`/oidc/callback/`: off → 404; on → sign in and go on, or back to the sign-in page."""
