"""A job's page and its polled card: who may see it, when polling stops, a real reconcile."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from dashboard.models import Job, Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from tests.servers import wait_for

HTMX = {"HX-Request": "true"}


@pytest.fixture
def job(owner) -> Job:  # type: ignore[no-untyped-def]
    return Job.objects.create(
        kind="reconcile",
        status=Job.Status.RUNNING,
        created_by=owner,
        progress_done=3,
        progress_total=10,
    )


def test_outsiders_and_anonymous_users_cannot_see_a_job(client: Client, job: Job, outsider) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/jobs/{job.pk}/").status_code == 302  # to sign in
    client.force_login(outsider)
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert client.get(f"/jobs/{job.pk}/", headers=HTMX).status_code == 404
    assert client.get("/jobs/999999/").status_code == 404


def test_the_creator_sees_progress_and_the_card_keeps_polling(
    client: Client, job: Job, owner
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    page = client.get(f"/jobs/{job.pk}/")
    assert page.status_code == 200
    card = client.get(f"/jobs/{job.pk}/", headers=HTMX)
    assert card.status_code == 200
    body = card.content.decode()
    assert 'data-job-status="running"' in body
    assert "3/10" in body
    assert 'hx-trigger="every 1s"' in body


def test_a_finished_job_stops_the_polling_and_shows_its_outcome(
    client: Client, job: Job, admin_user
) -> None:  # type: ignore[no-untyped-def]
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.FAILED,
        error_code="SVCSTG.SWR.5001038",
        error_message="The registry cannot be reached.",
        finished_at=timezone.now(),
    )
    client.force_login(admin_user)  # superusers see every job
    card = client.get(f"/jobs/{job.pk}/", headers=HTMX)
    assert card.status_code == 286
    body = card.content.decode()
    assert 'data-job-status="failed"' in body
    assert "SVCSTG.SWR.5001038" in body and "cannot be reached" in body
    assert "hx-trigger" not in body


@pytest.mark.registry
def test_reconcile_button_runs_a_real_crawl_and_reports_it(
    worker,
    admin_user,
    make_org,
    berth_registry_client: RegistryClient,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    org = make_org("jobs-reconcile", creator=admin_user)
    # Notifications refused: only the crawl can bring this tag into the index.
    settings.NOTIFY_SECRET = "not-what-the-registry-sends"
    push_image(berth_registry_client, f"{org.name}/app", build_image(labels={"j": "1"}), "v1")
    settings.NOTIFY_SECRET = "test-notify-secret"

    client = Client()
    client.force_login(admin_user)
    started = client.post("/repos/-/reconcile/", headers=HTMX)
    assert started.status_code == 200
    job = Job.objects.get(kind="reconcile")

    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=60, what="the reconcile job")
    card = client.get(f"/jobs/{job.pk}/", headers=HTMX)
    assert card.status_code == 286
    assert 'data-job-status="succeeded"' in card.content.decode()
    assert "tags added" in card.content.decode()
    assert Tag.objects.filter(repository__organization=org, name="v1").exists()


def test_a_sync_job_counts_its_progress_in_bytes(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    job = Job.objects.create(
        kind=Job.Kind.SYNC,
        status=Job.Status.RUNNING,
        created_by=owner,
        progress_done=50 * 1024 * 1024,
        progress_total=200 * 1024 * 1024,
    )
    client.force_login(owner)
    for url in (f"/jobs/{job.pk}/", "/jobs/"):
        assert "50.0\xa0MB of 200.0\xa0MB" in client.get(url).content.decode()
