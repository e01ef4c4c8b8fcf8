"""API versions (SWR-SPEC.md §2.1): `GET /` and `GET /{api_version}`.

`/` is also the dashboard's overview: a request that carries API credentials, or asks for
JSON and not HTML, gets the version list; a browser gets the page.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.authentication import wants_api
from dashboard.api.base import SwrApiView
from dashboard.api.schema import errors
from dashboard.api.serializers.common import VersionListSerializer, VersionSerializer
from dashboard.services.errors import ServiceError
from dashboard.views.common import HtmxHttpRequest
from dashboard.views.pages import overview

NOT_FOUND = "4040083"
#: (id, status, highest micro-version, lowest), as SWR describes its two API generations.
VERSIONS = (("v2", "CURRENT", "2.26", "2.0"), ("v3", "SUPPORTED", "3.0", "3.0"))
UPDATED = "2026-12-01T00:00:00Z"


def _detail(request: Request, version: tuple[str, str, str, str]) -> dict:
    vid, status, highest, lowest = version
    return {
        "id": vid,
        "links": {"href": request.build_absolute_uri(f"/{vid}"), "rel": "self"},
        "version": highest,
        "min_version": lowest,
        "status": status,
        "updated": UPDATED,
    }


class ApiVersionsView(SwrApiView):
    """`/`: the version list for API clients, the overview page for browsers."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not wants_api(request):
            return overview(cast("HtmxHttpRequest", request))
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        operation_id="ListApiVersions",
        tags=["versions"],
        auth=[],
        responses={200: VersionListSerializer},
    )
    def get(self, request: Request) -> Response:
        """The API versions Berth serves."""
        return Response({"versions": [_detail(request, v) for v in VERSIONS]})


class ApiVersionView(SwrApiView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="ShowApiVersion",
        tags=["versions"],
        auth=[],
        responses={200: VersionSerializer, **errors(404)},
    )
    def get(self, request: Request, api_version: str) -> Response:
        """One API version (`v2` or `v3`)."""
        for version in VERSIONS:
            if version[0] == api_version:
                return Response({"version": _detail(request, version)})
        raise ServiceError(NOT_FOUND, f"There is no API version {api_version!r}.", 404)
