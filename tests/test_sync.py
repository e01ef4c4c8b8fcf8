"""Sync services: remote registries, rules, manual and automatic starts, and how the remote
client reads challenges and error answers (captured responses, for the error mapping only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from django.utils import timezone

from dashboard.models import AuditEvent, Job, Level, RemoteRegistry, SyncJob, SyncRule
from dashboard.registry import errors
from dashboard.registry.remote import Challenge, RemoteClient, upstream_message
from dashboard.services.errors import ServiceError
from dashboard.services.jobs import job_create, job_run
from dashboard.services.pushes import TagPush
from dashboard.services.sealed import seal
from dashboard.services.sync import (
    remote_client,
    remote_registry_create,
    remote_registry_delete,
    remote_registry_get,
    remote_registry_update,
    sync_auto_for_pushes,
    sync_execute,
    sync_images,
    sync_rule_create,
    sync_rule_delete,
)
from tests.index_rows import grant_org, make_repository, make_tag

SECRET = "pa55-word-never-shown"


class Sent:
    """Stands in for the Celery task `job_run` re-sends (records what would be queued)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def apply_async(self, args: tuple, countdown: float | None = None) -> None:
        self.calls.append((args, countdown))


@pytest.fixture
def repo(owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("team", creator=owner)
    grant_org(organization, reader, Level.READ)
    repository = make_repository(organization, "app")
    for name in ("v1", "v2", "latest"):
        make_tag(repository, name)
    return repository


@pytest.fixture
def remote(admin_user) -> RemoteRegistry:  # type: ignore[no-untyped-def]
    return remote_registry_create(
        name="cn-north-4",
        url="https://swr.example.com",
        username="robot",
        password=SECRET,
        description="the other region",
        actor=admin_user,
    )


def refused(code: str, status: int, call: Any, **kwargs: Any) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call(**kwargs)
    assert (info.value.code, info.value.status) == (f"SVCSTG.SWR.{code}", status), info.value
    return info.value


# -- remote registries ---------------------------------------------------------------------------


def test_only_superusers_manage_remote_registries(owner, remote) -> None:  # type: ignore[no-untyped-def]
    refused("4039002", 403, remote_registry_create, name="x", url="https://x.example", actor=owner)
    common = {"url": remote.url, "username": "", "password": None, "verify_tls": True}
    refused(
        "4039002", 403, remote_registry_update, remote=remote, description="", actor=owner, **common
    )
    refused("4039002", 403, remote_registry_delete, remote=remote, actor=owner)
    assert RemoteRegistry.objects.get().username == "robot"


@pytest.mark.parametrize(
    ("fields", "code", "status"),
    [
        ({"name": ""}, "4000014", 400),
        ({"name": "Upper"}, "4000014", 400),
        ({"name": "1st"}, "4000014", 400),
        ({"name": "a--b"}, "4000014", 400),
        ({"name": "a" * 65}, "4000014", 400),
        ({"url": "swr.example.com"}, "4000014", 400),
        ({"url": "ftp://swr.example.com"}, "4000014", 400),
        ({"url": "https://user:pw@swr.example.com"}, "4000014", 400),
        ({"url": "https://swr.example.com/v2/"}, "4000014", 400),
        ({"url": "https://swr.example.com?x=1"}, "4000014", 400),
        ({"url": "https://swr.example.com:99999"}, "4000014", 400),
        ({"username": "a:b"}, "4000014", 400),
        ({"description": "d" * 1001}, "4131012", 413),
    ],
)
def test_a_remote_registry_is_refused_with_swr_codes(admin_user, fields, code, status) -> None:  # type: ignore[no-untyped-def]
    values = {"name": "eu-west-1", "url": "https://swr.example.com", **fields}
    refused(code, status, remote_registry_create, actor=admin_user, **values)
    assert not RemoteRegistry.objects.exists()


def test_a_remote_registry_keeps_its_password_sealed_and_out_of_every_trace(  # type: ignore[no-untyped-def]
    admin_user, remote
) -> None:
    assert remote.url == "https://swr.example.com"
    assert SECRET not in remote.password_encrypted
    client = remote_client(remote)
    assert client._password == SECRET and client.username == "robot"
    assert SECRET not in repr(client)
    refused(
        "4090089", 409, remote_registry_create, name="cn-north-4", url=remote.url, actor=admin_user
    )
    assert remote_registry_get(name="cn-north-4") == remote
    refused("4040083", 404, remote_registry_get, name="nowhere")

    traces = AuditEvent.objects.filter(resource_type="region")
    assert [t.action for t in traces] == ["createRemoteRegistry"]
    assert traces[0].resource_name == "cn-north-4" and traces[0].actor == admin_user
    assert SECRET not in str(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_updating_keeps_the_password_unless_given_and_forgets_a_stale_test(  # type: ignore[no-untyped-def]
    admin_user, remote
) -> None:
    RemoteRegistry.objects.filter(pk=remote.pk).update(
        checked_at=timezone.now(), check_ok=True, check_message="Connected"
    )
    remote.refresh_from_db()
    common = {"verify_tls": False, "description": "", "actor": admin_user}
    remote_registry_update(remote=remote, url=remote.url, username="robot", password="", **common)
    assert remote_client(remote)._password == SECRET
    assert remote.check_ok is True  # nothing about access changed
    remote_registry_update(
        remote=remote, url="https://other.example.com", username="robot", password=None, **common
    )
    assert remote.check_ok is None and remote.checked_at is None
    remote_registry_update(
        remote=remote, url=remote.url, username="robot", password="new-one", **common
    )
    assert remote_client(remote)._password == "new-one"
    remote_registry_update(remote=remote, url=remote.url, username="", password="", **common)
    remote.refresh_from_db()
    assert remote.password_encrypted == "" and remote.verify_tls is False


def test_a_password_sealed_under_another_key_asks_to_be_entered_again(remote) -> None:  # type: ignore[no-untyped-def]
    RemoteRegistry.objects.filter(pk=remote.pk).update(
        password_encrypted=seal("x", purpose="another purpose")
    )
    remote.refresh_from_db()
    error = refused("4000014", 400, remote_client, remote=remote)
    assert "enter it again" in error.message


# -- rules -----------------------------------------------------------------------------------------


def test_rules_need_manage_a_valid_organization_and_one_per_target(  # type: ignore[no-untyped-def]
    repo, remote, owner, reader
) -> None:
    args = {"repository": repo, "remote": remote, "remote_namespace": "mirror"}
    refused("4037018", 403, sync_rule_create, actor=reader, **args)
    for bad in ("", "Mirror", "a__b_", "-x", "library", "x" * 65):
        refused("4001028", 400, sync_rule_create, actor=owner, **{**args, "remote_namespace": bad})
    rule = sync_rule_create(actor=owner, sync_auto=True, **args)
    assert (rule.sync_auto, rule.override, rule.created_by) == (True, False, owner)
    refused("4090089", 409, sync_rule_create, actor=owner, **args)
    sync_rule_create(actor=owner, **{**args, "remote_namespace": "mirror2"})

    refused("4037018", 403, sync_rule_delete, actor=reader, **args)
    sync_rule_delete(actor=owner, **args)
    refused("4040083", 404, sync_rule_delete, actor=owner, **args)
    assert list(SyncRule.objects.values_list("remote_namespace", flat=True)) == ["mirror2"]
    traces = AuditEvent.objects.filter(resource_type="syncrepo").order_by("pk")
    assert [t.action for t in traces] == ["createSyncRepo", "createSyncRepo", "deleteSyncRepo"]
    assert traces[0].detail == {
        "remoteRegionId": "cn-north-4",
        "remoteNamespace": "mirror",
        "syncAuto": True,
        "override": False,
    }


# -- starting copies -------------------------------------------------------------------------------


def test_a_manual_sync_starts_known_tags_and_returns_the_others(  # type: ignore[no-untyped-def]
    repo, remote, owner, reader
) -> None:
    args = {"repository": repo, "remote": remote, "remote_namespace": "mirror"}
    refused("4037018", 403, sync_images, tags=["v1"], actor=reader, **args)
    refused("4000014", 400, sync_images, tags=[" ", ""], actor=owner, **args)
    refused("4000014", 400, sync_images, tags=[f"t{i}" for i in range(501)], actor=owner, **args)
    refused(
        "4001028", 400, sync_images, tags=["v1"], actor=owner, **{**args, "remote_namespace": "X"}
    )
    assert not Job.objects.exists()

    none = sync_images(tags=["nope", "bad tag!"], actor=owner, **args)
    assert none.job is None and none.failed == ["nope", "bad tag!"]
    assert not Job.objects.exists()

    started = sync_images(tags=["v2", "v1", "nope", "v1"], override=True, actor=owner, **args)
    assert started.failed == ["nope"]
    job = started.job
    assert job is not None
    assert (job.kind, job.status, job.repository, job.created_by) == (
        "sync",
        "pending",
        repo,
        owner,
    )
    assert job.target == "team/app → cn-north-4/mirror"
    records = list(SyncJob.objects.filter(job=job).order_by("pk"))
    assert [(r.tag, r.status, r.override, r.rule) for r in records] == [
        ("v2", "waiting", True, None),
        ("v1", "waiting", True, None),
    ]
    first = records[0]
    assert (first.namespace, first.repo_name, first.remote_region_id) == (
        "team",
        "app",
        "cn-north-4",
    )
    assert (first.operator, first.operator_name) == (owner, "owner")
    trace = AuditEvent.objects.get(action="syncImages")
    assert trace.detail["imageTag"] == ["v2", "v1"] and trace.detail["job"] == job.pk


def test_automatic_rules_copy_only_pushes_made_after_they_exist(  # type: ignore[no-untyped-def]
    repo, remote, owner, make_org
) -> None:
    now = timezone.now()
    auto = SyncRule.objects.create(
        repository=repo, remote=remote, remote_namespace="a", sync_auto=True, created_at=now
    )
    SyncRule.objects.create(
        repository=repo,
        remote=remote,
        remote_namespace="b",
        sync_auto=True,
        created_at=now + dt.timedelta(minutes=5),
    )
    SyncRule.objects.create(repository=repo, remote=remote, remote_namespace="c", created_at=now)
    other = make_repository(make_org("quiet", creator=owner), "app")

    def push(tag: str, at: dt.datetime, repository: Any = repo) -> TagPush:
        return TagPush(repository.pk, tag, "sha256:" + "0" * 64, at, "pusher", True)

    sync_auto_for_pushes(
        pushes=[
            push("old", now - dt.timedelta(seconds=1)),
            push("v1", now + dt.timedelta(minutes=1)),
            push("v1", now + dt.timedelta(minutes=2)),  # the same tag again: copied once
            push("new", now + dt.timedelta(minutes=6)),
            push("x", now, other),  # no rules there
        ]
    )
    [job] = Job.objects.filter(kind=Job.Kind.SYNC)
    assert job.repository == repo and job.created_by is None
    assert job.target == "team/app → cn-north-4/a, cn-north-4/b"
    records = SyncJob.objects.filter(job=job).order_by("tag", "remote_namespace")
    assert [(r.tag, r.remote_namespace, r.rule_id, r.operator_name) for r in records] == [
        ("new", "a", auto.pk, "pusher"),
        ("new", "b", records[1].rule_id, "pusher"),
        ("v1", "a", auto.pk, "pusher"),
    ]
    sync_auto_for_pushes(pushes=[push("old", now - dt.timedelta(hours=1))])
    assert Job.objects.filter(kind=Job.Kind.SYNC).count() == 1


def test_a_record_whose_registry_was_deleted_fails_and_the_job_with_it(  # type: ignore[no-untyped-def]
    repo, remote, owner
) -> None:
    job = job_create(kind=Job.Kind.SYNC, repository=repo, created_by=owner)
    SyncJob.objects.create(
        repository=repo,
        namespace="team",
        repo_name="app",
        tag="v1",
        remote=None,
        remote_region_id="gone-1",
        remote_namespace="mirror",
        job=job,
    )
    job_run(job.pk, lambda running: sync_execute(job=running), task=Sent())
    job.refresh_from_db()
    record = SyncJob.objects.get(job=job)
    assert (record.status, record.error_code) == ("failed", "SVCSTG.SWR.4040083")
    assert "gone-1 was deleted" in record.error_message
    assert job.status == Job.Status.FAILED and "gone-1 was deleted" in job.error_message


def test_an_unreachable_remote_is_retried_then_fails_with_its_message(  # type: ignore[no-untyped-def]
    repo, owner, admin_user, settings
) -> None:
    """Nothing listens on the remote's port: each attempt puts the tag back to waiting and the
    job is re-sent, until the last attempt records the failure."""
    settings.JOB_MAX_ATTEMPTS = 2
    settings.SYNC_HTTP_TIMEOUT = (0.5, 0.5)
    closed = remote_registry_create(name="closed", url="http://127.0.0.1:9", actor=admin_user)
    started = sync_images(
        repository=repo, tags=["v1"], remote=closed, remote_namespace="m", actor=owner
    )
    assert started.job is not None
    sent = Sent()
    job_run(started.job.pk, lambda running: sync_execute(job=running), task=sent)
    record = SyncJob.objects.get(job=started.job)
    assert record.status == "waiting" and record.error_message.startswith("Will be retried:")
    assert Job.objects.get(pk=started.job.pk).status == Job.Status.PENDING
    job_run(started.job.pk, lambda running: sync_execute(job=running), task=sent)  # the last
    job = Job.objects.get(pk=started.job.pk)
    record = SyncJob.objects.get(job=job)
    assert len(sent.calls) == 1 and job.status == Job.Status.FAILED
    assert (record.status, record.attempts) == ("failed", 2)
    assert "cannot be reached" in record.error_message


# -- the remote client's reading of challenges and errors (captured answers) ----------------------


def captured(status: int, body: bytes = b"", **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers)
    return response


def test_challenges_as_registries_send_them() -> None:
    bearer = Challenge.parse(
        'Bearer realm="http://127.0.0.1:5101/token",service="berth-registry",'
        'scope="repository:team/app:pull,push",error="insufficient_scope"'
    )
    assert bearer.scheme == "bearer"
    assert bearer.params == {
        "realm": "http://127.0.0.1:5101/token",
        "service": "berth-registry",
        "scope": "repository:team/app:pull,push",
        "error": "insufficient_scope",
    }
    assert Challenge.parse('Basic realm="berth-test-basic"') == Challenge(
        "basic", {"realm": "berth-test-basic"}
    )
    assert Challenge.parse("") == Challenge("")


def test_what_an_error_answer_says() -> None:
    distribution = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
    assert upstream_message(captured(401, distribution)) == "authentication required (UNAUTHORIZED)"
    swr = b'{"error_code":"SVCSTG.SWR.4010000","error_msg":"Authentication failed"}'
    assert upstream_message(captured(401, swr)) == "Authentication failed"
    assert upstream_message(captured(502, b"bad gateway\n")) == "bad gateway"
    assert upstream_message(captured(502, b"<html><body>nginx</body></html>")) == ""


def test_a_refused_push_becomes_a_permanent_auth_error_with_the_remotes_words() -> None:
    client = RemoteClient("https://swr.example.com", name="cn-north-4", username="robot")
    answer = captured(
        401,
        b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
        **{"WWW-Authenticate": 'Bearer realm="https://x/token",error="insufficient_scope"'},
    )
    error = client._failure(answer)
    assert isinstance(error, errors.RegistryAuthError) and not error.retryable
    assert error.code == "UNAUTHORIZED"
    assert error.message == (
        "The remote registry cn-north-4 answered 401: authentication required (UNAUTHORIZED)"
        " [insufficient_scope] (user 'robot')."
    )
    busy = client._failure(captured(503, b'{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}'))
    assert isinstance(busy, errors.RegistryServerError) and busy.retryable
    missing = client._failure(captured(404, b""))
    assert isinstance(missing, errors.RegistryNotFound) and missing.code == "HTTP_404"
