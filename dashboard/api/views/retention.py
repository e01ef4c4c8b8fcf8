"""Image retention policies, SWR-SPEC.md §2.8: create (the first run starts at once), list, show,
change, delete, and the histories of the tags policies deleted. Manage to change, Read to read.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView, api_repository
from dashboard.api.paging import content_range, list_query
from dashboard.api.schema import errors, full_body
from dashboard.api.serializers.retention import (
    RetentionBodySerializer,
    RetentionIdSerializer,
    RetentionLogListSerializer,
    RetentionSerializer,
)
from dashboard.models import Level, Repository, RetentionPolicy
from dashboard.services.errors import ServiceError
from dashboard.services.retention import (
    RETENTION_NOT_FOUND,
    retention_logs_for_repository,
    retention_policy_create,
    retention_policy_delete,
    retention_policy_fields,
    retention_policy_get,
    retention_policy_swr,
    retention_policy_update,
)

TAGS = ["retention"]


def _policy(repository: Repository, retention_id: int) -> RetentionPolicy:
    """The repository's policy if its id is `retention_id` (a repository has at most one).
    Raises ServiceError 4040083 (404)."""
    policy = retention_policy_get(repository=repository)
    if policy is None or policy.pk != retention_id:
        raise ServiceError(
            RETENTION_NOT_FOUND,
            f"{repository.full_name} has no retention policy {retention_id}.",
            404,
        )
    return policy


class RetentionListView(SwrApiView):
    traces = {"post": "createRetention"}
    resource_type = "retention"

    @extend_schema(
        operation_id="CreateRetention",
        tags=TAGS,
        request=RetentionBodySerializer,
        responses={201: RetentionIdSerializer, **errors(403, 404, 409)},
    )
    def post(self, request: Request, namespace: str, repository: str) -> Response:
        """Set the repository's retention policy (one per repository) and run it at once."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        body = RetentionBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        policy, _ = retention_policy_create(
            repository=repo,
            actor=request.user,
            **retention_policy_fields(**body.validated_data),
        )
        return Response(RetentionIdSerializer({"id": policy.pk}).data, status=201)

    @extend_schema(
        operation_id="ListRetentions",
        tags=TAGS,
        responses={200: RetentionSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """The repository's retention policy, as a list of none or one."""
        repo, _ = api_repository(request.user, namespace, repository)
        policy = retention_policy_get(repository=repo)
        rows = [retention_policy_swr(policy)] if policy is not None else []
        return Response(RetentionSerializer(rows, many=True).data)


class RetentionDetailView(SwrApiView):
    traces = {"patch": "updateRetention", "delete": "deleteRetention"}
    resource_type = "retention"

    @extend_schema(
        operation_id="ShowRetention",
        tags=TAGS,
        responses={200: RetentionSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, namespace: str, repository: str, retention_id: int) -> Response:
        """One retention policy."""
        repo, _ = api_repository(request.user, namespace, repository)
        policy = _policy(repo, retention_id)
        return Response(RetentionSerializer(retention_policy_swr(policy)).data)

    @extend_schema(
        operation_id="UpdateRetention",
        tags=TAGS,
        request=RetentionBodySerializer,
        responses={201: None, **errors(403, 404)},
    )
    @full_body
    def patch(
        self, request: Request, namespace: str, repository: str, retention_id: int
    ) -> Response:
        """Change the rule's number and exceptions (its template cannot change); the policy
        runs again."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        policy = _policy(repo, retention_id)
        body = RetentionBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        retention_policy_update(
            policy=policy, actor=request.user, **retention_policy_fields(**body.validated_data)
        )
        return Response(status=201)

    @extend_schema(
        operation_id="DeleteRetention",
        tags=TAGS,
        responses={200: None, **errors(403, 404)},
    )
    def delete(
        self, request: Request, namespace: str, repository: str, retention_id: int
    ) -> Response:
        """Delete the policy; its histories stay."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        retention_policy_delete(policy=_policy(repo, retention_id), actor=request.user)
        return Response(status=200)


class RetentionHistoryView(SwrApiView):
    @extend_schema(
        operation_id="ListRetentionHistories",
        tags=TAGS,
        parameters=[
            OpenApiParameter("offset", OpenApiTypes.STR, description="Send with limit."),
            OpenApiParameter("limit", OpenApiTypes.STR, description="1-1000 (default 100)."),
            OpenApiParameter(
                "filter", OpenApiTypes.STR, description="limit::{N}|offset::{M} (wins)."
            ),
        ],
        responses={200: RetentionLogListSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """The tags retention deleted in this repository, newest first, with `Content-Range`."""
        repo, _ = api_repository(request.user, namespace, repository)
        query = list_query(request)
        logs = retention_logs_for_repository(repository=repo)
        total = logs.count()
        page = list(logs[query.window(total)])
        body = RetentionLogListSerializer({"retention_log": page, "total": total}).data
        return content_range(Response(body), offset=query.offset, count=len(page), total=total)
