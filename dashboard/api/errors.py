"""Errors in SWR's combined form (SWR-SPEC.md §3.1): the legacy `errors` list and the newer
`error_code`/`error_msg`/`details`, so that clients of either generation can read them.

Every failure of an API view goes through `swr_exception_handler`: service refusals keep their
code and status; what DRF refuses (authentication, malformed JSON, wrong media type, unknown
methods and paths) gets SWR's nearest code; a bug is logged and answered with SWR's internal
error code, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from rest_framework import exceptions
from rest_framework.response import Response

from dashboard.api.authentication import wants_api
from dashboard.registry.errors import RegistryError
from dashboard.services.errors import (
    AUTH_FAILED,
    FORBIDDEN,
    INVALID_PARAMETERS,
    PREFIX,
    ServiceError,
)

logger = logging.getLogger(__name__)

NOT_FOUND = "4040083"  # The requested URL was not found
INVALID_BODY = "4001018"  # Invalid request body type
BODY_TOO_LARGE = "4131001"  # The request body is too large
INTERNAL = "5000007"  # ISE: Obtain failed


def error_body(code: str, message: str) -> dict[str, Any]:
    """SWR's combined error object for `code` (with or without the SVCSTG.SWR. prefix)."""
    full = code if "." in code else PREFIX + code
    return {
        "errors": [{"errorCode": full, "errorMessage": message, "detail": ""}],
        "error_code": full,
        "error_msg": message,
        "details": [{"error_code": full, "error_msg": message}],
    }


def error_response(code: str, message: str, status: int) -> JsonResponse:
    """A plain Django response with SWR's error body (for paths DRF does not route)."""
    return JsonResponse(error_body(code, message), status=status)


API_PREFIXES = ("/v2/manage/", "/v3/manage/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 handler: SWR's error body for the API (its paths, or a request carrying
    API credentials), the 404 page for browsers."""
    if request.path.startswith(API_PREFIXES) or wants_api(request):
        return error_response(NOT_FOUND, "The requested URL was not found.", 404)
    return page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler: SWR's internal error under the API's paths, the 500 page elsewhere."""
    if request.path.startswith(API_PREFIXES) or wants_api(request):
        message = "The request failed on an internal error; the server log has the details."
        return error_response(INTERNAL, message, 500)
    return default_server_error(request)


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """Readable `field: message` lines from a DRF validation error's detail."""
    if isinstance(detail, dict):
        lines: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            lines += _flatten(value, f"{prefix}.{name}" if prefix and name else name or prefix)
        return lines
    if isinstance(detail, list):
        lines = []
        for index, value in enumerate(detail):
            nested = isinstance(value, (dict, list))
            lines += _flatten(value, f"{prefix}[{index}]" if nested else prefix)
        return lines
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _describe(exc: Exception) -> tuple[str, str, int]:
    if isinstance(exc, ServiceError):
        return exc.code, exc.message, exc.status
    if isinstance(exc, RegistryError):
        wrapped = ServiceError.from_registry(exc, doing="complete the request")
        return wrapped.code, wrapped.message, wrapped.status
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        message = str(exc.detail)
        if isinstance(exc, exceptions.NotAuthenticated):
            message = "Authentication failed: send X-Auth-Token or sign the request with an AK/SK."
        return AUTH_FAILED, message, 401
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        return FORBIDDEN, "You do not have the permission to perform this operation.", 403
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return NOT_FOUND, "The requested URL was not found.", 404
    if isinstance(exc, exceptions.MethodNotAllowed):
        return INVALID_PARAMETERS, str(exc.detail), 405
    if isinstance(exc, exceptions.ParseError):
        return INVALID_BODY, f"The request body is not valid JSON: {exc.detail}", 400
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return INVALID_BODY, "Send the request body as JSON (Content-Type: application/json).", 400
    if isinstance(exc, RequestDataTooBig):
        return BODY_TOO_LARGE, "The request body is too large.", 413
    if isinstance(exc, exceptions.ValidationError):
        return INVALID_PARAMETERS, "Invalid parameters: " + "; ".join(_flatten(exc.detail)), 400
    if isinstance(exc, exceptions.APIException):
        return INVALID_PARAMETERS, str(exc.detail), exc.status_code
    logger.exception("the API failed on %r", exc)
    return INTERNAL, "The request failed on an internal error; the server log has the details.", 500


def swr_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's exception handler: every failure as SWR's combined error body."""
    code, message, status = _describe(exc)
    response = Response(error_body(code, message), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'X-Auth-Token realm="swr"'
    return response
