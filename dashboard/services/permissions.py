"""Grant, change and revoke SWR permissions on organizations and repositories.

SWR-SPEC.md §1.5, §2.3, §2.6, §5 item 6. Levels are exactly Read (1), Write (3), Manage (7); a
principal is one user or one team. The rules:

- On an organization only Manage holders grant, change and revoke.
- On a repository those with organization level Write or more, or Manage on the repository,
  grant, change and revoke; a grant *at* Manage (giving it, or changing or revoking one) needs
  Manage on the repository.
- Nobody grants to, changes or revokes themselves ("you cannot grant to yourself"), so an
  organization creator's Manage grant changes only through another Manage holder.
- Superusers are SWR administrators: they manage everything without a grant, and they are never
  the principal of a new grant (it would change nothing).
- An organization always keeps at least one Manage grant: its last one can be neither lowered
  nor revoked. Administrators could still manage it, but this keeps someone other than them in
  charge, and no organization is left that only administrators can open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from dashboard.models import (
    Level,
    Organization,
    OrganizationPermission,
    Repository,
    RepositoryPermission,
)
from dashboard.services.access import AnyUser, organization_level, repository_level
from dashboard.services.audit import audit_grant
from dashboard.services.errors import (
    FORBIDDEN,
    INVALID_PARAMETERS,
    INVALID_USERNAME,
    ServiceError,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

INVALID_ORG_PERMISSION = "4001065"
INVALID_PERMISSION = "4001066"
ORG_PERMISSION_EXISTS = "4090076"
PERMISSION_EXISTS = "4090089"
ORG_PERMISSION_NOT_FOUND = "4040078"
PERMISSION_NOT_FOUND = "4040091"

VALID_LEVELS = (Level.READ, Level.WRITE, Level.MANAGE)


def _principal(user: User | None, team: Group | None) -> dict[str, object]:
    if (user is None) == (team is None):
        raise ServiceError(INVALID_PARAMETERS, "Name exactly one user or one team.", 400)
    return {"user": user} if user is not None else {"team": team}


def _principal_label(user: User | None, team: Group | None) -> str:
    return f"user {user.get_username()}" if user is not None else f"team {team.name}"  # type: ignore[union-attr]


def _check_principal(*, actor: AnyUser, user: User | None) -> None:
    if user is not None and user.pk == actor.pk:
        raise ServiceError(
            FORBIDDEN, "You cannot grant, change or revoke your own permission.", 403
        )


def _check_level(level: object, code: str) -> int:
    if level not in VALID_LEVELS:
        raise ServiceError(code, "The permission must be Read (1), Write (3) or Manage (7).", 400)
    return int(level)  # type: ignore[call-overload]


# -- organizations ---------------------------------------------------------------------------


def _require_org_manage(*, organization: Organization, actor: AnyUser) -> None:
    if organization_level(user=actor, organization=organization) < Level.MANAGE:
        raise ServiceError(
            FORBIDDEN,
            f"Only Manage holders grant permissions on organization {organization.name}.",
            403,
        )


def organization_require_grant(*, organization: Organization, actor: AnyUser) -> None:
    """Raise ServiceError 4039002 (403) unless `actor` may grant, change and revoke
    permissions on the organization (Manage). For callers that must refuse before naming
    anyone, e.g. the API resolving the users a body lists."""
    _require_org_manage(organization=organization, actor=actor)


def organization_grant(
    *,
    organization: Organization,
    actor: AnyUser,
    user: User | None = None,
    team: Group | None = None,
    level: int,
) -> OrganizationPermission:
    """Give `user` or `team` `level` on the organization; return the new grant.

    Raises ServiceError: 4000014 (400) not exactly one principal, 4001065 (400) invalid level,
    4039002 (403) without Manage or for oneself, 4001067 (400) for an administrator,
    4090076 (409) when the principal already holds a grant there.
    """
    principal = _principal(user, team)
    level = _check_level(level, INVALID_ORG_PERMISSION)
    _require_org_manage(organization=organization, actor=actor)
    _check_principal(actor=actor, user=user)
    _refuse_administrator(user)
    try:
        with transaction.atomic():
            grant = OrganizationPermission.objects.create(
                organization=organization, level=level, **principal
            )
            audit_grant(
                action="createUserNamespaceAuth",
                resource_type="usernamespaceauth",
                resource_name=organization.name,
                organization=organization.name,
                actor=actor,
                user=user,
                team=team,
                level=level,
            )
            return grant
    except IntegrityError:
        raise ServiceError(
            ORG_PERMISSION_EXISTS,
            f"The {_principal_label(user, team)} already has a permission on "
            f"{organization.name}; change it instead.",
            409,
        ) from None


def _org_grant(
    organization: Organization, user: User | None, team: Group | None
) -> OrganizationPermission:
    grant = OrganizationPermission.objects.filter(
        organization=organization, **_principal(user, team)
    ).first()
    if grant is None:
        raise ServiceError(
            ORG_PERMISSION_NOT_FOUND,
            f"The {_principal_label(user, team)} has no permission on {organization.name}.",
            404,
        )
    return grant


def _keep_a_manager(organization: Organization, grant: OrganizationPermission) -> None:
    if grant.level != Level.MANAGE:
        return
    others = (
        OrganizationPermission.objects.select_for_update()
        .filter(organization=organization, level=Level.MANAGE)
        .exclude(pk=grant.pk)
    )
    if not others.exists():
        raise ServiceError(
            FORBIDDEN,
            f"Organization {organization.name} must keep at least one Manage holder.",
            403,
        )


def organization_grant_update(
    *,
    organization: Organization,
    actor: AnyUser,
    user: User | None = None,
    team: Group | None = None,
    level: int,
) -> OrganizationPermission:
    """Change the level of the principal's grant on the organization; return the grant.

    Raises ServiceError: 4000014, 4001065, 4039002 (as for granting, and when the last Manage
    grant would be lowered), 4040078 (404) when the principal holds no grant there.
    """
    level = _check_level(level, INVALID_ORG_PERMISSION)
    _principal(user, team)
    _require_org_manage(organization=organization, actor=actor)
    _check_principal(actor=actor, user=user)
    with transaction.atomic():
        grant = _org_grant(organization, user, team)
        if level != Level.MANAGE:
            _keep_a_manager(organization, grant)
        grant.level = level
        grant.save(update_fields=["level"])
        audit_grant(
            action="updateUserNamespaceAuth",
            resource_type="usernamespaceauth",
            resource_name=organization.name,
            organization=organization.name,
            actor=actor,
            user=user,
            team=team,
            level=level,
        )
    return grant


def organization_revoke(
    *,
    organization: Organization,
    actor: AnyUser,
    user: User | None = None,
    team: Group | None = None,
) -> None:
    """Remove the principal's grant on the organization.

    Raises ServiceError: 4000014, 4039002 (without Manage, for oneself, or for the last Manage
    grant), 4040078 (404) when the principal holds no grant there.
    """
    _principal(user, team)
    _require_org_manage(organization=organization, actor=actor)
    _check_principal(actor=actor, user=user)
    with transaction.atomic():
        grant = _org_grant(organization, user, team)
        _keep_a_manager(organization, grant)
        grant.delete()
        audit_grant(
            action="deleteUserNamespaceAuth",
            resource_type="usernamespaceauth",
            resource_name=organization.name,
            organization=organization.name,
            actor=actor,
            user=user,
            team=team,
        )


# -- repositories ----------------------------------------------------------------------------


def repository_can_grant(*, repository: Repository, user: AnyUser) -> bool:
    """Whether `user` may grant on the repository: org level Write or more, or repo Manage."""
    org_level = organization_level(user=user, organization=repository.organization)
    if org_level >= Level.WRITE:
        return True
    return (
        repository_level(user=user, organization=repository.organization, repository=repository)
        >= Level.MANAGE
    )


def _require_repo_grant(*, repository: Repository, actor: AnyUser, levels: tuple[int, ...]) -> None:
    if not repository_can_grant(repository=repository, user=actor):
        raise ServiceError(
            FORBIDDEN,
            f"You may not grant permissions on {repository.full_name}: it takes Write on the "
            "organization or Manage on the image.",
            403,
        )
    if Level.MANAGE in levels and (
        repository_level(user=actor, organization=repository.organization, repository=repository)
        < Level.MANAGE
    ):
        raise ServiceError(
            FORBIDDEN,
            f"Only Manage holders grant, change or revoke Manage on {repository.full_name}.",
            403,
        )


def repository_require_grant(*, repository: Repository, actor: AnyUser) -> None:
    """Raise ServiceError 4039002 (403) unless `actor` may grant on the repository at all
    (`repository_can_grant`); grants at Manage are checked again when made."""
    _require_repo_grant(repository=repository, actor=actor, levels=())


def _refuse_administrator(user: User | None) -> None:
    if user is not None and user.is_superuser:
        raise ServiceError(
            INVALID_USERNAME,
            f"{user.get_username()} is an administrator and manages everything already.",
            400,
        )


def repository_grant(
    *,
    repository: Repository,
    actor: AnyUser,
    user: User | None = None,
    team: Group | None = None,
    level: int,
) -> RepositoryPermission:
    """Give `user` or `team` `level` on the repository; return the new grant.

    Raises ServiceError: 4000014 (400) not exactly one principal, 4001066 (400) invalid level,
    4039002 (403) when not allowed or for oneself, 4001067 (400) for an administrator,
    4090089 (409) when the principal already holds a grant there.
    """
    principal = _principal(user, team)
    level = _check_level(level, INVALID_PERMISSION)
    _require_repo_grant(repository=repository, actor=actor, levels=(level,))
    _check_principal(actor=actor, user=user)
    _refuse_administrator(user)
    try:
        with transaction.atomic():
            grant = RepositoryPermission.objects.create(
                repository=repository, level=level, **principal
            )
            audit_grant(
                action="createUserRepositoryAuth",
                resource_type="userrepositoryauth",
                resource_name=repository.full_name,
                organization=repository.organization.name,
                actor=actor,
                user=user,
                team=team,
                level=level,
            )
            return grant
    except IntegrityError:
        raise ServiceError(
            PERMISSION_EXISTS,
            f"The {_principal_label(user, team)} already has a permission on "
            f"{repository.full_name}; change it instead.",
            409,
        ) from None


def _repo_grant(
    repository: Repository, user: User | None, team: Group | None
) -> RepositoryPermission:
    grant = RepositoryPermission.objects.filter(
        repository=repository, **_principal(user, team)
    ).first()
    if grant is None:
        raise ServiceError(
            PERMISSION_NOT_FOUND,
            f"The {_principal_label(user, team)} has no permission on {repository.full_name}.",
            404,
        )
    return grant


def repository_grant_update(
    *,
    repository: Repository,
    actor: AnyUser,
    user: User | None = None,
    team: Group | None = None,
    level: int,
) -> RepositoryPermission:
    """Change the level of the principal's grant on the repository; return the grant.

    Raises ServiceError: 4000014, 4001066, 4039002 (as for granting; also to change a Manage
    grant without Manage), 4040091 (404) when the principal holds no grant there.
    """
    level = _check_level(level, INVALID_PERMISSION)
    _principal(user, team)
    _require_repo_grant(repository=repository, actor=actor, levels=(level,))
    _check_principal(actor=actor, user=user)
    with transaction.atomic():
        grant = _repo_grant(repository, user, team)
        _require_repo_grant(repository=repository, actor=actor, levels=(grant.level,))
        grant.level = level
        grant.save(update_fields=["level"])
        audit_grant(
            action="updateUserRepositoryAuth",
            resource_type="userrepositoryauth",
            resource_name=repository.full_name,
            organization=repository.organization.name,
            actor=actor,
            user=user,
            team=team,
            level=level,
        )
    return grant


def repository_revoke(
    *,
    repository: Repository,
    actor: AnyUser,
    user: User | None = None,
    team: Group | None = None,
) -> None:
    """Remove the principal's grant on the repository.

    Raises ServiceError: 4000014, 4039002 (not allowed, for oneself, or a Manage grant without
    Manage), 4040091 (404) when the principal holds no grant there.
    """
    _principal(user, team)
    _require_repo_grant(repository=repository, actor=actor, levels=())
    _check_principal(actor=actor, user=user)
    with transaction.atomic():
        grant = _repo_grant(repository, user, team)
        _require_repo_grant(repository=repository, actor=actor, levels=(grant.level,))
        grant.delete()
        audit_grant(
            action="deleteUserRepositoryAuth",
            resource_type="userrepositoryauth",
            resource_name=repository.full_name,
            organization=repository.organization.name,
            actor=actor,
            user=user,
            team=team,
        )
