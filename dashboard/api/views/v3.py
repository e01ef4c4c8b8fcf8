"""SWR's v3 lists (SWR-SPEC.md §2.14): repositories, shared repositories and tags, paged by a
marker instead of an offset.

Markers are keyset positions, never offsets: repositories continue after an id (`nextMarker`
is the last id of the page, an integer as the SDK has it); tags after an opaque position in
their order. What is created or deleted between two pages neither repeats nor skips others.
`nextMarker` is left out on the last page.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView, api_repository
from dashboard.api.paging import MarkerQuery, marker_query, query_bool
from dashboard.api.schema import errors
from dashboard.api.serializers.repositories import IS_PUBLIC_INVALID, RepositoryListV3Serializer
from dashboard.api.serializers.tags import TagListV3Serializer
from dashboard.api.views.tags import tag_fields
from dashboard.models import Category, Repository
from dashboard.selectors.repositories import (
    SHARED_CENTERS,
    repository_list_for_user,
    repository_list_shared_for_user,
    repository_page_after,
)
from dashboard.selectors.tags import (
    API_COLUMNS,
    API_FIELDS,
    API_FIELDS_WITH_MANIFEST,
    MarkerError,
    tag_page_after,
)
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError

TAGS = ["v3"]
LIMIT = OpenApiParameter("limit", OpenApiTypes.INT, description="1-1000; default 100.")
REPO_MARKER = OpenApiParameter(
    "marker", OpenApiTypes.INT, description="nextMarker of the previous page."
)
NAMESPACE = OpenApiParameter("namespace", OpenApiTypes.STR, description="The organization.")
NAME = OpenApiParameter("name", OpenApiTypes.STR, description="Part of the repository name.")


def _bad(message: str) -> ServiceError:
    return ServiceError(INVALID_PARAMETERS, message, 400)


def _after_id(query: MarkerQuery) -> int | None:
    if query.marker is None:
        return None
    try:
        return int(query.marker)
    except ValueError:
        raise _bad("marker must be the nextMarker of the previous page.") from None


def _repositories(page: list[Repository], next_id: int | None) -> Response:
    rows = [
        {
            "id": r.pk,
            "name": r.name,
            "category": r.category,
            "description": r.description,
            "size": r.size,
            "is_public": r.is_public,
            "num_images": r.tag_count,
            "num_download": r.num_download,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "domain_name": "",
            "namespace_name": r.organization.name,
            "status": bool(getattr(r, "share_valid", False)),
        }
        for r in page
    ]
    body: dict[str, Any] = {"repos": rows}
    if next_id is not None:
        body["nextMarker"] = next_id
    return Response(RepositoryListV3Serializer(body).data)


class RepositoryListV3View(SwrApiView):
    @extend_schema(
        operation_id="ListRepoDetails",
        tags=TAGS,
        parameters=[
            NAMESPACE,
            NAME,
            OpenApiParameter("category", OpenApiTypes.STR, enum=Category.values),
            OpenApiParameter("is_public", OpenApiTypes.BOOL),
            LIMIT,
            REPO_MARKER,
        ],
        responses={200: RepositoryListV3Serializer, **errors()},
    )
    def get(self, request: Request) -> Response:
        """Repositories the caller can see, in id order, `limit` at a time."""
        query = marker_query(request, keys=("namespace", "name", "category", "is_public"))
        category = query.get("category")
        if category and category not in Category.values:
            raise _bad(f"Unknown category {category!r}.")
        public = query_bool(query, "is_public", code=IS_PUBLIC_INVALID)
        repositories = repository_list_for_user(
            user=request.user,
            query=query.get("name"),
            organization=query.get("namespace"),
            category=category,
            visibility="" if public is None else "public" if public else "private",
        )
        page, next_id = repository_page_after(
            repositories=repositories, after=_after_id(query), limit=query.limit
        )
        return _repositories(page, next_id)


class SharedRepositoryListV3View(SwrApiView):
    @extend_schema(
        operation_id="ListSharedRepoDetails",
        tags=TAGS,
        parameters=[
            OpenApiParameter(
                "shared_by",
                OpenApiTypes.STR,
                enum=list(SHARED_CENTERS),
                description="self: shared by me; thirdparty: shared with my teams. Required.",
            ),
            NAMESPACE,
            NAME,
            OpenApiParameter(
                "status",
                OpenApiTypes.BOOL,
                description="thirdparty: true still valid, false expired.",
            ),
            LIMIT,
            REPO_MARKER,
        ],
        responses={200: RepositoryListV3Serializer, **errors()},
    )
    def get(self, request: Request) -> Response:
        """Repositories shared by the caller or with the caller's teams, in id order."""
        query = marker_query(request, keys=("shared_by", "namespace", "name", "status"))
        shared_by = query.get("shared_by")
        if shared_by not in SHARED_CENTERS:
            raise _bad("shared_by must be self or thirdparty.")
        repositories = repository_list_shared_for_user(
            user=request.user,
            center=shared_by,
            query=query.get("name"),
            organization=query.get("namespace"),
            valid=query_bool(query, "status"),
        )
        page, next_id = repository_page_after(
            repositories=repositories, after=_after_id(query), limit=query.limit
        )
        return _repositories(page, next_id)


class TagListV3View(SwrApiView):
    @extend_schema(
        operation_id="ListRepositoryTag",
        tags=TAGS,
        parameters=[
            LIMIT,
            OpenApiParameter(
                "marker", OpenApiTypes.STR, description="nextMarker of the previous page."
            ),
            OpenApiParameter("tag", OpenApiTypes.STR, description="Part of the tag name."),
            OpenApiParameter("order_column", OpenApiTypes.STR, enum=list(API_COLUMNS)),
            OpenApiParameter("order_type", OpenApiTypes.STR, enum=["asc", "desc"]),
            OpenApiParameter(
                "with_manifest",
                OpenApiTypes.BOOL,
                description="true: each tag carries its manifest text (else empty).",
            ),
        ],
        responses={200: TagListV3Serializer, **errors(404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """The repository's tags (`tag`, lowercase), newest push first unless ordered
        otherwise, `limit` at a time."""
        found, _ = api_repository(request.user, namespace, repository)
        query = marker_query(request, keys=("tag", "with_manifest"), columns=API_COLUMNS)
        with_manifest = bool(query_bool(query, "with_manifest"))
        try:
            page, marker = tag_page_after(
                repository=found,
                marker=query.marker,
                limit=query.limit,
                query=query.get("tag"),
                column=query.order_column or "updated_at",
                descending=query.descending,
                fields=API_FIELDS_WITH_MANIFEST if with_manifest else API_FIELDS,
            )
        except MarkerError as exc:
            raise _bad(str(exc)) from exc
        body: dict[str, Any] = {
            "tags": [
                {"tag": t.name, **tag_fields(t, found, with_manifest=with_manifest)} for t in page
            ],
            "has_more": marker is not None,
        }
        if marker is not None:
            body["nextMarker"] = marker
        return Response(TagListV3Serializer(body).data)
