"""Registry notifications: stored once by event id, replayed in arrival order into the index.

One indexer at a time (a lock in the shared cache) takes the oldest pending events, fetches the
manifests the index lacks (a few at a time, each once), then replays the events on the tags
they touch and writes the outcome in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dashboard.models import Manifest, RegistryEvent, Repository, Tag
from dashboard.registry import errors
from dashboard.registry.client import (
    RegistryClient,
    get_client,
)
from dashboard.services.audit import audit_registry_events
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError
from dashboard.services.index.manifests import (
    MANIFEST_MEDIA_TYPES,
    FetchedManifest,
    FetchOutcome,
    fetch_many,
    manifests_by_key,
    save_fetched,
)
from dashboard.services.index.rows import (
    repositories_by_path,
    repositories_get_or_create_for_paths,
    repository_refresh_counters,
    split_repository_path,
    tag_push_verdict,
)
from dashboard.services.pushes import TagPush, pushes_dispatch

logger = logging.getLogger(__name__)

# An event whose manifest still fails transiently after this long is given up (recorded with
# its error) so that it cannot hold back the queue; the reconcile crawl repairs what it missed.
GIVE_UP_AFTER = dt.timedelta(minutes=10)

# The receiver's debounce: set while an indexing task is queued and not yet started.
INDEX_PENDING_KEY = "berth:index:pending"
INDEX_PENDING_TTL = 60
INDEX_LOCK_KEY = "berth:index:lock"
INDEX_LOCK_TTL = 600

_EVENT_LIMITS = {"repository": 256, "digest": 100, "tag": 128, "media_type": 120, "actor": 150}


# -- storing events ------------------------------------------------------------------------------


def _bad_event(message: str) -> ServiceError:
    return ServiceError(INVALID_PARAMETERS, message, 400)


def _event_row(raw: object, received_at: dt.datetime) -> RegistryEvent:
    """A RegistryEvent (unsaved) from one notification event; ServiceError 400 when malformed."""
    if not isinstance(raw, dict):
        raise _bad_event("Each event must be a JSON object.")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id.strip():
        raise _bad_event("Each event needs a non-empty string `id`.")
    if len(event_id) > 64:
        raise _bad_event("An event `id` is at most 64 characters.")
    action = raw.get("action", "")
    if not isinstance(action, str) or len(action) > 16:
        raise _bad_event(f"Event {event_id}: `action` must be a short string.")
    target = raw.get("target") or {}
    actor = raw.get("actor") or {}
    if not isinstance(target, dict) or not isinstance(actor, dict):
        raise _bad_event(f"Event {event_id}: `target` and `actor` must be objects.")
    values = {
        "repository": target.get("repository", ""),
        "digest": target.get("digest", ""),
        "tag": target.get("tag", ""),
        "media_type": target.get("mediaType", ""),
        "actor": actor.get("name", ""),
    }
    for name, value in values.items():
        if not isinstance(value, str):
            raise _bad_event(f"Event {event_id}: `{name}` must be a string.")
        if len(value) > _EVENT_LIMITS[name]:
            raise _bad_event(f"Event {event_id}: `{name}` is too long.")
    timestamp = received_at
    if raw.get("timestamp") is not None:
        stamp = raw["timestamp"]
        try:
            parsed = parse_datetime(stamp) if isinstance(stamp, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise _bad_event(f"Event {event_id}: `timestamp` is not an RFC 3339 time.")
        timestamp = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)
    return RegistryEvent(
        event_id=event_id,
        action=action,
        timestamp=timestamp,
        payload=raw,
        received_at=received_at,
        **values,
    )


def events_store(*, events: list[dict]) -> int:
    """Validate and store notification events, each once by its id.

    Returns how many were new. Raises ServiceError (400) when any event is malformed; then
    nothing is stored.
    """
    now = timezone.now()
    rows: dict[str, RegistryEvent] = {}
    for raw in events:
        row = _event_row(raw, now)
        rows.setdefault(row.event_id, row)
    if not rows:
        return 0
    # No transaction around the two statements: the unique event id settles a race, and the
    # write lock (SQLite) is then held only for the insert.
    seen = set(
        RegistryEvent.objects.filter(event_id__in=list(rows)).values_list("event_id", flat=True)
    )
    fresh = [row for event_id, row in rows.items() if event_id not in seen]
    if fresh:
        RegistryEvent.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def events_index_enqueue(*, countdown: float | None = None) -> bool:
    """Queue the indexing task after commit unless one is already queued and not yet started.

    Returns True when a task is queued. A broker failure is logged, not raised: the events are
    stored and the periodic task picks them up.
    """
    try:
        if not cache.add(INDEX_PENDING_KEY, "1", INDEX_PENDING_TTL):
            return False
    except Exception:
        logger.exception("cache unavailable; stored events wait for the periodic indexer")
        return False

    def send() -> None:
        from dashboard.tasks import index_pending_events

        try:
            index_pending_events.apply_async(countdown=countdown or 0)
        except Exception:
            cache.delete(INDEX_PENDING_KEY)
            logger.exception("could not queue index_pending_events; the periodic run will")

    transaction.on_commit(send)
    return True


def events_index_drain(*, max_seconds: float = 120.0, lock_wait: float = 30.0) -> int:
    """Index every pending event, batch after batch. Returns how many were processed.

    Clears the receiver's debounce key first, so an event stored while this runs queues a new
    run. Under a steady stream it hands over to a fresh run after `max_seconds` (instead of
    running into the task time limit). On a transient registry failure the remaining events
    stay pending and a retry is queued for a few seconds later.
    """
    cache.delete(INDEX_PENDING_KEY)
    deadline = time.monotonic() + max_seconds
    total = 0
    while True:
        try:
            done = _index_locked(limit=1000, client=None, wait=lock_wait)
        except errors.RegistryError as exc:
            if not exc.retryable:
                raise
            logger.warning("indexing paused, registry unavailable: %s", exc)
            events_index_enqueue(countdown=5)
            return total
        if done is None:
            # Another indexer kept the lock too long: try again shortly, never leave events.
            events_index_enqueue(countdown=5)
            return total
        total += done
        if not done:
            return total
        if time.monotonic() >= deadline:
            events_index_enqueue()
            return total


# -- turning events into rows ----------------------------------------------------------------------


@contextmanager
def cache_lock(key: str, *, ttl: int, wait: float) -> Iterator[bool]:
    """Hold `key` in the shared cache (redis) while the block runs; yields whether it got it."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while not cache.add(key, token, ttl):
        if time.monotonic() >= deadline:
            yield False
            return
        time.sleep(0.05)
    try:
        yield True
    finally:
        if cache.get(key) == token:
            cache.delete(key)


@dataclass
class _Event:
    row: RegistryEvent
    kind: str  # "push", "delete-digest", "delete-tag" or "ignore"
    repository: Repository | None = None
    error: str = ""


def _event_kind(event: RegistryEvent) -> str:
    if event.action == "push" and event.digest and event.repository:
        url = str((event.payload.get("target") or {}).get("url") or "")
        if event.media_type in MANIFEST_MEDIA_TYPES or "/manifests/" in url:
            return "push"
    if event.action == "delete" and event.repository:
        if event.tag:
            return "delete-tag"
        if event.digest:
            return "delete-digest"
    return "ignore"


@dataclass
class _TagState:
    pk: int | None
    manifest_id: int
    pushed_at: dt.datetime
    pushed_by: str
    present: bool = True
    dirty: bool = False
    deleted_at: dt.datetime | None = None


def events_index_pending(*, limit: int = 1000, client: RegistryClient | None = None) -> int:
    """Turn up to `limit` unprocessed events into index rows, oldest first.

    Returns how many events were processed (0 when none were pending or another indexer holds
    the lock for too long). Each event is marked processed, with its error when it could not be
    used; a manifest that is gone (404) or is a Berth placeholder has no effect. A transient
    registry failure stops the batch before the event that met it: the events before it are
    applied, that one and the later ones stay pending, and the RegistryError is raised.
    Idempotent: running it twice, or on duplicate deliveries, gives the same rows.
    """
    return _index_locked(limit=limit, client=client, wait=30) or 0


def _index_locked(*, limit: int, client: RegistryClient | None, wait: float) -> int | None:
    """`_index_batch` under the index lock; None when another indexer held it for `wait` s."""
    with cache_lock(INDEX_LOCK_KEY, ttl=INDEX_LOCK_TTL, wait=wait) as locked:
        if not locked:
            logger.warning("another indexer holds the index lock; leaving events pending")
            return None
        return _index_batch(limit=limit, client=client)


def _index_batch(*, limit: int, client: RegistryClient | None) -> int:
    rows = list(RegistryEvent.objects.filter(processed_at__isnull=True).order_by("id")[:limit])
    if not rows:
        return 0
    events = [_Event(row=row, kind=_event_kind(row)) for row in rows]
    for e in events:
        if split_repository_path(e.row.repository) is None:
            e.kind = "ignore"  # no organization part: not a repository Berth can index
    repos = repositories_by_path(e.row.repository for e in events if e.kind != "ignore")
    known = manifests_by_key(
        (repos[e.row.repository].pk, e.row.digest)
        for e in events
        if e.kind in ("push", "delete-digest") and e.row.repository in repos
    )

    # Fetch what the index lacks, a few at a time, each manifest once.
    to_fetch: dict[tuple[str, str], None] = {}
    for e in events:
        repo = repos.get(e.row.repository)
        if e.kind == "push" and (repo is None or (repo.pk, e.row.digest) not in known):
            to_fetch[(e.row.repository, e.row.digest)] = None
    outcomes: dict[tuple[str, str], FetchOutcome] = {}
    if to_fetch:
        outcomes = fetch_many(
            client or get_client(),
            list(to_fetch),
            # Children pushed in this batch or indexed before need no second fetch.
            skip_children=lambda path, digest: (
                (path, digest) in to_fetch or (path in repos and (repos[path].pk, digest) in known)
            ),
        )
    # A repository appears with its first manifest that is really there: a push whose
    # manifest is already gone (or is a placeholder) creates nothing.
    good = [(path, o) for (path, _), o in outcomes.items() if isinstance(o, FetchedManifest)]
    repos.update(repositories_get_or_create_for_paths(p for p, _ in good if p not in repos))
    fetched = [(repos[path].pk, o) for path, o in good if path in repos]
    known.update(save_fetched(fetched))

    retry_error: errors.RegistryError | None = None
    for position, e in enumerate(events):
        e.repository = repos.get(e.row.repository)
        got = outcomes.get((e.row.repository, e.row.digest)) if e.kind == "push" else None
        if e.repository is None:
            e.kind = "ignore"  # no organization part, nothing indexed, or an unknown repository
        if got is None or isinstance(got, (FetchedManifest, errors.RegistryNotFound)):
            continue
        failure: Exception = got
        if (
            isinstance(failure, errors.RegistryError)
            and failure.retryable
            and e.row.received_at > timezone.now() - GIVE_UP_AFTER
        ):
            retry_error = failure
            RegistryEvent.objects.filter(pk=e.row.pk).update(error=str(failure)[:2000])
            events = events[:position]
            break
        e.error = f"{failure.__class__.__name__}: {failure}"[:2000]
        if not isinstance(failure, errors.RegistryError):
            logger.error("could not index %s@%s", e.row.repository, e.row.digest, exc_info=failure)
    if events:
        _apply(events, known)
    if retry_error is not None:
        raise retry_error
    return len(events)


def _apply(events: list[_Event], known: dict[tuple[int, str], Manifest]) -> None:
    """Replay the events in order on the tags they touch, then write the outcome at once."""
    tag_keys: dict[int, set[str]] = {}
    deleted_manifest_ids = set()
    for e in events:
        if e.repository is None:
            continue
        if e.kind in ("push", "delete-tag") and e.row.tag:
            tag_keys.setdefault(e.repository.pk, set()).add(e.row.tag)
        if e.kind == "delete-digest" and (e.repository.pk, e.row.digest) in known:
            deleted_manifest_ids.add(known[(e.repository.pk, e.row.digest)].pk)
    now = timezone.now()
    with transaction.atomic():
        condition = Q(manifest_id__in=deleted_manifest_ids)
        for repo_id, names in tag_keys.items():
            condition |= Q(repository_id=repo_id, name__in=names)
        state: dict[tuple[int, str], _TagState] = {}
        if tag_keys or deleted_manifest_ids:
            for tag in Tag.objects.select_for_update().filter(condition):
                state[(tag.repository_id, tag.name)] = _TagState(
                    pk=tag.pk,
                    manifest_id=tag.manifest_id,
                    pushed_at=tag.pushed_at,
                    pushed_by=tag.pushed_by,
                )
        last_manifest_action: dict[int, str] = {}
        touched: dict[int, Repository] = {}
        for e in events:
            repo = e.repository
            if repo is None or e.error:
                continue
            ts, key = e.row.timestamp, (repo.pk, e.row.tag)
            if e.kind == "push":
                manifest = known.get((repo.pk, e.row.digest))
                if manifest is None:
                    continue  # gone (404) or a placeholder: no effect
                last_manifest_action[manifest.pk] = "push"
                touched[repo.pk] = repo
                if e.row.tag:
                    _replay_set(state, key, manifest.pk, ts, e.row.actor)
            elif e.kind == "delete-tag":
                current = state.get(key)
                if current and current.present and current.pushed_at <= ts:
                    current.present, current.deleted_at = False, ts
                    touched[repo.pk] = repo
            elif e.kind == "delete-digest":
                manifest = known.get((repo.pk, e.row.digest))
                if manifest is None:
                    continue  # a blob, or a manifest the index never had
                last_manifest_action[manifest.pk] = "delete"
                touched[repo.pk] = repo
                for current in state.values():
                    if (
                        current.present
                        and current.manifest_id == manifest.pk
                        and current.pushed_at <= ts
                    ):
                        current.present, current.deleted_at = False, ts
        pushes = _pushes(state, known)
        _write_tags(state)
        gone = [pk for pk, action in last_manifest_action.items() if action == "delete"]
        if gone:
            Manifest.objects.filter(pk__in=gone).exclude(
                Exists(Tag.objects.filter(manifest_id=OuterRef("pk")))
            ).delete()
        audit_registry_events(events=[(e.kind, e.row) for e in events if not e.error])
        failed = [e for e in events if e.error]
        RegistryEvent.objects.filter(pk__in=[e.row.pk for e in events if not e.error]).update(
            processed_at=now, error=""
        )
        for e in failed:
            e.row.processed_at, e.row.error = now, e.error
        RegistryEvent.objects.bulk_update([e.row for e in failed], ["processed_at", "error"])
        if touched:
            repository_refresh_counters(repositories=touched.values())
        if pushes:
            transaction.on_commit(lambda: pushes_dispatch(pushes=pushes))


def _pushes(
    state: dict[tuple[int, str], _TagState], known: dict[tuple[int, str], Manifest]
) -> list[TagPush]:
    """The tags this batch creates or moves: new when absent before it (or deleted in it)."""
    digests = {m.pk: m.digest for m in known.values()}
    return [
        TagPush(
            repository_id=repo_id,
            tag=name,
            digest=digests.get(s.manifest_id, ""),
            pushed_at=s.pushed_at,
            pushed_by=s.pushed_by,
            is_new=s.pk is None or s.deleted_at is not None,
        )
        for (repo_id, name), s in state.items()
        if s.present and s.dirty
    ]


def _replay_set(
    state: dict[tuple[int, str], _TagState],
    key: tuple[int, str],
    manifest_id: int,
    pushed_at: dt.datetime,
    pushed_by: str,
) -> None:
    current = state.get(key)
    if current is None:
        state[key] = _TagState(None, manifest_id, pushed_at, pushed_by, dirty=True)
        return
    if not current.present:
        if current.deleted_at is not None and pushed_at < current.deleted_at:
            return
        current.present = True
        current.manifest_id, current.pushed_at, current.pushed_by = (
            manifest_id,
            pushed_at,
            pushed_by,
        )
        current.dirty = True
        return
    verdict = tag_push_verdict(
        current_manifest_id=current.manifest_id,
        current_pushed_at=current.pushed_at,
        current_pushed_by=current.pushed_by,
        manifest_id=manifest_id,
        pushed_at=pushed_at,
    )
    unchanged = (current.manifest_id, current.pushed_at, current.pushed_by) == (
        manifest_id,
        pushed_at,
        pushed_by,
    )
    if verdict != "keep" and not unchanged:
        current.manifest_id, current.pushed_at, current.pushed_by = (
            manifest_id,
            pushed_at,
            pushed_by,
        )
        current.dirty = True


def _write_tags(state: dict[tuple[int, str], _TagState]) -> None:
    delete = [s.pk for s in state.values() if s.pk is not None and not s.present]
    update = [
        Tag(pk=s.pk, manifest_id=s.manifest_id, pushed_at=s.pushed_at, pushed_by=s.pushed_by)
        for s in state.values()
        if s.pk is not None and s.present and s.dirty
    ]
    create = [
        Tag(
            repository_id=repo_id,
            name=name,
            manifest_id=s.manifest_id,
            pushed_at=s.pushed_at,
            pushed_by=s.pushed_by,
        )
        for (repo_id, name), s in state.items()
        if s.pk is None and s.present
    ]
    if delete:
        Tag.objects.filter(pk__in=delete).delete()
    if update:
        Tag.objects.bulk_update(update, ["manifest", "pushed_at", "pushed_by"])
    if create:
        Tag.objects.bulk_create(create, ignore_conflicts=True)


def events_prune(*, older_than: dt.timedelta) -> int:
    """Delete processed events received more than `older_than` ago; returns how many.

    Unprocessed events stay whatever their age: they still have to reach the index.
    """
    cutoff = timezone.now() - older_than
    deleted, _ = RegistryEvent.objects.filter(
        processed_at__isnull=False, received_at__lt=cutoff
    ).delete()
    return deleted
