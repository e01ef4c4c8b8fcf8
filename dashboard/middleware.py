"""Render a `ServiceError` that escaped a view as a clear message, never a traceback."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from dashboard.registry.errors import RegistryError
from dashboard.services.errors import ServiceError


class ServiceErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RegistryError):
            exception = ServiceError.from_registry(exception, doing="complete the request")
        if not isinstance(exception, ServiceError):
            return None
        if request.path.startswith("/v2/") or request.path.startswith("/service/"):
            return JsonResponse(
                {"error_code": exception.code, "error_msg": exception.message},
                status=exception.status,
            )
        return render(
            request,
            "dashboard/error.html",
            {"code": exception.code, "message": exception.message},
            status=exception.status,
        )
