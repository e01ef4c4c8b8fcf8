"""Sync: running a batch Job: its SyncJob records copied concurrently, progress, retries,
timeouts and cancel."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from dashboard.models import Job, SyncJob
from dashboard.registry import errors
from dashboard.registry.client import get_client
from dashboard.registry.copier import (
    Copier,
    CopyPlan,
    Outcome,
    Stopped,
    TimedOut,
    Tracker,
    Work,
)
from dashboard.registry.remote import RemoteClient
from dashboard.services.errors import (
    PREFIX,
    ServiceError,
)
from dashboard.services.jobs import (
    JobCancelled,
    Transient,
    job_finish,
    job_progress,
)
from dashboard.services.sync.registries import SYNC_NOT_FOUND, remote_client

logger = logging.getLogger(__name__)

#: SWR's "The image already exists": the target holds a different image under the tag.
SYNC_EXISTED = PREFIX + "4090006"
SYNC_TIMED_OUT = PREFIX + "5000001"
#: How often the batch writes progress (and notices a cancel): a page polling every second
#: sees it move, without a database write per chunk.
PROGRESS_SECONDS = 0.5

# -- running a batch (the job) ---------------------------------------------------------------------


def _error_outcome(exc: Exception) -> Outcome:
    """The record's outcome for a failure of its copy."""
    if isinstance(exc, Stopped):
        return Outcome(SyncJob.Status.CANCEL, message="Cancelled.")
    if isinstance(exc, TimedOut):
        return Outcome(
            SyncJob.Status.TIMEOUT,
            code=SYNC_TIMED_OUT,
            message=(
                f"The copy took longer than {settings.SYNC_TIMEOUT_SECONDS:g} s "
                "(BERTH_SYNC_TIMEOUT_SECONDS) and was stopped."
            ),
        )
    if isinstance(exc, Transient):
        return Outcome(SyncJob.Status.FAILED, code=exc.code, message=exc.message, retry=True)
    if isinstance(exc, errors.RegistryError):
        return Outcome(
            SyncJob.Status.FAILED,
            code=exc.code or f"{PREFIX}5001038",
            message=exc.message,
            retry=exc.retryable,
        )
    if isinstance(exc, ServiceError):
        return Outcome(SyncJob.Status.FAILED, code=exc.code, message=exc.message)
    raise exc


class _Batch:
    """Runs the unfinished records of one sync Job in a thread pool, writing their progress."""

    def __init__(self, job: Job, records: list[SyncJob]) -> None:
        self.job = job
        self.records = {record.pk: record for record in records}
        self.trackers = {record.pk: Tracker() for record in records}
        self.stop = threading.Event()
        self.final_attempt = job.attempts >= settings.JOB_MAX_ATTEMPTS
        self.retry: list[Outcome] = []
        #: Records whose copy is in the pool (queued or running).
        self.active: set[int] = set()
        self.finished_before = list(
            SyncJob.objects.filter(job=job, status__in=SyncJob.FINISHED).values_list(
                "status", "bytes_total", "bytes_done"
            )
        )
        self._last_report = 0.0

    # -- the main thread -----------------------------------------------------------------------

    def run(self) -> None:
        remotes, works = self._prepare()
        if works:
            copier = Copier(source=get_client(), remotes=remotes, stop=self.stop)
            pool = ThreadPoolExecutor(
                max_workers=max(1, min(settings.SYNC_CONCURRENCY, len(works))),
                thread_name_prefix=f"sync-{self.job.pk}",
            )
            copies: list[tuple[Work, CopyPlan]] = []

            def planned(work: Work, plan: CopyPlan) -> None:
                if plan.verdict == "copy":
                    copies.append((work, plan))
                else:
                    self._record_plan_verdict(work, plan)

            def copied(work: Work, _: None) -> None:
                self._finish(self.records[work.record_id], Outcome(SyncJob.Status.SUCCESS))

            try:
                self._phase(
                    pool,
                    [(work, None) for work in works],
                    lambda work, _: copier.plan(work, self.trackers[work.record_id]),
                    planned,
                )
                self._phase(
                    pool,
                    copies,
                    lambda work, plan: copier.copy(work, plan, self.trackers[work.record_id]),
                    copied,
                )
            except BaseException as exc:
                # A cancel, the worker's time limit or a bug: stop the threads, end what is open.
                self.stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                self._abandon(exc)
                raise
            pool.shutdown(wait=True)
        self._conclude()

    def _prepare(self) -> tuple[dict[int, RemoteClient], list[Work]]:
        """Clients per remote, and the work; records that cannot start end failed here."""
        remotes: dict[int, RemoteClient] = {}
        works: list[Work] = []
        for record in self.records.values():
            if record.remote is None:
                self._finish(
                    record,
                    Outcome(
                        SyncJob.Status.FAILED,
                        code=PREFIX + SYNC_NOT_FOUND,
                        message=f"The remote registry {record.remote_region_id} was deleted.",
                    ),
                )
                continue
            if record.remote_id not in remotes:
                try:
                    remotes[record.remote.pk] = remote_client(record.remote)
                except ServiceError as exc:
                    self._finish(record, _error_outcome(exc))
                    continue
            works.append(
                Work(
                    record_id=record.pk,
                    source_repository=f"{record.namespace}/{record.repo_name}",
                    target_repository=f"{record.remote_namespace}/{record.repo_name}",
                    tag=record.tag,
                    digest=record.digest,
                    override=record.override,
                    remote_id=record.remote.pk,
                )
            )
        now = timezone.now()
        for work in works:
            record = self.records[work.record_id]
            record.attempts += 1
            record.started_at = record.started_at or now
        SyncJob.objects.bulk_update(
            [self.records[w.record_id] for w in works], ["attempts", "started_at"]
        )
        return remotes, works

    def _phase(
        self,
        pool: ThreadPoolExecutor,
        items: list[tuple[Work, Any]],
        run: Callable[[Work, Any], Any],
        succeeded: Callable[[Work, Any], None],
    ) -> None:
        """Run `run(work, arg)` for every item in the pool, reporting progress meanwhile;
        `succeeded(work, result)` hears of each success as it comes, failures end or requeue
        their record."""
        futures: dict[Future, Work] = {}
        for work, arg in items:
            futures[pool.submit(run, work, arg)] = work
            self.active.add(work.record_id)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=PROGRESS_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                work = futures[future]
                self.active.discard(work.record_id)
                error = future.exception()
                if error is None:
                    succeeded(work, future.result())
                else:
                    self._failed(work, error)
            self._report()
        self._report(force=True)

    def _failed(self, work: Work, error: BaseException) -> None:
        if not isinstance(error, Exception):
            raise error
        try:
            outcome = _error_outcome(error)
        except Exception:
            logger.exception("sync record %s crashed", work.record_id)
            outcome = Outcome(
                SyncJob.Status.FAILED,
                code="INTERNAL",
                message="The copy stopped on an internal error; the worker's log has details.",
            )
        record = self.records[work.record_id]
        if outcome.retry and not self.final_attempt:
            self.retry.append(outcome)
            self._save(
                record,
                status=SyncJob.Status.WAITING,
                error_code=outcome.code,
                error_message=f"Will be retried: {outcome.message}"[:2000],
            )
            return
        self._finish(record, outcome)

    def _record_plan_verdict(self, work: Work, plan: CopyPlan) -> None:
        record = self.records[work.record_id]
        if plan.verdict == "identical":
            self._finish(
                record,
                Outcome(
                    SyncJob.Status.SUCCESS,
                    message="The target already holds this image (same digest): nothing copied.",
                    plan=plan,
                ),
            )
            return
        target = f"{record.remote_region_id}/{work.target_repository}:{work.tag}"
        self._finish(
            record,
            Outcome(
                SyncJob.Status.EXISTED,
                code=SYNC_EXISTED,
                message=(
                    f"{target} is a different image ({plan.target_digest}); it was left alone "
                    "because override is off."
                ),
                plan=plan,
            ),
        )

    def _save(self, record: SyncJob, **fields: Any) -> None:
        fields["updated_at"] = timezone.now()
        for name, value in fields.items():
            setattr(record, name, value)
        SyncJob.objects.filter(pk=record.pk).update(**fields)

    def _finish(self, record: SyncJob, outcome: Outcome) -> None:
        tracker = self.trackers[record.pk]
        fields: dict[str, Any] = {
            "status": outcome.status,
            "error_code": outcome.code,
            "error_message": outcome.message[:2000],
            "finished_at": timezone.now(),
        }
        if tracker.digest:
            fields["digest"] = tracker.digest
        if tracker.started:
            copied = outcome.status == SyncJob.Status.SUCCESS and outcome.plan is None
            fields.update(
                bytes_total=tracker.bytes_total,
                bytes_done=tracker.bytes_total if copied else tracker.bytes_done,
                blobs_total=tracker.blobs_total,
                blobs_done=tracker.blobs_done,
                blobs_skipped=tracker.blobs_skipped,
            )
        tracker.changed = False
        self._save(record, **fields)

    def _report(self, *, force: bool = False) -> None:
        """Write running records' progress and the job's, at most every PROGRESS_SECONDS.
        Raises JobCancelled once a cancel was asked for."""
        now = time.monotonic()
        if not force and now - self._last_report < PROGRESS_SECONDS:
            return
        self._last_report = now
        for pk, tracker in self.trackers.items():
            record = self.records[pk]
            if not tracker.changed or pk not in self.active or record.is_finished:
                continue
            tracker.changed = False
            self._save(
                record,
                status=SyncJob.Status.RUNNING,
                digest=tracker.digest or record.digest,
                bytes_total=tracker.bytes_total,
                bytes_done=tracker.bytes_done,
                blobs_total=tracker.blobs_total,
                blobs_done=tracker.blobs_done,
                blobs_skipped=tracker.blobs_skipped,
            )
        done, total = self._totals()
        finished = len(self.finished_before) + sum(
            1 for record in self.records.values() if record.is_finished
        )
        count = len(self.finished_before) + len(self.records)
        job_progress(
            self.job,
            done=done,
            total=total,
            message=f"{finished} of {count} tag(s) done.",
        )

    def _totals(self) -> tuple[int, int]:
        done = total = 0
        for status, bytes_total, bytes_done in self.finished_before:
            total += bytes_total
            done += (
                bytes_total
                if status in (SyncJob.Status.SUCCESS, SyncJob.Status.EXISTED)
                else bytes_done
            )
        for pk, tracker in self.trackers.items():
            record = self.records[pk]
            total += tracker.bytes_total
            finished_ok = record.status in (SyncJob.Status.SUCCESS, SyncJob.Status.EXISTED)
            done += tracker.bytes_total if finished_ok else tracker.bytes_done
        return done, total

    def _abandon(self, exc: BaseException) -> None:
        """End the records still open when the batch itself stops."""
        if isinstance(exc, JobCancelled):
            outcome = Outcome(SyncJob.Status.CANCEL, message="Cancelled.")
        elif isinstance(exc, SoftTimeLimitExceeded):
            outcome = Outcome(
                SyncJob.Status.TIMEOUT,
                code=SYNC_TIMED_OUT,
                message="The sync job reached the worker's time limit and was stopped.",
            )
        else:
            outcome = Outcome(
                SyncJob.Status.FAILED,
                code="INTERNAL",
                message="The sync stopped on an internal error; the worker's log has details.",
            )
        for record in self.records.values():
            if not record.is_finished:
                self._finish(record, outcome)

    def _conclude(self) -> None:
        """Re-send the job when some tags will be retried; otherwise record how it ended."""
        if self.retry:
            first = self.retry[0]
            raise Transient(
                f"{len(self.retry)} tag(s) will be retried: {first.message}", code=first.code
            )
        statuses = list(
            SyncJob.objects.filter(job=self.job).values_list(
                "status", "error_code", "error_message"
            )
        )
        counts: dict[str, int] = defaultdict(int)
        for status, _, _ in statuses:
            counts[status] += 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        bad = [s for s in statuses if s[0] in (SyncJob.Status.FAILED, SyncJob.Status.TIMEOUT)]
        if bad:
            _, code, message = bad[0]
            job_finish(
                self.job,
                status=Job.Status.FAILED,
                message=f"Tags: {summary}.",
                code=code,
                error=f"{len(bad)} of {len(statuses)} tag(s) were not copied: {message}",
            )
        elif counts.get(SyncJob.Status.CANCEL):
            job_finish(self.job, status=Job.Status.CANCELLED, message=f"Tags: {summary}.")
        else:
            job_finish(self.job, message=f"Tags: {summary}.")


def sync_execute(*, job: Job) -> None:
    """Run sync Job `job`: copy its unfinished records' tags (see the module docstring) and
    record how each ended. Finishes the job itself (failed when a tag failed or timed out).
    Raises Transient when some tags failed on something that may pass and attempts remain
    (`job_run` re-sends the job with backoff; finished tags are not copied again), and
    JobCancelled once a cancel was asked for (the unfinished records end `cancel`)."""
    records = list(
        SyncJob.objects.filter(job=job)
        .exclude(status__in=SyncJob.FINISHED)
        .select_related("remote")
        .order_by("pk")
    )
    _Batch(job, records).run()
