"""Tags, SWR-SPEC.md §2.5 and the SDK's tag operations: the list (`Tag` with a capital T), one
tag, copying a tag within the repository, deleting one, and a tag's cosign signatures
("accessories") and the tags a signature signs ("references").

Lists read the index, never the registry. The index keeps each manifest's text when it indexes
it; a manifest it never fetched in full answers `manifest: ""` rather than a registry call per
row. Reading needs Read, copying Write, deleting Manage on the repository.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView, api_repository
from dashboard.api.paging import INVALID_PAGE_SIZE, content_range, list_query, marker_query
from dashboard.api.schema import errors
from dashboard.api.serializers.tags import (
    AccessoryListSerializer,
    ReferenceListSerializer,
    TagCopySerializer,
    TagListItemSerializer,
    TagSerializer,
)
from dashboard.api.views.repositories import REGISTRY_FAILURES, addresses
from dashboard.models import Level, Repository, Tag
from dashboard.selectors.tags import (
    API_FIELDS_WITH_MANIFEST,
    MarkerError,
    signature_tags,
    signed_digest,
    tag_get,
    tag_list,
    tag_names_on_manifest_after,
)
from dashboard.services.errors import (
    INVALID_PARAMETERS,
    TAG_NOT_FOUND,
    ServiceError,
)
from dashboard.services.tags import tag_copy, tags_delete

TAGS = ["tags"]
SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
#: SWR's `order_column`s and the selector's sort for each direction (descending, ascending).
SORTS = {"updated_at": ("-pushed", "pushed"), "tag": ("-name", "name")}
ACCESSORIES_MAX = 100
REFERENCES_MAX = 10


def tag_fields(tag: Tag, repository: Repository, *, with_manifest: bool = True) -> dict[str, Any]:
    """The fields every SWR tag object has (the name goes under `Tag` or `tag`). Reads only
    the manifest fields the API selectors load (`manifest.raw` when `with_manifest`)."""
    manifest = tag.manifest
    path, internal = addresses(repository.full_name)
    return {
        "id": tag.pk,
        "repo_id": repository.pk,
        "image_id": manifest.config_digest.partition(":")[2],
        "manifest": manifest.raw if with_manifest else "",
        "digest": manifest.digest,
        "schema": 1 if manifest.media_type in SCHEMA1_TYPES else 2,
        "path": f"{path}:{tag.name}",
        "internal_path": f"{internal}:{tag.name}",
        "size": manifest.size,
        "is_trusted": False,
        "created": manifest.created or tag.pushed_at,
        "updated": tag.pushed_at,
        "domain_id": "",
        "tag_type": 1 if manifest.is_index else 0,
    }


def _tag(repository: Repository, name: str) -> Tag:
    tag = tag_get(repository=repository, name=name)
    if tag is None:
        raise ServiceError(TAG_NOT_FOUND, f"{repository.full_name} has no tag {name}.", 404)
    return tag


class TagListView(SwrApiView):
    traces = {"post": "createImageTag"}
    resource_type = "imagetag"

    @extend_schema(
        operation_id="ListRepositoryTags",
        tags=TAGS,
        parameters=[
            OpenApiParameter("tag", OpenApiTypes.STR, description="Part of the tag name."),
            OpenApiParameter("offset", OpenApiTypes.INT, description="With limit; from 0."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-1000; default 100."),
            OpenApiParameter("order_column", OpenApiTypes.STR, enum=list(SORTS)),
            OpenApiParameter("order_type", OpenApiTypes.STR, enum=["asc", "desc"]),
            OpenApiParameter(
                "filter",
                OpenApiTypes.STR,
                description="offset::{n}|limit::{n}|order_column::{col}|order_type::{t}|"
                "tag::{tag}; wins over the separate parameters.",
            ),
        ],
        responses={200: TagListItemSerializer(many=True), **errors(404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """The repository's tags, newest push first unless ordered otherwise, with
        `Content-Range: offset-count/total`."""
        found, _ = api_repository(request.user, namespace, repository)
        query = list_query(request, keys=("tag",), columns=SORTS)
        descending, ascending = SORTS[query.order_column or "updated_at"]
        tags = tag_list(
            repository=found,
            query=query.get("tag"),
            sort=descending if query.descending else ascending,
            fields=API_FIELDS_WITH_MANIFEST,
        )
        total = tags.count()
        end = query.offset + query.limit if query.limit is not None else None
        page = list(tags[query.offset : end])
        rows = [
            {"Tag": t.name, **tag_fields(t, found), "deleted": None, "scanned": False} for t in page
        ]
        body = TagListItemSerializer(rows, many=True).data
        return content_range(Response(body), offset=query.offset, count=len(page), total=total)

    @extend_schema(
        operation_id="CreateRepoTag",
        tags=TAGS,
        request=TagCopySerializer,
        responses={201: None, **errors(403, 404, 409), **REGISTRY_FAILURES},
    )
    def post(self, request: Request, namespace: str, repository: str) -> Response:
        """Give the image of `source_tag` the name `destination_tag` too (Write). 201. The
        lists show the new tag once the registry's notification is indexed."""
        found, _ = api_repository(request.user, namespace, repository, need=Level.WRITE)
        body = TagCopySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tag_copy(
            repository=found,
            source=body.validated_data["source_tag"],
            destination=body.validated_data["destination_tag"],
            override=body.validated_data["override"],
            actor=request.user,
        )
        return Response(status=201)


class TagDetailView(SwrApiView):
    traces = {"delete": "deleteImageTag"}
    resource_type = "imagetag"

    @extend_schema(
        operation_id="ShowRepoTag", tags=TAGS, responses={200: TagSerializer, **errors(404)}
    )
    def get(self, request: Request, namespace: str, repository: str, tag: str) -> Response:
        """One tag (`tag`, lowercase, as SWR's ShowRepoTag answers)."""
        found, _ = api_repository(request.user, namespace, repository)
        shown = _tag(found, tag)
        return Response(TagSerializer({"tag": shown.name, **tag_fields(shown, found)}).data)

    @extend_schema(
        operation_id="DeleteRepoTag",
        tags=TAGS,
        responses={204: None, **errors(403, 404), **REGISTRY_FAILURES},
    )
    def delete(self, request: Request, namespace: str, repository: str, tag: str) -> Response:
        """Delete exactly this tag (Manage); other tags on the same image stay. 204."""
        found, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        tags_delete(repository=found, names=[tag], actor=request.user)
        return Response(status=204)


class AccessoryListView(SwrApiView):
    @extend_schema(
        operation_id="ListRepoAccessories",
        tags=TAGS,
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-100; default 10."),
            OpenApiParameter("offset", OpenApiTypes.INT, description="From 0."),
        ],
        responses={200: AccessoryListSerializer, **errors(404)},
    )
    def get(self, request: Request, namespace: str, repository: str, tag: str) -> Response:
        """The cosign signatures of the tag's image: tags `sha256-<hex>.sig` of its digest."""
        found, _ = api_repository(request.user, namespace, repository)
        query = list_query(request, default_limit=10)
        if query.limit is not None and query.limit > ACCESSORIES_MAX:
            raise ServiceError(
                INVALID_PAGE_SIZE, f"limit must be from 1 to {ACCESSORIES_MAX}.", 400
            )
        target = _tag(found, tag).manifest.digest
        signatures = signature_tags(repository=found, digest=target)
        total = signatures.count()
        end = query.offset + query.limit if query.limit is not None else None
        rows = [
            {
                "id": s.pk,
                "domain_id": "",
                "namespace_name": found.organization.name,
                "repo_name": found.name,
                "sig_tag": s.name,
                "sig_digest": s.manifest.digest,
                "target_digest": target,
                "size": s.manifest.size,
                "type": "signature.cosign",
                "created_at": s.pushed_at,
                "updated_at": s.pushed_at,
            }
            for s in signatures[query.offset : end]
        ]
        return Response(AccessoryListSerializer({"total": total, "accessories": rows}).data)


class ReferenceListView(SwrApiView):
    @extend_schema(
        operation_id="ListReferences",
        tags=TAGS,
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-10; default 10."),
            OpenApiParameter(
                "marker", OpenApiTypes.STR, description="next_marker of the previous page."
            ),
        ],
        responses={200: ReferenceListSerializer, **errors(404)},
    )
    def get(self, request: Request, namespace: str, repository: str, tag: str) -> Response:
        """For a cosign signature tag `sha256-<hex>.sig`: the tags of the image it signs
        (those pointing at `sha256:<hex>`), by name."""
        found, _ = api_repository(request.user, namespace, repository)
        query = marker_query(request, default_limit=REFERENCES_MAX, max_limit=REFERENCES_MAX)
        signed = signed_digest(_tag(found, tag).name)
        if signed is None:
            raise ServiceError(
                INVALID_PARAMETERS, f"{tag} is not a cosign signature tag (sha256-<hex>.sig).", 400
            )
        try:
            names, marker = tag_names_on_manifest_after(
                repository=found, digest=signed, marker=query.marker, limit=query.limit
            )
        except MarkerError as exc:
            raise ServiceError(INVALID_PARAMETERS, str(exc), 400) from exc
        body: dict[str, Any] = {"tags": names, "has_more": marker is not None}
        if marker is not None:
            body["next_marker"] = marker
        return Response(ReferenceListSerializer(body).data)
