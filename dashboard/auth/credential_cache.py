"""A short cache of successful token realm sign-ins, so each scope docker asks for does not pay
for a slow password hash again (PBKDF2 is ~0.2 s per check; a push asks the realm many times).

The cache key is HMAC-SHA256(SECRET_KEY, username NUL password): the password, and the input of
the HMAC, are never stored. The value is (user id, fingerprint of the credential's identity):
- a Berth password: an HMAC of the user's current password hash (salted), so a password change
  misses at once;
- a registry credential (`<region>@<id>`, `bearertoken@<id>`): the login secret's or access
  key's row id, re-checked on every hit to be still unrevoked and unexpired, or still active.
A hit also requires the user to be active. Anything else falls back to a full `authenticate`.
Only successes are stored; rate limits and lockout stay in front of this, unchanged.
`TOKEN_AUTH_CACHE_SECONDS` 0 turns it off.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone

from dashboard.models import AccessKey, LoginSecret
from dashboard.services.credentials import registry_username_parse

_PREFIX = "berth:tokenauth"
_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
_REGISTRY_BACKEND = "dashboard.auth.backends.RegistryCredentialBackend"


def _hmac(*parts: str) -> str:
    message = "\0".join(parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _cache_key(username: str, password: str) -> str:
    return f"{_PREFIX}:{_hmac(username, password)}"


def _registry_credential(key_id: str, user_id: int, *, bearer: bool) -> str | None:
    """'secret:<pk>' or 'key:<pk>' for the valid credential `key_id` of `user_id`, else None
    (`bearer`: the enhanced login's username, which names login secrets only)."""
    secret = (
        LoginSecret.objects.filter(
            key_id=key_id, user_id=user_id, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .values_list("pk", flat=True)
        .first()
    )
    if secret is not None:
        return f"secret:{secret}"
    if bearer:
        return None
    key = (
        AccessKey.objects.filter(access_key=key_id, user_id=user_id, is_active=True)
        .values_list("pk", flat=True)
        .first()
    )
    return f"key:{key}" if key is not None else None


def _fingerprint(user: User, username: str) -> str | None:
    """The identity of the credential that signed `user` in, or None when it is not cacheable."""
    backend = getattr(user, "backend", None)
    if backend == _MODEL_BACKEND:
        return _hmac("password", str(user.pk), user.password)
    if backend == _REGISTRY_BACKEND:
        parsed = registry_username_parse(username)
        credential = _registry_credential(parsed[0], user.pk, bearer=parsed[1]) if parsed else None
        return _hmac("registry", str(user.pk), credential) if credential else None
    return None


def cached_user(username: str, password: str) -> User | None:
    """The active user a recent successful sign-in with exactly these credentials named, when
    the credential is still the same and still valid; None otherwise (then authenticate)."""
    ttl = settings.TOKEN_AUTH_CACHE_SECONDS
    if ttl <= 0 or not username or not password:
        return None
    entry = cache.get(_cache_key(username, password))
    if not isinstance(entry, tuple) or len(entry) != 3:
        return None
    user_id, backend, stored = entry
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    user.backend = backend  # type: ignore[attr-defined]  # as authenticate() sets it
    current = _fingerprint(user, username)
    if current is None or not hmac.compare_digest(current, stored):
        return None
    return user


def remember_user(username: str, password: str, user: User) -> None:
    """Remember a successful `authenticate` of `username`/`password` for the configured TTL."""
    ttl = settings.TOKEN_AUTH_CACHE_SECONDS
    if ttl <= 0 or not user.is_active:
        return
    fingerprint = _fingerprint(user, username)
    if fingerprint is None:
        return
    backend = getattr(user, "backend", None)
    cache.set(_cache_key(username, password), (user.pk, backend, fingerprint), timeout=ttl)
