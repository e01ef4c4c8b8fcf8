"""What every API view shares: the access helpers (SWR's codes for "not found" and "no
permission"), the path converter for repository names (`$` stands for `/`), and a base view
that traces refused changes under SWR's trace name (services trace the changes they make)."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard.models import Level, Organization, Repository
from dashboard.services.access import (
    AnyUser,
    organization_level,
    repositories_visible_to,
    repository_level,
)
from dashboard.services.audit import FAILURE, audit_record
from dashboard.services.errors import (
    FORBIDDEN_IMAGE,
    FORBIDDEN_ORG,
    IMAGE_NOT_FOUND,
    ORG_NOT_FOUND,
    ServiceError,
)

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class SwrRepositoryConverter:
    """`{repository}` in SWR's paths: the name with each `/` written as `$`."""

    regex = r"[^/]+"

    def to_python(self, value: str) -> str:
        return value.replace("$", "/")

    def to_url(self, value: str) -> str:
        return value.replace("/", "$")


class ApiVersionConverter:
    """`{api_version}`: `v` and a number."""

    regex = r"v[0-9]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def api_organization(
    user: AnyUser, name: str, *, need: int = Level.NONE
) -> tuple[Organization, int]:
    """The organization `name` and the user's org-level permission on it.

    Raises ServiceError: 4040058 (404) when it does not exist or the user cannot see it (no
    grant and no visible repository in it, SWR's `mode::visible`); 4037017 (403) when it is
    visible but the level is below `need`.
    """
    organization = Organization.objects.select_related("creator").filter(name=name).first()
    if organization is None:
        raise ServiceError(ORG_NOT_FOUND, f"The organization {name!r} was not found.", 404)
    level = organization_level(user=user, organization=organization)
    if level < Level.READ and not (
        repositories_visible_to(user=user).filter(organization=organization).exists()
    ):
        raise ServiceError(ORG_NOT_FOUND, f"The organization {name!r} was not found.", 404)
    if level < need:
        raise ServiceError(
            FORBIDDEN_ORG,
            f"You need {Level(need).label} permission on organization {name}.",
            403,
        )
    return organization, level


def api_repository(
    user: AnyUser, namespace: str, name: str, *, need: int = Level.READ
) -> tuple[Repository, int]:
    """The repository `namespace/name` and the user's effective level on it.

    Raises ServiceError: 4040010 (404) when it does not exist or the user cannot read it;
    4037018 (403) when readable but the level is below `need`.
    """
    repository = (
        Repository.objects.select_related("organization")
        .filter(organization__name=namespace, name=name)
        .first()
    )
    level = (
        repository_level(user=user, organization=repository.organization, repository=repository)
        if repository is not None
        else Level.NONE
    )
    if repository is None or level < Level.READ:
        raise ServiceError(IMAGE_NOT_FOUND, f"The image {namespace}/{name} was not found.", 404)
    if level < need:
        raise ServiceError(
            FORBIDDEN_IMAGE,
            f"You need {Level(need).label} permission on {repository.full_name} for this.",
            403,
        )
    return repository, level


class SwrApiView(APIView):
    """An SWR endpoint. `traces` names each changing method's SWR trace (e.g.
    `{"post": "createUserNamespace"}`): a change the API refuses is traced under it as a
    failure, as the pages trace theirs; the services trace the changes they make."""

    traces: ClassVar[dict[str, str]] = {}
    resource_type: ClassVar[str] = ""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        method = (request.method or "").upper()
        if method not in _SAFE and response.status_code >= 400:
            self._trace_refusal(request, response, kwargs)
        return response

    def _trace_refusal(self, request: Request, response: Response, kwargs: dict[str, Any]) -> None:
        data = response.data if isinstance(response.data, dict) else {}
        path = "/".join(str(kwargs[k]) for k in ("namespace", "repository") if k in kwargs)
        audit_record(
            action=self.traces.get((request.method or "").lower(), "") or "apiRequest",
            resource_type=self.resource_type or "api",
            resource_name=path or request.path,
            organization=str(kwargs.get("namespace", "")),
            actor=request.user,
            result=FAILURE,
            detail={
                "code": data.get("error_code", ""),
                "message": data.get("error_msg", ""),
                "status": response.status_code,
                "api": f"{request.method} {request.path}",
            },
        )
