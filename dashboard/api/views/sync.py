"""Image synchronization, SWR-SPEC.md §2.13: a repository's sync rules (`sync_repo`), manual
syncs (`sync_images`), the sync records (`sync_job`), and the regions, which are Berth's remote
registries. Manage on the repository to change, Read to read; any user lists the regions.

SWR's `domainID`/`domainName` (the tenant) have no counterpart in Berth, which has no tenants
above its users: they name the user who created the rule or asked for the copy.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView, api_repository
from dashboard.api.paging import content_range, list_query
from dashboard.api.schema import errors, full_body
from dashboard.api.serializers.sync import (
    RegionSerializer,
    SyncImagesSerializer,
    SyncJobSerializer,
    SyncRepoCreateSerializer,
    SyncRepoSerializer,
    SyncTargetSerializer,
)
from dashboard.models import Level, Repository, SyncJob, SyncRule
from dashboard.selectors.sync import remote_registry_list, sync_record_list, sync_rule_list
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.services.sync import (
    remote_registry_get,
    sync_images,
    sync_rule_create,
    sync_rule_delete,
)

TAGS = ["sync"]
FAILED_TAGS = OpenApiResponse(
    list[str],
    description="The tags that failed to start (unknown to the index); [] when all started.",
)


def _rule(rule: SyncRule, repository: Repository) -> dict[str, Any]:
    creator = rule.created_by
    return {
        "id": rule.pk,
        "namespace": repository.organization.name,
        "repoName": repository.name,
        "remoteRegionId": rule.remote.name,
        "remoteNamespace": rule.remote_namespace,
        "syncAuto": rule.sync_auto,
        "override": rule.override,
        "domainID": str(creator.pk) if creator is not None else "",
        "domainName": creator.get_username() if creator is not None else "",
        "createdAt": rule.created_at,
        "updatedAt": rule.updated_at,
    }


def _record(record: SyncJob) -> dict[str, Any]:
    operator_id = str(record.operator_id) if record.operator_id is not None else ""
    return {
        "id": record.pk,
        "namespace": record.namespace,
        "repoName": record.repo_name,
        "tag": record.tag,
        "remoteRegionId": record.remote_region_id,
        "remoteNamespace": record.remote_namespace,
        "override": record.override,
        "status": record.status,
        "syncOperatorId": operator_id,
        "syncOperatorName": record.operator_name,
        "domainID": operator_id,
        "domainName": record.operator_name,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }


class SyncRepoView(SwrApiView):
    traces = {"post": "createSyncRepo", "delete": "deleteSyncRepo"}
    resource_type = "syncrepo"

    @extend_schema(
        operation_id="CreateImageSyncRepo",
        tags=TAGS,
        request=SyncRepoCreateSerializer,
        responses={200: None, **errors(403, 404, 409)},
    )
    def post(self, request: Request, namespace: str, repository: str) -> Response:
        """Add a sync target: a region (remote registry) and an organization there."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        body = SyncRepoCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        sync_rule_create(
            repository=repo,
            remote=remote_registry_get(name=data["remoteRegionId"]),
            remote_namespace=data["remoteNamespace"],
            sync_auto=data["syncAuto"],
            override=data["override"],
            actor=request.user,
        )
        return Response(status=200)

    @extend_schema(
        operation_id="ListImageAutoSyncReposDetails",
        tags=TAGS,
        responses={200: SyncRepoSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """The repository's sync targets, by region and organization."""
        repo, _ = api_repository(request.user, namespace, repository)
        rules = [_rule(rule, repo) for rule in sync_rule_list(repository=repo)]
        return Response(SyncRepoSerializer(rules, many=True).data)

    @extend_schema(
        operation_id="DeleteImageSyncRepo",
        tags=TAGS,
        request=SyncTargetSerializer,
        responses={200: None, **errors(403, 404)},
    )
    @full_body
    def delete(self, request: Request, namespace: str, repository: str) -> Response:
        """Remove the sync target the body names; its records stay."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        body = SyncTargetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        sync_rule_delete(
            repository=repo,
            remote=remote_registry_get(name=data["remoteRegionId"]),
            remote_namespace=data["remoteNamespace"],
            actor=request.user,
        )
        return Response(status=200)


class SyncImagesView(SwrApiView):
    traces = {"post": "syncImages"}
    resource_type = "syncjob"

    @extend_schema(
        operation_id="CreateManualImageSyncRepo",
        tags=TAGS,
        request=SyncImagesSerializer,
        responses={200: FAILED_TAGS, **errors(403, 404)},
    )
    def post(self, request: Request, namespace: str, repository: str) -> Response:
        """Copy tags to a region now; answers the tags that failed to start (`[]`: none)."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        body = SyncImagesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        started = sync_images(
            repository=repo,
            tags=data["imageTag"],
            remote=remote_registry_get(name=data["remoteRegionId"]),
            remote_namespace=data["remoteNamespace"],
            override=data["override"],
            actor=request.user,
        )
        return Response(started.failed, status=200)


class SyncJobView(SwrApiView):
    @extend_schema(
        operation_id="ShowSyncJob",
        tags=TAGS,
        parameters=[
            OpenApiParameter(
                "filter",
                OpenApiTypes.STR,
                required=True,
                description="limit::{N}|offset::{M}|order::{asc|desc}; limit and offset are "
                "required, order (by creation) defaults to desc.",
            ),
        ],
        responses={200: SyncJobSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """The repository's sync records (one per tag and target), with `Content-Range`."""
        repo, _ = api_repository(request.user, namespace, repository)
        query = list_query(request, keys=("order",), require_page=True)
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ServiceError(INVALID_PARAMETERS, "order must be asc or desc.", 400)
        records = sync_record_list(repository=repo, oldest_first=order == "asc")
        total = records.count()
        page = [_record(record) for record in records[query.window(total)]]
        body = SyncJobSerializer(page, many=True).data
        return content_range(Response(body), offset=query.offset, count=len(page), total=total)


class RegionListView(SwrApiView):
    @extend_schema(
        operation_id="ListSyncRegions",
        tags=TAGS,
        responses={200: RegionSerializer(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        """The regions images can be synchronized to: Berth's remote registries, by name."""
        regions = [{"regionID": remote.name} for remote in remote_registry_list()]
        return Response(RegionSerializer(regions, many=True).data)
