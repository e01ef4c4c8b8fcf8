"""Render the registry's configuration from the one template in `deploy/registry/`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from string import Template

from django.conf import settings

TEMPLATE = Path(settings.BASE_DIR) / "deploy" / "registry" / "config.yml.tmpl"


def registry_config_values(
    *,
    http_addr: str | None = None,
    debug_addr: str | None = None,
    storage_dir: str | None = None,
    rootcertbundle: str | None = None,
    public_url: str | None = None,
    notify_url: str | None = None,
) -> dict[str, str]:
    """The template's values from settings; keyword arguments override them (compose, tests).

    `public_url` is Berth as docker clients reach it (the token realm); `notify_url` is where
    the registry posts events, by default on the same address (compose: web's own name).
    """
    public = (public_url or settings.PUBLIC_URL).rstrip("/")
    port = settings.REGISTRY_PORT
    return {
        "http_addr": http_addr or f"127.0.0.1:{port}",
        "debug_addr": debug_addr or f"127.0.0.1:{port + 1}",
        "storage_dir": storage_dir or str(Path(settings.REGISTRY_DATA_DIR) / "storage"),
        "http_secret": hashlib.sha256(f"registry:{settings.SECRET_KEY}".encode()).hexdigest(),
        "realm": f"{public}/service/token",
        "service": settings.TOKEN_SERVICE,
        "issuer": settings.TOKEN_ISSUER,
        "rootcertbundle": rootcertbundle or str(settings.TOKEN_CERT_FILE),
        "notify_url": notify_url or f"{public}/service/notifications",
        "notify_secret": settings.NOTIFY_SECRET,
    }


def render_registry_config(**overrides: str | None) -> str:
    """The registry's config.yml text."""
    return Template(TEMPLATE.read_text()).substitute(registry_config_values(**overrides))
