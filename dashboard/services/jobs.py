"""Jobs: the lifecycle every piece of slow work shares, and who may see or cancel a job.

A service creates a Job with `job_create` and enqueues its task with `job_enqueue`, which
sends it only after the transaction commits. The task calls `job_run(job_id, body, task=...)`,
which claims the job (pending → running, or a running job whose worker went silent), runs
`body(job)` and records the outcome:

- `ServiceError` → failed, with its SWR code and message;
- a retryable `RegistryError` or `Transient` → pending again and re-sent with exponential
  backoff and jitter, up to `max_attempts`; then failed with the last message;
- any other `RegistryError` → failed with the registry's message;
- `JobCancelled` (raised by `job_progress` once someone asked to cancel) → cancelled;
- Celery's soft time limit → failed, "timed out";
- anything else is a bug → errored, traceback logged, a plain message for the user.

`job_progress` doubles as the heartbeat; `jobs_reap_stale` (beat) marks running jobs whose
heartbeat stopped as errored, so no job stays "running" after its worker died.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from dashboard.models import Job, Level, Repository
from dashboard.registry.errors import RegistryError
from dashboard.services.access import AnyUser, repositories_visible_to, repository_level
from dashboard.services.errors import FORBIDDEN, PREFIX, REGISTRY_UNAVAILABLE, ServiceError

logger = logging.getLogger(__name__)

INTERNAL = "INTERNAL"
TIMED_OUT = PREFIX + "5000001"
BACKOFF_CAP = 120.0


class JobCancelled(Exception):
    """Raised inside a job's body when someone asked to cancel it."""


class Transient(Exception):
    """A failure worth retrying that is not a registry error (a remote registry, a webhook)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# -- creating --------------------------------------------------------------------------------------


def job_create(
    *,
    kind: str,
    repository: Repository | None = None,
    target: str = "",
    created_by: AnyUser | None = None,
    total: int = 0,
    message: str = "",
) -> Job:
    """A pending Job; nothing runs until `job_enqueue`."""
    return Job.objects.create(
        kind=kind,
        repository=repository,
        target=target or (repository.full_name if repository is not None else ""),
        created_by=(
            created_by  # type: ignore[misc]
            if created_by is not None and created_by.is_authenticated
            else None
        ),
        progress_total=total,
        message=message,
    )


def job_enqueue(job: Job, task: Any, *, countdown: float | None = None) -> None:
    """Send `task(job.pk)` once the current transaction commits (at once outside one)."""
    job_id = job.pk
    transaction.on_commit(lambda: task.apply_async((job_id,), countdown=countdown))


# -- running ---------------------------------------------------------------------------------------


def job_claim(*, job_id: int) -> Job | None:
    """Take Job `job_id` for this worker: pending → running, or a running job whose heartbeat
    stopped (its worker died and the broker redelivered the task). None when the job is
    finished, cancelled or being run by a live worker."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.JOB_STALE_SECONDS)
    claimable = Q(status=Job.Status.PENDING) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=stale)
    claimed = Job.objects.filter(claimable, pk=job_id, cancel_requested=False).update(
        status=Job.Status.RUNNING, heartbeat_at=now
    )
    if not claimed:
        # A pending job cancelled before it started ends here.
        Job.objects.filter(pk=job_id, status=Job.Status.PENDING, cancel_requested=True).update(
            status=Job.Status.CANCELLED, finished_at=now, message="Cancelled before it started."
        )
        return None
    job = Job.objects.get(pk=job_id)
    fields = {"attempts": job.attempts + 1}
    if job.started_at is None:
        fields["started_at"] = now  # type: ignore[assignment]
    Job.objects.filter(pk=job_id).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    return job


def job_progress(
    job: Job,
    *,
    done: int | None = None,
    total: int | None = None,
    add: int = 0,
    message: str | None = None,
) -> None:
    """Record progress (and a heartbeat). Raises JobCancelled once a cancel was asked for."""
    fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if done is not None:
        job.progress_done = done
    if add:
        job.progress_done += add
    if done is not None or add:
        fields["progress_done"] = job.progress_done
    if total is not None:
        job.progress_total = fields["progress_total"] = total
    if message is not None:
        job.message = fields["message"] = message[:500]
    updated = Job.objects.filter(pk=job.pk, cancel_requested=False).update(**fields)
    if not updated:
        raise JobCancelled()


def job_finish(
    job: Job,
    *,
    status: str = Job.Status.SUCCEEDED,
    message: str = "",
    code: str = "",
    error: str = "",
    result: dict | None = None,
) -> None:
    """Record the end of a job (the row is left alone if it already ended)."""
    fields: dict[str, Any] = {
        "status": status,
        "error_code": code,
        "error_message": error,
        "finished_at": timezone.now(),
    }
    if message:
        fields["message"] = message[:500]
    if result is not None:
        fields["result"] = result
    if status == Job.Status.SUCCEEDED and job.progress_total:
        fields["progress_done"] = job.progress_total
    Job.objects.filter(pk=job.pk).exclude(status__in=Job.FINISHED).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)


def job_backoff(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: exponential (BERTH_JOB_RETRY_SECONDS x 2^attempt),
    capped, with jitter so that jobs failing together do not come back together."""
    return random.uniform(0.5, 1.0) * min(BACKOFF_CAP, settings.JOB_RETRY_SECONDS * 2**attempt)


def job_run(
    job_id: int,
    body: Callable[[Job], Any],
    *,
    task: Any,
    max_attempts: int | None = None,
) -> Job | None:
    """Claim Job `job_id`, run `body(job)` and record how it ended (see the module docstring).

    `body` may finish the job itself with `job_finish`; otherwise success is recorded when it
    returns. `task` is the Celery task to re-send on a transient failure; `max_attempts`
    defaults to BERTH_JOB_MAX_ATTEMPTS. Returns the job, or None when it could not be claimed.
    """
    if max_attempts is None:
        max_attempts = settings.JOB_MAX_ATTEMPTS
    job = job_claim(job_id=job_id)
    if job is None:
        return None
    try:
        body(job)
    except JobCancelled:
        job_finish(job, status=Job.Status.CANCELLED, message="Cancelled.")
    except ServiceError as exc:
        job_finish(job, status=Job.Status.FAILED, code=exc.code, error=exc.message)
    except (RegistryError, Transient) as exc:
        retryable = isinstance(exc, Transient) or bool(getattr(exc, "retryable", False))
        code = getattr(exc, "code", "") or PREFIX + REGISTRY_UNAVAILABLE
        if retryable and job.attempts < max_attempts:
            delay = job_backoff(job.attempts)
            Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
                status=Job.Status.PENDING,
                message=f"Attempt {job.attempts} failed; retrying in {delay:.0f} s: {exc}"[:500],
                error_code=code,
                error_message=str(exc),
            )
            task.apply_async((job.pk,), countdown=delay)
        else:
            job_finish(job, status=Job.Status.FAILED, code=code, error=str(exc))
    except SoftTimeLimitExceeded:
        job_finish(
            job,
            status=Job.Status.FAILED,
            code=TIMED_OUT,
            error="The job took longer than its time limit and was stopped.",
        )
    except Exception:
        logger.exception("%s job %s crashed", job.kind, job.pk)
        job_finish(
            job,
            status=Job.Status.ERRORED,
            code=INTERNAL,
            error="The job stopped on an internal error; the worker's log has the details.",
        )
    else:
        job_finish(job)
    return job


def jobs_reap_stale() -> int:
    """Mark running jobs whose worker stopped sending heartbeats as errored; how many."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.JOB_STALE_SECONDS)
    return Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=stale).update(
        status=Job.Status.ERRORED,
        error_code=INTERNAL,
        error_message=(
            "The worker running this job stopped answering; the job was abandoned. Start it again."
        ),
        finished_at=now,
    )


# -- reading and cancelling ------------------------------------------------------------------------


def jobs_visible_to(*, user: AnyUser) -> QuerySet[Job]:
    """Jobs a user may see: all for superusers; otherwise the ones they started and the ones on
    repositories they can read."""
    qs = Job.objects.select_related("repository__organization", "created_by")
    if user.is_superuser:
        return qs
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(
        Q(created_by=user) | Q(repository__in=repositories_visible_to(user=user).values("pk"))
    )


def job_can_cancel(*, user: AnyUser, job: Job) -> bool:
    """Superusers, whoever started the job, and Manage holders of its repository."""
    if job.is_finished or not user.is_authenticated:
        return False
    if user.is_superuser or (job.created_by_id is not None and job.created_by_id == user.pk):
        return True
    return (
        job.repository is not None
        and repository_level(
            user=user, organization=job.repository.organization, repository=job.repository
        )
        >= Level.MANAGE
    )


def job_cancel(*, job: Job, actor: AnyUser) -> Job:
    """Ask Job `job` to stop: a pending job is cancelled at once, a running one at its next
    progress step. Raises ServiceError 4039002 (403) when `actor` may not cancel it."""
    if not job_can_cancel(user=actor, job=job):
        raise ServiceError(FORBIDDEN, "You cannot cancel this job.", 403)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).exclude(status__in=Job.FINISHED).update(cancel_requested=True)
    Job.objects.filter(pk=job.pk, status=Job.Status.PENDING).update(
        status=Job.Status.CANCELLED, finished_at=now, message="Cancelled before it started."
    )
    job.refresh_from_db()
    return job
