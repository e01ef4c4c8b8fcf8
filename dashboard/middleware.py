"""The one place where refusals and failures that escape a view become what the user sees.

- A `ServiceError` (or a `RegistryError`, wrapped as SWR's 5001038) on a page renders the
  error page with the code and message, with the error's HTTP status.
- On an htmx request it renders the small error partial: into the box the requesting element
  named in `X-Berth-Error-Target`, or, when it named none, as a toast while the page stays as
  it was (`HX-Reswap: none`). 404 and 403 on htmx requests are answered the same way.
- On the SWR API and the registry endpoints it answers JSON.
- Django messages added during an htmx request travel back as toasts in `HX-Trigger`, unless
  the response sends the browser elsewhere (the next page shows them).
- Every response varies on `HX-Request`: one URL serves a page and its htmx fragment.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from dashboard.auth.addresses import client_address
from dashboard.registry.errors import RegistryError
from dashboard.services.audit import FAILURE, audit_context, audit_record
from dashboard.services.errors import FORBIDDEN, ServiceError
from dashboard.views.common import add_toast, error_target

#: SWR: "The requested URL was not found".
NOT_FOUND = "4040083"

_LEVELS = {
    messages.DEBUG: "info",
    messages.INFO: "info",
    messages.SUCCESS: "success",
    messages.WARNING: "warning",
    messages.ERROR: "danger",
}
_NAVIGATION_HEADERS = ("HX-Redirect", "HX-Location", "HX-Refresh", "Location")


class ServiceErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The same URL answers a page or, for htmx, its fragment: caches must keep both.
        patch_vary_headers(response, ["HX-Request"])
        if _is_htmx(request) and not any(h in response for h in _NAVIGATION_HEADERS):
            for message in messages.get_messages(request):
                add_toast(response, _LEVELS.get(message.level, "info"), str(message))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RegistryError):
            exception = ServiceError.from_registry(exception, doing="complete the request")
        if isinstance(exception, ServiceError) and request.method not in ("GET", "HEAD"):
            audit_refusal(request, exception)
        if request.path.startswith(("/v2/", "/service/")):
            if not isinstance(exception, ServiceError):
                return None
            return JsonResponse(
                {"error_code": exception.code, "error_msg": exception.message},
                status=exception.status,
            )
        if _is_htmx(request):
            if isinstance(exception, Http404):
                exception = ServiceError(NOT_FOUND, "Not found: it may have been deleted.", 404)
            elif isinstance(exception, PermissionDenied):
                exception = ServiceError(FORBIDDEN, "You do not have permission for this.", 403)
        if not isinstance(exception, ServiceError):
            return None
        context = {
            "code": exception.code,
            "message": exception.message,
            # Set by the access helpers on a 403 for a target the user can see.
            "access_target": getattr(exception, "access_target", ""),
            "access_level": getattr(exception, "access_level", 0),
        }
        if not _is_htmx(request):
            return render(request, "dashboard/error.html", context, status=exception.status)
        response = HttpResponse(
            render_to_string("dashboard/partials/_error.html", context, request=request),
            status=exception.status,
        )
        target = error_target(request)
        if target:
            response["HX-Retarget"] = target
            response["HX-Reswap"] = "innerHTML"
        else:
            response["HX-Reswap"] = "none"
            add_toast(response, "danger", exception.message, exception.code)
        return response


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def audit_refusal(request: HttpRequest, error: ServiceError) -> None:
    """Trace a change the service refused or could not make (result `failure`), named after the
    page's route, e.g. `organization-delete`; services trace only what succeeded."""
    match = request.resolver_match
    kwargs = match.kwargs if match is not None else {}
    audit_record(
        action=(match.url_name if match is not None else "") or "request",
        resource_type="request",
        resource_name="/".join(str(kwargs[k]) for k in ("org", "repo", "tag") if k in kwargs)
        or request.path,
        organization=str(kwargs.get("org", "")),
        result=FAILURE,
        detail={"code": error.code, "message": error.message, "status": error.status},
    )


class AuditContextMiddleware:
    """Lets services trace who acted and from where (`dashboard.services.audit.audit_context`)
    without seeing the request. After AuthenticationMiddleware: the user is read lazily."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_context(actor=request.user, source_ip=client_address(request)):
            return self.get_response(request)
