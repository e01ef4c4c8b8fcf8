"""Reconcile: what notifications lost comes back from the registry, and nothing is removed
without positive evidence from a successful listing."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from dashboard.models import Job, Manifest, RegistryEvent, Repository, Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, build_index, push_image
from dashboard.services.errors import ServiceError
from dashboard.services.reconcile import LOCK_KEY, reconcile_run, reconcile_start
from tests.servers import RegistryProcess, wait_for

pytestmark = pytest.mark.registry

TEST_SECRET = "test-notify-secret"


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _tags(path: str) -> dict[str, str]:
    org, _, name = path.partition("/")
    return dict(
        Tag.objects.filter(repository__organization__name=org, repository__name=name).values_list(
            "name", "manifest__digest"
        )
    )


def _wait_tags(path: str, expected: dict[str, str]) -> None:
    wait_for(lambda: _tags(path) == expected, timeout=30, what=f"index of {path} = {expected}")


def _snapshot() -> tuple[list[tuple], list[tuple], list[tuple]]:
    return (
        list(Tag.objects.order_by("pk").values_list("pk", "name", "manifest_id", "pushed_at")),
        list(Manifest.objects.order_by("pk").values_list("pk", "digest")),
        list(Repository.objects.order_by("pk").values_list("pk", "tag_count", "size")),
    )


class Deliveries:
    """Switches the receiver between accepting the registry's events and answering 401 (the
    registry then queues them in memory, where a restart loses them)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def refuse(self) -> None:
        self.settings.NOTIFY_SECRET = "not-what-the-registry-sends"

    def accept(self) -> None:
        self.settings.NOTIFY_SECRET = TEST_SECRET


@pytest.fixture
def deliveries(settings: Any) -> Iterator[Deliveries]:
    switch = Deliveries(settings)
    yield switch
    switch.accept()


def test_events_lost_in_a_registry_restart_are_recovered(
    worker: object,
    running_registry: RegistryProcess,
    berth_registry_client: RegistryClient,
    deliveries: Deliveries,
) -> None:
    path = f"rec{_uid()}/lost"
    deliveries.refuse()
    image = build_image(fmt="docker", architecture="arm64")
    multi = build_index([build_image(architecture="amd64"), build_image(architecture="arm64")])
    push_image(berth_registry_client, path, image, "v1")
    push_image(berth_registry_client, path, image, "v1-alias")
    push_image(berth_registry_client, path, multi, "multi")
    # The queued deliveries die with the registry process.
    running_registry.restart()
    deliveries.accept()
    assert not RegistryEvent.objects.filter(repository=path).exists()
    assert _tags(path) == {}

    report = reconcile_run(client=berth_registry_client)

    assert report.complete, report.errors
    assert report.tags_added >= 3
    assert report.manifests_indexed >= 4  # the image, the index and its two platforms
    assert _tags(path) == {"v1": image.digest, "v1-alias": image.digest, "multi": multi.digest}
    tag = Tag.objects.select_related("manifest", "repository").get(
        repository__name="lost", name="multi", repository__organization__name=path.split("/")[0]
    )
    assert tag.manifest.size == multi.size
    assert {p["architecture"] for p in tag.manifest.platforms} == {"amd64", "arm64"}
    assert tag.repository.tag_count == 3
    assert tag.repository.size == image.size + multi.size
    single = Manifest.objects.get(repository=tag.repository, digest=image.digest)
    assert (single.architecture, single.size) == ("arm64", image.size)

    # A second run finds nothing to do.
    again = reconcile_run(client=berth_registry_client)
    assert (again.tags_added, again.tags_changed, again.tags_removed) == (0, 0, 0)
    assert again.manifests_indexed == 0


def test_tag_deleted_behind_berths_back_is_removed_and_its_sibling_kept(
    worker: object, berth_registry_client: RegistryClient, deliveries: Deliveries
) -> None:
    path = f"rec{_uid()}/drift"
    doomed, kept = build_image(files={"f": b"doomed"}), build_image(files={"f": b"kept"})
    push_image(berth_registry_client, path, doomed, "old")
    push_image(berth_registry_client, path, kept, "new")
    _wait_tags(path, {"old": doomed.digest, "new": kept.digest})

    # The registry deletes `old` while deliveries are refused: the index still shows it.
    deliveries.refuse()
    berth_registry_client.delete_manifest(path, doomed.digest)
    assert _tags(path) == {"old": doomed.digest, "new": kept.digest}
    report = reconcile_run(client=berth_registry_client)

    assert report.complete, report.errors
    assert report.tags_removed == 1
    assert _tags(path) == {"new": kept.digest}
    repo = Repository.objects.get(name="drift", organization__name=path.split("/")[0])
    assert (repo.tag_count, repo.size) == (1, kept.size)


def test_moved_tag_is_updated_by_reconcile(
    worker: object,
    running_registry: RegistryProcess,
    berth_registry_client: RegistryClient,
    deliveries: Deliveries,
) -> None:
    path = f"rec{_uid()}/moved"
    first, second = build_image(files={"f": b"1"}), build_image(files={"f": b"2"})
    push_image(berth_registry_client, path, first, "latest")
    _wait_tags(path, {"latest": first.digest})
    deliveries.refuse()
    push_image(berth_registry_client, path, second, "latest")
    running_registry.restart()  # the queued event is lost
    deliveries.accept()
    assert _tags(path) == {"latest": first.digest}

    report = reconcile_run(client=berth_registry_client)
    assert report.complete, report.errors
    assert report.tags_changed == 1
    assert _tags(path) == {"latest": second.digest}


def test_registry_down_changes_nothing_and_records_the_error(
    worker: object,
    registry: RegistryProcess,
    berth_registry_client: RegistryClient,
    admin_user: Any,
) -> None:
    path = f"rec{_uid()}/down"
    image = build_image()
    push_image(berth_registry_client, path, image, "v1")
    _wait_tags(path, {"v1": image.digest})
    before = _snapshot()
    job = Job.objects.create(kind="reconcile", created_by=admin_user, status=Job.Status.RUNNING)

    registry.stop()
    try:
        report = reconcile_run(client=RegistryClient(registry.url, retries=0), job=job)
    finally:
        registry.start()

    assert not report.complete
    assert report.errors and "catalog" in report.errors[0]
    assert _snapshot() == before
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error_code == "SVCSTG.SWR.5001038"
    assert "cannot be reached" in job.error_message
    assert job.result["complete"] is False
    assert job.finished_at is not None


def test_unlistable_repository_keeps_its_tags(
    worker: object, berth_registry_client: RegistryClient
) -> None:
    """A repository whose tags/list fails (here: Berth's token lacks access) is left alone."""
    path = f"rec{_uid()}/locked"
    image = build_image()
    push_image(berth_registry_client, path, image, "v1")
    _wait_tags(path, {"v1": image.digest})

    def no_pull(scopes: list) -> str:
        from dashboard.registry.tokens import issue_token

        allowed = [s for s in scopes if s.name != path]
        return issue_token(subject="berth", access=allowed).token

    client = RegistryClient(berth_registry_client.base_url, token_provider=no_pull)
    report = reconcile_run(client=client)

    assert not report.complete
    assert any(path in error for error in report.errors)
    assert _tags(path) == {"v1": image.digest}


def test_repository_emptied_in_the_registry_loses_its_tags_but_stays(
    worker: object, berth_registry_client: RegistryClient, deliveries: Deliveries
) -> None:
    path = f"rec{_uid()}/emptied"
    image = build_image()
    push_image(berth_registry_client, path, image, "v1")
    _wait_tags(path, {"v1": image.digest})
    deliveries.refuse()
    berth_registry_client.delete_manifest(path, image.digest)
    assert berth_registry_client.tags(path) == []  # `tags: null`, still in the catalog
    assert _tags(path) == {"v1": image.digest}
    report = reconcile_run(client=berth_registry_client)

    assert report.complete, report.errors
    assert _tags(path) == {}
    assert Repository.objects.filter(name="emptied").exists()  # never deleted by reconcile


def test_registry_repository_without_tags_is_not_created(
    worker: object,
    running_registry: RegistryProcess,
    berth_registry_client: RegistryClient,
    deliveries: Deliveries,
) -> None:
    org = f"rec{_uid()}"
    path = f"{org}/hollow"
    image = build_image()
    deliveries.refuse()
    push_image(berth_registry_client, path, image, "v1")
    berth_registry_client.delete_manifest(path, image.digest)
    running_registry.restart()  # drop the queued events
    deliveries.accept()
    assert path in set(berth_registry_client.catalog())

    report = reconcile_run(client=berth_registry_client)

    assert report.complete, report.errors
    assert not Repository.objects.filter(organization__name=org).exists()


def test_reconcile_job_runs_on_the_worker_and_records_its_report(
    worker: object, berth_registry_client: RegistryClient, admin_user: Any
) -> None:
    path = f"rec{_uid()}/job"
    push_image(berth_registry_client, path, build_image(), "v1")
    _wait_tags(path, {"v1": build_image().digest})

    job = reconcile_start(actor=admin_user)

    def finished() -> Job | None:
        job.refresh_from_db()
        return job if job.is_finished else None

    wait_for(finished, timeout=60, what="the reconcile job to finish")
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    assert job.kind == "reconcile"
    assert job.created_by == admin_user
    assert job.progress_total >= 1
    assert job.progress_done == job.progress_total
    assert job.result["complete"] is True
    assert job.result["repositories_seen"] == job.progress_total
    assert {"tags_added", "tags_changed", "tags_removed", "manifests_indexed", "errors"} <= set(
        job.result
    )


def test_only_administrators_may_start_a_reconcile(db: None, owner: Any) -> None:
    with pytest.raises(ServiceError) as info:
        reconcile_start(actor=owner)
    assert info.value.status == 403
    assert info.value.code == "SVCSTG.SWR.4039002"
    assert not Job.objects.exists()


def test_a_queued_reconcile_is_reused_not_duplicated(db: None, admin_user: Any) -> None:
    job = reconcile_start(actor=admin_user)
    assert job.status == Job.Status.PENDING
    assert reconcile_start(actor=admin_user).pk == job.pk
    assert Job.objects.filter(kind="reconcile").count() == 1


def test_second_concurrent_run_is_cancelled(db: None) -> None:
    job = Job.objects.create(kind="reconcile", status=Job.Status.RUNNING)
    cache.set(LOCK_KEY, "another run", 60)
    try:
        report = reconcile_run(client=RegistryClient("http://127.0.0.1:9", retries=0), job=job)
    finally:
        cache.delete(LOCK_KEY)
    assert not report.complete
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert "Another reconcile is running" in job.error_message


def test_management_command_prints_the_report(
    worker: object, berth_registry_client: RegistryClient
) -> None:
    out = io.StringIO()
    call_command("reconcile", stdout=out)
    text = out.getvalue()
    assert "repositories seen:" in text
    assert "Reconcile complete." in text


def test_management_command_fails_loudly_with_the_registry_down(db: None, settings: Any) -> None:
    settings.REGISTRY_URL = "http://127.0.0.1:9"
    settings.REGISTRY_TIMEOUT = (0.5, 0.5)
    err = io.StringIO()
    with pytest.raises(CommandError, match="incomplete"):
        call_command("reconcile", stdout=io.StringIO(), stderr=err)
    assert "catalog" in err.getvalue()


def test_scheduled_reconcile_runs_as_an_ownerless_job(
    transactional_db: None, berth_registry_client: RegistryClient
) -> None:
    from dashboard.tasks import reconcile_scheduled

    reconcile_scheduled()  # what beat calls, run here in the test's thread

    job = Job.objects.get(kind="reconcile")
    assert job.created_by is None
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    assert job.result["complete"] is True


def test_reconcile_task_claims_its_job_once_and_marks_a_crash_errored(
    db: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from dashboard import tasks

    def crash(**kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(tasks, "reconcile_run", crash)
    running = Job.objects.create(kind="reconcile", status=Job.Status.RUNNING)
    tasks.reconcile_job(running.pk)
    running.refresh_from_db()
    assert running.status == Job.Status.RUNNING  # claimed by someone else: left alone

    job = Job.objects.create(kind="reconcile")
    tasks.reconcile_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.ERRORED
    assert job.error_code == "INTERNAL"
    assert "a bug" not in job.error_message  # the traceback goes to the log, not the page
    assert "a bug" in caplog.text
    assert job.started_at is not None and job.finished_at is not None
