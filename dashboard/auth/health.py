"""Liveness and readiness for supervisors, compose healthchecks and load balancers."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from dashboard.registry.client import get_client
from dashboard.registry.errors import RegistryError


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up. Checks nothing else, on purpose."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Database, redis and registry reachable: 200 when all are, 503 with the failures otherwise."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            cache.set("berth:readyz", "1", timeout=5)
            checks["redis"] = "ok" if cache.get("berth:readyz") == "1" else "error: no echo"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
    else:
        checks["redis"] = "not configured"
    try:
        get_client().ping()
        checks["registry"] = "ok"
    except RegistryError as exc:
        checks["registry"] = f"error: {exc.message}"
    ready = all(v in ("ok", "not configured") for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
