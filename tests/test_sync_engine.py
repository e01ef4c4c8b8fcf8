"""The sync engine against real registries: Berth's own (the source), and two targets of the
tests' own (htpasswd Basic auth; token auth through Berth's realm), with the real worker.

Images are pushed to Berth's registry over the v2 API; its notifications reach the live server
and the worker indexes the tags, so the copies start from what the index knows, as in use.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from dashboard.models import Job, RemoteRegistry, Repository, SyncJob, Tag
from dashboard.registry import errors
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import BuiltImage, build_image, build_index, push_image
from dashboard.services.jobs import job_cancel
from dashboard.services.sync import (
    remote_registry_create,
    remote_registry_test,
    sync_images,
    sync_rule_create,
)
from tests.servers import wait_for
from tests.sync_targets import (
    Target,
    basic_target,
    blob_sha256,
    grant_target_namespace,
    push_to_target,
    records_of,
    start_basic_target,
    token_target,
    wait_finished,
)

pytestmark = pytest.mark.registry

__all__ = ["basic_target", "token_target"]

MB = 1024 * 1024


@pytest.fixture(scope="module")
def big_image() -> BuiltImage:
    """An image whose layer holds 50 MB of random (incompressible) bytes."""
    return build_image(files={"blob.bin": os.urandom(50 * MB)}, labels={"size": "50MB"})


@pytest.fixture
def org(owner, make_org):  # type: ignore[no-untyped-def]
    return make_org(f"src{uuid.uuid4().hex[:8]}", creator=owner)


def push_and_index(
    client: RegistryClient, path: str, image: BuiltImage, tag: str, timeout: float = 30
) -> Repository:
    """Push to Berth's registry and wait until the index has the tag."""
    push_image(client, path, image, tag)
    org_name, name = path.split("/", 1)
    wait_for(
        lambda: Tag.objects.filter(
            repository__organization__name=org_name,
            repository__name=name,
            name=tag,
            manifest__digest=image.digest,
        ).exists(),
        timeout=timeout,
        what=f"the index to learn {path}:{tag}",
    )
    return Repository.objects.select_related("organization").get(
        organization__name=org_name, name=name
    )


def basic_remote(target: Target, admin: Any, **fields: object) -> RemoteRegistry:
    values: dict = {
        "name": f"basic-{uuid.uuid4().hex[:6]}",
        "url": target.url,
        "username": target.username,
        "password": target.password,
    }
    values.update(fields)
    return remote_registry_create(actor=admin, **values)


def namespace() -> str:
    return f"mirror{uuid.uuid4().hex[:8]}"


# -- copies --------------------------------------------------------------------------------------


def test_a_single_arch_image_is_copied_with_every_blob_verified(  # type: ignore[no-untyped-def]
    worker, org, owner, admin_user, berth_registry_client, basic_target
) -> None:
    image = build_image(fmt="docker", layers=3, labels={"t": uuid.uuid4().hex})
    repository = push_and_index(berth_registry_client, f"{org.name}/app", image, "v1")
    remote = basic_remote(basic_target, admin_user)
    target_ns = namespace()

    started = sync_images(
        repository=repository,
        tags=["v1", "no-such-tag"],
        remote=remote,
        remote_namespace=target_ns,
        actor=owner,
    )
    assert started.failed == ["no-such-tag"]
    assert started.job is not None
    job = wait_finished(started.job)

    assert job.status == Job.Status.SUCCEEDED, job.error_message
    [record] = records_of(job)
    assert record.status == SyncJob.Status.SUCCESS
    assert record.digest == image.digest
    assert record.bytes_total == record.bytes_done == sum(len(b) for b in image.blobs.values())
    assert (record.blobs_total, record.blobs_done, record.blobs_skipped) == (4, 4, 0)
    assert job.progress_done == job.progress_total == record.bytes_total
    client = basic_target.client()
    target_path = f"{target_ns}/app"
    digest, media_type, body = client.get_manifest(target_path, "v1")
    assert (digest, media_type, body) == (image.digest, image.media_type, image.manifest)
    for blob_digest in image.blobs:
        assert blob_sha256(client, target_path, blob_digest) == blob_digest


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_a_multi_arch_index_is_copied_with_all_its_children_over_token_auth(  # type: ignore[no-untyped-def]
    worker, org, owner, admin_user, make_user, berth_registry_client, token_target, fmt
) -> None:
    """An OCI index, and a Docker manifest list, to a registry signing in through a realm."""
    syncer = make_user("syncer")
    target_ns = namespace()
    grant_target_namespace(syncer, target_ns)
    index = build_index(
        [
            build_image(fmt=fmt, architecture="amd64", labels={"t": uuid.uuid4().hex}),
            build_image(
                fmt=fmt, architecture="arm64", variant="v8", labels={"t": uuid.uuid4().hex}
            ),
        ],
        fmt=fmt,
    )
    repository = push_and_index(berth_registry_client, f"{org.name}/multi", index, "latest")
    remote = remote_registry_create(
        name=f"token-{fmt}",
        url=token_target.url,
        username="syncer",
        password=token_target.password,
        actor=admin_user,
    )
    assert remote_registry_test(remote=remote, actor=admin_user).check_ok is True
    assert "tokens from" in remote.check_message

    started = sync_images(
        repository=repository,
        tags=["latest"],
        remote=remote,
        remote_namespace=target_ns,
        actor=owner,
    )
    job = wait_finished(started.job)  # type: ignore[arg-type]
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    [record] = records_of(job)
    assert (record.status, record.digest) == (SyncJob.Status.SUCCESS, index.digest)
    assert record.blobs_total == 4  # two configs, two layers
    client = token_target.client()
    target_path = f"{target_ns}/multi"
    assert client.get_manifest(target_path, "latest")[:2] == (index.digest, index.media_type)
    for child in index.children:
        assert client.get_manifest(target_path, child.digest)[2] == child.manifest
        for blob_digest in child.blobs:
            assert blob_sha256(client, target_path, blob_digest) == blob_digest


@pytest.fixture
def flaky_target(tmp_path: Path) -> Iterator[Target]:
    """A target of this test's own, which the test stops and starts."""
    target = start_basic_target(tmp_path / "flaky")
    yield target
    target.process.stop()


@override_settings(
    JOB_RETRY_SECONDS=0.3, JOB_MAX_ATTEMPTS=8, SYNC_CHUNK_BYTES=64 * 1024, SYNC_CONCURRENCY=1
)
def test_a_target_stopped_mid_copy_is_retried_and_resumed(  # type: ignore[no-untyped-def]
    worker, org, owner, admin_user, berth_registry_client, flaky_target, big_image
) -> None:
    small = build_image(labels={"t": uuid.uuid4().hex})
    repository = push_and_index(berth_registry_client, f"{org.name}/big", small, "small")
    push_and_index(berth_registry_client, f"{org.name}/big", big_image, "big", timeout=60)
    remote = basic_remote(flaky_target, admin_user)
    target_ns = namespace()
    started = sync_images(
        repository=repository,
        tags=["small", "big"],
        remote=remote,
        remote_namespace=target_ns,
        actor=owner,
    )
    assert started.job is not None
    job: Job = started.job
    big_record = SyncJob.objects.get(job=job, tag="big")
    wait_for(
        lambda: SyncJob.objects.get(pk=big_record.pk).bytes_done > 0,
        timeout=60,
        what="the 50 MB layer to start uploading",
    )
    flaky_target.process.stop()
    wait_for(
        lambda: "retrying" in Job.objects.get(pk=job.pk).message,
        timeout=60,
        what="the job to fail an attempt and be queued again",
    )
    assert Job.objects.get(pk=job.pk).status in (Job.Status.PENDING, Job.Status.RUNNING)
    assert SyncJob.objects.get(pk=big_record.pk).status != SyncJob.Status.SUCCESS
    flaky_target.process.start()

    job = wait_finished(job, timeout=120)
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    small_record, big_record = records_of(job)
    assert small_record.status == big_record.status == SyncJob.Status.SUCCESS
    assert small_record.attempts == 1  # finished before the outage: not copied again
    assert big_record.attempts >= 2
    # The config blob was copied before the outage; the retry skipped it.
    assert big_record.blobs_skipped >= 1
    assert big_record.bytes_done == big_record.bytes_total > 50 * MB
    client = flaky_target.client()
    target_path = f"{target_ns}/big"
    assert client.get_manifest(target_path, "big")[0] == big_image.digest
    for blob_digest in big_image.blobs:
        assert blob_sha256(client, target_path, blob_digest) == blob_digest


def test_override_decides_what_happens_to_a_different_image_under_the_tag(  # type: ignore[no-untyped-def]
    worker, org, owner, admin_user, berth_registry_client, basic_target
) -> None:
    ours = build_image(labels={"t": uuid.uuid4().hex})
    theirs = build_image(labels={"t": uuid.uuid4().hex})
    repository = push_and_index(berth_registry_client, f"{org.name}/app", ours, "v1")
    remote = basic_remote(basic_target, admin_user)
    target_ns = namespace()
    client = basic_target.client()
    push_to_target(client, f"{target_ns}/app", theirs, "v1")

    def sync(override: bool) -> SyncJob:
        started = sync_images(
            repository=repository,
            tags=["v1"],
            remote=remote,
            remote_namespace=target_ns,
            override=override,
            actor=owner,
        )
        [record] = records_of(wait_finished(started.job))  # type: ignore[arg-type]
        return record

    kept = sync(override=False)
    assert kept.status == SyncJob.Status.EXISTED
    assert kept.error_code == "SVCSTG.SWR.4090006" and theirs.digest in kept.error_message
    assert (kept.blobs_done, kept.bytes_done) == (0, 0)
    assert client.get_manifest(f"{target_ns}/app", "v1")[0] == theirs.digest

    replaced = sync(override=True)
    # The two images share their layer (same files): only the config is new there.
    assert replaced.status == SyncJob.Status.SUCCESS
    assert (replaced.blobs_done, replaced.blobs_skipped) == (1, 1)
    assert client.get_manifest(f"{target_ns}/app", "v1")[0] == ours.digest

    same = sync(override=False)
    assert same.status == SyncJob.Status.SUCCESS
    assert (same.blobs_done, same.blobs_skipped, same.bytes_done) == (0, 0, 0)


def test_pushes_after_an_automatic_rule_exists_are_copied(  # type: ignore[no-untyped-def]
    worker, org, owner, admin_user, berth_registry_client, basic_target
) -> None:
    before = build_image(labels={"t": uuid.uuid4().hex})
    repository = push_and_index(berth_registry_client, f"{org.name}/auto", before, "old")
    remote = basic_remote(basic_target, admin_user)
    auto_ns, manual_ns = namespace(), namespace()
    sync_rule_create(
        repository=repository,
        remote=remote,
        remote_namespace=auto_ns,
        sync_auto=True,
        actor=owner,
    )
    sync_rule_create(repository=repository, remote=remote, remote_namespace=manual_ns, actor=owner)

    pushed = build_image(labels={"t": uuid.uuid4().hex})
    push_and_index(berth_registry_client, f"{org.name}/auto", pushed, "new")
    client = basic_target.client()
    wait_for(
        lambda: (client.head_manifest(f"{auto_ns}/auto", "new") or None) is not None,
        timeout=60,
        what="the pushed tag to appear in the target",
    )
    assert client.get_manifest(f"{auto_ns}/auto", "new")[0] == pushed.digest
    record = SyncJob.objects.get(repository=repository, tag="new")
    wait_for(lambda: SyncJob.objects.get(pk=record.pk).is_finished, what="the record to be written")
    record.refresh_from_db()
    assert record.status == SyncJob.Status.SUCCESS
    assert record.rule is not None and record.rule.remote_namespace == auto_ns
    assert record.job is not None and record.job.kind == Job.Kind.SYNC
    # The tag pushed before the rule, and the rule that is not automatic, copy nothing.
    assert client.head_manifest(f"{auto_ns}/auto", "old") is None
    assert client.head_manifest(f"{manual_ns}/auto", "new") is None
    assert not SyncJob.objects.filter(repository=repository, tag="old").exists()


def test_wrong_credentials_fail_with_what_the_target_said(  # type: ignore[no-untyped-def]
    worker, org, owner, admin_user, make_user, berth_registry_client, basic_target, token_target
) -> None:
    make_user("syncer")
    image = build_image(labels={"t": uuid.uuid4().hex})
    repository = push_and_index(berth_registry_client, f"{org.name}/app", image, "v1")
    basic = basic_remote(basic_target, admin_user, password="not-the-password")
    token = remote_registry_create(
        name="token-wrong",
        url=token_target.url,
        username="syncer",
        password="not-the-password",
        actor=admin_user,
    )
    for remote, said, user in (
        (basic, "authentication required", basic_target.username),
        (token, "invalid username or password", "syncer"),
    ):
        started = sync_images(
            repository=repository,
            tags=["v1"],
            remote=remote,
            remote_namespace=namespace(),
            actor=owner,
        )
        job = wait_finished(started.job)  # type: ignore[arg-type]
        [record] = records_of(job)
        assert record.status == SyncJob.Status.FAILED
        assert record.error_code == "UNAUTHORIZED"
        assert said in record.error_message and repr(user) in record.error_message
        assert record.attempts == 1  # refused credentials are not retried
        assert job.status == Job.Status.FAILED and said in job.error_message
        checked = remote_registry_test(remote=remote, actor=admin_user)
        assert checked.check_ok is False and said in checked.check_message
        assert "not-the-password" not in record.error_message + checked.check_message


@override_settings(SYNC_TIMEOUT_SECONDS=0.3, SYNC_CHUNK_BYTES=256 * 1024)
def test_a_copy_past_the_time_limit_ends_timeout(  # type: ignore[no-untyped-def]
    worker, org, owner, admin_user, berth_registry_client, basic_target, big_image
) -> None:
    repository = push_and_index(berth_registry_client, f"{org.name}/big", big_image, "big", 60)
    remote = basic_remote(basic_target, admin_user)
    started = sync_images(
        repository=repository,
        tags=["big"],
        remote=remote,
        remote_namespace=namespace(),
        actor=owner,
    )
    job = wait_finished(started.job, timeout=60)  # type: ignore[arg-type]
    [record] = records_of(job)
    assert record.status == SyncJob.Status.TIMEOUT
    assert "BERTH_SYNC_TIMEOUT_SECONDS" in record.error_message
    assert 0 < record.bytes_done < record.bytes_total
    assert job.status == Job.Status.FAILED


@override_settings(SYNC_CHUNK_BYTES=64 * 1024, SYNC_CONCURRENCY=1)
def test_cancelling_a_sync_ends_its_unfinished_records_cancel(  # type: ignore[no-untyped-def]
    worker, org, owner, admin_user, berth_registry_client, basic_target, big_image
) -> None:
    repository = push_and_index(berth_registry_client, f"{org.name}/big", big_image, "big", 60)
    push_and_index(berth_registry_client, f"{org.name}/big", big_image, "big2")
    remote = basic_remote(basic_target, admin_user)
    started = sync_images(
        repository=repository,
        tags=["big", "big2"],
        remote=remote,
        remote_namespace=namespace(),
        actor=owner,
    )
    assert started.job is not None
    wait_for(
        lambda: SyncJob.objects.filter(job=started.job, bytes_done__gt=0).exists(),
        timeout=60,
        what="the copy to start",
    )
    job_cancel(job=started.job, actor=owner)
    job = wait_finished(started.job)
    assert job.status == Job.Status.CANCELLED
    assert [r.status for r in records_of(job)] == [SyncJob.Status.CANCEL] * 2


def test_a_damaged_or_short_blob_is_never_committed(basic_target) -> None:  # type: ignore[no-untyped-def]
    client = basic_target.client()
    good = os.urandom(3000)
    digest = "sha256:" + hashlib.sha256(good).hexdigest()
    for data, code in ((os.urandom(3000), "DIGEST_INVALID"), (good[:1000], "SIZE_INVALID")):
        for chunk_size in (1024, 10_000):  # PATCHes then PUT; one PUT
            with pytest.raises(errors.RegistryProtocolError) as info:
                client.upload_blob(
                    "damaged/app",
                    digest=digest,
                    size=len(good),
                    read=io.BytesIO(data).read,
                    chunk_size=chunk_size,
                )
            assert info.value.code == code, (code, chunk_size)
            assert not info.value.retryable
    assert not client.blob_exists("damaged/app", digest)
    sent: list[int] = []
    client.upload_blob(
        "damaged/app",
        digest=digest,
        size=len(good),
        read=io.BytesIO(good).read,
        chunk_size=1024,
        on_bytes=sent.append,
    )
    assert sent == [1024, 1024, 952]
    assert blob_sha256(client, "damaged/app", digest) == digest
