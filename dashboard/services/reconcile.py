"""Reconcile: repair the index from the registry itself, because notifications get lost.

Walks `_catalog` (pages of 1000, following `Link`), lists each repository's tags and HEADs each
tag to learn its digest, fetching only digests the index lacks. Rows are removed only on
positive evidence from a successful listing: a tag missing from a tags/list that succeeded, or
every tag of a repository the registry reports empty or unknown. Whatever could not be listed
is left as it is and the failure is recorded. Repository rows are never deleted, and never
created for registry repositories without tags.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from dashboard.models import Job, Manifest, Repository, Tag
from dashboard.registry import errors
from dashboard.registry.client import RegistryClient, get_client
from dashboard.services import index
from dashboard.services.access import AnyUser
from dashboard.services.errors import FORBIDDEN, PREFIX, REGISTRY_UNAVAILABLE, ServiceError

logger = logging.getLogger(__name__)

JOB_KIND = "reconcile"
THREADS = 6
# Repositories listed, probed and written per step; progress is recorded after each step.
CHUNK = 200
# Tags HEADed per unit of work: big repositories are spread over the threads.
HEAD_BATCH = 50
LOCK_KEY = "berth:reconcile:lock"
LOCK_TTL = 900
MAX_ERRORS = 50


@dataclass
class ReconcileReport:
    repositories_seen: int = 0
    tags_added: int = 0
    tags_changed: int = 0
    tags_removed: int = 0
    manifests_indexed: int = 0
    errors: list[str] = field(default_factory=list)
    complete: bool = True
    errors_total: int = 0

    def error(self, message: str) -> None:
        """Record a failure: the run is incomplete; the first MAX_ERRORS are kept verbatim."""
        self.complete = False
        self.errors_total += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        text = (
            f"{self.repositories_seen} repositories seen, {self.tags_added} tags added, "
            f"{self.tags_changed} changed, {self.tags_removed} removed, "
            f"{self.manifests_indexed} manifests indexed"
        )
        if self.complete:
            return text + "; complete."
        return text + f"; INCOMPLETE, {self.errors_total} errors: " + "; ".join(self.errors[:3])


@dataclass
class _Probe:
    """What the registry said about one repository."""

    path: str
    listed_at: dt.datetime | None = None
    tags: list[str] | None = None  # None: could not be listed
    heads: dict[str, tuple[str, dt.datetime]] = field(default_factory=dict)


# -- starting --------------------------------------------------------------------------------------


def _recent_unfinished() -> Job | None:
    horizon = timezone.now() - dt.timedelta(seconds=LOCK_TTL)
    return (
        Job.objects.filter(
            kind=JOB_KIND,
            status__in=[Job.Status.PENDING, Job.Status.RUNNING],
            created_at__gte=horizon,
        )
        .order_by("-created_at")
        .first()
    )


def _enqueue(job: Job) -> None:
    from dashboard.tasks import reconcile_job

    transaction.on_commit(lambda: reconcile_job.delay(job.pk))


def reconcile_start(*, actor: AnyUser) -> Job:
    """Queue a reconcile run for an administrator; returns its Job (the one already queued or
    running, if any). Raises ServiceError 4039002 (403) for anyone but a superuser."""
    if not (actor.is_authenticated and actor.is_active and actor.is_superuser):
        raise ServiceError(FORBIDDEN, "Only administrators can reconcile the index.", 403)
    with transaction.atomic():
        job = _recent_unfinished()
        if job is not None:
            return job
        job = Job.objects.create(kind=JOB_KIND, created_by=actor)  # type: ignore[misc]
        _enqueue(job)
    return job


def reconcile_schedule() -> Job | None:
    """A Job for the periodic run, or None when a run is already queued or running."""
    with transaction.atomic():
        if _recent_unfinished() is not None:
            return None
        return Job.objects.create(kind=JOB_KIND, created_by=None)


# -- running ---------------------------------------------------------------------------------------


def reconcile_run(
    *, client: RegistryClient | None = None, job: Job | None = None
) -> ReconcileReport:
    """Bring the index in line with the registry; returns what changed and what failed.

    With a `job`, records progress on it and finishes it (succeeded, or failed with the
    registry's error when anything could not be listed, or cancelled when another run holds the
    lock), with the report in `job.result`.
    """
    client = client or get_client()
    report = ReconcileReport()
    with index.cache_lock(LOCK_KEY, ttl=LOCK_TTL, wait=0) as locked:
        if not locked:
            report.error("Another reconcile is running.")
            _finish(job, report, cancelled=True)
            return report
        try:
            _walk(client, job, report)
        except Exception:
            if job is not None:
                Job.objects.filter(pk=job.pk).update(result=report.as_dict())
            raise
    _finish(job, report)
    logger.info("reconcile: %s", report)
    return report


def _walk(client: RegistryClient, job: Job | None, report: ReconcileReport) -> None:
    try:
        listed = list(client.catalog(page_size=1000))
    except errors.RegistryError as exc:
        report.error(f"Could not walk the catalog: {exc}")
        return
    catalog = set(listed)
    # Repositories the index holds tags for but the catalog no longer names are listed too:
    # a 404 NAME_UNKNOWN there is positive evidence that their tags are gone.
    indexed = {
        repo.full_name
        for repo in Repository.objects.select_related("organization").filter(
            Exists(Tag.objects.filter(repository_id=OuterRef("pk")))
        )
    }
    # Paths without an organization part can never be indexed: not worth a request.
    paths = sorted(p for p in catalog | indexed if index.split_repository_path(p))
    report.repositories_seen = len(paths)
    _progress(job, 0, len(paths))
    pool = index.ClientPool(client)
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as executor:
            for start in range(0, len(paths), CHUNK):
                chunk = paths[start : start + CHUNK]
                probes, unavailable = _probe(executor, pool, chunk, report)
                # What was listed before a failure is still positive evidence: apply it.
                _apply(client, probes, report)
                _progress(job, start + len(chunk), len(paths))
                if unavailable:
                    report.error("The registry became unreachable; the rest was left as it is.")
                    return
                cache.touch(LOCK_KEY, LOCK_TTL)
    finally:
        pool.close()


def _list_tags(client: RegistryClient, path: str) -> tuple[_Probe, errors.RegistryError | None]:
    probe = _Probe(path=path, listed_at=timezone.now())
    try:
        probe.tags = sorted(client.tags(path))
    except errors.RegistryNotFound as exc:
        if exc.code != "NAME_UNKNOWN":
            return probe, exc
        probe.tags = []  # the registry does not know the repository: nothing is tagged
    except errors.RegistryError as exc:
        return probe, exc
    return probe, None


def _head_tags(
    client: RegistryClient, path: str, tags: list[str]
) -> tuple[dict[str, tuple[str, dt.datetime]], list[str], bool]:
    """Digests of `tags` with when each was seen; errors; whether the registry went away."""
    heads: dict[str, tuple[str, dt.datetime]] = {}
    failures: list[str] = []
    for tag in tags:
        seen = timezone.now()
        try:
            ref = client.head_manifest(path, tag)
        except errors.RegistryNotFound:
            continue  # deleted since the listing: the next run removes it
        except errors.RegistryUnavailable as exc:
            failures.append(f"{path}:{tag}: {exc}")
            return heads, failures, True
        except errors.RegistryError as exc:
            failures.append(f"{path}:{tag}: {exc}")
            continue
        if not ref.digest:
            failures.append(f"{path}:{tag}: the registry sent no digest.")
            continue
        heads[tag] = (ref.digest, seen)
    return heads, failures, False


@dataclass
class _Listed:
    probe: _Probe
    failure: errors.RegistryError | None = None
    messages: list[str] = field(default_factory=list)
    unavailable: bool = False


def _list_and_head(client: RegistryClient, path: str) -> _Listed:
    """List a repository's tags and, unless it has many, HEAD them in the same unit of work."""
    probe, failure = _list_tags(client, path)
    listed = _Listed(probe, failure, unavailable=isinstance(failure, errors.RegistryUnavailable))
    if failure is None and probe.tags and len(probe.tags) <= HEAD_BATCH:
        heads, listed.messages, listed.unavailable = _head_tags(client, path, probe.tags)
        probe.heads.update(heads)
    return listed


def _probe(
    executor: ThreadPoolExecutor,
    pool: index.ClientPool,
    paths: list[str],
    report: ReconcileReport,
) -> tuple[list[_Probe], bool]:
    """List and HEAD a chunk of repositories in the thread pool.

    Returns the repositories that could be listed (with the digests of the tags that could be
    HEADed) and whether the registry became unreachable (then no more HEADs are sent).
    """
    probes: list[_Probe] = []
    unavailable = False
    for listed in executor.map(lambda p: _list_and_head(pool.get(), p), paths):
        if listed.failure is None:
            probes.append(listed.probe)
        else:
            report.error(f"{listed.probe.path}: could not list tags: {listed.failure}")
        for message in listed.messages:
            report.error(message)
        unavailable = unavailable or listed.unavailable
    if unavailable:
        return probes, True
    # Big repositories: their tags are HEADed in batches spread over the threads.
    work = [
        (probe, probe.tags[i : i + HEAD_BATCH])
        for probe in probes
        if probe.tags and len(probe.tags) > HEAD_BATCH
        for i in range(0, len(probe.tags), HEAD_BATCH)
    ]
    results = executor.map(lambda w: _head_tags(pool.get(), w[0].path, w[1]), work)
    for (probe, _), (heads, messages, gone) in zip(work, results, strict=True):
        probe.heads.update(heads)
        for message in messages:
            report.error(message)
        unavailable = unavailable or gone
    return probes, unavailable


def _apply(client: RegistryClient, probes: list[_Probe], report: ReconcileReport) -> None:
    """Write what a chunk's probes showed: removals, then new and moved tags."""
    repos = index.repositories_by_path(p.path for p in probes)
    current: dict[int, dict[str, tuple[str, dt.datetime]]] = {}
    for repo_id, name, digest, pushed_at in Tag.objects.filter(
        repository__in=list(repos.values())
    ).values_list("repository_id", "name", "manifest__digest", "pushed_at"):
        current.setdefault(repo_id, {})[name] = (digest, pushed_at)
    touched: dict[int, Repository] = {}

    # Removals: only what a successful listing no longer shows, pushed before it was listed.
    for probe in probes:
        repo = repos.get(probe.path)
        if repo is None or probe.tags is None or probe.listed_at is None:
            continue
        gone = set(current.get(repo.pk, {})) - set(probe.tags)
        if gone:
            removed = index.tag_forget(
                repository=repo, names=gone, before=probe.listed_at, refresh=False
            )
            report.tags_removed += removed
            touched[repo.pk] = repo

    # New and moved tags, fetching only the manifests the index lacks.
    wanted: list[tuple[_Probe, str, str, dt.datetime]] = []
    for probe in probes:
        repo = repos.get(probe.path)
        have = current.get(repo.pk, {}) if repo else {}
        for tag, (digest, seen) in sorted(probe.heads.items()):
            if tag not in have or have[tag][0] != digest:
                wanted.append((probe, tag, digest, seen))
    if not wanted:
        _refresh(touched)
        return
    known = {
        (m.repository_id, m.digest): m
        for m in Manifest.objects.filter(
            repository__in=list(repos.values()), digest__in={w[2] for w in wanted}
        ).only("id", "repository_id", "digest")
    }
    to_fetch = list(
        dict.fromkeys(
            (probe.path, digest)
            for probe, _, digest, _ in wanted
            if probe.path not in repos or (repos[probe.path].pk, digest) not in known
        )
    )
    known.update(_fetch(client, to_fetch, repos, report))
    # `seen` stands in for the push time: a push the events report later still wins.
    added: list[Tag] = []
    for probe, tag, digest, seen in wanted:
        repo = repos.get(probe.path)
        manifest = known.get((repo.pk, digest)) if repo else None
        if repo is None or manifest is None:
            continue  # gone since, a placeholder, or not fetched (error recorded)
        touched[repo.pk] = repo
        if tag not in current.get(repo.pk, {}):
            added.append(
                Tag(repository=repo, name=tag, manifest=manifest, pushed_at=seen, pushed_by="")
            )
            continue
        tag_row = index.tag_set(
            repository=repo, name=tag, manifest=manifest, pushed_at=seen, pushed_by=""
        )
        if tag_row.manifest_id == manifest.pk:
            report.tags_changed += 1
    # A tag an event created meanwhile is newer than what was seen here: it stays.
    Tag.objects.bulk_create(added, ignore_conflicts=True)
    report.tags_added += len(added)
    _refresh(touched)


def _fetch(
    client: RegistryClient,
    to_fetch: list[tuple[str, str]],
    repos: dict[str, Repository],
    report: ReconcileReport,
) -> dict[tuple[int, str], Manifest]:
    """Fetch and index unknown manifests; creates a repository with its first real manifest."""
    if not to_fetch:
        return {}
    existing = set(
        Manifest.objects.filter(
            repository__in=[repos[p] for p, _ in to_fetch if p in repos]
        ).values_list("repository_id", "digest")
    )
    outcomes = index.fetch_many(
        client,
        to_fetch,
        skip_children=lambda path, d: path in repos and (repos[path].pk, d) in existing,
        threads=THREADS,
    )
    good: list[tuple[str, index.FetchedManifest]] = []
    for (path, digest), outcome in outcomes.items():
        if isinstance(outcome, errors.RegistryNotFound):
            continue
        if isinstance(outcome, Exception):
            report.error(f"{path}@{digest}: could not fetch the manifest: {outcome}")
            continue
        good.append((path, outcome))
    # A repository is created with its first manifest that is really there.
    repos.update(index.repositories_get_or_create_for_paths(p for p, _ in good if p not in repos))
    fetched = [(repos[path].pk, item) for path, item in good if path in repos]
    report.manifests_indexed += sum(
        1
        for repo_id, item in fetched
        for part in item.walk()
        if (repo_id, part.digest) not in existing
    )
    return index.save_fetched(fetched)


def _refresh(touched: dict[int, Repository]) -> None:
    if touched:
        index.repository_refresh_counters(repositories=touched.values())


def _progress(job: Job | None, done: int, total: int) -> None:
    if job is not None:
        Job.objects.filter(pk=job.pk).update(
            progress_done=done, progress_total=total, message=f"{done} of {total} repositories"
        )


def _finish(job: Job | None, report: ReconcileReport, *, cancelled: bool = False) -> None:
    if job is None:
        return
    if cancelled:
        status, code = Job.Status.CANCELLED, ""
    elif report.complete:
        status, code = Job.Status.SUCCEEDED, ""
    else:
        status, code = Job.Status.FAILED, PREFIX + REGISTRY_UNAVAILABLE
    message = "; ".join(report.errors[:5])
    if report.errors_total > 5:
        message += f" (and {report.errors_total - 5} more)"
    Job.objects.filter(pk=job.pk).update(
        status=status,
        message=str(report)[:500],
        error_code=code,
        error_message=message,
        result=report.as_dict(),
        finished_at=timezone.now(),
    )
