"""`RegistryCredentialBackend`: docker login with a temporary login command or an access key.

Both kinds use the username `<region>@<id>`: the id of a temporary login secret, or an access
key (AK) whose password is the long-term login key. SWR's enhanced temporary login names a
login secret `bearertoken@<id>`. Other names fall through to the other backends (Berth
usernames and passwords). They are registry credentials: they sign in to the token realm and
the API, never to the web pages.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import User
from django.http import HttpRequest

from dashboard.services.credentials import (
    access_key_authenticate,
    login_secret_authenticate,
    registry_username_parse,
)

#: Where these credentials are accepted: the token realm and the SWR API.
REGISTRY_PATHS = ("/service/", "/v2/")


class RegistryCredentialBackend(BaseBackend):
    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        """The active owner of the login secret or access key named by `username`, when
        `password` matches; otherwise None."""
        if not username or not password:
            return None
        if request is not None and not request.path.startswith(REGISTRY_PATHS):
            return None
        parsed = registry_username_parse(username)
        if parsed is None:
            return None
        key_id, bearer = parsed
        user = login_secret_authenticate(key_id, password)
        if user is None and not bearer:
            user = access_key_authenticate(key_id, password)
        if user is None or not getattr(user, "is_active", False):
            return None
        return user

    def get_user(self, user_id: int) -> User | None:
        return User.objects.filter(pk=user_id, is_active=True).first()
