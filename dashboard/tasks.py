"""Celery tasks: thin, taking ids, each calling one service and recording the outcome."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from dashboard.models import Job
from dashboard.registry.errors import RegistryError
from dashboard.services.audit import audit_prune
from dashboard.services.errors import PREFIX, REGISTRY_UNAVAILABLE, ServiceError
from dashboard.services.index import events_index_drain, events_prune
from dashboard.services.jobs import job_run, jobs_reap_stale
from dashboard.services.reconcile import reconcile_run, reconcile_schedule
from dashboard.services.retention import retention_execute, retention_schedule_due
from dashboard.services.stats import usage_snapshot
from dashboard.services.sync import sync_execute
from dashboard.services.triggers import trigger_delivery_execute

logger = logging.getLogger(__name__)


@shared_task(name="dashboard.tasks.index_pending_events")
def index_pending_events() -> int:
    """Index every stored event not yet processed (queued by the notification receiver)."""
    return events_index_drain()


def _fail(job_id: int, status: str, code: str, message: str) -> None:
    Job.objects.filter(pk=job_id).update(
        status=status, error_code=code, error_message=message, finished_at=timezone.now()
    )


@shared_task(name="dashboard.tasks.reconcile_job")
def reconcile_job(job_id: int) -> None:
    """Claim reconcile Job `job_id` (pending → running) and run it; a Job already claimed is
    left alone. The service records success or failure; a bug marks the Job errored."""
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.PENDING).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return
    job = Job.objects.get(pk=job_id)
    try:
        reconcile_run(job=job)
    except ServiceError as exc:
        _fail(job_id, Job.Status.FAILED, exc.code, exc.message)
    except RegistryError as exc:
        _fail(job_id, Job.Status.FAILED, PREFIX + REGISTRY_UNAVAILABLE, exc.message)
    except Exception:
        logger.exception("reconcile job %s crashed", job_id)
        _fail(job_id, Job.Status.ERRORED, "INTERNAL", "Reconcile stopped on an internal error.")


@shared_task(name="dashboard.tasks.reconcile_scheduled")
def reconcile_scheduled() -> None:
    """The periodic reconcile (beat): a Job without a creator, run here and now."""
    job = reconcile_schedule()
    if job is not None:
        reconcile_job(job.pk)


@shared_task(name="dashboard.tasks.prune_events")
def prune_events() -> int:
    """Drop processed registry events past the retention period (beat, daily)."""
    return events_prune(older_than=dt.timedelta(days=settings.EVENT_RETENTION_DAYS))


@shared_task(name="dashboard.tasks.prune_audit")
def prune_audit() -> int:
    """Drop audit traces past the retention period (beat, daily)."""
    return audit_prune(older_than=dt.timedelta(days=settings.AUDIT_RETENTION_DAYS))


@shared_task(name="dashboard.tasks.reap_stale_jobs")
def reap_stale_jobs() -> int:
    """Mark running jobs whose worker died as errored (beat, every minute)."""
    return jobs_reap_stale()


@shared_task(name="dashboard.tasks.retention_job")
def retention_job(job_id: int) -> None:
    """Run retention Job `job_id`: plan, then delete exactly the planned tags."""
    job_run(job_id, lambda job: retention_execute(job=job), task=retention_job)


@shared_task(name="dashboard.tasks.retention_scheduled")
def retention_scheduled() -> int:
    """Queue a run for every retention policy whose interval has passed (beat)."""
    return retention_schedule_due()


@shared_task(name="dashboard.tasks.usage_snapshot")
def usage_snapshot_scheduled() -> int:
    """Record today's storage and pulls per repository for the daily reports (beat, hourly)."""
    return usage_snapshot()


@shared_task(name="dashboard.tasks.sync_job")
def sync_job(job_id: int) -> None:
    """Run sync Job `job_id`: copy its tags to their targets, one SyncJob record per tag."""
    job_run(job_id, lambda job: sync_execute(job=job), task=sync_job)


@shared_task(name="dashboard.tasks.trigger_delivery_job")
def trigger_delivery_job(job_id: int) -> None:
    """Send the webhook delivery of trigger delivery Job `job_id` (retried with backoff)."""
    job_run(job_id, lambda job: trigger_delivery_execute(job=job), task=trigger_delivery_job)
