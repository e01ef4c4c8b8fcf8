"""The one permission function. Pages, the SWR API and the token realm all ask it.

Levels are SWR's: Read (1) pulls, Write (3) also pushes and edits attributes, Manage (7) also
deletes, grants and shares. Superusers are SWR administrators: Manage everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db.models import OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from dashboard.models import (
    Level,
    Organization,
    OrganizationPermission,
    Repository,
    RepositoryPermission,
    Share,
)
from dashboard.registry.tokens import ALL_ACTIONS, Scope

AnyUser = AbstractUser | AnonymousUser


def _team_ids(user: AnyUser) -> list[int]:
    cached = getattr(user, "_berth_team_ids", None)
    if cached is None:
        cached = list(user.groups.values_list("id", flat=True)) if user.is_authenticated else []
        user._berth_team_ids = cached  # type: ignore[union-attr]
    return cached


def _principal_q(user: AnyUser, prefix: str = "") -> Q:
    q = Q(**{f"{prefix}user": user})
    teams = _team_ids(user)
    if teams:
        q |= Q(**{f"{prefix}team__in": teams})
    return q


def _valid_shares(user: AnyUser) -> QuerySet[Share]:
    """Shares with the user's teams that still grant pull; expired ones give nothing."""
    return Share.objects.filter(team__in=_team_ids(user)).filter(
        Q(deadline__isnull=True) | Q(deadline__gt=timezone.now())
    )


def _max_level(levels: Iterable[int]) -> int:
    return max(levels, default=Level.NONE)


def organization_level(*, user: AnyUser, organization: Organization) -> int:
    """The user's level on an organization itself (org grants only)."""
    if not user.is_authenticated or not user.is_active:
        return Level.NONE
    if user.is_superuser:
        return Level.MANAGE
    return _max_level(
        OrganizationPermission.objects.filter(
            _principal_q(user), organization=organization
        ).values_list("level", flat=True)
    )


@dataclass(frozen=True)
class RepositoryRef:
    """A repository by its registry path, whether or not the index has it yet."""

    organization: str
    name: str

    @classmethod
    def parse(cls, path: str) -> RepositoryRef | None:
        org, sep, name = path.partition("/")
        return cls(org, name) if sep and org and name else None


def repository_level(
    *,
    user: AnyUser,
    organization: Organization,
    repository: Repository | None,
) -> int:
    """Effective level on a repository: the highest of org grants, repo grants, valid shares
    with the user's teams (Read) and public read."""
    if user.is_authenticated and user.is_active and user.is_superuser:
        return Level.MANAGE
    level = organization_level(user=user, organization=organization)
    if repository is not None:
        if user.is_authenticated and user.is_active and level < Level.MANAGE:
            level = max(
                level,
                _max_level(
                    RepositoryPermission.objects.filter(
                        _principal_q(user), repository=repository
                    ).values_list("level", flat=True)
                ),
            )
        if (
            level < Level.READ
            and user.is_authenticated
            and user.is_active
            and _team_ids(user)
            and _valid_shares(user).filter(repository=repository).exists()
        ):
            level = Level.READ  # a valid share with one of the user's teams: pull
        if (
            repository.is_public
            and level < Level.READ
            and (user.is_authenticated or settings.ANONYMOUS_PULL)
        ):
            level = Level.READ
    return level


def repository_level_by_path(*, user: AnyUser, path: str) -> tuple[int, bool]:
    """Level on the repository at registry `path`; also whether its organization exists.

    Three queries at most, whatever the number of grants or teams.
    """
    ref = RepositoryRef.parse(path)
    if ref is None:
        return Level.NONE, False
    organization = Organization.objects.filter(name=ref.organization).first()
    if organization is None:
        return Level.NONE, False
    repository = Repository.objects.filter(organization=organization, name=ref.name).first()
    return repository_level(user=user, organization=organization, repository=repository), True


def actions_for_level(level: int) -> set[str]:
    """The registry actions a level allows."""
    actions: set[str] = set()
    if level >= Level.READ:
        actions.add("pull")
    if level >= Level.WRITE:
        actions.add("push")
    if level >= Level.MANAGE:
        actions.add("delete")
    return actions


_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
#: A repository name as distribution's reference grammar allows it.
REPOSITORY_PATH = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")


def token_access_for(*, user: AnyUser, scopes: list[Scope]) -> list[Scope]:
    """The registry token access for `scopes`: each resource once, with exactly the allowed actions.

    Repeated scopes for one resource are merged; `*` asks for every action the level allows;
    denied or unknown actions are dropped, so an entry may come back with no actions (the
    registry then answers `insufficient_scope`). Nobody may push into an organization that does
    not exist. `registry:catalog:*` is for superusers only. Queries: a constant number per
    distinct resource, whatever the number of grants or teams.
    """
    wanted: dict[tuple[str, str], set[str]] = {}
    for scope in scopes:
        wanted.setdefault((scope.type, scope.name), set()).update(scope.actions)
    superuser = bool(user.is_authenticated and user.is_active and user.is_superuser)
    granted: list[Scope] = []
    for (rtype, name), requested in wanted.items():
        allowed: set[str] = set()
        if rtype == "repository" and (len(name) > 255 or not REPOSITORY_PATH.fullmatch(name)):
            actions: tuple[str, ...] = ()  # no such repository can exist
        elif rtype == "repository":
            level, org_exists = repository_level_by_path(user=user, path=name)
            allowed = actions_for_level(level)
            if superuser and not org_exists and RepositoryRef.parse(name) is not None:
                # Registry content outside any organization: an admin may read and clean it
                # up, but nobody creates it by pushing.
                allowed = {"pull", "delete"}
            if "*" not in requested:
                allowed &= requested
            actions = tuple(a for a in ALL_ACTIONS if a in allowed)
        elif rtype == "registry" and name == "catalog":
            actions = ("*",) if superuser and "*" in requested else ()
        else:
            actions = ()
        granted.append(Scope(type=rtype, name=name, actions=actions))
    return granted


def can_create_organization(*, user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active)


def organizations_visible_to(*, user: AnyUser) -> QuerySet[Organization]:
    """SWR's `mode::visible`: orgs with a grant, or with any repository the user can see."""
    qs = Organization.objects.all()
    if user.is_authenticated and user.is_superuser:
        return qs
    visible_repos = repositories_visible_to(user=user)
    if not user.is_authenticated:
        return qs.filter(id__in=visible_repos.values("organization_id")).distinct()
    return qs.filter(
        Q(
            id__in=OrganizationPermission.objects.filter(_principal_q(user)).values(
                "organization_id"
            )
        )
        | Q(id__in=visible_repos.values("organization_id"))
    ).distinct()


def repositories_visible_to(*, user: AnyUser) -> QuerySet[Repository]:
    """Every repository the user may at least pull (valid shares included)."""
    qs = Repository.objects.all()
    if user.is_authenticated and user.is_superuser:
        return qs
    if not user.is_authenticated:
        return qs.filter(is_public=True) if settings.ANONYMOUS_PULL else qs.none()
    org_ids = OrganizationPermission.objects.filter(_principal_q(user)).values("organization_id")
    repo_ids = RepositoryPermission.objects.filter(_principal_q(user)).values("repository_id")
    visible = Q(is_public=True) | Q(organization_id__in=org_ids) | Q(id__in=repo_ids)
    if _team_ids(user):
        visible |= Q(id__in=_valid_shares(user).values("repository_id"))
    return qs.filter(visible)


def require_repository_level(*, user: AnyUser, repository: Repository, level: int) -> int:
    """Raise SWR's 403 unless the user holds `level` on the repository; return their level."""
    from dashboard.services.errors import FORBIDDEN_IMAGE, ServiceError

    have = repository_level(user=user, organization=repository.organization, repository=repository)
    if have < level:
        raise ServiceError(
            FORBIDDEN_IMAGE,
            f"You need {Level(level).label} permission on {repository.full_name} for this.",
            403,
        )
    return have


def require_organization_level(*, user: AnyUser, organization: Organization, level: int) -> int:
    """Raise SWR's 403 unless the user holds `level` on the organization; return their level."""
    from dashboard.services.errors import FORBIDDEN_ORG, ServiceError

    have = organization_level(user=user, organization=organization)
    if have < level:
        raise ServiceError(
            FORBIDDEN_ORG,
            f"You need {Level(level).label} permission on organization {organization.name}.",
            403,
        )
    return have


def organization_level_expression(*, user: AnyUser) -> Coalesce | Value:
    """An expression for `user`'s level on each row of an Organization queryset (org grants).

    `organizations.annotate(user_level=organization_level_expression(user=user))` gives what
    `organization_level` gives per row, in the same single query.
    """
    if not user.is_authenticated or not user.is_active:
        return Value(int(Level.NONE))
    if user.is_superuser:
        return Value(int(Level.MANAGE))
    best = (
        OrganizationPermission.objects.filter(_principal_q(user), organization=OuterRef("pk"))
        .order_by("-level")
        .values("level")[:1]
    )
    return Coalesce(Subquery(best), Value(int(Level.NONE)))
