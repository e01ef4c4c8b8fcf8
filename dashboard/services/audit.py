"""The audit log (SWR's CTS traces, SWR-SPEC.md §4.14): record, read for a user, prune.

Services call `audit_record` where a change has succeeded, inside their own transaction, so an
action and its trace are stored together or not at all. Who acts and from which address comes
from the request through `audit_context` (set by `AuditContextMiddleware`), so services never
import HTTP; workers and commands run without one and pass `actor_name` themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from dashboard.models import (
    AuditEvent,
    Level,
    OrganizationPermission,
    RegistryEvent,
    Repository,
)
from dashboard.registry.tokens import Scope
from dashboard.services.access import AnyUser, _principal_q

#: The subject of Berth's own registry tokens; its pushes, pulls and deletes are not audited.
BERTH_SUBJECT = "berth"
#: At most this many rows in one CSV export, like SWR's CTS.
EXPORT_LIMIT = 5000

SUCCESS = AuditEvent.Result.SUCCESS
FAILURE = AuditEvent.Result.FAILURE


@dataclass(frozen=True)
class AuditContext:
    actor: Any  # the request's user (possibly lazy or anonymous)
    source_ip: str | None


_current: ContextVar[AuditContext | None] = ContextVar("berth_audit_context", default=None)


@contextmanager
def audit_context(*, actor: Any, source_ip: str | None) -> Iterator[None]:
    """Within the block, `audit_record` takes its default actor and source IP from here."""
    token = _current.set(AuditContext(actor=actor, source_ip=source_ip))
    try:
        yield
    finally:
        _current.reset(token)


def audit_record(
    *,
    action: str,
    resource_type: str,
    resource_name: str = "",
    organization: str = "",
    actor: AnyUser | None = None,
    actor_name: str = "",
    source_ip: str | None = None,
    result: str = SUCCESS,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one trace and return it. `actor` and `source_ip` default to the current request's
    (see `audit_context`); an anonymous actor is stored by name only. Database errors propagate:
    the caller's transaction decides whether the action stands."""
    context = _current.get()
    if actor is None and context is not None:
        actor = context.actor
    if source_ip is None and context is not None:
        source_ip = context.source_ip
    user = actor if actor is not None and actor.is_authenticated else None
    if user is not None and not actor_name:
        actor_name = user.get_username()
    return AuditEvent.objects.create(
        actor=user,  # type: ignore[misc]  # an AbstractUser subclass: the configured user model
        actor_name=actor_name[:150] or "anonymous",
        source_ip=source_ip or None,
        action=action,
        resource_type=resource_type,
        resource_name=resource_name[:300],
        organization=organization[:64],
        result=result,
        detail=detail or {},
    )


#: Trace names for the registry's notifications, by event kind (see index.events._event_kind).
_EVENT_TRACES = {
    "push": ("uploadManifest", "manifest"),
    "delete-tag": ("deleteImageTag", "imagetag"),
    "delete-digest": ("deleteManifest", "manifest"),
}


def audit_registry_events(*, events: list[tuple[str, RegistryEvent]]) -> int:
    """Append one trace per (kind, event) from the registry's notifications, in one insert;
    Berth's own operations (subject `berth`, already traced by the service that made them) and
    kinds without a trace are skipped. Pulls are not among them: the registry drops pull events
    (`ignore.actions: [pull]`), so pulls are traced when a token grants them
    (`audit_token_request`). Returns how many traces were written."""
    wanted = [(k, e) for k, e in events if k in _EVENT_TRACES and e.actor != BERTH_SUBJECT]
    if not wanted:
        return 0
    names = {e.actor for _, e in wanted if e.actor}
    users = {u.get_username(): u for u in get_user_model().objects.filter(username__in=names)}
    traces = []
    for kind, event in wanted:
        action, resource_type = _EVENT_TRACES[kind]
        reference = f":{event.tag}" if event.tag else f"@{event.digest}" if event.digest else ""
        request = event.payload.get("request") or {}
        address = str(request.get("addr") or "").rsplit(":", 1)[0].strip("[]") or None
        traces.append(
            AuditEvent(
                created_at=event.timestamp,
                actor=users.get(event.actor),
                actor_name=event.actor or "anonymous",
                source_ip=address,
                action=action,
                resource_type=resource_type,
                resource_name=f"{event.repository}{reference}"[:300],
                organization=event.repository.split("/", 1)[0][:64],
                detail={"event_id": event.event_id, "digest": event.digest, "tag": event.tag},
            )
        )
    AuditEvent.objects.bulk_create(traces)
    return len(traces)


def audit_token_request(
    *,
    user: AnyUser | None,
    username: str,
    requested: list[Scope],
    granted: list[Scope],
    result: str = SUCCESS,
) -> None:
    """Trace one token realm request (`createRegistryToken`, resource type `token`) with the
    actions asked for, granted and denied, plus a `downloadImage` trace per repository the token
    lets pull without push, counted in the repository's `num_download`: the registry sends no
    pull events, so this is where pulls are seen. Berth's own reads never come here (it signs its
    tokens itself), so they are neither traced nor counted."""
    asked: dict[str, set[str]] = {}
    for scope in requested:
        asked.setdefault(f"{scope.type}:{scope.name}", set()).update(scope.actions)
    given = {f"{s.type}:{s.name}": set(s.actions) for s in granted}
    scopes = [
        {
            "scope": key,
            "requested": sorted(actions),
            "granted": sorted(given.get(key, set())),
            "denied": sorted(actions - given.get(key, set()) - {"*"}),
        }
        for key, actions in asked.items()
    ]
    repositories = [s.name for s in requested if s.type == "repository"]
    organization = repositories[0].split("/", 1)[0] if repositories else ""
    denied = any(entry["denied"] for entry in scopes)
    audit_record(
        action="createRegistryToken",
        resource_type="token",
        resource_name=" ".join(dict.fromkeys(repositories)),
        organization=organization,
        actor=user,
        actor_name=username,
        result=FAILURE if result == FAILURE or denied else SUCCESS,
        detail={"scopes": scopes},
    )
    for scope in granted:
        if scope.type == "repository" and "pull" in scope.actions and "push" not in scope.actions:
            if "push" in asked.get(f"repository:{scope.name}", set()):
                continue  # a push that was refused: the pull is part of it, not a download
            org, _, name = scope.name.partition("/")
            Repository.objects.filter(organization__name=org, name=name).update(
                num_download=F("num_download") + 1
            )
            audit_record(
                action="downloadImage",
                resource_type="images",
                resource_name=scope.name,
                organization=scope.name.split("/", 1)[0],
                actor=user,
                actor_name=username,
            )


def audit_events_visible_to(*, user: AnyUser) -> QuerySet[AuditEvent]:
    """Traces `user` may read: superusers all; others their own and those of organizations where
    they (or one of their teams) hold Manage; anonymous none. One query, however many grants."""
    if not user.is_authenticated:
        return AuditEvent.objects.none()
    if user.is_superuser:
        return AuditEvent.objects.all()
    managed = OrganizationPermission.objects.filter(
        _principal_q(user), level__gte=Level.MANAGE
    ).values("organization__name")
    return AuditEvent.objects.filter(Q(actor=user) | Q(organization__in=managed))


def audit_events_filtered(
    *,
    user: AnyUser,
    actor: str = "",
    action: str = "",
    resource: str = "",
    organization: str = "",
    result: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """The traces `user` may read (`audit_events_visible_to`), newest first, narrowed by actor
    name (exact), action (exact), resource name (substring), organization, result and the days
    `since`..`until` (inclusive, in the current time zone)."""
    events = audit_events_visible_to(user=user)
    if actor:
        events = events.filter(actor_name=actor)
    if action:
        events = events.filter(action=action)
    if resource:
        events = events.filter(resource_name__icontains=resource)
    if organization:
        events = events.filter(organization=organization)
    if result:
        events = events.filter(result=result)
    zone = timezone.get_current_timezone()
    if since is not None:
        events = events.filter(created_at__gte=dt.datetime.combine(since, dt.time.min, zone))
    if until is not None:
        day_after = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, zone)
        events = events.filter(created_at__lt=day_after)
    return events.order_by("-created_at", "-id")


def audit_prune(*, older_than: dt.timedelta) -> int:
    """Delete traces older than `older_than` (the retention period); return how many went."""
    deleted, _ = AuditEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


def audit_sign_in(sender: object, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """`user_logged_in` receiver: trace a successful sign-in (`login`, resource type `user`)."""
    audit_record(
        action="login",
        resource_type="user",
        resource_name=user.get_username() if user is not None else "",
        actor=user,
        source_ip=_address(request),
    )


def audit_sign_in_failed(
    sender: object, credentials: dict[str, Any] | None = None, request: Any = None, **kwargs: Any
) -> None:
    """`user_login_failed` receiver: trace a refused sign-in with the username tried. The token
    realm traces its own refusals (as `createRegistryToken`), so its requests are skipped."""
    if request is not None and request.path.startswith("/service/"):
        return
    username = str((credentials or {}).get("username") or "")
    audit_record(
        action="login",
        resource_type="user",
        resource_name=username,
        actor_name=username,
        source_ip=_address(request),
        result=FAILURE,
    )


def _address(request: Any) -> str | None:
    # The middleware's context already holds the address (behind a trusted proxy too).
    context = _current.get()
    if context is not None:
        return context.source_ip
    return request.META.get("REMOTE_ADDR") if request is not None else None


def audit_grant(
    *,
    action: str,
    resource_type: str,
    resource_name: str,
    organization: str,
    actor: AnyUser,
    user: Any = None,
    team: Any = None,
    level: int | None = None,
) -> None:
    """Trace a permission grant, change or revoke for `user` or `team` (SWR's *Auth traces)."""
    detail: dict[str, Any] = {"user": user.get_username()} if user is not None else {}
    if team is not None:
        detail["team"] = team.name
    if level is not None:
        detail["level"] = Level(level).label
    audit_record(
        action=action,
        resource_type=resource_type,
        resource_name=resource_name,
        organization=organization,
        actor=actor,
        detail=detail,
    )
