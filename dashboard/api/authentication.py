"""How API requests prove who sends them: an API token in `X-Auth-Token`, a request signed with
an access key (`SDK-HMAC-SHA256`, as Huawei Cloud SDKs sign), or the browser's session (with
CSRF, for same-origin calls from the dashboard's API page). Failures are 401 with 4010000."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from dashboard.auth.signature import SignatureError, is_signed, signature_verify
from dashboard.services.credentials import api_token_authenticate

TOKEN_HEADER = "X-Auth-Token"


def wants_api(request: HttpRequest) -> bool:
    """Whether `request` comes from an API client (it carries API credentials, or asks for JSON
    and not HTML) rather than a browser."""
    if request.headers.get(TOKEN_HEADER) or is_signed(request):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


class ApiTokenAuthentication(BaseAuthentication):
    """`X-Auth-Token: <Berth API token>`."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        token = request.headers.get(TOKEN_HEADER, "").strip()
        if not token:
            return None
        user = api_token_authenticate(token)
        if user is None:
            raise AuthenticationFailed("The X-Auth-Token is invalid, expired or revoked.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when no credentials came at all.
        return f'{TOKEN_HEADER} realm="swr"'


class SignatureAuthentication(BaseAuthentication):
    """`Authorization: SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        if not is_signed(request._request):
            return None
        try:
            user = signature_verify(request._request)
        except SignatureError as exc:
            raise AuthenticationFailed(str(exc)) from exc
        return user, None


class SessionCsrfAuthentication(SessionAuthentication):
    """The dashboard's session; DRF enforces CSRF for it (the API page sends the token)."""
