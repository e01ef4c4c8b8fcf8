"""The OpenAPI document's pieces that drf-spectacular cannot infer: the security schemes of
Berth's authentication classes and the error answers each endpoint may give."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from dashboard.api.serializers.common import ErrorSerializer

_MEANINGS = {
    400: "Invalid request (SWR error code in the body)",
    401: "Authentication failed (SVCSTG.SWR.4010000)",
    403: "No permission",
    404: "Not found",
    406: "Not acceptable (not empty)",
    409: "Already exists",
    413: "Too large",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error answers in SWR's combined form, for `@extend_schema(responses=...)`. 400 and 401
    are always possible (malformed requests, missing credentials)."""
    wanted = sorted({400, 401, *statuses})
    return {s: OpenApiResponse(ErrorSerializer, description=_MEANINGS[s]) for s in wanted}


class _BodyAsPost(AutoSchema):
    """drf-spectacular documents request bodies of POST, PUT and PATCH only, and makes every
    field of a PATCH body optional."""

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method not in ("DELETE", "PATCH"):
            return super()._get_request_body(direction)
        method, self.method = self.method, "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = method


def full_body(view_method: Any) -> Any:
    """Document a `delete` or `patch` method's body as a POST's: SWR's revokes and sync rule
    deletes take a body, and its PATCHes validate the whole body (required fields stay
    required). Put it under `@extend_schema(request=...)`, which builds on this schema class."""
    view_method.schema = _BodyAsPost
    return view_method


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "dashboard.api.authentication.ApiTokenAuthentication"
    name = "XAuthToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Auth-Token",
            "description": (
                "A Berth API token (Account → API tokens, or manage.py create_api_token)."
            ),
        }


class SignatureScheme(OpenApiAuthenticationExtension):
    target_class = "dashboard.api.authentication.SignatureAuthentication"
    name = "AkSkSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<...>, Signature=<...> with "
                "X-Sdk-Date, as Huawei Cloud SDKs sign with a Berth access key."
            ),
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "dashboard.api.authentication.SessionCsrfAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
