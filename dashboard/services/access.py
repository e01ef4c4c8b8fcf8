"""The one permission function. Pages, the SWR API and the token realm all ask it.

Levels are SWR's: Read (1) pulls, Write (3) also pushes and edits attributes, Manage (7) also
deletes, grants and shares. Superusers are SWR administrators: Manage everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from dashboard.models import (
    Level,
    Organization,
    OrganizationPermission,
    Repository,
    RepositoryPermission,
)

AnyUser = AbstractBaseUser | AnonymousUser


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
    """Effective level on a repository: the highest of org grants, repo grants and public read."""
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
    """Every repository the user may at least pull."""
    qs = Repository.objects.all()
    if user.is_authenticated and user.is_superuser:
        return qs
    if not user.is_authenticated:
        return qs.filter(is_public=True) if settings.ANONYMOUS_PULL else qs.none()
    org_ids = OrganizationPermission.objects.filter(_principal_q(user)).values("organization_id")
    repo_ids = RepositoryPermission.objects.filter(_principal_q(user)).values("repository_id")
    return qs.filter(Q(is_public=True) | Q(organization_id__in=org_ids) | Q(id__in=repo_ids))


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
