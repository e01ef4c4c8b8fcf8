"""Manifests in the index: fetched once per digest (with config blobs, and the children of
multi-arch images), turned into Manifest rows.

The fetching half speaks only to the registry client, so it can run in threads; the other half
writes rows. A manifest carrying PLACEHOLDER_ANNOTATION is one of Berth's throwaway manifests
(single-tag delete on distribution 2.8) and is never indexed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db.models import Min
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dashboard.models import Manifest, Repository
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


# -- fetching manifests (what runs in threads touches no ORM) ----------------------------------


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


def manifests_by_key(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Manifest]:
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
        children = manifests_by_key(child_keys)
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
    return manifests_by_key((r, f.digest) for r, f in flat)


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
