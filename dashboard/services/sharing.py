"""Sharing a private repository with a team: pull only, until a deadline or forever.

SWR-SPEC.md §1.6, §2.7, §5 items 10-12. SWR shares with accounts; Berth's recipients are teams
(Django groups). The rules:

- Only Manage holders on the repository share, change and stop sharing it.
- Public repositories are not shared (everyone signed in pulls them already): 4000014.
- At most 500 shares per repository (4000014 beyond).
- The description is at most 1,000 characters: 4131012 (413).
- The deadline is in the future, or None for "permanently valid": 4000014 otherwise.
- The permit is `read` (pull) only: 4000014 otherwise.
- A team holds at most one share per repository: 4090089 (409), SWR's "the permission already
  exists", the closest code SWR has (its share API documents only the 409 status).
- A share that no longer exists: 4040091 (404), SWR's "the permission does not exist".

Shares take effect through the permission function (dashboard/services/access.py), which
treats an expired share as absent; expired shares stay listed with status expired.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from dashboard.models import Level, Repository, Share
from dashboard.services.access import AnyUser, require_repository_level
from dashboard.services.audit import audit_record
from dashboard.services.errors import DESCRIPTION_TOO_LONG, INVALID_PARAMETERS, ServiceError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SHARES_MAX = 500
DESCRIPTION_MAX = 1000
PERMITS = ("read",)
SHARE_EXISTS = "4090089"
SHARE_NOT_FOUND = "4040091"


def _check(
    *, repository: Repository, deadline: dt.datetime | None, description: str, permit: str
) -> None:
    if repository.is_public:
        raise ServiceError(
            INVALID_PARAMETERS,
            f"{repository.full_name} is public: everyone signed in pulls it already, so it "
            "cannot be shared. Make it private first.",
            400,
        )
    if permit not in PERMITS:
        raise ServiceError(INVALID_PARAMETERS, "A share gives pull (`read`) only.", 400)
    if len(description) > DESCRIPTION_MAX:
        raise ServiceError(
            DESCRIPTION_TOO_LONG,
            f"The description is over {DESCRIPTION_MAX} characters.",
            413,
        )
    if deadline is not None and deadline <= timezone.now():
        raise ServiceError(
            INVALID_PARAMETERS, "The share must be valid until a future date, or forever.", 400
        )


def _trace(action: str, share: Share, actor: AnyUser) -> None:
    """SWR's reposhare trace, named `<org>/<repo>:<team>`."""
    audit_record(
        action=action,
        resource_type="reposhare",
        resource_name=f"{share.repository.full_name}:{share.team.name}",
        organization=share.repository.organization.name,
        actor=actor,
        detail={"deadline": share.deadline.isoformat() if share.deadline else "forever"},
    )


def _require_manage(repository: Repository, actor: AnyUser) -> None:
    require_repository_level(user=actor, repository=repository, level=Level.MANAGE)


def share_create(
    *,
    repository: Repository,
    team: Group,
    deadline: dt.datetime | None,
    description: str = "",
    actor: AnyUser,
    permit: str = "read",
) -> Share:
    """Share the repository with `team` until `deadline` (None: forever); return the share.

    Raises ServiceError: 4037018 (403) without Manage on the repository; 4000014 (400) for a
    public repository, a permit other than `read`, a past deadline or a 501st share; 4131012
    (413) for a description over 1,000 characters; 4090089 (409) when the team has a share.
    """
    _require_manage(repository, actor)
    _check(repository=repository, deadline=deadline, description=description, permit=permit)
    try:
        with transaction.atomic():
            # Lock the repository row so two concurrent shares cannot both be the 500th.
            Repository.objects.select_for_update().filter(pk=repository.pk).first()
            if Share.objects.filter(repository=repository).count() >= SHARES_MAX:
                raise ServiceError(
                    INVALID_PARAMETERS,
                    f"{repository.full_name} is shared with {SHARES_MAX} teams already, the "
                    "most allowed.",
                    400,
                )
            now = timezone.now()
            share = Share.objects.create(
                repository=repository,
                team=team,
                permit=permit,
                deadline=deadline,
                description=description,
                created_by=cast("User", actor) if actor.is_authenticated else None,
                created_at=now,
                updated_at=now,
            )
            _trace("createRepoShare", share, actor)
            return share
    except IntegrityError:
        raise ServiceError(
            SHARE_EXISTS,
            f"{repository.full_name} is shared with team {team.name} already; change it instead.",
            409,
        ) from None


def _share(repository: Repository, team: Group) -> Share:
    share = Share.objects.filter(repository=repository, team=team).first()
    if share is None:
        raise ServiceError(
            SHARE_NOT_FOUND, f"{repository.full_name} is not shared with team {team.name}.", 404
        )
    return share


def share_update(
    *,
    repository: Repository,
    team: Group,
    deadline: dt.datetime | None,
    description: str = "",
    actor: AnyUser,
    permit: str = "read",
) -> Share:
    """Change a share's deadline and description; return the share.

    Raises ServiceError: as `share_create` (but never 4090089), and 4040091 (404) when the
    repository is not shared with the team.
    """
    _require_manage(repository, actor)
    _check(repository=repository, deadline=deadline, description=description, permit=permit)
    share = _share(repository, team)
    share.deadline = deadline
    share.description = description
    share.permit = permit
    share.updated_at = timezone.now()
    with transaction.atomic():
        share.save(update_fields=["deadline", "description", "permit", "updated_at"])
        _trace("updateRepoShare", share, actor)
    return share


def share_delete(*, repository: Repository, team: Group, actor: AnyUser) -> None:
    """Stop sharing the repository with the team.

    Raises ServiceError: 4037018 (403) without Manage, 4040091 (404) when there is no share.
    """
    _require_manage(repository, actor)
    share = _share(repository, team)
    with transaction.atomic():
        share.delete()
        _trace("deleteRepoShare", share, actor)


# -- reads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareRow:
    """A share as the lists show it: the share and whether it still grants pull."""

    share: Share
    valid: bool


def _rows(shares: QuerySet[Share]) -> list[ShareRow]:
    now = timezone.now()
    return [ShareRow(share, share.is_valid(now)) for share in shares]


def shares_for_repository(*, repository: Repository) -> list[ShareRow]:
    """The repository's shares by team name, valid and expired. One query."""
    return _rows(
        Share.objects.filter(repository=repository)
        .select_related("team", "created_by")
        .order_by("team__name")
    )


def share_for_team(*, repository: Repository, team_name: str) -> ShareRow | None:
    """The repository's share with the team named `team_name`, or None. One query."""
    share = (
        Share.objects.filter(repository=repository, team__name=team_name)
        .select_related("team", "created_by")
        .first()
    )
    return ShareRow(share, share.is_valid()) if share is not None else None


def shared_with_user(*, user: AnyUser) -> list[ShareRow]:
    """Shares with any of the user's teams, valid and expired, newest first. One query."""
    if not user.is_authenticated:
        return []
    return _rows(
        Share.objects.filter(team__in=user.groups.values("id"))  # type: ignore[union-attr]
        .select_related("team", "repository__organization")
        .order_by("-created_at", "pk")
    )


def shared_by_user(*, user: AnyUser) -> list[ShareRow]:
    """Shares the user created, valid and expired, newest first. One query."""
    if not user.is_authenticated:
        return []
    return _rows(
        Share.objects.filter(created_by=user.pk)
        .select_related("team", "repository__organization")
        .order_by("-created_at", "pk")
    )
