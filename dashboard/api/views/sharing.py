"""Sharing a private image, SWR-SPEC.md §2.7 (note `repositories`, not `repos`, in the paths).

SWR shares with accounts; Berth's are teams, so `access_domain` is a team name. The rules
(private images only, Manage holders only, `read` only, at most 500, description at most 1,000
characters) are the sharing service's (dashboard/services/sharing.py). Callers without Manage
are refused before the team is looked up, so they learn nothing of which teams exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dashboard.api.base import SwrApiView, api_repository
from dashboard.api.schema import errors, full_body
from dashboard.api.serializers.misc import utc
from dashboard.api.serializers.sharing import (
    FOREVER,
    ShareCreateSerializer,
    ShareExistsSerializer,
    ShareSerializer,
    ShareUpdateSerializer,
)
from dashboard.models import Level, Repository
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.services.sharing import (
    SHARE_NOT_FOUND,
    ShareRow,
    share_create,
    share_delete,
    share_for_team,
    share_update,
    shares_for_repository,
)

TAGS = ["sharing"]
TRACES = {"post": "createRepoShare", "patch": "updateRepoShare", "delete": "deleteRepoShare"}


def _share(row: ShareRow, repository: Repository) -> dict[str, Any]:
    share, creator = row.share, row.share.created_by
    return {
        "namespace": repository.organization.name,
        "repository": repository.name,
        "access_domain": share.team.name,
        "permit": share.permit,
        "deadline": utc(share.deadline) if share.deadline is not None else FOREVER,
        "description": share.description,
        "creator_id": str(creator.pk) if creator is not None else "",
        "creator_name": creator.get_username() if creator is not None else "",
        "created": utc(share.created_at),
        "updated": utc(share.updated_at),
        "status": row.valid,
    }


def _team(name: str, *, missing: ServiceError) -> Group:
    team = Group.objects.filter(name=name).first()
    if team is None:
        raise missing
    return team


def _not_shared(repository: str, name: str) -> ServiceError:
    return ServiceError(SHARE_NOT_FOUND, f"{repository} is not shared with team {name}.", 404)


class RepoDomainsView(SwrApiView):
    traces = TRACES
    resource_type = "reposhare"

    @extend_schema(
        operation_id="CreateRepoDomains",
        tags=TAGS,
        request=ShareCreateSerializer,
        responses={201: None, **errors(403, 404, 409, 413)},
    )
    def post(self, request: Request, namespace: str, repository: str) -> Response:
        """Share the private image with a team, pull only, until `deadline` or forever
        (image Manage holders)."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        body = ShareCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        name = data["access_domain"]
        missing = ServiceError(INVALID_PARAMETERS, f"There is no team {name!r}.", 400)
        share_create(
            repository=repo,
            team=_team(name, missing=missing),
            deadline=data["deadline"],
            description=data["description"],
            permit=data["permit"],
            actor=request.user,
        )
        return Response(status=201)

    @extend_schema(
        operation_id="ListRepoDomains",
        tags=TAGS,
        responses={200: ShareSerializer(many=True), **errors(404)},
    )
    def get(self, request: Request, namespace: str, repository: str) -> Response:
        """All the image's shares (at most 500) by team, valid and expired (image Read
        holders)."""
        repo, _ = api_repository(request.user, namespace, repository)
        rows = [_share(row, repo) for row in shares_for_repository(repository=repo)]
        return Response(ShareSerializer(rows, many=True).data)


class RepoDomainView(SwrApiView):
    traces = TRACES
    resource_type = "reposhare"

    @extend_schema(
        operation_id="ShowAccessDomain",
        tags=TAGS,
        responses={200: ShareExistsSerializer, **errors(404)},
    )
    def get(
        self, request: Request, namespace: str, repository: str, access_domain: str
    ) -> Response:
        """Whether the image is shared with the team, and the share when it is."""
        repo, _ = api_repository(request.user, namespace, repository)
        row = share_for_team(repository=repo, team_name=access_domain)
        body = {"exist": True, **_share(row, repo)} if row is not None else {"exist": False}
        return Response(ShareExistsSerializer(body).data)

    @extend_schema(
        operation_id="UpdateRepoDomains",
        tags=TAGS,
        request=ShareUpdateSerializer,
        responses={201: None, **errors(403, 404, 413)},
    )
    @full_body
    def patch(
        self, request: Request, namespace: str, repository: str, access_domain: str
    ) -> Response:
        """Change a share's deadline and description (image Manage holders)."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        body = ShareUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        share_update(
            repository=repo,
            team=_team(access_domain, missing=_not_shared(repo.full_name, access_domain)),
            deadline=data["deadline"],
            description=data["description"],
            permit=data["permit"],
            actor=request.user,
        )
        return Response(status=201)

    @extend_schema(
        operation_id="DeleteRepoDomains",
        tags=TAGS,
        responses={204: None, **errors(403, 404)},
    )
    def delete(
        self, request: Request, namespace: str, repository: str, access_domain: str
    ) -> Response:
        """Stop sharing the image with the team (image Manage holders)."""
        repo, _ = api_repository(request.user, namespace, repository, need=Level.MANAGE)
        team = _team(access_domain, missing=_not_shared(repo.full_name, access_domain))
        share_delete(repository=repo, team=team, actor=request.user)
        return Response(status=204)
