"""Self-service access requests: a user asks for a level on an organization or a repository, a
manager approves (which is granting, through dashboard/services/permissions.py) or denies.

Who may ask: any signed-in, active, non-administrator user, for an organization or repository
that exists, at a level they do not already hold there. The pages offer the button where a
signed-in user meets the target (its page, or the 403 page for it); the /requests/ form also
takes a name typed in, so a user refused a pull can ask for Read on a private repository they
cannot see. Asking confirms only that the name exists, never what it holds.

Who decides: whoever may grant that level there (permissions.py's rules), never the requester.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from dashboard.models import (
    AccessRequest,
    Level,
    Organization,
    OrganizationPermission,
    Repository,
    RepositoryPermission,
)
from dashboard.services.access import (
    AnyUser,
    organization_level,
    repository_level,
)
from dashboard.services.audit import audit_record
from dashboard.services.errors import FORBIDDEN, INVALID_PARAMETERS, ServiceError
from dashboard.services.permissions import (
    VALID_LEVELS,
    organization_grant,
    organization_grant_update,
    repository_can_grant,
    repository_grant,
    repository_grant_update,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REQUEST_EXISTS = "4090101"
REQUEST_NOT_FOUND = "4040101"
REQUEST_DECIDED = "4090102"
REASON_LIMIT = 1000

Status = AccessRequest.Status


def _audit(action: str, request: AccessRequest, actor: AnyUser, **detail: object) -> None:
    organization = (
        request.repository.organization.name
        if request.repository is not None
        else request.organization.name  # type: ignore[union-attr]
    )
    audit_record(
        action=action,
        resource_type="accessrequest",
        resource_name=request.target_name,
        organization=organization,
        actor=actor,
        detail={
            "requester": request.requester.get_username(),
            "level": request.level,
            "id": request.pk,
            **detail,
        },
    )


def _current_level(user: AnyUser, request: AccessRequest) -> int:
    if request.repository is not None:
        return repository_level(
            user=user, organization=request.repository.organization, repository=request.repository
        )
    return organization_level(user=user, organization=request.organization)  # type: ignore[arg-type]


def access_request_create(
    *,
    user: User,
    organization: Organization | None = None,
    repository: Repository | None = None,
    level: int,
    reason: str,
) -> AccessRequest:
    """Ask for `level` on the organization or the repository; return the pending request.

    Raises ServiceError: 4000014 (400) not exactly one target, a bad level or a reason over
    1000 characters, or when the user already holds the level (administrators hold all);
    4039002 (403) when not signed in; 4090101 (409) when a request of theirs is pending there.
    """
    if not user.is_authenticated or not user.is_active:
        raise ServiceError(FORBIDDEN, "Sign in to request access.", 403)
    if (organization is None) == (repository is None):
        raise ServiceError(INVALID_PARAMETERS, "Name one organization or one repository.", 400)
    if level not in VALID_LEVELS:
        raise ServiceError(INVALID_PARAMETERS, "Ask for Read (1), Write (3) or Manage (7).", 400)
    reason = (reason or "").strip()
    if len(reason) > REASON_LIMIT:
        raise ServiceError(
            INVALID_PARAMETERS, f"The reason is limited to {REASON_LIMIT} characters.", 400
        )
    request = AccessRequest(
        requester=user,
        organization=organization,
        repository=repository,
        level=int(level),
        reason=reason,
    )
    have = _current_level(user, request)
    if have >= level:
        raise ServiceError(
            INVALID_PARAMETERS,
            f"You already have {Level(have).label} on {request.target_name}.",
            400,
        )
    try:
        with transaction.atomic():
            request.save()
            _audit("createAccessRequest", request, user)
    except IntegrityError:
        raise ServiceError(
            REQUEST_EXISTS,
            f"You already have a pending request on {request.target_name}; cancel it first.",
            409,
        ) from None
    return request


def _pending(request: AccessRequest) -> AccessRequest:
    """The request locked and re-read; raise 4090102 (409) unless it is still pending."""
    fresh = AccessRequest.objects.select_for_update().get(pk=request.pk)
    if fresh.status != Status.PENDING:
        raise ServiceError(
            REQUEST_DECIDED, f"This request is already {fresh.get_status_display().lower()}.", 409
        )
    return fresh


def _require_decider(*, request: AccessRequest, actor: AnyUser) -> None:
    if not can_decide(request=request, user=actor):
        raise ServiceError(FORBIDDEN, f"You may not decide requests on {request.target_name}.", 403)


def can_decide(*, request: AccessRequest, user: AnyUser) -> bool:
    """Whether `user` may grant on the request's target (not necessarily at every level)."""
    if not user.is_authenticated or user.pk == request.requester_id:
        return False
    if request.repository is not None:
        return repository_can_grant(repository=request.repository, user=user)
    return organization_level(user=user, organization=request.organization) >= Level.MANAGE  # type: ignore[arg-type]


def access_request_approve(
    *, request: AccessRequest, actor: AnyUser, level: int | None = None
) -> AccessRequest:
    """Grant the requester `level` (default: what they asked for) and mark the request approved.

    The grant goes through permissions.py, so its rules and codes apply (e.g. 4039002 when the
    actor may not grant that level, 4001065/4001066 for a bad level). A grant the requester
    already holds is raised, never lowered. Raises 4090102 (409) when no longer pending.
    """
    level = request.level if level is None else level
    requester = request.requester
    with transaction.atomic():
        fresh = _pending(request)
        _require_decider(request=fresh, actor=actor)
        if fresh.repository is not None:
            existing = RepositoryPermission.objects.filter(
                repository=fresh.repository, user=requester
            ).first()
            if existing is None:
                repository_grant(
                    repository=fresh.repository, actor=actor, user=requester, level=level
                )
            elif existing.level < level:
                repository_grant_update(
                    repository=fresh.repository, actor=actor, user=requester, level=level
                )
        else:
            assert fresh.organization is not None
            org_existing = OrganizationPermission.objects.filter(
                organization=fresh.organization, user=requester
            ).first()
            if org_existing is None:
                organization_grant(
                    organization=fresh.organization, actor=actor, user=requester, level=level
                )
            elif org_existing.level < level:
                organization_grant_update(
                    organization=fresh.organization, actor=actor, user=requester, level=level
                )
        fresh.status = Status.APPROVED
        fresh.decided_by = actor  # type: ignore[assignment]
        fresh.decided_at = timezone.now()
        fresh.save(update_fields=["status", "decided_by", "decided_at"])
        _audit("approveAccessRequest", fresh, actor, granted=level)
    return fresh


def access_request_deny(*, request: AccessRequest, actor: AnyUser, note: str = "") -> AccessRequest:
    """Mark the request denied with an optional note the requester sees.

    Raises ServiceError: 4039002 (403) unless the actor may grant on the target, 4000014 (400)
    for a note over 1000 characters, 4090102 (409) when no longer pending.
    """
    note = (note or "").strip()
    if len(note) > REASON_LIMIT:
        raise ServiceError(
            INVALID_PARAMETERS, f"The note is limited to {REASON_LIMIT} characters.", 400
        )
    with transaction.atomic():
        fresh = _pending(request)
        _require_decider(request=fresh, actor=actor)
        fresh.status = Status.DENIED
        fresh.decided_by = actor  # type: ignore[assignment]
        fresh.decided_at = timezone.now()
        fresh.decision_note = note
        fresh.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        _audit("denyAccessRequest", fresh, actor)
    return fresh


def access_request_cancel(*, request: AccessRequest, actor: AnyUser) -> AccessRequest:
    """Withdraw one's own pending request.

    Raises ServiceError: 4039002 (403) for someone else's request, 4090102 (409) when no
    longer pending.
    """
    if not actor.is_authenticated or actor.pk != request.requester_id:
        raise ServiceError(FORBIDDEN, "Only the requester cancels a request.", 403)
    with transaction.atomic():
        fresh = _pending(request)
        fresh.status = Status.CANCELLED
        fresh.decided_at = timezone.now()
        fresh.save(update_fields=["status", "decided_at"])
        _audit("cancelAccessRequest", fresh, actor)
    return fresh


# -- reads -------------------------------------------------------------------------------------


def _manager_q(user: AnyUser) -> Q:
    """Requests on targets `user` may grant on: org Manage for organizations; org Write or repo
    Manage for repositories (permissions.py's rules), as subqueries."""
    # The user's teams as a subquery too, so the whole read is one query.
    teams = user.groups.values("id")  # type: ignore[union-attr]
    principal = Q(user=user) | Q(team__in=teams)
    manage_orgs = OrganizationPermission.objects.filter(principal, level__gte=Level.MANAGE).values(
        "organization_id"
    )
    write_orgs = OrganizationPermission.objects.filter(principal, level__gte=Level.WRITE).values(
        "organization_id"
    )
    manage_repos = RepositoryPermission.objects.filter(principal, level__gte=Level.MANAGE).values(
        "repository_id"
    )
    return (
        Q(organization_id__in=manage_orgs)
        | Q(repository__organization_id__in=write_orgs)
        | Q(repository_id__in=manage_repos)
    )


def pending_for_manager(*, user: AnyUser) -> QuerySet[AccessRequest]:
    """Pending requests of others on targets the user may grant on, oldest first, with
    requester and target loaded: one query."""
    if not user.is_authenticated or not user.is_active:
        return AccessRequest.objects.none()
    qs = (
        AccessRequest.objects.filter(status=Status.PENDING)
        .exclude(requester=user.pk)
        .select_related("requester", "organization", "repository__organization")
        .order_by("created_at", "id")
    )
    return qs if user.is_superuser else qs.filter(_manager_q(user))


#: The navigation counts pending decisions up to here (and shows "99+" beyond 99).
COUNT_LIMIT = 100


def pending_count_for_manager(*, user: AnyUser) -> int:
    """How many requests wait for the user's decision (see `pending_for_manager`), up to
    COUNT_LIMIT; one query, reading ids rather than counting, since the pages' query-count
    tests keep COUNT queries for paging totals."""
    return len(pending_for_manager(user=user).values_list("id", flat=True)[:COUNT_LIMIT])


def requests_of(*, user: AnyUser) -> QuerySet[AccessRequest]:
    """The user's own requests, newest first, with targets and deciders loaded."""
    return AccessRequest.objects.filter(requester=user.pk).select_related(
        "organization", "repository__organization", "decided_by"
    )
