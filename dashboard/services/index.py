"""The index: registry notifications in, Repository / Manifest / Tag rows out.

Events are stored once by id (`events_store`) and turned into rows in arrival order by one
indexer at a time (`events_index_pending`). Manifests are immutable per digest, so each is
fetched once; config blobs shared by many manifests are fetched once too. Every write keeps the
newest state: an older event never overwrites a newer tag (`tag_set`), and a delete removes a
tag only when it was pushed before the delete (`tag_forget(before=...)`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dashboard.models import Category, Manifest, Organization, RegistryEvent, Repository, Tag
from dashboard.models.repositories import INDEX_MEDIA_TYPES
from dashboard.registry import errors
from dashboard.registry.client import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryClient,
    get_client,
)
from dashboard.services.errors import INVALID_PARAMETERS, ServiceError

logger = logging.getLogger(__name__)

#: Annotation key of Berth's own throwaway manifests (single-tag delete on distribution 2.8).
PLACEHOLDER_ANNOTATION = "org.berth.placeholder"
#: `RegistryNotFound.code` when a manifest is one of Berth's placeholders.
PLACEHOLDER_CODE = "BERTH_PLACEHOLDER"

MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST})
IMAGE_CONFIG_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
# Config blobs are small JSON; anything bigger is an artifact's payload, not worth keeping.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
FETCH_THREADS = 4
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


def events_index_drain(*, max_seconds: float = 120.0) -> int:
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
            done = events_index_pending()
        except errors.RegistryError as exc:
            if not exc.retryable:
                raise
            logger.warning("indexing paused, registry unavailable: %s", exc)
            events_index_enqueue(countdown=5)
            return total
        total += done
        if not done:
            return total
        if time.monotonic() >= deadline:
            events_index_enqueue()
            return total


# -- repositories ----------------------------------------------------------------------------------


def split_repository_path(path: str) -> tuple[str, str] | None:
    """(organization, name) of a registry path; None when it cannot be a Berth repository."""
    org, sep, name = path.partition("/")
    if not sep or not org or not name or len(org) > 64 or len(name) > 128:
        return None
    return org, name


def repository_get_or_create_for_path(*, path: str) -> Repository | None:
    """The Repository for registry path `org/name`, created (private, `other`) on first push.

    An organization missing from the index (content pushed with an admin token) is created with
    no creator. Returns None for paths without an organization part.
    """
    return repositories_get_or_create_for_paths([path]).get(path)


def repositories_get_or_create_for_paths(paths: Iterable[str]) -> dict[str, Repository]:
    """`repository_get_or_create_for_path` for many paths at once, in a few queries."""
    paths = set(paths)
    found = repositories_by_path(paths)
    missing = {
        p: parts for p in set(paths) - set(found) if (parts := split_repository_path(p)) is not None
    }
    if not missing:
        return found
    org_names = {org for org, _ in missing.values()}
    Organization.objects.bulk_create(
        [Organization(name=name) for name in org_names], ignore_conflicts=True
    )
    orgs = {o.name: o for o in Organization.objects.filter(name__in=org_names)}
    Repository.objects.bulk_create(
        [
            Repository(organization=orgs[org], name=name, is_public=False, category=Category.OTHER)
            for org, name in missing.values()
        ],
        ignore_conflicts=True,
    )
    return {**found, **repositories_by_path(missing)}


def repositories_by_path(paths: Iterable[str]) -> dict[str, Repository]:
    """Existing repositories for registry paths, in one query."""
    wanted = {p: parts for p in set(paths) if (parts := split_repository_path(p)) is not None}
    if not wanted:
        return {}
    orgs = {org for org, _ in wanted.values()}
    names = {name for _, name in wanted.values()}
    found = Repository.objects.select_related("organization").filter(
        organization__name__in=orgs, name__in=names
    )
    by_path = {repo.full_name: repo for repo in found}
    return {path: by_path[path] for path in wanted if path in by_path}


def repository_refresh_counters(*, repositories: Iterable[Repository]) -> None:
    """Recompute tag_count, size (distinct tagged manifests) and updated_at (latest push).

    Three queries whatever the number of repositories, plus one update per repository whose
    counters changed.
    """
    repos = {repo.pk: repo for repo in repositories}
    if not repos:
        return
    tag_stats = {
        row["repository_id"]: (row["n"], row["last"])
        for row in Tag.objects.filter(repository_id__in=repos)
        .values("repository_id")
        .annotate(n=Count("id"), last=Max("pushed_at"))
        .order_by()
    }
    sizes = dict(
        Manifest.objects.filter(repository_id__in=repos)
        .filter(Exists(Tag.objects.filter(manifest_id=OuterRef("pk"))))
        .values("repository_id")
        .annotate(total=Sum("size"))
        .order_by()
        .values_list("repository_id", "total")
    )
    stored = Repository.objects.filter(pk__in=repos).values_list(
        "pk", "tag_count", "size", "updated_at"
    )
    for pk, tag_count, size, updated_at in stored:
        count, last = tag_stats.get(pk, (0, None))
        fresh = {"tag_count": count, "size": int(sizes.get(pk) or 0)}
        if last is not None:
            fresh["updated_at"] = last  # without tags, the last change time stays
        current = {"tag_count": tag_count, "size": size, "updated_at": updated_at}
        for name, value in fresh.items():
            setattr(repos[pk], name, value)
        if any(current[name] != value for name, value in fresh.items()):
            Repository.objects.filter(pk=pk).update(**fresh)


# -- fetching manifests (network only, no ORM) --------------------------------------------------


@dataclass
class FetchedManifest:
    """A manifest read from the registry, with its config and (for an index) fetched children."""

    digest: str
    media_type: str
    raw: bytes
    body: dict
    config_digest: str = ""
    config_wanted: bool = False
    config: dict | None = None
    children: list[FetchedManifest] = field(default_factory=list)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    def walk(self) -> Iterator[FetchedManifest]:
        """This manifest and its fetched children, children first."""
        for child in self.children:
            yield from child.walk()
        yield self


def _wants_config(descriptor: dict) -> bool:
    media_type = str(descriptor.get("mediaType") or "")
    size = descriptor.get("size")
    if not isinstance(size, int) or size > MAX_CONFIG_BYTES:
        return False
    return media_type in IMAGE_CONFIG_MEDIA_TYPES or media_type.endswith("json")


def fetch_manifest(
    client: RegistryClient,
    path: str,
    digest: str,
    *,
    skip_children: Callable[[str], bool] = lambda digest: False,
    depth: int = 0,
) -> FetchedManifest:
    """GET a manifest by digest and, for an index, its children (without config blobs).

    Children for which `skip_children` answers True (already indexed) are not fetched.
    Raises RegistryNotFound when the manifest is gone or is a Berth placeholder (code
    PLACEHOLDER_CODE), RegistryProtocolError when it is not a manifest Berth can read, and the
    client's other RegistryErrors.
    """
    response = client.get_manifest(path, digest)
    try:
        body = response.json()
    except ValueError as exc:
        raise errors.RegistryProtocolError(f"The manifest {digest} is not JSON.") from exc
    if not isinstance(body, dict):
        raise errors.RegistryProtocolError(f"The manifest {digest} is not a JSON object.")
    annotations = body.get("annotations")
    if isinstance(annotations, dict) and PLACEHOLDER_ANNOTATION in annotations:
        raise errors.RegistryNotFound(
            f"{digest} is a Berth placeholder manifest.", code=PLACEHOLDER_CODE
        )
    media_type = str(body.get("mediaType") or response.media_type)
    fetched = FetchedManifest(
        digest=response.digest, media_type=media_type, raw=response.body, body=body
    )
    if fetched.is_index:
        for child in body.get("manifests") or []:
            child_digest = child.get("digest") if isinstance(child, dict) else None
            if not isinstance(child_digest, str) or depth >= 2 or skip_children(child_digest):
                continue
            try:
                fetched.children.append(
                    fetch_manifest(
                        client, path, child_digest, skip_children=skip_children, depth=depth + 1
                    )
                )
            except errors.RegistryNotFound:
                continue  # a child gone since (GC): the platform is shown without details
        return fetched
    config = body.get("config")
    if isinstance(config, dict) and isinstance(config.get("digest"), str):
        fetched.config_digest = config["digest"]
        fetched.config_wanted = _wants_config(config)
    return fetched


def _fetch_config(client: RegistryClient, path: str, digest: str) -> dict | None:
    """A config blob as JSON; None when it is gone or not a JSON object."""
    try:
        data = client.get_blob(path, digest)
    except errors.RegistryNotFound:
        return None
    try:
        config = json.loads(data)
    except ValueError:
        return None
    return config if isinstance(config, dict) else None


def configs_from_index(digests: Iterable[str]) -> dict[str, dict]:
    """Config JSON the index already holds, by config digest (content-addressed, so any
    repository's copy will do). Two queries."""
    digests = set(digests)
    if not digests:
        return {}
    first_ids = (
        Manifest.objects.filter(config_digest__in=digests)
        .exclude(config=None)
        .values("config_digest")
        .annotate(first=Min("id"))
        .order_by()
        .values_list("first", flat=True)
    )
    rows = Manifest.objects.filter(id__in=list(first_ids)).values_list("config_digest", "config")
    return {digest: config for digest, config in rows if isinstance(config, dict)}


class ClientPool:
    """One RegistryClient (own session) per thread, like the given client."""

    def __init__(self, base: RegistryClient) -> None:
        self.base = base
        self._local = threading.local()
        self._made: list[RegistryClient] = []
        self._lock = threading.Lock()

    def get(self) -> RegistryClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = RegistryClient(
                self.base.base_url,
                token_provider=self.base.token_provider,
                timeout=self.base.timeout,
                retries=self.base.retries,
            )
            self._local.client = client
            with self._lock:
                self._made.append(client)
        return client

    def close(self) -> None:
        for client in self._made:
            client.session.close()


FetchOutcome = FetchedManifest | Exception


def fetch_many(
    client: RegistryClient,
    wanted: list[tuple[str, str]],
    *,
    skip_children: Callable[[str, str], bool] = lambda path, digest: False,
    threads: int = FETCH_THREADS,
) -> dict[tuple[str, str], FetchOutcome]:
    """Fetch (path, digest) manifests and their config blobs, a few at a time.

    Each outcome is the FetchedManifest or the exception met (RegistryNotFound for one that is
    gone or a placeholder), so one bad manifest does not stop the others. A config blob the
    index already holds is not fetched, and each one missing is fetched once.
    `skip_children(path, digest)` says which index children need no fetch.
    """
    pool = ClientPool(client)

    def run(function: Callable, items: list) -> list:
        if len(items) <= 1 or threads <= 1:
            return [function(client, item) for item in items]
        with ThreadPoolExecutor(max_workers=min(threads, len(items))) as executor:
            return list(executor.map(lambda item: function(pool.get(), item), items))

    def manifest(c: RegistryClient, key: tuple[str, str]) -> FetchOutcome:
        path, digest = key
        try:
            return fetch_manifest(c, path, digest, skip_children=lambda d: skip_children(path, d))
        except Exception as exc:
            return exc

    def config(c: RegistryClient, item: tuple[str, str]) -> dict | Exception | None:
        try:
            return _fetch_config(c, *item)
        except Exception as exc:
            return exc

    try:
        outcomes = dict(zip(wanted, run(manifest, wanted), strict=True))
        users: dict[str, list[tuple[tuple[str, str], FetchedManifest]]] = {}
        for key, outcome in outcomes.items():
            if isinstance(outcome, FetchedManifest):
                for item in outcome.walk():
                    if item.config_wanted:
                        users.setdefault(item.config_digest, []).append((key, item))
        configs = configs_from_index(users)
        missing = [(users[d][0][0][0], d) for d in users if d not in configs]
        for (_, digest), got in zip(missing, run(config, missing), strict=True):
            if isinstance(got, Exception):
                for key, _ in users[digest]:
                    outcomes[key] = got  # the manifest cannot be indexed fully yet
            elif got is not None:
                configs[digest] = got
        for digest, items in users.items():
            for _, item in items:
                item.config = configs.get(digest)
        return outcomes
    finally:
        pool.close()


# -- manifest rows ---------------------------------------------------------------------------------


def _text(value: object, limit: int = 40) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _created(config: dict | None) -> dt.datetime | None:
    stamp = (config or {}).get("created")
    if not isinstance(stamp, str):
        return None
    try:
        parsed = parse_datetime(stamp)
    except ValueError:
        return None
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)


def _labels(config: dict | None) -> dict:
    inner = (config or {}).get("config")
    labels = inner.get("Labels") if isinstance(inner, dict) else None
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


def _descriptor(item: object) -> dict | None:
    if not isinstance(item, dict) or not isinstance(item.get("digest"), str):
        return None
    return {
        "digest": item["digest"],
        "media_type": _text(item.get("mediaType"), 200),
        "size": _int(item.get("size")),
    }


def _image_fields(fetched: FetchedManifest) -> dict:
    """Manifest row fields of an image manifest."""
    layers = [d for d in map(_descriptor, fetched.body.get("layers") or []) if d]
    config_size = _int((fetched.body.get("config") or {}).get("size"))
    config = fetched.config
    return {
        "media_type": fetched.media_type[:120],
        "manifest_size": len(fetched.raw),
        "size": config_size + sum(layer["size"] for layer in layers),
        "config_digest": fetched.config_digest[:100],
        "created": _created(config),
        "os": _text((config or {}).get("os")),
        "architecture": _text((config or {}).get("architecture")),
        "variant": _text((config or {}).get("variant")),
        "labels": _labels(config),
        "platforms": [],
        "layers": layers,
        "raw": fetched.raw.decode("utf-8", errors="replace"),
        "config": config,
    }


def _index_fields(fetched: FetchedManifest, children: dict[str, Manifest]) -> dict:
    """Manifest row fields of an index, each platform sized from its child's row."""
    platforms = []
    for item in fetched.body.get("manifests") or []:
        desc = _descriptor(item)
        if desc is None:
            continue
        child = children.get(desc["digest"])
        platform = item.get("platform") if isinstance(item.get("platform"), dict) else {}
        platforms.append(
            {
                "digest": desc["digest"],
                "media_type": desc["media_type"],
                "size": child.size if child else 0,
                "os": _text(platform.get("os")) or (child.os if child else ""),
                "architecture": _text(platform.get("architecture"))
                or (child.architecture if child else ""),
                "variant": _text(platform.get("variant")) or (child.variant if child else ""),
            }
        )
    created = [c.created for c in children.values() if c.created is not None]
    return {
        "media_type": fetched.media_type[:120],
        "manifest_size": len(fetched.raw),
        "size": sum(p["size"] for p in platforms),
        "config_digest": "",
        "created": max(created) if created else None,
        "os": "",
        "architecture": "",
        "variant": "",
        "labels": {},
        "platforms": platforms,
        "layers": [],
        "raw": fetched.raw.decode("utf-8", errors="replace"),
        "config": None,
    }


def _flatten(items: Iterable[tuple[int, FetchedManifest]]) -> list[tuple[int, FetchedManifest]]:
    """Children before their index, each (repository, digest) once."""
    out: dict[tuple[int, str], tuple[int, FetchedManifest]] = {}

    def visit(repo_id: int, fetched: FetchedManifest) -> None:
        for child in fetched.children:
            visit(repo_id, child)
        out.setdefault((repo_id, fetched.digest), (repo_id, fetched))

    for repo_id, fetched in items:
        visit(repo_id, fetched)
    return list(out.values())


def _manifests_by_key(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Manifest]:
    keys = set(keys)
    if not keys:
        return {}
    repo_ids = {r for r, _ in keys}
    digests = {d for _, d in keys}
    rows = Manifest.objects.filter(repository_id__in=repo_ids, digest__in=digests).defer(
        "raw", "config"
    )
    return {(m.repository_id, m.digest): m for m in rows if (m.repository_id, m.digest) in keys}


def save_fetched(items: Iterable[tuple[int, FetchedManifest]]) -> dict[tuple[int, str], Manifest]:
    """Create Manifest rows for fetched manifests (images first, then indexes).

    Rows that already exist are kept as they are (a digest is immutable). Returns the rows by
    (repository id, digest), without their `raw` and `config` loaded.
    """
    flat = _flatten(items)
    if not flat:
        return {}
    images = [(r, f) for r, f in flat if not f.is_index]
    indexes = [(r, f) for r, f in flat if f.is_index]
    Manifest.objects.bulk_create(
        [Manifest(repository_id=r, digest=f.digest, **_image_fields(f)) for r, f in images],
        ignore_conflicts=True,
    )
    if indexes:
        child_keys = {
            (r, item["digest"])
            for r, f in indexes
            for item in f.body.get("manifests") or []
            if isinstance(item, dict) and isinstance(item.get("digest"), str)
        }
        children = _manifests_by_key(child_keys)
        Manifest.objects.bulk_create(
            [
                Manifest(
                    repository_id=r,
                    digest=f.digest,
                    **_index_fields(f, {d: m for (cr, d), m in children.items() if cr == r}),
                )
                for r, f in indexes
            ],
            ignore_conflicts=True,
        )
    return _manifests_by_key((r, f.digest) for r, f in flat)


def _fetch_one(
    client: RegistryClient, path: str, digest: str, *, skip_children: Callable[[str], bool]
) -> FetchedManifest:
    outcome = fetch_many(
        client, [(path, digest)], skip_children=lambda _, d: skip_children(d), threads=1
    )[(path, digest)]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def manifest_index(
    *, repository: Repository, digest: str, client: RegistryClient | None = None
) -> Manifest:
    """The Manifest row for `digest` in `repository`, fetched and created when not yet indexed.

    Raises RegistryNotFound when the registry no longer has it or it is one of Berth's
    placeholder manifests (code PLACEHOLDER_CODE); then nothing is indexed. Other RegistryErrors
    come from the client.
    """
    existing = Manifest.objects.filter(repository=repository, digest=digest).first()
    if existing is not None:
        return existing
    known = set(Manifest.objects.filter(repository=repository).values_list("digest", flat=True))
    fetched = _fetch_one(
        client or get_client(), repository.full_name, digest, skip_children=known.__contains__
    )
    save_fetched([(repository.pk, fetched)])
    return Manifest.objects.get(repository=repository, digest=digest)


def manifest_ensure_details(*, manifest: Manifest) -> Manifest:
    """The manifest with `raw` and `config` present, fetching whatever is missing.

    Raises the client's RegistryErrors (RegistryNotFound when the registry lost it).
    """
    need_raw = not manifest.raw
    need_config = manifest.config is None and bool(manifest.config_digest)
    if not need_raw and not need_config:
        return manifest
    repository = manifest.repository
    fetched = _fetch_one(
        get_client(), repository.full_name, manifest.digest, skip_children=lambda d: True
    )
    if fetched.is_index:
        digests = [p["digest"] for p in map(_descriptor, fetched.body.get("manifests") or []) if p]
        children = {
            m.digest: m for m in Manifest.objects.filter(repository=repository, digest__in=digests)
        }
        fields = _index_fields(fetched, children)
    else:
        fields = _image_fields(fetched)
    for name, value in fields.items():
        setattr(manifest, name, value)
    manifest.save(update_fields=list(fields))
    return manifest


# -- tags ------------------------------------------------------------------------------------------


def _may_replace(
    *,
    current_manifest_id: int,
    current_pushed_at: dt.datetime,
    current_pushed_by: str,
    manifest_id: int,
    pushed_at: dt.datetime,
) -> str:
    """How a tag at `current_*` takes a push of `manifest_id` at `pushed_at`.

    "set": the push is as new or newer; "adopt": the same manifest seen earlier by its real push
    (reconcile only knew when it saw it); "keep": the push is older than what the index holds.
    """
    if pushed_at >= current_pushed_at:
        return "set"
    if current_manifest_id == manifest_id and not current_pushed_by:
        return "adopt"
    return "keep"


def tag_set(
    *,
    repository: Repository,
    name: str,
    manifest: Manifest,
    pushed_at: dt.datetime,
    pushed_by: str,
) -> Tag:
    """Point tag `name` at `manifest` unless the index already holds a newer state of it.

    Returns the tag as it is afterwards (unchanged when the given push is older).
    """
    with transaction.atomic():
        tag = Tag.objects.select_for_update().filter(repository=repository, name=name).first()
        if tag is None:
            try:
                with transaction.atomic():
                    return Tag.objects.create(
                        repository=repository,
                        name=name,
                        manifest=manifest,
                        pushed_at=pushed_at,
                        pushed_by=pushed_by,
                    )
            except IntegrityError:
                tag = Tag.objects.select_for_update().get(repository=repository, name=name)
        verdict = _may_replace(
            current_manifest_id=tag.manifest_id,
            current_pushed_at=tag.pushed_at,
            current_pushed_by=tag.pushed_by,
            manifest_id=manifest.pk,
            pushed_at=pushed_at,
        )
        if verdict != "keep":
            tag.manifest = manifest
            tag.pushed_at = pushed_at
            tag.pushed_by = pushed_by
            tag.save(update_fields=["manifest", "pushed_at", "pushed_by"])
        return tag


def tag_forget(
    *,
    repository: Repository,
    names: Iterable[str],
    before: dt.datetime | None = None,
    refresh: bool = True,
) -> int:
    """Remove tags from the index; with `before`, only those pushed at or before it.

    Refreshes the repository's counters unless `refresh` is False (the caller does it for many
    repositories at once). Returns how many tags were removed.
    """
    qs = Tag.objects.filter(repository=repository, name__in=list(names))
    if before is not None:
        qs = qs.filter(pushed_at__lte=before)
    removed, _ = qs.delete()
    if removed and refresh:
        repository_refresh_counters(repositories=[repository])
    return removed


def manifest_forget(*, repository: Repository, digest: str) -> bool:
    """Remove a deleted manifest and every tag on it from the index (the registry removes them
    together). Refreshes the repository's counters. Returns whether anything was removed."""
    with transaction.atomic():
        manifest = Manifest.objects.filter(repository=repository, digest=digest).first()
        if manifest is None:
            return False
        Tag.objects.filter(manifest=manifest).delete()
        manifest.delete()
    repository_refresh_counters(repositories=[repository])
    return True


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
    with cache_lock(INDEX_LOCK_KEY, ttl=INDEX_LOCK_TTL, wait=30) as locked:
        if not locked:
            logger.warning("another indexer holds the index lock; leaving events pending")
            return 0
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
    known = _manifests_by_key(
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
        _write_tags(state)
        gone = [pk for pk, action in last_manifest_action.items() if action == "delete"]
        if gone:
            Manifest.objects.filter(pk__in=gone).exclude(
                Exists(Tag.objects.filter(manifest_id=OuterRef("pk")))
            ).delete()
        failed = [e for e in events if e.error]
        RegistryEvent.objects.filter(pk__in=[e.row.pk for e in events if not e.error]).update(
            processed_at=now, error=""
        )
        for e in failed:
            e.row.processed_at, e.row.error = now, e.error
        RegistryEvent.objects.bulk_update([e.row for e in failed], ["processed_at", "error"])
        if touched:
            repository_refresh_counters(repositories=touched.values())


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
    verdict = _may_replace(
        current_manifest_id=current.manifest_id,
        current_pushed_at=current.pushed_at,
        current_pushed_by=current.pushed_by,
        manifest_id=manifest_id,
        pushed_at=pushed_at,
    )
    if verdict != "keep":
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
