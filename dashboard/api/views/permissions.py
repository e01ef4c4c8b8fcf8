"""Organization and image permissions, SWR-SPEC.md §2.3 and §2.6: grant, show, change, revoke.

Bodies are bare JSON arrays, and each array is applied whole or not at all (one transaction:
the first refusal undoes the items before it). A user is named by `user_id` (their numeric id
as a string) and `user_name`, which must agree; a team by `team:<name>` in both (a Berth
extension). Who may do what is the permission service's (dashboard/services/permissions.py);
callers without that right are refused before the body's names are looked up, so they learn
nothing of who exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView, api_organization, api_repository
from dashboard.api.schema import errors, full_body
from dashboard.api.serializers.permissions import (
    NamespaceAuthSerializer,
    RepositoryAuthSerializer,
    UserAuthSerializer,
    UserIdListSerializer,
)
from dashboard.models import Level
from dashboard.selectors.permissions import grants_for_organization, grants_for_repository
from dashboard.services.errors import INVALID_USERNAME, ServiceError
from dashboard.services.permissions import (
    ORG_PERMISSION_NOT_FOUND,
    PERMISSION_NOT_FOUND,
    organization_grant,
    organization_grant_update,
    organization_require_grant,
    organization_revoke,
    repository_grant,
    repository_grant_update,
    repository_require_grant,
    repository_revoke,
)

TAGS = ["permissions"]
TEAM = "team:"
_USER_ID = re.compile(r"[1-9][0-9]{0,17}")

Principal = tuple[Any, Group | None]  # (user, None) or (None, team)


def _user_auth(user: Any, team: Group | None, level: int) -> dict[str, Any]:
    if team is not None:
        name = TEAM + team.name
        return {"user_id": name, "user_name": name, "auth": int(level)}
    return {"user_id": str(user.pk), "user_name": user.get_username(), "auth": int(level)}


def _auths(request: Request, level: int, grants: Iterable[Any]) -> dict[str, Any]:
    """`self_auth` (the caller, at their effective level) and everyone else's grants."""
    me = request.user
    return {
        "self_auth": _user_auth(me, None, level),
        "others_auths": [
            _user_auth(g.user, g.team, g.level) for g in grants if g.team or g.user_id != me.pk
        ],
    }


def _lookup(user_id: str, *, active_only: bool) -> Principal | None:
    """The user (active only, for new grants) or team `user_id` names, or None."""
    if user_id.startswith(TEAM):
        team = Group.objects.filter(name=user_id[len(TEAM) :]).first()
        return (None, team) if team is not None else None
    if not _USER_ID.fullmatch(user_id):
        return None
    users = get_user_model().objects.filter(pk=int(user_id))
    user = (users.filter(is_active=True) if active_only else users).first()
    return (user, None) if user is not None else None


def _named(item: dict[str, Any], *, active_only: bool) -> Principal:
    """The principal a body item names. Raises ServiceError 4001067 (400) when `user_id` names
    nobody or `user_name` is not that principal's name."""
    found = _lookup(item["user_id"], active_only=active_only)
    if found is None:
        raise ServiceError(
            INVALID_USERNAME,
            f"user_id {item['user_id']!r} names no user (a user's numeric id) or team "
            "(team:<name>).",
            400,
        )
    user, team = found
    expected = TEAM + team.name if team is not None else user.get_username()
    if item["user_name"] != expected:
        raise ServiceError(
            INVALID_USERNAME,
            f"user_name {item['user_name']!r} does not match user_id {item['user_id']!r}, "
            f"which is {expected!r}.",
            400,
        )
    return found


def _items(request: Request) -> list[dict[str, Any]]:
    body = UserAuthSerializer(data=request.data, many=True, allow_empty=False)
    body.is_valid(raise_exception=True)
    return list(body.validated_data)


def _ids(request: Request, not_found: str) -> list[Principal]:
    """The principals a DELETE body lists. Raises ServiceError `not_found` (404) for an id
    naming nobody: nobody holds that permission."""
    body = UserIdListSerializer(data=request.data, allow_empty=False)
    body.is_valid(raise_exception=True)
    principals = []
    for user_id in body.validated_data:
        found = _lookup(user_id, active_only=False)
        if found is None:
            raise ServiceError(
                not_found, f"{user_id!r} names no user or team holding a permission here.", 404
            )
        principals.append(found)
    return principals


def _apply_all(change: Callable[..., object], principals: list[Principal], **kwargs: Any) -> None:
    with transaction.atomic():
        for user, team in principals:
            change(user=user, team=team, **kwargs)


def _apply_levels(
    change: Callable[..., object], items: list[dict[str, Any]], *, active_only: bool, **kwargs: Any
) -> None:
    named = [(_named(item, active_only=active_only), item["auth"]) for item in items]
    with transaction.atomic():
        for (user, team), level in named:
            change(user=user, team=team, level=level, **kwargs)


# -- organizations ---------------------------------------------------------------------------


class NamespaceAccessView(SwrApiView):
    traces = {
        "post": "createUserNamespaceAuth",
        "patch": "updateUserNamespaceAuth",
        "delete": "deleteUserNamespaceAuth",
    }
    resource_type = "usernamespaceauth"

    @extend_schema(
        operation_id="CreateNamespaceAuth",
        tags=TAGS,
        request=UserAuthSerializer(many=True),
        responses={200: None, **errors(403, 404, 409)},
    )
    def post(self, request: Request, namespace: str) -> Response:
        """Grant users or teams a level on the organization (Manage holders; not oneself)."""
        organization, _ = api_organization(request.user, namespace)
        organization_require_grant(organization=organization, actor=request.user)
        _apply_levels(
            organization_grant,
            _items(request),
            active_only=True,
            organization=organization,
            actor=request.user,
        )
        return Response(status=200)

    @extend_schema(
        operation_id="ShowNamespaceAuth",
        tags=TAGS,
        responses={200: NamespaceAuthSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, namespace: str) -> Response:
        """The caller's level and everyone else's grants (organization Read holders)."""
        organization, level = api_organization(request.user, namespace, need=Level.READ)
        creator = organization.creator
        grants = grants_for_organization(organization=organization)
        body = {
            "id": organization.pk,
            "name": organization.name,
            "creator_name": creator.get_username() if creator is not None else "",
            **_auths(request, level, grants),
        }
        return Response(NamespaceAuthSerializer(body).data)

    @extend_schema(
        operation_id="UpdateNamespaceAuth",
        tags=TAGS,
        request=UserAuthSerializer(many=True),
        responses={201: None, **errors(403, 404)},
    )
    def patch(self, request: Request, namespace: str) -> Response:
        """Change the levels of existing grants (an organization keeps one Manage holder)."""
        organization, _ = api_organization(request.user, namespace)
        organization_require_grant(organization=organization, actor=request.user)
        _apply_levels(
            organization_grant_update,
            _items(request),
            active_only=False,
            organization=organization,
            actor=request.user,
        )
        return Response(status=201)

    @extend_schema(
        operation_id="DeleteNamespaceAuth",
        tags=TAGS,
        request=UserIdListSerializer(),
        responses={204: None, **errors(403, 404)},
    )
    @full_body
    def delete(self, request: Request, namespace: str) -> Response:
        """Revoke the grants of the users (or `team:<name>`) the body lists."""
        organization, _ = api_organization(request.user, namespace)
        organization_require_grant(organization=organization, actor=request.user)
        principals = _ids(request, ORG_PERMISSION_NOT_FOUND)
        _apply_all(organization_revoke, principals, organization=organization, actor=request.user)
        return Response(status=204)


# -- repositories ----------------------------------------------------------------------------


class RepositoryAccessView(SwrApiView):
    traces = {
        "post": "createUserRepositoryAuth",
        "patch": "updateUserRepositoryAuth",
        "delete": "deleteUserRepositoryAuth",
    }
    resource_type = "userrepositoryauth"

    @extend_schema(
        operation_id="CreateUserRepositoryAuth",
        tags=TAGS,
        request=UserAuthSerializer(many=True),
        responses={201: None, **errors(403, 404, 409)},
    )
    def post(self, request: Request, namespace: str, repository: str) -> Response:
        """Grant users or teams a level on the image (organization Write or image Manage;
        Manage grants take image Manage; not oneself)."""
        repo, _ = api_repository(request.user, namespace, repository)
        repository_require_grant(repository=repo, actor=request.user)
        _apply_levels(
            repository_grant, _items(request), active_only=True, repository=repo, actor=request.user
        )
        return Response(status=201)

    @extend_schema(
        operation_id="ShowUserRepositoryAuth",
        tags=TAGS,
        responses={200: RepositoryAuthSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """The caller's level and the image's own grants (image Write holders, as the page)."""
        repo, level = api_repository(request.user, namespace, repository, need=Level.WRITE)
        grants = grants_for_repository(repository=repo)
        body = {"id": repo.pk, "name": repo.name, **_auths(request, level, grants)}
        return Response(RepositoryAuthSerializer(body).data)

    @extend_schema(
        operation_id="UpdateUserRepositoryAuth",
        tags=TAGS,
        request=UserAuthSerializer(many=True),
        responses={201: None, **errors(403, 404)},
    )
    def patch(self, request: Request, namespace: str, repository: str) -> Response:
        """Change the levels of existing grants on the image."""
        repo, _ = api_repository(request.user, namespace, repository)
        repository_require_grant(repository=repo, actor=request.user)
        _apply_levels(
            repository_grant_update,
            _items(request),
            active_only=False,
            repository=repo,
            actor=request.user,
        )
        return Response(status=201)

    @extend_schema(
        operation_id="DeleteUserRepositoryAuth",
        tags=TAGS,
        request=UserIdListSerializer(),
        responses={204: None, **errors(403, 404)},
    )
    @full_body
    def delete(self, request: Request, namespace: str, repository: str) -> Response:
        """Revoke the image grants of the users (or `team:<name>`) the body lists."""
        repo, _ = api_repository(request.user, namespace, repository)
        repository_require_grant(repository=repo, actor=request.user)
        principals = _ids(request, PERMISSION_NOT_FOUND)
        _apply_all(repository_revoke, principals, repository=repo, actor=request.user)
        return Response(status=204)
