"""Copying one tag from one registry to another (the engine of sync; registries only, no ORM):
manifests with their children, blobs streamed with SHA-256 checked on the way."""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from dataclasses import dataclass

import requests
import urllib3
from django.conf import settings

from dashboard.registry import errors
from dashboard.registry.client import DOCKER_LIST, OCI_INDEX, RegistryClient
from dashboard.registry.remote import READ_PIECE, RemoteClient

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
_SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)


# -- the copy (pure: registries only, no ORM) ------------------------------------------------------


class Stopped(Exception):
    """Raised inside a copy when the batch is being cancelled."""


class TimedOut(Exception):
    """Raised inside a copy that ran past BERTH_SYNC_TIMEOUT_SECONDS."""


@dataclass(frozen=True)
class _Manifest:
    digest: str
    media_type: str
    body: bytes
    #: The blobs it references (config and layers) as (digest, size); none for an index.
    blobs: tuple[tuple[str, int], ...]


@dataclass
class CopyPlan:
    """One tag to copy: its manifests (children first, the tag's own last) and their blobs."""

    digest: str
    manifests: list[_Manifest]
    verdict: str  # "copy", "identical", "existed"
    target_digest: str = ""

    @property
    def blobs(self) -> dict[str, int]:
        unique: dict[str, int] = {}
        for manifest in self.manifests:
            unique.update(manifest.blobs)
        return unique

    @property
    def bytes_total(self) -> int:
        return sum(self.blobs.values())


@dataclass
class Tracker:
    """What one record's copy has done so far; written by its thread, read by the batch."""

    bytes_total: int = 0
    bytes_done: int = 0
    blobs_total: int = 0
    blobs_done: int = 0
    blobs_skipped: int = 0
    digest: str = ""
    started: bool = False
    changed: bool = False


@dataclass(frozen=True)
class Work:
    record_id: int
    source_repository: str
    target_repository: str
    tag: str
    digest: str  # pinned by an earlier attempt, or "" to read the tag
    override: bool
    remote_id: int


@dataclass
class Outcome:
    status: str
    code: str = ""
    message: str = ""
    retry: bool = False
    plan: CopyPlan | None = None


def _parse(media_type: str, body: bytes, digest: str) -> tuple[str, list[dict], list[dict]]:
    """(media type, child descriptors, blob descriptors) of a manifest."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise errors.RegistryProtocolError(f"Manifest {digest} is not JSON.") from exc
    media_type = media_type or str(document.get("mediaType") or "")
    if media_type in _SCHEMA1_TYPES or document.get("schemaVersion") == 1:
        raise errors.RegistryUnsupported(
            f"Manifest {digest} is Docker schema 1, which Berth does not copy.",
            code="MANIFEST_UNSUPPORTED",
        )
    if media_type in _INDEX_TYPES or "manifests" in document:
        return media_type, list(document.get("manifests") or []), []
    blobs = [document["config"]] if isinstance(document.get("config"), dict) else []
    blobs += [layer for layer in document.get("layers") or [] if isinstance(layer, dict)]
    return media_type, [], blobs


class Copier:
    """Copies tags from Berth's registry to remotes; shared by the threads of one batch."""

    def __init__(
        self,
        *,
        source: RegistryClient,
        remotes: dict[int, RemoteClient],
        stop: threading.Event,
    ) -> None:
        self.source = source
        self.remotes = remotes
        self.stop = stop
        self.chunk_size = settings.SYNC_CHUNK_BYTES
        self.limit = settings.SYNC_TIMEOUT_SECONDS
        self._lock = threading.Lock()
        # Blobs known to be in a target repository, and uploads in flight: two tags sharing a
        # layer upload it once.
        self._present: set[tuple[int, str, str]] = set()
        self._uploading: dict[tuple[int, str, str], threading.Event] = {}
        # A remote that refused its credentials is not asked again within the batch.
        self._refused: dict[int, errors.RegistryError] = {}

    def _check(self, deadline: float) -> None:
        if self.stop.is_set():
            raise Stopped()
        if time.monotonic() > deadline:
            raise TimedOut()

    def plan(self, work: Work, tracker: Tracker) -> CopyPlan:
        """Read the tag's manifests from Berth's registry and what the target has under it."""
        tracker.started = tracker.changed = True
        deadline = time.monotonic() + self.limit
        refused = self._refused.get(work.remote_id)
        if refused is not None:
            raise type(refused)(refused.message, code=refused.code, http_status=401)
        reference = work.digest or work.tag
        try:
            top = self.source.get_manifest(work.source_repository, reference)
        except errors.RegistryNotFound as exc:
            raise errors.RegistryNotFound(
                f"{work.source_repository}:{work.tag} ({reference}) is no longer in Berth's "
                "registry.",
                code=exc.code,
            ) from exc
        manifests: list[_Manifest] = []
        self._walk(work.source_repository, top.digest, top.media_type, top.body, manifests)
        self._check(deadline)
        plan = CopyPlan(digest=top.digest, manifests=manifests, verdict="copy")
        remote = self.remotes[work.remote_id]
        try:
            there = remote.head_manifest(work.target_repository, work.tag)
        except errors.RegistryAuthError as exc:
            self._refused[work.remote_id] = exc
            raise
        if there is not None and there.digest == plan.digest:
            plan.verdict, plan.target_digest = "identical", there.digest
        elif there is not None and not work.override:
            plan.verdict, plan.target_digest = "existed", there.digest
        tracker.digest, tracker.bytes_total = plan.digest, plan.bytes_total
        tracker.blobs_total, tracker.changed = len(plan.blobs), True
        return plan

    def _walk(
        self, repository: str, digest: str, media_type: str, body: bytes, out: list[_Manifest]
    ) -> None:
        """Append `digest` and everything under it to `out`, children before their index."""
        media_type, children, blobs = _parse(media_type, body, digest)
        for child in children:
            child_digest = str(child.get("digest") or "")
            if not _DIGEST.match(child_digest):
                raise errors.RegistryProtocolError(
                    f"Index {digest} names a child without a valid digest ({child_digest!r}).",
                    code="MANIFEST_INVALID",
                )
            if any(m.digest == child_digest for m in out):
                continue
            got = self.source.get_manifest(repository, child_digest)
            self._walk(repository, got.digest, got.media_type, got.body, out)
        out.append(
            _Manifest(
                digest=digest,
                media_type=media_type,
                body=body,
                # Non-distributable (foreign) layers live elsewhere and are not copied.
                blobs=tuple(
                    (str(b["digest"]), int(b.get("size") or 0)) for b in blobs if not b.get("urls")
                ),
            )
        )

    def copy(self, work: Work, plan: CopyPlan, tracker: Tracker) -> None:
        """Copy the planned tag: missing blobs, child manifests by digest, the tag last."""
        deadline = time.monotonic() + self.limit
        remote = self.remotes[work.remote_id]
        target = work.target_repository
        done: set[str] = set()
        for manifest in plan.manifests:
            for digest, size in manifest.blobs:
                if digest in done:
                    continue
                self._check(deadline)
                copied = self._blob(work, remote, digest, size, tracker, deadline)
                done.add(digest)
                tracker.bytes_done += 0 if copied else size
                if copied:
                    tracker.blobs_done += 1
                else:
                    tracker.blobs_skipped += 1
                tracker.changed = True
            self._check(deadline)
            is_top = manifest is plan.manifests[-1]
            reference = work.tag if is_top else manifest.digest
            remote.put_manifest(target, reference, manifest.body, manifest.media_type)

    def _blob(
        self,
        work: Work,
        remote: RemoteClient,
        digest: str,
        size: int,
        tracker: Tracker,
        deadline: float,
    ) -> bool:
        """Put one blob in the target unless it is there already. True when it was copied."""
        key = (work.remote_id, work.target_repository, digest)
        while True:
            with self._lock:
                if key in self._present:
                    return False
                other = self._uploading.get(key)
                if other is None:
                    mine = self._uploading[key] = threading.Event()
                    break
            other.wait(timeout=5)  # another tag of the batch is uploading it
            self._check(deadline)
        try:
            if remote.blob_exists(work.target_repository, digest):
                with self._lock:
                    self._present.add(key)
                return False

            def sent(count: int) -> None:
                tracker.bytes_done += count
                tracker.changed = True
                self._check(deadline)

            body = _ReadAhead(self.source.open_blob(work.source_repository, digest), digest)
            try:
                remote.upload_blob(
                    work.target_repository,
                    digest=digest,
                    size=size,
                    read=body.read,
                    chunk_size=self.chunk_size,
                    on_bytes=sent,
                )
            finally:
                body.close()
            with self._lock:
                self._present.add(key)
            return True
        finally:
            with self._lock:
                self._uploading.pop(key, None)
            mine.set()


class _ReadAhead:
    """The body of a blob from Berth's registry, read by a thread of its own a few pieces ahead
    of the upload that sends them, so that receiving and sending overlap (as a pipe between
    two processes would). Holds at most `depth` pieces of READ_PIECE bytes. A broken stream
    is retryable (RegistryUnavailable)."""

    def __init__(self, response: requests.Response, digest: str, depth: int = 4) -> None:
        self._response, self._digest = response, digest
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._rest = b""
        self._eof = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="sync-read", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            while not self._stop.is_set():
                piece = self._response.raw.read(READ_PIECE)
                self._put(piece)
                if not piece:
                    return
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            failure = errors.RegistryUnavailable(
                f"Berth's registry stopped sending blob {self._digest}."
            )
            failure.__cause__ = exc
            self._put(failure)
        except BaseException as exc:  # handed to the reader, who raises it
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def read(self, count: int) -> bytes:
        """Up to `count` more bytes; b"" at the end."""
        if not self._rest and not self._eof:
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            self._rest, self._eof = item, not item
        piece, self._rest = self._rest[:count], self._rest[count:]
        return piece

    def close(self) -> None:
        self._stop.set()
        self._response.close()  # unblocks a read in progress
        self._thread.join(timeout=5)
