"""Login commands, quotas, overview, reports and feature gates: SWR-SPEC.md §2.9-§2.11.

`project_id` and `projectname` name SWR's regional project; Berth has one, `BERTH_REGION`
(settings.REGION). Another `project_id` is 404 with 4040083, another `projectname` 400 with
4000014.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.urls import Resolver404, resolve
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView
from dashboard.api.errors import NOT_FOUND
from dashboard.api.schema import errors
from dashboard.api.serializers.misc import (
    DockerConfigSerializer,
    FeatureGatesSerializer,
    OverviewSerializer,
    QuotaListSerializer,
    ReportPointSerializer,
    utc,
)
from dashboard.models import LoginSecret
from dashboard.selectors.overview import (
    REPORT_TYPES,
    downflow_for_user,
    overview_for_user,
    usage_report_for_user,
)
from dashboard.services.credentials import LOGIN_SECRET_DEFAULT, login_secret_create
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.services.organizations import organization_quota
from dashboard.services.stats import HISTORY_DAYS

if TYPE_CHECKING:
    from django.contrib.auth.models import User

LOGIN_TAGS = ["login commands"]
OTHER_TAGS = ["quotas, overview, reports"]
FREQUENCIES = ("daily",)


def _project(project_id: str) -> None:
    if project_id != settings.REGION:
        raise ServiceError(
            NOT_FOUND, f"There is no project {project_id!r}; Berth's is {settings.REGION}.", 404
        )


# -- temporary login commands ----------------------------------------------------------------

_DURATION = OpenApiParameter(
    "duration_seconds",
    OpenApiTypes.INT,
    description="How long the command works: 900 to 86400 seconds (default 86400).",
)
_LOGIN_HEADERS = [
    OpenApiParameter(
        "X-Swr-Dockerlogin",
        OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        response=[200],
        description="`docker login -u <user> -p <password>`; append the host (the key of auths).",
    ),
    OpenApiParameter(
        "X-Swr-Expireat",
        OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        response=[200],
        description="When the command stops working (UTC).",
    ),
]


def _duration(request: Request) -> dt.timedelta:
    text = request.query_params.get("duration_seconds", "")
    if not text:
        return LOGIN_SECRET_DEFAULT
    try:
        return dt.timedelta(seconds=int(text))
    except (ValueError, OverflowError):
        raise ServiceError(
            INVALID_PARAMETERS, "duration_seconds must be a whole number of seconds.", 400
        ) from None


def _user(request: Request) -> User:
    return cast("User", request.user)  # signed in: the API's default permission class


def _login_command(secret: LoginSecret, username: str, password: str) -> Response:
    """SWR's answer: the command in `X-Swr-Dockerlogin` (the host goes after it), its expiry
    in `X-Swr-Expireat`, and a docker `config.json` fragment as the body. Never cached."""
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    response = Response({"auths": {settings.REGISTRY_HOST: {"auth": basic}}})
    response["X-Swr-Dockerlogin"] = f"docker login -u {username} -p {password}"
    response["X-Swr-Expireat"] = utc(secret.expires_at)
    response["Cache-Control"] = "no-store"
    return response


class SecretView(SwrApiView):
    traces = {"post": "createDockerConfig"}
    resource_type = "dockerlogincmd"

    @extend_schema(
        operation_id="CreateSecret",
        tags=LOGIN_TAGS,
        request=None,
        parameters=[
            OpenApiParameter(
                "projectname",
                OpenApiTypes.STR,
                description=f"The regional project: BERTH_REGION (default {settings.REGION!r}).",
            ),
            _DURATION,
            *_LOGIN_HEADERS,
        ],
        responses={200: DockerConfigSerializer, **errors()},
    )
    def post(self, request: Request) -> Response:
        """A temporary `docker login` command for the caller: user `<region>@<id>`."""
        project = request.query_params.get("projectname", "") or settings.REGION
        if project != settings.REGION:
            raise ServiceError(
                INVALID_PARAMETERS,
                f"projectname must be {settings.REGION!r}, Berth's region, not {project[:64]!r}.",
                400,
            )
        duration = _duration(request)
        return _login_command(*login_secret_create(user=_user(request), duration=duration))


class AuthorizationTokenView(SwrApiView):
    traces = {"post": "createDockerConfig"}
    resource_type = "dockerlogincmd"

    @extend_schema(
        operation_id="CreateAuthorizationToken",
        tags=LOGIN_TAGS,
        request=None,
        parameters=[_DURATION, *_LOGIN_HEADERS],
        responses={200: DockerConfigSerializer, **errors()},
    )
    def post(self, request: Request) -> Response:
        """SWR's enhanced temporary login command: user `bearertoken@<id>`. In Berth it is a
        temporary login secret like CreateSecret's, under that username (`duration_seconds`
        is a Berth extension here)."""
        duration = _duration(request)
        created = login_secret_create(user=_user(request), duration=duration, bearer=True)
        return _login_command(*created)


# -- quotas, overview, reports, feature gates ------------------------------------------------


class QuotasView(SwrApiView):
    @extend_schema(
        operation_id="ListQuotas",
        tags=OTHER_TAGS,
        responses={200: QuotaListSerializer, **errors(404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        """The caller's organization quota: how many they created, and may (BERTH_ORG_QUOTA;
        -1 for administrators, who are not limited)."""
        _project(project_id)
        used, limit = organization_quota(user=request.user)
        quota = {
            "quota_key": "namespace",
            "quota_limit": -1 if limit is None else limit,
            "used": used,
            "unit": "",
        }
        return Response(QuotaListSerializer({"quotas": [quota]}).data)


class OverviewView(SwrApiView):
    @extend_schema(
        operation_id="ShowDomainOverview",
        tags=OTHER_TAGS,
        responses={200: OverviewSerializer, **errors()},
    )
    def get(self, request: Request) -> Response:
        """What the caller can see: organizations, repositories, tags, bytes stored, and the
        estimated bytes pulled. Berth has no tenants, so the caller stands for SWR's domain."""
        user = request.user
        figures = overview_for_user(user=user)
        body = {
            "domain_id": str(user.pk),
            "domain_name": user.get_username(),
            "namspace_num": figures.organizations,
            "repo_num": figures.repositories,
            "image_num": figures.tags,
            "store_space": float(figures.storage),
            "downflow_size": float(downflow_for_user(user=user)),
        }
        return Response(OverviewSerializer(body).data)


class ReportsView(SwrApiView):
    @extend_schema(
        operation_id="ShowDomainResourceReports",
        tags=OTHER_TAGS,
        parameters=[
            OpenApiParameter(
                "resource_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=REPORT_TYPES
            ),
            OpenApiParameter(
                "frequency", OpenApiTypes.STR, OpenApiParameter.PATH, enum=FREQUENCIES
            ),
        ],
        responses={200: ReportPointSerializer(many=True), **errors()},
    )
    def get(self, request: Request, resource_type: str, frequency: str) -> Response:
        """Daily figures (UTC days) of the last 30 days over the repositories the caller can
        see, oldest first, from hourly measurements: `store` is the bytes they stored at each
        day's last measurement; `downflow` the estimated bytes pulled that day (each pull the
        token realm counted, as one average image of its repository). Days without a
        measurement are left out."""
        if resource_type not in REPORT_TYPES or frequency not in FREQUENCIES:
            raise ServiceError(
                INVALID_PARAMETERS,
                "Ask for reports/store/daily or reports/downflow/daily.",
                400,
            )
        points = usage_report_for_user(
            user=request.user, resource_type=resource_type, days=HISTORY_DAYS
        )
        rows = [{"date": day.isoformat(), "value": float(value)} for day, value in points]
        return Response(ReportPointSerializer(rows, many=True).data)


def _served(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


class FeatureGatesView(SwrApiView):
    @extend_schema(
        operation_id="ShowShareFeatureGates",
        tags=OTHER_TAGS,
        responses={
            200: OpenApiResponse(
                FeatureGatesSerializer, description="What Berth does, for clients to show."
            ),
            **errors(404),
        },
    )
    def get(self, request: Request, project_id: str) -> Response:
        """SWR's feature switches, set to what Berth does: image sync, the enhanced login
        command and (when served) the v3 lists are on; scanning, HSS, SM3, CCI, labels,
        pipelines, the image center ("resources") and image quotas are not Berth's."""
        _project(project_id)
        gates = {
            "enable_experience": False,
            "enable_hss_service": False,
            "enable_image_scan": False,
            "enable_sm3": False,
            "enable_image_sync": True,
            "enable_cci_service": False,
            "enable_image_label": False,
            "enable_pipeline": False,
            "enable_authorization_token": True,
            "enable_resource": False,
            "enable_list_v3": _served("/v3/manage/repos"),
            "enable_image_quota": False,
        }
        return Response(FeatureGatesSerializer(gates).data)
