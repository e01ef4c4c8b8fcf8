"""Organizations (SWR namespaces), SWR-SPEC.md §2.2: create, list, show, delete."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView, api_organization
from dashboard.api.paging import list_query
from dashboard.api.schema import errors
from dashboard.api.serializers.namespaces import (
    NamespaceCreateSerializer,
    NamespaceListSerializer,
    NamespaceSerializer,
)
from dashboard.models import Level, Organization
from dashboard.selectors.organizations import organization_list_for_user
from dashboard.services.organizations import organization_create, organization_delete

TAGS = ["namespaces"]


def _namespace(organization: Organization, level: int) -> dict:
    creator = organization.creator
    return {
        "id": organization.pk,
        "name": organization.name,
        "creator_name": creator.get_username() if creator is not None else "",
        # Visible only through a repository grant or share: SWR lists it readable.
        "auth": int(level) or int(Level.READ),
    }


class NamespaceListView(SwrApiView):
    traces = {"post": "createUserNamespace"}
    resource_type = "usernamespace"

    @extend_schema(
        operation_id="CreateNamespace",
        tags=TAGS,
        request=NamespaceCreateSerializer,
        responses={201: None, **errors(403, 409)},
    )
    def post(self, request: Request) -> Response:
        """Create an organization; the caller manages it (quota: BERTH_ORG_QUOTA)."""
        body = NamespaceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organization_create(name=body.validated_data["namespace"], actor=request.user)
        return Response(status=201)

    @extend_schema(
        operation_id="ListNamespaces",
        tags=TAGS,
        parameters=[
            OpenApiParameter("namespace", OpenApiTypes.STR, description="An exact name."),
            OpenApiParameter(
                "filter",
                OpenApiTypes.STR,
                description="namespace::{name}|mode::visible (visible: also organizations "
                "where the caller can only read some repository).",
            ),
        ],
        responses={200: NamespaceListSerializer, **errors()},
    )
    def get(self, request: Request) -> Response:
        """Organizations the caller has a permission on (or, with `mode::visible`, can see)."""
        query = list_query(request, keys=("namespace", "mode"), default_limit=None)
        organizations = organization_list_for_user(user=request.user)
        if query.get("mode") != "visible":
            organizations = organizations.filter(user_level__gte=Level.READ)  # type: ignore[misc]
        if query.get("namespace"):
            organizations = organizations.filter(name=query.get("namespace"))
        rows = [_namespace(o, o.user_level) for o in organizations]  # type: ignore[attr-defined]
        return Response({"namespaces": NamespaceSerializer(rows, many=True).data})


class NamespaceDetailView(SwrApiView):
    traces = {"delete": "deleteUserNamespace"}
    resource_type = "usernamespace"

    @extend_schema(
        operation_id="ShowNamespace",
        tags=TAGS,
        responses={200: NamespaceSerializer, **errors(404)},
    )
    def get(self, request: Request, namespace: str) -> Response:
        """One organization the caller can see."""
        organization, level = api_organization(request.user, namespace)
        return Response(NamespaceSerializer(_namespace(organization, level)).data)

    @extend_schema(
        operation_id="DeleteNamespaces",
        tags=TAGS,
        responses={204: None, **errors(403, 404, 406)},
    )
    def delete(self, request: Request, namespace: str) -> Response:
        """Delete an empty organization (Manage)."""
        organization, _ = api_organization(request.user, namespace)
        organization_delete(organization=organization, actor=request.user)
        return Response(status=204)
