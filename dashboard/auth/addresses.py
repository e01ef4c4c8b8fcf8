"""The client's address as Berth should see it, also behind a reverse proxy."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest


@lru_cache(maxsize=8)
def _networks(
    proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(request: HttpRequest) -> str | None:
    """`REMOTE_ADDR`, or when that is a trusted proxy (`BERTH_TRUSTED_PROXIES`, addresses or
    networks) the address it reports in `X-Real-IP`. Forwarded headers from anyone else are
    ignored: a client could otherwise pick its own address and escape the rate limits."""
    remote = request.META.get("REMOTE_ADDR") or None
    if remote and settings.TRUSTED_PROXIES and _is_trusted(remote):
        real = request.META.get("HTTP_X_REAL_IP", "").strip()
        try:
            return str(ipaddress.ip_address(real))
        except ValueError:
            return remote
    return remote
