"""The registry's token realm (`GET /service/token`), as docker, podman and skopeo call it.

What clients send (REGISTRY-FACTS.md §1.6): `service`, optional `account`, zero or more `scope`
parameters (login sends none; a denied push retries with two), optional Basic credentials
(none means anonymous), and sometimes `client_id` and `offline_token`. Berth never returns a
`refresh_token`, so clients never switch to the OAuth POST form; POST answers 404.
"""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from dashboard.auth.addresses import client_address
from dashboard.auth.credential_cache import cached_user, remember_user
from dashboard.auth.ratelimit import (
    lockout_message,
    rate_limited,
    sign_in_failed,
    sign_in_locked,
    sign_in_succeeded,
)
from dashboard.registry.tokens import Scope, issue_token
from dashboard.services.access import REPOSITORY_PATH, AnyUser, token_access_for
from dashboard.services.audit import FAILURE, audit_token_request

#: More distinct scopes than any client asks for at once; the rest are dropped.
MAX_SCOPES = 64


def _error(status: int, code: str, message: str) -> JsonResponse:
    """An answer in the distribution error form clients already know how to print."""
    return JsonResponse(
        {"errors": [{"code": code, "message": message, "detail": None}]}, status=status
    )


def _unauthorized() -> JsonResponse:
    response = _error(401, "UNAUTHORIZED", "invalid username or password")
    response["WWW-Authenticate"] = 'Basic realm="Berth"'
    return response


def _too_many(message: str) -> JsonResponse:
    response = _error(429, "TOOMANYREQUESTS", message)
    response["Retry-After"] = "60"
    return response


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(username, password) from a Basic Authorization header; None when it is malformed."""
    kind, _, encoded = header.partition(" ")
    if kind.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep and username else None


def _requested_scopes(request: HttpRequest) -> list[Scope]:
    """Every well-formed scope, from repeated `scope` params or space-separated ones in one."""
    scopes: list[Scope] = []
    for value in request.GET.getlist("scope"):
        for text in value.split():
            scope = Scope.parse(text)
            if scope is None:
                continue
            if scope.type == "repository" and not REPOSITORY_PATH.fullmatch(scope.name):
                continue  # not a name any client could push; malformed
            scopes.append(scope)
    distinct = list(dict.fromkeys((s.type, s.name) for s in scopes))[:MAX_SCOPES]
    keep = set(distinct)
    return [s for s in scopes if (s.type, s.name) in keep]


@csrf_exempt
@never_cache
def token(request: HttpRequest) -> JsonResponse:
    """Issue a registry token carrying exactly the access the permission function allows.

    200 with `token`/`access_token`/`expires_in`/`issued_at`; 401 with a Basic challenge on bad
    credentials; 400 for another `service`; 404 for any method but GET.
    """
    if request.method != "GET":
        return _error(404, "UNSUPPORTED", "Only GET is supported on this token realm.")
    address = client_address(request) or "unknown"
    if rate_limited(scope="token", key=address, limit=settings.RATE_LIMIT_TOKEN):
        return _too_many("Too many token requests from your address; retry in a minute.")
    service = request.GET.get("service")
    if service is not None and service != settings.TOKEN_SERVICE:
        return _error(
            400, "UNSUPPORTED", f"This realm issues tokens for {settings.TOKEN_SERVICE!r} only."
        )
    user: AnyUser = AnonymousUser()
    header = request.headers.get("Authorization", "")
    if header:
        credentials = _basic_credentials(header)
        if credentials is None:
            return _unauthorized()
        if sign_in_locked(credentials[0]):
            audit_token_request(
                user=None, username=credentials[0], requested=[], granted=[], result=FAILURE
            )
            return _too_many(lockout_message())
        # A recent success with the same, still valid credential skips the slow password hash.
        authenticated = cached_user(*credentials)
        if authenticated is None:
            authenticated = authenticate(request, username=credentials[0], password=credentials[1])
            if authenticated is not None:
                remember_user(*credentials, authenticated)
        if authenticated is None:
            audit_token_request(
                user=None, username=credentials[0], requested=[], granted=[], result=FAILURE
            )
            sign_in_failed(credentials[0])
            return _unauthorized()
        sign_in_succeeded(credentials[0])
        user = authenticated
    # `account`, `client_id` and `offline_token` are accepted and not used: the subject is who
    # authenticated, and no refresh token is ever issued.
    requested = _requested_scopes(request)
    access = token_access_for(user=user, scopes=requested)
    audit_token_request(
        user=user, username=user.get_username(), requested=requested, granted=access
    )
    issued = issue_token(subject=user.get_username(), access=access)
    return JsonResponse(
        {
            "token": issued.token,
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "issued_at": issued.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
