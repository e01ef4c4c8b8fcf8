"""The registry's notification endpoint: authenticate, store each event once, answer at once.

The registry retries anything but 2xx/3xx forever and in order, so this path stays tiny: the
index is updated by a worker (`dashboard.tasks.index_pending_events`), queued at most once at a
time.
"""

from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dashboard.services.errors import AUTH_FAILED, INVALID_PARAMETERS, ServiceError
from dashboard.services.index import events_index_enqueue, events_store


def _error(code: str, message: str, status: int) -> JsonResponse:
    error = ServiceError(code, message, status)
    return JsonResponse({"error_code": error.code, "error_msg": error.message}, status=status)


def _authorized(request: HttpRequest) -> bool:
    expected = f"Bearer {settings.NOTIFY_SECRET}".encode()
    given = request.headers.get("Authorization", "").encode()
    return bool(settings.NOTIFY_SECRET) and hmac.compare_digest(given, expected)


@csrf_exempt
@require_POST
def notifications(request: HttpRequest) -> JsonResponse:
    """Store `{"events": [...]}`: 200 with how many were new, 401 bad secret, 400 malformed."""
    if not _authorized(request):
        return _error(AUTH_FAILED, "The notification secret is missing or wrong.", 401)
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error(INVALID_PARAMETERS, "The body is not JSON.", 400)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        return _error(INVALID_PARAMETERS, 'The body must be {"events": [...]}.', 400)
    try:
        stored = events_store(events=events)
    except ServiceError as exc:
        return _error(exc.code, exc.message, exc.status)
    if stored:
        events_index_enqueue()
    return JsonResponse({"received": len(events), "stored": stored})
