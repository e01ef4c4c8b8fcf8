"""The job lifecycle (claim, progress, retry, cancel, dead workers) and the jobs pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from celery import shared_task
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.models import Job, Level
from dashboard.registry.errors import RegistryAuthError, RegistryUnavailable
from dashboard.services.errors import ServiceError
from dashboard.services.jobs import (
    INTERNAL,
    JobCancelled,
    Transient,
    job_cancel,
    job_claim,
    job_create,
    job_enqueue,
    job_progress,
    job_run,
    jobs_reap_stale,
)
from tests.index_rows import grant_org, make_repository
from tests.pages import HTMX
from tests.servers import wait_for


class Sent:
    """Records what `job_run` re-sends, in place of the Celery task (what would go on the queue)."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple, float | None]] = []

    def apply_async(self, args: tuple, countdown: float | None = None) -> None:
        self.calls.append((args, countdown))


@pytest.fixture
def repo(owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("jobs-org", creator=owner)
    grant_org(organization, reader, Level.READ)
    return make_repository(organization, "app")


@pytest.fixture
def job(repo, owner) -> Job:  # type: ignore[no-untyped-def]
    return job_create(kind=Job.Kind.RETENTION, repository=repo, created_by=owner, total=4)


# -- the lifecycle ---------------------------------------------------------------------------------


def test_a_job_that_returns_succeeds_with_its_progress_complete(job: Job) -> None:
    def body(running: Job) -> None:
        assert running.status == Job.Status.RUNNING
        job_progress(running, done=2, message="halfway")

    job_run(job.pk, body, task=Sent())
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.attempts) == (4, 4, 1)
    assert job.started_at and job.finished_at and job.message == "halfway"


def test_a_finished_job_is_never_claimed_again(job: Job) -> None:
    job_run(job.pk, lambda running: None, task=Sent())
    ran: list[Job] = []
    assert job_run(job.pk, ran.append, task=Sent()) is None
    assert ran == []


def test_a_refusal_fails_the_job_with_its_swr_code(job: Job) -> None:
    def body(running: Job) -> None:
        raise ServiceError("4000014", "The rule is not valid.")

    job_run(job.pk, body, task=Sent())
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert (job.error_code, job.error_message) == ("SVCSTG.SWR.4000014", "The rule is not valid.")


def test_a_transient_failure_is_sent_again_with_backoff_then_fails(job: Job) -> None:
    sent = Sent()

    def body(running: Job) -> None:
        raise RegistryUnavailable("The registry cannot be reached.")

    for attempt in range(1, 4):
        job_run(job.pk, body, task=sent, max_attempts=3)
        job.refresh_from_db()
        if attempt < 3:
            assert job.status == Job.Status.PENDING
            assert "retrying" in job.message
    assert job.status == Job.Status.FAILED
    assert job.attempts == 3
    assert "cannot be reached" in job.error_message
    assert [args for args, _ in sent.calls] == [(job.pk,), (job.pk,)]
    assert all(countdown is not None and countdown > 0 for _, countdown in sent.calls)


def test_a_permanent_registry_error_fails_at_once(job: Job) -> None:
    sent = Sent()

    def body(running: Job) -> None:
        raise RegistryAuthError("The registry refused Berth's token.", code="UNAUTHORIZED")

    job_run(job.pk, body, task=sent)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (Job.Status.FAILED, "UNAUTHORIZED")
    assert sent.calls == []


def test_transient_is_retried_like_a_registry_outage(job: Job) -> None:
    sent = Sent()

    def body(running: Job) -> None:
        raise Transient("The target answered 503.", code="HTTP_503")

    job_run(job.pk, body, task=sent)
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and len(sent.calls) == 1


def test_a_bug_marks_the_job_errored_without_leaking_the_traceback(job: Job) -> None:
    def body(running: Job) -> None:
        raise KeyError("secret detail")

    job_run(job.pk, body, task=Sent())
    job.refresh_from_db()
    assert (job.status, job.error_code) == (Job.Status.ERRORED, INTERNAL)
    assert "secret detail" not in job.error_message


def test_cancelling_a_pending_job_ends_it_before_it_starts(job: Job, owner) -> None:  # type: ignore[no-untyped-def]
    job_cancel(job=job, actor=owner)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    ran: list[Job] = []
    assert job_run(job.pk, ran.append, task=Sent()) is None
    assert ran == []


def test_cancelling_a_running_job_stops_it_at_its_next_step(job: Job, owner) -> None:  # type: ignore[no-untyped-def]
    steps = []

    def body(running: Job) -> None:
        job_progress(running, done=1)
        steps.append(1)
        job_cancel(job=running, actor=owner)  # someone presses Cancel meanwhile
        job_progress(running, done=2)
        steps.append(2)

    job_run(job.pk, body, task=Sent())
    job.refresh_from_db()
    assert steps == [1]
    assert job.status == Job.Status.CANCELLED


def test_only_the_starter_managers_and_admins_cancel(job: Job, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    for user in (reader, outsider):
        with pytest.raises(ServiceError) as refused:
            job_cancel(job=job, actor=user)
        assert refused.value.status == 403
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING


@override_settings(JOB_STALE_SECONDS=60)
def test_a_job_whose_worker_died_is_found_and_can_be_claimed_again(job: Job) -> None:
    claimed = job_claim(job_id=job.pk)
    assert claimed is not None
    assert job_claim(job_id=job.pk) is None  # a live worker holds it
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(minutes=5))
    again = job_claim(job_id=job.pk)  # the broker redelivered the task (acks late)
    assert again is not None and again.attempts == 2
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(minutes=5))
    assert jobs_reap_stale() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.ERRORED and "stopped answering" in job.error_message


def test_progress_raises_once_cancel_was_asked(job: Job, owner) -> None:  # type: ignore[no-untyped-def]
    job_claim(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    with pytest.raises(JobCancelled):
        job_progress(job, add=1)


# -- a real worker ---------------------------------------------------------------------------------


@shared_task(bind=True, name="tests.test_jobs.count_to_three")
def count_to_three(self: Any, job_id: int) -> None:
    def body(job: Job) -> None:
        job_progress(job, total=3)
        for step in range(1, 4):
            job_progress(job, done=step, message=f"step {step}")

    job_run(job_id, body, task=self)


def test_a_real_worker_runs_an_enqueued_job_after_commit(worker, repo, owner) -> None:  # type: ignore[no-untyped-def]
    job = job_create(kind=Job.Kind.RETENTION, repository=repo, created_by=owner)
    job_enqueue(job, count_to_three)
    wait_for(
        lambda: Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED,
        timeout=30,
        what="the worker to run the job",
    )
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total, job.message) == (3, 3, "step 3")


# -- pages -----------------------------------------------------------------------------------------


def test_the_jobs_list_shows_what_each_user_may_see(
    client: Client, job: Job, owner, reader, outsider, admin_user
) -> None:  # type: ignore[no-untyped-def]
    other = Job.objects.create(kind=Job.Kind.RECONCILE, created_by=admin_user)
    client.force_login(outsider)
    body = client.get("/jobs/").content.decode()
    assert f'data-job="{job.pk}"' not in body and f'data-job="{other.pk}"' not in body
    client.force_login(reader)  # reads the repository: sees its jobs, not the admin's crawl
    body = client.get("/jobs/").content.decode()
    assert f'data-job="{job.pk}"' in body and f'data-job="{other.pk}"' not in body
    client.force_login(admin_user)
    body = client.get("/jobs/").content.decode()
    assert f'data-job="{job.pk}"' in body and f'data-job="{other.pk}"' in body


def test_the_jobs_list_filters_by_kind_status_and_repository(
    client: Client, job: Job, admin_user
) -> None:  # type: ignore[no-untyped-def]
    crawl = Job.objects.create(kind=Job.Kind.RECONCILE, status=Job.Status.FAILED, target="all")
    client.force_login(admin_user)
    by_kind = client.get("/jobs/?kind=reconcile", **HTMX).content.decode()
    assert f'data-job="{crawl.pk}"' in by_kind and f'data-job="{job.pk}"' not in by_kind
    by_status = client.get("/jobs/?status=pending").content.decode()
    assert f'data-job="{job.pk}"' in by_status and f'data-job="{crawl.pk}"' not in by_status
    by_repo = client.get("/jobs/?repository=jobs-org/app").content.decode()
    assert f'data-job="{job.pk}"' in by_repo and f'data-job="{crawl.pk}"' not in by_repo


def test_the_jobs_list_costs_the_same_queries_for_1_and_25_jobs(
    client: Client, repo, owner
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/jobs/").status_code == 200
        return len(queries)

    job_create(kind=Job.Kind.RETENTION, repository=repo, created_by=owner)
    few = count()
    for _ in range(24):
        job_create(kind=Job.Kind.SYNC, repository=repo, created_by=owner)
    assert count() == few


def test_the_repository_jobs_tab(client: Client, job: Job, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    url = "/repos/jobs-org/app/-/jobs/"
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(reader)
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert f'data-job="{job.pk}"' in body and 'data-tab="jobs"' in body


def test_cancel_from_the_page(client: Client, job: Job, owner, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    url = f"/jobs/{job.pk}/cancel/"
    client.force_login(outsider)
    assert client.post(url).status_code == 404
    client.force_login(reader)  # sees the job, may not cancel it
    assert client.post(url, **HTMX).status_code == 403
    assert "data-job-cancel" not in client.get(f"/jobs/{job.pk}/").content.decode()
    client.force_login(owner)
    assert "data-job-cancel" in client.get(f"/jobs/{job.pk}/").content.decode()
    card = client.post(url, **HTMX)
    assert card.status_code == 200 and 'data-job-status="cancelled"' in card.content.decode()
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
