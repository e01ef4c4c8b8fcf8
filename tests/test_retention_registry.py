"""Retention against the real registry with a real worker: a run deletes exactly what its preview
named, tags sharing a digest with deleted ones stay pullable, a tag re-pushed since the plan is
left alone, and runs come after pushes and on the schedule."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from dashboard.models import Job, Organization, Repository, RetentionLog, RetentionPolicy, Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import BuiltImage, build_image, push_image
from dashboard.services.retention import retention_policy_create, retention_preview
from tests.servers import RegistryProcess, wait_for

pytestmark = pytest.mark.registry


def _uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def org(worker: object, owner: Any, make_org: Callable[..., Organization]) -> Organization:
    return make_org(f"ret-{_uid()}", creator=owner)


def _image() -> BuiltImage:
    return build_image(labels={"unique": uuid.uuid4().hex})


def _push(
    client: RegistryClient, org: Organization, name: str, image: BuiltImage, tag: str
) -> None:
    """Push one tag and wait until the index shows it (so push times are in push order)."""
    path = f"{org.name}/{name}"
    push_image(client, path, image, tag)
    wait_for(
        Tag.objects.filter(
            repository__organization=org,
            repository__name=name,
            name=tag,
            manifest__digest=image.digest,
        ).exists,
        timeout=30,
        what=f"the index to show {path}:{tag}",
    )


def _finished(job: Job) -> Job:
    wait_for(
        lambda: Job.objects.get(pk=job.pk).is_finished, timeout=60, what=f"retention job {job.pk}"
    )
    return Job.objects.get(pk=job.pk)


def test_a_run_deletes_exactly_its_preview_and_siblings_stay_pullable(
    org: Organization, owner: Any, berth_registry_client: RegistryClient
) -> None:
    client = berth_registry_client
    a, b, c = _image(), _image(), _image()
    for image, tag in ((b, "latest"), (a, "old-a"), (b, "old-b"), (c, "new"), (a, "keep-a")):
        _push(client, org, "app", image, tag)
    repository = Repository.objects.get(organization=org, name="app")
    rule = {
        "template": "tag_rule",
        "value": "2",
        "tag_selectors": [{"kind": "label", "pattern": "latest"}],
    }

    plan = retention_preview(repository=repository, actor=owner, **rule)
    assert [i.tag for i in plan.deleted] == ["old-b", "old-a"]
    assert plan.safe_siblings == ["keep-a", "latest"]

    policy, job = retention_policy_create(repository=repository, actor=owner, **rule)
    job = _finished(job)
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    assert job.result == {"deleted": 2, "skipped": 0}
    assert (job.progress_done, job.progress_total) == (2, 2)

    path = f"{org.name}/app"
    assert sorted(client.tags(path)) == ["keep-a", "latest", "new"]
    assert sorted(Tag.objects.filter(repository=repository).values_list("name", flat=True)) == [
        "keep-a",
        "latest",
        "new",
    ]
    logs = RetentionLog.objects.filter(repository=repository)
    assert sorted(logs.values_list("tag", flat=True)) == ["old-a", "old-b"]
    assert {log.retention_id for log in logs} == {policy.pk}
    assert logs.first().rule_type == (  # type: ignore[union-attr]
        '{"template":"tag_rule","params":{"num":"2"},"tag_selectors":'
        '[{"kind":"label","pattern":"latest"}]}'
    )
    # The survivors sharing a digest with a deleted tag still pull, manifest and blobs.
    for tag, image in (("keep-a", a), ("latest", b)):
        fetched = client.get_manifest(path, tag)
        assert fetched.digest == image.digest
        for digest in image.blobs:
            assert client.blob_exists(path, digest)
    policy.refresh_from_db()
    assert policy.last_deleted == 2 and policy.last_run_at is not None


def test_a_tag_that_moved_since_the_plan_is_left_alone(
    org: Organization, owner: Any, berth_registry_client: RegistryClient
) -> None:
    client = berth_registry_client
    old, new = _image(), _image()
    _push(client, org, "app", old, "old")
    _push(client, org, "app", new, "new")
    repository = Repository.objects.get(organization=org, name="app")
    # The index lags behind a re-push: it believes `old` points at the image of `new`.
    Tag.objects.filter(repository=repository, name="old").update(
        manifest=Tag.objects.get(repository=repository, name="new").manifest
    )

    _, job = retention_policy_create(
        repository=repository, template="tag_rule", value="1", tag_selectors=[], actor=owner
    )
    job = _finished(job)
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    assert job.result == {"deleted": 0, "skipped": 1}
    assert "left alone" in job.message
    assert sorted(client.tags(f"{org.name}/app")) == ["new", "old"]
    assert not RetentionLog.objects.filter(repository=repository).exists()


@override_settings(RETENTION_PUSH_DELAY=0.2)
def test_pushes_run_the_policy_shortly_after(
    org: Organization, owner: Any, berth_registry_client: RegistryClient
) -> None:
    client = berth_registry_client
    _push(client, org, "app", _image(), "v1")
    repository = Repository.objects.get(organization=org, name="app")
    _, first = retention_policy_create(
        repository=repository, template="tag_rule", value="1", tag_selectors=[], actor=owner
    )
    assert _finished(first).result == {"deleted": 0, "skipped": 0}

    for tag in ("v2", "v3"):
        _push(client, org, "app", _image(), tag)
    wait_for(
        lambda: client.tags(f"{org.name}/app") == ["v3"],
        timeout=60,
        what="a run after the pushes to leave only v3",
    )
    after = Job.objects.filter(kind=Job.Kind.RETENTION, repository=repository).exclude(pk=first.pk)
    assert after.exists() and all(job.created_by_id is None for job in after)
    wait_for(lambda: all(j.is_finished for j in after.all()), what="the runs after the pushes")
    assert sorted(RetentionLog.objects.values_list("tag", flat=True)) == ["v1", "v2"]


def test_the_schedule_runs_policies_that_are_due(
    org: Organization, owner: Any, berth_registry_client: RegistryClient
) -> None:
    from dashboard.tasks import retention_scheduled

    client = berth_registry_client
    for tag in ("a", "b"):
        _push(client, org, "app", _image(), tag)
    repository = Repository.objects.get(organization=org, name="app")
    policy, first = retention_policy_create(
        repository=repository, template="date_rule", value="1", tag_selectors=[], actor=owner
    )
    _finished(first)
    assert sorted(client.tags(f"{org.name}/app")) == ["a", "b"]  # both are new
    # A day later by the index: `a` is now old, and the policy is due again.
    Tag.objects.filter(repository=repository, name="a").update(
        pushed_at=timezone.now() - dt.timedelta(days=2)
    )
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        last_run_at=timezone.now() - dt.timedelta(days=1, minutes=1)
    )

    assert retention_scheduled() == 1  # what beat calls
    run = Job.objects.filter(kind=Job.Kind.RETENTION).exclude(pk=first.pk).get()
    assert _finished(run).status == Job.Status.SUCCEEDED
    assert client.tags(f"{org.name}/app") == ["b"]


@override_settings(JOB_RETRY_SECONDS=0.2)
def test_a_run_that_meets_a_registry_outage_retries_and_then_completes(
    org: Organization,
    owner: Any,
    berth_registry_client: RegistryClient,
    running_registry: RegistryProcess,
) -> None:
    client = berth_registry_client
    for tag in ("a", "b", "c"):
        _push(client, org, "app", _image(), tag)
    repository = Repository.objects.get(organization=org, name="app")
    running_registry.stop()
    try:
        _, job = retention_policy_create(
            repository=repository, template="tag_rule", value="1", tag_selectors=[], actor=owner
        )
        wait_for(
            lambda: (
                Job.objects.get(pk=job.pk).attempts >= 1
                and Job.objects.get(pk=job.pk).status == Job.Status.PENDING
            ),
            timeout=30,
            what="the run to fail once and wait for a retry",
        )
        waiting = Job.objects.get(pk=job.pk)
        assert "retrying" in waiting.message and waiting.error_code
        assert RetentionPolicy.objects.get().last_error_message
    finally:
        running_registry.start()
    job = _finished(job)
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    assert job.attempts >= 2
    assert client.tags(f"{org.name}/app") == ["c"]
    policy = RetentionPolicy.objects.get()
    assert (policy.last_deleted, policy.last_error_message) == (2, "")
