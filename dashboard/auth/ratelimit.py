"""Rate limits and lockout, counted in the Django cache (redis, shared by every web process).

- Requests per client address per minute: sign-in POSTs (`RATE_LIMIT_SIGN_IN`) and token realm
  requests (`RATE_LIMIT_TOKEN`); over the limit the answer is 429.
- A username is locked for `LOCKOUT_MINUTES` after `LOCKOUT_FAILURES` consecutive failed
  sign-ins (on the page or the token realm); a success resets the count. While locked, even the
  right password is refused, so guessing cannot go on at any speed.
A limit of 0 turns that check off. Counts are fixed one-minute windows, which is coarse but needs
one cache round trip per request.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

_PREFIX = "berth:limit"


def rate_limited(*, scope: str, key: str, limit: int, window: int = 60) -> bool:
    """Count one request of `key` (e.g. a client address) in `scope`; True when this request is
    over `limit` in the current window of `window` seconds. `limit` 0 never limits."""
    if limit <= 0:
        return False
    cache_key = f"{_PREFIX}:{scope}:{key}:{int(time.time() // window)}"
    if cache.add(cache_key, 1, timeout=window + 5):
        return False
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(cache_key, 1, timeout=window + 5)
        count = 1
    return count > limit


def _name(username: str) -> str:
    return username.strip().lower()[:150]


def sign_in_locked(username: str) -> bool:
    """Whether `username` is locked out after too many failures."""
    if settings.LOCKOUT_FAILURES <= 0:
        return False
    return cache.get(f"{_PREFIX}:locked:{_name(username)}") is not None


def sign_in_failed(username: str) -> bool:
    """Count a failed sign-in of `username`; True when this failure locks it out."""
    if settings.LOCKOUT_FAILURES <= 0 or not username:
        return False
    ttl = settings.LOCKOUT_MINUTES * 60
    key = f"{_PREFIX}:failures:{_name(username)}"
    if cache.add(key, 1, timeout=ttl):
        failures = 1
    else:
        try:
            failures = cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=ttl)
            failures = 1
    if failures < settings.LOCKOUT_FAILURES:
        return False
    cache.set(f"{_PREFIX}:locked:{_name(username)}", 1, timeout=ttl)
    cache.delete(key)
    return True


def sign_in_succeeded(username: str) -> None:
    """Forget the failures of `username` (a success ends a run of failures)."""
    cache.delete(f"{_PREFIX}:failures:{_name(username)}")


def lockout_message() -> str:
    return (
        "Too many failed sign-ins for this account: it is locked for "
        f"{settings.LOCKOUT_MINUTES} minutes."
    )
