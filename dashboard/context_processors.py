from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from dashboard.services.access_requests import pending_count_for_manager
from dashboard.views.common import registry_is_plain_http


def berth(request: HttpRequest) -> dict[str, object]:
    """Values every page may show: the registry host users push to, whether it is plain HTTP
    (clients then need it under `insecure-registries`), the region."""
    return {
        "REGISTRY_HOST": settings.REGISTRY_HOST,
        "REGISTRY_INSECURE": registry_is_plain_http(),
        "REGION": settings.REGION,
        "PENDING_DECISIONS": SimpleLazyObject(lambda: _pending_decisions(request)),
    }


def _pending_decisions(request: HttpRequest) -> int:
    """Access requests waiting for the user's decision: one query, only for a page that shows
    the count, at most once per request."""
    cached = getattr(request, "_berth_pending_decisions", None)
    if cached is None:
        user = request.user
        cached = pending_count_for_manager(user=user) if user.is_authenticated else 0
        request._berth_pending_decisions = cached  # type: ignore[attr-defined]
    return cached
