"""Repositories (SWR images), SWR-SPEC.md §2.4: create an empty one, show, change, delete, the
list of those the caller can see, and the shared images.

Permissions: creating needs Write on the organization (what pushing a new repository into it
needs); changing attributes Write, deleting Manage on the repository. Outsiders get 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView, api_organization, api_repository
from dashboard.api.paging import content_range, list_query, query_bool
from dashboard.api.schema import errors, full_body
from dashboard.api.serializers.common import ErrorSerializer
from dashboard.api.serializers.repositories import (
    IS_PUBLIC_INVALID,
    RepositoryCreateSerializer,
    RepositoryListItemSerializer,
    RepositorySerializer,
    RepositoryUpdateSerializer,
)
from dashboard.models import Category, Level, Repository
from dashboard.selectors.repositories import (
    SHARED_CENTERS,
    repository_list_for_user,
    repository_list_shared_for_user,
)
from dashboard.selectors.tags import tag_names_by_repository
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.services.repositories import repository_create, repository_update
from dashboard.services.tags import repository_delete

TAGS = ["repositories"]
#: SWR's `order_column`s and the selector's sort for each (`updated_at` is what the SDK
#: documents, `updated_time` what SWR's `filter` form says).
ORDER_COLUMNS = {
    "updated_time": "updated",
    "updated_at": "updated",
    "name": "name",
    "tag_count": "tags",
    "namespace": "namespace",
    "is_public": "public",
}
SHARED_ORDER_COLUMNS = {k: v for k, v in ORDER_COLUMNS.items() if k != "is_public"}
CATEGORY = OpenApiParameter("category", OpenApiTypes.STR, enum=Category.values)
NAME = OpenApiParameter("name", OpenApiTypes.STR, description="Part of the repository name.")
PAGING = [
    OpenApiParameter("offset", OpenApiTypes.INT, description="With limit; from 0."),
    OpenApiParameter("limit", OpenApiTypes.INT, description="1-1000 (with offset)."),
    OpenApiParameter("order_type", OpenApiTypes.STR, enum=["asc", "desc"]),
]

#: What an operation that changes the registry may also answer (ServiceError.from_registry).
REGISTRY_FAILURES = {
    status: OpenApiResponse(ErrorSerializer, description=meaning)
    for status, meaning in (
        (405, "The registry does not allow deletes"),
        (502, "The registry failed"),
        (503, "The registry cannot be reached or is busy"),
        (504, "The registry did not answer in time"),
    )
}


def addresses(full_name: str) -> tuple[str, str]:
    """(path, internal_path): the pull address users type, and the registry's address as Berth
    reaches it (SWR's private-network address)."""
    internal_host = urlsplit(settings.REGISTRY_URL).netloc or settings.REGISTRY_HOST
    return f"{settings.REGISTRY_HOST}/{full_name}", f"{internal_host}/{full_name}"


def _detail(repository: Repository) -> dict[str, Any]:
    path, internal = addresses(repository.full_name)
    creator = repository.creator
    return {
        "id": repository.pk,
        "ns_id": repository.organization_id,
        "name": repository.name,
        "category": repository.category,
        "description": repository.description,
        "creator_id": str(creator.pk) if creator is not None else "",
        "creator_name": creator.get_username() if creator is not None else "",
        "size": repository.size,
        "is_public": repository.is_public,
        "num_images": repository.tag_count,
        "num_download": repository.num_download,
        "url": "",
        "path": path,
        "internal_path": internal,
        "created": repository.created_at,
        "updated": repository.updated_at,
        "domain_id": "",
        "priority": 0,
    }


def list_items(page: list[Repository], *, total: int) -> list[dict[str, Any]]:
    """ShowReposResp objects for a page, with every tag name of each (one query)."""
    names = tag_names_by_repository(repository_ids=[r.pk for r in page])
    rows = []
    for repository in page:
        path, internal = addresses(repository.full_name)
        rows.append(
            {
                "name": repository.name,
                "category": repository.category,
                "description": repository.description,
                "size": repository.size,
                "is_public": repository.is_public,
                "num_images": repository.tag_count,
                "num_download": repository.num_download,
                "created_at": repository.created_at,
                "updated_at": repository.updated_at,
                "logo": "",
                "url": "",
                "path": path,
                "internal_path": internal,
                "domain_name": "",
                "namespace": repository.organization.name,
                "tags": names.get(repository.pk, []),
                "status": bool(getattr(repository, "share_valid", False)),
                "total_range": total,
            }
        )
    return rows


def _paged(repositories: QuerySet[Repository], offset: int, limit: int | None) -> Response:
    """One page of ShowReposResp with its Content-Range. Three queries: count, page, tags."""
    total = repositories.count()
    end = offset + limit if limit is not None else None
    page = list(repositories[offset:end])
    body = RepositoryListItemSerializer(list_items(page, total=total), many=True).data
    return content_range(Response(body), offset=offset, count=len(page), total=total)


def _sort(column: str | None, descending: bool, columns: dict[str, str]) -> str:
    if column is None:
        return "-updated"
    return f"-{columns[column]}" if descending else columns[column]


class RepositoryCreateView(SwrApiView):
    traces = {"post": "createImageRepository"}
    resource_type = "imagerepository"

    @extend_schema(
        operation_id="CreateRepo",
        tags=TAGS,
        request=RepositoryCreateSerializer,
        responses={200: None, **errors(403, 404, 409, 413)},
    )
    def post(self, request: Request, namespace: str) -> Response:
        """Create an empty repository (Write on the organization). 200 without a body."""
        organization, _ = api_organization(request.user, namespace, need=Level.WRITE)
        body = RepositoryCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        repository_create(
            organization=organization,
            name=body.validated_data["repository"],
            actor=request.user,
            is_public=body.validated_data["is_public"],
            category=body.validated_data["category"],
            description=body.validated_data["description"],
        )
        return Response(status=200)


class RepositoryDetailView(SwrApiView):
    traces = {"patch": "updateImageRepository", "delete": "deleteImageRepository"}
    resource_type = "imagerepository"

    @extend_schema(
        operation_id="ShowRepository",
        tags=TAGS,
        responses={200: RepositorySerializer, **errors(404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """One repository the caller can read."""
        found, _ = api_repository(request.user, namespace, repository)
        return Response(RepositorySerializer(_detail(found)).data)

    @extend_schema(
        operation_id="UpdateRepo",
        tags=TAGS,
        request=RepositoryUpdateSerializer,
        responses={201: None, **errors(403, 404, 413)},
    )
    @full_body
    def patch(self, request: Request, namespace: str, repository: str) -> Response:
        """Set type, category and description (Write); `is_public` is required. 201."""
        found, _ = api_repository(request.user, namespace, repository, need=Level.WRITE)
        body = RepositoryUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        repository_update(
            repository=found,
            actor=request.user,
            is_public=data["is_public"],
            category=data.get("category", found.category),
            description=data.get("description", found.description),
        )
        return Response(status=201)

    @extend_schema(
        operation_id="DeleteRepo",
        tags=TAGS,
        responses={204: None, **errors(403, 404), **REGISTRY_FAILURES},
    )
    def delete(self, request: Request, namespace: str, repository: str) -> Response:
        """Delete the repository and every image in it (Manage). 204."""
        found, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        repository_delete(repository=found, actor=request.user)
        return Response(status=204)


class RepositoryListView(SwrApiView):
    @extend_schema(
        operation_id="ListReposDetails",
        tags=TAGS,
        parameters=[
            OpenApiParameter(
                "namespace", OpenApiTypes.STR, description="Part of the organization name."
            ),
            NAME,
            CATEGORY,
            OpenApiParameter("is_public", OpenApiTypes.STR, enum=["true", "false"]),
            *PAGING,
            OpenApiParameter("order_column", OpenApiTypes.STR, enum=list(ORDER_COLUMNS)),
            OpenApiParameter(
                "filter",
                OpenApiTypes.STR,
                description="namespace::{org}|name::{name}|category::{c}|is_public::{b}|"
                "offset::{n}|limit::{n}|order_column::{col}|order_type::{asc|desc}; wins over "
                "the separate parameters.",
            ),
        ],
        responses={200: RepositoryListItemSerializer(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        """Repositories the caller can see (default offset 0, limit 100, newest push first),
        with `Content-Range: offset-count/total`."""
        query = list_query(
            request, keys=("namespace", "name", "category", "is_public"), columns=ORDER_COLUMNS
        )
        category = query.get("category")
        if category and category not in Category.values:
            raise ServiceError(INVALID_PARAMETERS, f"Unknown category {category!r}.", 400)
        public = query_bool(query, "is_public", code=IS_PUBLIC_INVALID)
        repositories = repository_list_for_user(
            user=request.user,
            query=query.get("name"),
            organization_query=query.get("namespace"),
            category=category,
            visibility="" if public is None else "public" if public else "private",
            sort=_sort(query.order_column, query.descending, ORDER_COLUMNS),
        )
        return _paged(repositories, query.offset, query.limit)


class SharedRepositoryListView(SwrApiView):
    @extend_schema(
        operation_id="ListSharedReposDetails",
        tags=TAGS,
        parameters=[
            OpenApiParameter(
                "center",
                OpenApiTypes.STR,
                enum=list(SHARED_CENTERS),
                description="self: shared by me; thirdparty: shared with my teams. Required "
                "(here or in filter).",
            ),
            OpenApiParameter("namespace", OpenApiTypes.STR, description="The organization."),
            NAME,
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=["true", "false"],
                description="thirdparty: true still valid, false expired.",
            ),
            *PAGING,
            OpenApiParameter("order_column", OpenApiTypes.STR, enum=list(SHARED_ORDER_COLUMNS)),
            OpenApiParameter(
                "filter",
                OpenApiTypes.STR,
                description="center::{self|thirdparty}|namespace::{org}|name::{name}|"
                "status::{b}|offset::{n}|limit::{n}|order_column::{col}|order_type::{t}",
            ),
        ],
        responses={
            200: OpenApiResponse(
                RepositoryListItemSerializer(many=True),
                description="Without offset and limit: every shared repository.",
            ),
            **errors(),
        },
    )
    def get(self, request: Request) -> Response:
        """Repositories shared by the caller (`self`) or with the caller's teams
        (`thirdparty`, `status` = the share still grants pull), each once."""
        query = list_query(
            request,
            keys=("center", "namespace", "name", "status"),
            columns=SHARED_ORDER_COLUMNS,
            default_limit=None,
        )
        center = query.get("center")
        if center not in SHARED_CENTERS:
            raise ServiceError(INVALID_PARAMETERS, "center must be self or thirdparty.", 400)
        repositories = repository_list_shared_for_user(
            user=request.user,
            center=center,
            query=query.get("name"),
            organization=query.get("namespace"),
            valid=query_bool(query, "status"),
            sort=_sort(query.order_column, query.descending, SHARED_ORDER_COLUMNS),
        )
        return _paged(repositories, query.offset, query.limit)
