"""Triggers: the rules a trigger must follow, exact condition matching, and deliveries to a real
local HTTP listener (signature, payload forms, retries, timeouts, refusals).

Deliveries here run through the job lifecycle (`job_run`) in the test's thread against a real
listener; tests/test_triggers_pushes.py drives the whole path from real registry pushes through
the indexer and a real Celery worker.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from dashboard.models import AuditEvent, Job, Level, Repository, Trigger, TriggerDelivery
from dashboard.services.errors import PREFIX, ServiceError
from dashboard.services.jobs import job_run
from dashboard.services.pushes import TagPush
from dashboard.services.sealed import seal
from dashboard.services.triggers import (
    SIGNATURE_HEADER,
    TRIGGERS_MAX,
    Workload,
    delivery_signature,
    trigger_condition_clean,
    trigger_create,
    trigger_delete,
    trigger_delivery_execute,
    trigger_enable_parse,
    trigger_get,
    trigger_list,
    trigger_set_enabled,
    trigger_test,
    trigger_update,
    triggers_fire_for_pushes,
)
from tests.index_rows import grant_org, make_repository, make_tag
from tests.servers import free_port

pytestmark = pytest.mark.django_db

# -- a real webhook target -------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Listener:
    """An HTTP server on a free loopback port that records every POST and answers with the next
    of `statuses` (the last one repeats), after `delay` seconds."""

    def __init__(self, statuses: tuple[int, ...] = (200,), body: bytes = b'{"ok": true}') -> None:
        self.statuses = list(statuses)
        self.body = body
        self.delay = 0.0
        self.received: list[Received] = []
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with listener._lock:
                    listener.received.append(Received(self.path, headers, body))
                    status = listener.statuses.pop(0) if len(listener.statuses) > 1 else None
                    status = status or listener.statuses[0]
                time.sleep(listener.delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(listener.body)))
                self.end_headers()
                self.wfile.write(listener.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    target = Listener()
    yield target
    target.close()


class Sent:
    """What `job_run` re-sends on a transient failure, in place of the Celery task."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple, float | None]] = []

    def apply_async(self, args: tuple, countdown: float | None = None) -> None:
        self.calls.append((args, countdown))


def _run(delivery: TriggerDelivery, sent: Sent | None = None) -> TriggerDelivery:
    """One attempt through the job lifecycle, as the worker's task makes it."""
    assert delivery.job_id is not None
    job_run(delivery.job_id, lambda job: trigger_delivery_execute(job=job), task=sent or Sent())
    delivery.refresh_from_db()
    return delivery


def _job(delivery: TriggerDelivery) -> Job:
    assert delivery.job_id is not None
    return Job.objects.get(pk=delivery.job_id)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def repo(owner, reader, make_org) -> Repository:  # type: ignore[no-untyped-def]
    organization = make_org("trig", creator=owner)
    grant_org(organization, reader, Level.READ)
    return make_repository(organization, "app")


@pytest.fixture
def make_trigger(repo, owner) -> Callable[..., Trigger]:  # type: ignore[no-untyped-def]
    def make(name: str = "deploy", **fields: Any) -> Trigger:
        values: dict[str, Any] = {
            "trigger_type": "all",
            "condition": "",
            "url": "http://127.0.0.1:9/hook",
        }
        values.update(fields)
        return trigger_create(repository=repo, actor=owner, name=name, **values)

    return make


def _code(error: pytest.ExceptionInfo[ServiceError]) -> str:
    return error.value.code.removeprefix(PREFIX)


# -- conditions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger_type", "condition", "tag", "fires"),
    [
        ("all", "", "v1", True),
        ("all", "ignored", "anything-at-all", True),
        ("tag", "v1; latest ;", "v1", True),
        ("tag", "v1; latest ;", "latest", True),
        ("tag", "v1; latest ;", "v10", False),
        ("tag", "v1; latest ;", "V1", False),
        ("tag", "v1; latest ;", "v", False),
        ("tag", "v1; latest ;", "latest2", False),
        ("tag", "1.0", "1x0", False),  # a dot in a tag list is a dot, not "any character"
        ("regular", "release-.*", "release-1", True),
        ("regular", "release-.*", "release-", True),
        ("regular", "release-", "pre-release-1", True),  # searched anywhere, as Go does
        ("regular", "^release-", "pre-release-1", False),  # unless anchored
        ("regular", "release-.*", "release", False),
        ("regular", "release-.*", "Release-1", False),
        ("regular", "v[0-9]+", "v12", True),
        ("regular", "v[0-9]+", "xv12", True),
        ("regular", "^v[0-9]+$", "v12-rc1", False),
        ("regular", "^v[0-9]+$", "xv12", False),
        ("regular", "-rc[0-9]*$", "1.2-rc3", True),
    ],
)
def test_conditions_match_exactly(
    make_trigger: Callable[..., Trigger], trigger_type: str, condition: str, tag: str, fires: bool
) -> None:
    trigger = make_trigger(trigger_type=trigger_type, condition=condition)
    assert trigger.matches(tag) is fires


def test_conditions_are_stored_the_way_swr_writes_them() -> None:
    assert trigger_condition_clean(trigger_type="all", condition="whatever") == ".*"
    assert trigger_condition_clean(trigger_type="tag", condition=" v1 ;;latest; v1;") == "v1;latest"
    assert trigger_condition_clean(trigger_type="regular", condition="  v.* ") == "v.*"


@pytest.mark.parametrize(
    ("trigger_type", "condition", "says"),
    [
        ("tag", " ; ;", "at least one tag"),
        ("tag", "v1;not a tag", "Not a valid tag name"),
        ("tag", "-v1", "Not a valid tag name"),
        ("regular", "", "Enter a regular expression"),
        ("regular", "release-(", "Not a valid regular expression"),
        ("regular", "a" * 501, "over 500"),
        ("sometimes", "", "`all`, `tag` or `regular`"),
    ],
)
def test_invalid_conditions_are_refused_and_nothing_is_stored(
    make_trigger: Callable[..., Trigger], trigger_type: str, condition: str, says: str
) -> None:
    with pytest.raises(ServiceError) as error:
        make_trigger(trigger_type=trigger_type, condition=condition)
    assert (_code(error), error.value.status) == ("4000014", 400)
    assert says in error.value.message
    assert not Trigger.objects.exists()


# -- the other rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"name": ""}, "1 to 64 characters"),
        ({"name": "1deploy"}, "a letter first"),
        ({"name": "a" * 65}, "1 to 64"),
        ({"name": "de ploy"}, "1 to 64"),
        ({"name": "de/ploy"}, "1 to 64"),
        ({"url": ""}, "Enter the URL"),
        ({"url": "ftp://example.com/hook"}, "http:// or https://"),
        ({"url": "http:///hook"}, "http:// or https://"),
        ({"url": "javascript:alert(1)"}, "http:// or https://"),
        ({"url": "https://ci:hunter2@example.com/hook"}, "not in the URL"),
        ({"url": "https://example.com/ho ok"}, "spaces"),
        ({"url": "https://example.com:99999/hook"}, "port"),
        ({"url": "https://example.com/" + "a" * 2000}, "over 2000"),
        ({"secret": "s" * 257}, "over 256"),
        ({"payload_format": "xml"}, "`berth` or `cloudevents`"),
        ({"headers": {"X-Token": "a\r\nX-Evil: 1"}}, "printable ASCII"),
        ({"headers": {"X-Token": "caf\u00e9"}}, "printable ASCII"),
        ({"headers": {"Bad Header": "1"}}, "Not a valid header name"),
        ({"headers": {"Content-Type": "text/plain"}}, "Berth sets Content-Type"),
        ({"headers": {"user-agent": "me"}}, "Berth sets user-agent"),
        ({"headers": {"X-Berth-Signature-256": "sha256=forged"}}, "Berth sets"),
        ({"headers": {"X-Berth-Anything": "1"}}, "Berth sets"),
        ({"headers": {"X-A": "1", "x-a": "2"}}, "given twice"),
        ({"headers": {"X-A": "v" * 1001}}, "over 1000"),
        ({"headers": {f"X-H{i}": "1" for i in range(21)}}, "At most 20"),
    ],
)
def test_invalid_triggers_are_refused_with_swr_codes(
    make_trigger: Callable[..., Trigger], fields: dict[str, Any], says: str
) -> None:
    with pytest.raises(ServiceError) as error:
        make_trigger(**fields)
    assert (_code(error), error.value.status) == ("4000014", 400)
    assert says in error.value.message
    assert not Trigger.objects.exists()


def test_swr_s_workload_is_kept_and_an_http_application_is_the_webhook(
    make_trigger: Callable[..., Trigger],
) -> None:
    workload = Workload(
        action="update",
        app_type="deployments",
        application=" https://deploy.example/hooks/web ",
        cluster_id="c-1",
        cluster_name="prod",
        cluster_ns="shop",
        container="web",
        trigger_mode="cce",
    )
    trigger = make_trigger(url="", workload=workload)
    trigger.refresh_from_db()
    assert trigger.url == "https://deploy.example/hooks/web"
    assert trigger.workload == {
        "action": "update",
        "app_type": "deployments",
        "application": "https://deploy.example/hooks/web",
        "cluster_id": "c-1",
        "cluster_name": "prod",
        "cluster_ns": "shop",
        "container": "web",
        "trigger_mode": "cce",
    }
    # With a URL of its own, `application` is only the workload's name.
    named = make_trigger("named", workload=Workload(application="web"))
    assert (named.url, named.application) == ("http://127.0.0.1:9/hook", "web")
    assert named.action == "update"
    # The pages' triggers have no workload.
    plain = make_trigger("plain")
    assert (plain.action, plain.application, plain.trigger_mode) == ("webhook", "", "")


@pytest.mark.parametrize(
    ("url", "workload", "says"),
    [
        ("", Workload(application="web"), "send the webhook's address as `url`"),
        ("", Workload(application="ftp://deploy.example/"), "as `url`, or as `application`"),
        ("", Workload(), "as `url`"),
        ("", Workload(application="https://ci:pw@deploy.example/"), "not in the URL"),
        ("http://h.example/", Workload(action="delete"), "action must be `update`"),
        ("http://h.example/", Workload(app_type="pods"), "app_type"),
        ("http://h.example/", Workload(trigger_mode="k8s"), "trigger_mode"),
        ("http://h.example/", Workload(container="c" * 129), "container is over 128"),
        ("http://h.example/", Workload(application="a" * 2001), "application is over 2000"),
        ("http://h.example/", Workload(cluster_ns="shop\nx"), "control characters"),
    ],
)
def test_an_invalid_workload_or_no_webhook_is_refused(
    make_trigger: Callable[..., Trigger], url: str, workload: Workload, says: str
) -> None:
    with pytest.raises(ServiceError) as error:
        make_trigger(url=url, workload=workload)
    assert (_code(error), error.value.status) == ("4000014", 400)
    assert says in error.value.message
    assert not Trigger.objects.exists()


def test_the_payload_names_swr_s_workload(make_trigger, repo) -> None:  # type: ignore[no-untyped-def]
    workload = Workload(
        app_type="statefulsets", application="db", cluster_ns="data", container="pg"
    )
    make_trigger(workload=workload, payload_format="cloudevents")
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v3")])
    assert delivery.payload["data"]["workload"] == {
        "action": "update",
        "app_type": "statefulsets",
        "application": "db",
        "cluster_id": "",
        "cluster_name": "",
        "cluster_ns": "data",
        "container": "pg",
        "trigger_mode": "",
    }


def test_a_name_is_unique_per_repository(make_trigger, repo, owner, make_org) -> None:  # type: ignore[no-untyped-def]
    make_trigger("deploy")
    with pytest.raises(ServiceError) as error:
        make_trigger("deploy", url="https://elsewhere.example/hook")
    assert (_code(error), error.value.status) == ("4090111", 409)
    assert Trigger.objects.get().url == "http://127.0.0.1:9/hook"
    other = make_repository(repo.organization, "other")
    trigger_create(
        repository=other,
        actor=owner,
        name="deploy",
        trigger_type="all",
        condition="",
        url="https://x.example/",
    )
    assert Trigger.objects.count() == 2


def test_a_repository_holds_at_most_fifty_triggers(make_trigger) -> None:  # type: ignore[no-untyped-def]
    for number in range(TRIGGERS_MAX):
        make_trigger(f"t{number}")
    with pytest.raises(ServiceError) as error:
        make_trigger("one-more")
    assert _code(error) == "4000014" and "50 triggers" in error.value.message
    assert Trigger.objects.count() == TRIGGERS_MAX


def test_secret_and_header_values_are_stored_sealed(make_trigger) -> None:  # type: ignore[no-untyped-def]
    trigger = make_trigger(secret="s3cret-value", headers={" Authorization ": " Bearer tok-123 "})
    row = Trigger.objects.get(pk=trigger.pk)
    stored = json.dumps({"secret": row.secret_encrypted, "headers": row.headers})
    assert "s3cret-value" not in stored and "tok-123" not in stored
    assert row.header_names == ["Authorization"]
    assert (row.creator_name, row.enable, row.condition) == ("owner", "true", ".*")


def _changes(repo: Repository, trigger: Trigger, user: Any) -> list[Callable[[], object]]:
    """Every change a user might try on the repository's triggers."""
    return [
        lambda: trigger_create(
            repository=repo,
            actor=user,
            name="mine",
            trigger_type="all",
            condition="",
            url="https://x.example/",
        ),
        lambda: trigger_update(
            trigger=trigger,
            actor=user,
            trigger_type="all",
            condition="",
            url="https://x.example/",
            enabled=False,
            payload_format="berth",
        ),
        lambda: trigger_set_enabled(trigger=trigger, enabled=False, actor=user),
        lambda: trigger_delete(trigger=trigger, actor=user),
        lambda: trigger_test(trigger=trigger, actor=user),
    ]


def test_only_manage_holders_change_triggers_and_readers_list_them(
    make_trigger, repo, reader, outsider, owner
) -> None:  # type: ignore[no-untyped-def]
    trigger = make_trigger()
    for user in (reader, outsider):
        for attempt in _changes(repo, trigger, user):
            with pytest.raises(ServiceError) as error:
                attempt()
            assert (_code(error), error.value.status) == ("4037018", 403)
    assert [t.name for t in trigger_list(repository=repo, user=reader)] == ["deploy"]
    with pytest.raises(ServiceError) as error:
        trigger_list(repository=repo, user=outsider)
    assert error.value.status == 403
    with pytest.raises(ServiceError) as error:
        trigger_get(repository=repo, name="nope", user=owner)
    assert (_code(error), error.value.status) == ("4040111", 404)
    row = Trigger.objects.get()
    assert (row.enabled, row.url) == (True, "http://127.0.0.1:9/hook")
    assert not TriggerDelivery.objects.exists()


def test_update_keeps_the_secret_and_headers_unless_told_and_a_refusal_changes_nothing(
    make_trigger, owner
) -> None:  # type: ignore[no-untyped-def]
    trigger = make_trigger(secret="one", headers={"X-Token": "a"})
    sealed = Trigger.objects.get().secret_encrypted
    common: dict[str, Any] = {
        "trigger_type": "tag",
        "condition": "v1;v2",
        "enabled": False,
        "payload_format": "cloudevents",
    }
    trigger_update(trigger=trigger, actor=owner, url="https://new.example/hook", **common)
    row = Trigger.objects.get()
    assert (row.secret_encrypted, row.header_names) == (sealed, ["X-Token"])
    assert (row.condition, row.enable, row.payload_format, row.url, row.name) == (
        "v1;v2",
        "false",
        "cloudevents",
        "https://new.example/hook",
        "deploy",
    )
    with pytest.raises(ServiceError):
        trigger_update(
            trigger=row,
            actor=owner,
            url="https://b.example/",
            secret="",
            headers={},
            **common | {"condition": ";"},
        )
    assert Trigger.objects.get().secret_encrypted == sealed
    trigger_update(
        trigger=row, actor=owner, url="https://b.example/", secret="", headers={}, **common
    )
    row = Trigger.objects.get()
    assert (row.secret_encrypted, row.headers) == ("", {})


def test_enable_is_swr_s_string() -> None:
    assert (trigger_enable_parse("true"), trigger_enable_parse("false")) == (True, False)
    for bad in ("True", "1", "", "yes", None):
        with pytest.raises(ServiceError) as error:
            trigger_enable_parse(bad)
        assert _code(error) == "4000014"


def test_every_change_is_traced_with_swr_names_and_never_the_secret(make_trigger, owner) -> None:  # type: ignore[no-untyped-def]
    trigger = make_trigger(secret="s3cret", headers={"Authorization": "Bearer tok"})
    trigger_set_enabled(trigger=trigger, enabled=False, actor=owner)
    trigger_update(
        trigger=trigger,
        actor=owner,
        trigger_type="all",
        condition="",
        url="https://x.example/",
        enabled=True,
        payload_format="berth",
        secret="n3w",
    )
    trigger_test(trigger=trigger, actor=owner)
    trigger_delete(trigger=trigger, actor=owner)
    traces = list(AuditEvent.objects.filter(resource_type="trigger").order_by("id"))
    assert [t.action for t in traces] == [
        "createTrigger",
        "updateTrigger",
        "updateTrigger",
        "testTrigger",
        "deleteTrigger",
    ]
    assert {t.resource_name for t in traces} == {"trig/app:deploy"}
    assert all(t.actor_name == "owner" and t.organization == "trig" for t in traces)
    dumped = json.dumps([t.detail for t in traces])
    assert "s3cret" not in dumped and "n3w" not in dumped and "Bearer tok" not in dumped
    assert traces[0].detail["headers"] == ["Authorization"]


# -- firing ----------------------------------------------------------------------------------------


def _push(
    repo: Repository, tag: str, *, is_new: bool = True, digest: str = "sha256:" + "a" * 64
) -> TagPush:
    return TagPush(
        repository_id=repo.pk,
        tag=tag,
        digest=digest,
        pushed_at=timezone.now(),
        pushed_by="alice",
        is_new=is_new,
    )


def test_only_new_tags_fire_enabled_matching_triggers_once_per_push(
    make_trigger, repo, owner
) -> None:  # type: ignore[no-untyped-def]
    everything = make_trigger("everything")
    releases = make_trigger("releases", trigger_type="regular", condition="release-.*")
    make_trigger("off", enabled=False)
    other_repo = make_repository(repo.organization, "other")
    trigger_create(
        repository=other_repo,
        actor=owner,
        name="elsewhere",
        trigger_type="all",
        condition="",
        url="https://x.example/",
    )
    pushes = [
        _push(repo, "release-1"),
        _push(repo, "v1"),
        _push(repo, "release-0", is_new=False),  # an existing tag moved: SWR does not fire
    ]
    queued = triggers_fire_for_pushes(pushes=pushes)
    assert sorted((d.trigger.name, d.tag) for d in queued) == [
        ("everything", "release-1"),
        ("everything", "v1"),
        ("releases", "release-1"),
    ]
    # The same notification again (at-least-once delivery) queues nothing new.
    assert triggers_fire_for_pushes(pushes=pushes) == []
    assert TriggerDelivery.objects.count() == 3
    delivery = TriggerDelivery.objects.get(trigger=releases)
    job = _job(delivery)
    assert (job.kind, job.status, job.repository_id) == (
        Job.Kind.TRIGGER_DELIVERY,
        "pending",
        repo.pk,
    )
    assert delivery.payload == {
        "event": "push",
        "delivery_id": str(delivery.pk),
        "trigger": "releases",
        "namespace": "trig",
        "repository": "trig/app",
        "tag": "release-1",
        "digest": "sha256:" + "a" * 64,
        "pusher": "alice",
        "time": pushes[0].pushed_at.isoformat().replace("+00:00", "Z"),
        "pull_command": f"docker pull {_registry_host()}/trig/app:release-1",
        "workload": {
            "action": "webhook",
            "app_type": "",
            "application": "",
            "cluster_id": "",
            "cluster_name": "",
            "cluster_ns": "",
            "container": "",
            "trigger_mode": "",
        },
    }
    assert everything.deliveries.count() == 2


def _registry_host() -> str:
    from django.conf import settings

    return settings.REGISTRY_HOST


def test_a_tag_deleted_and_pushed_again_fires_again(make_trigger, repo) -> None:  # type: ignore[no-untyped-def]
    make_trigger()
    first = _push(repo, "v1")
    assert len(triggers_fire_for_pushes(pushes=[first])) == 1
    later = TagPush(**{**first.__dict__, "pushed_at": first.pushed_at + dt.timedelta(seconds=5)})
    assert len(triggers_fire_for_pushes(pushes=[later])) == 1


# -- delivering ------------------------------------------------------------------------------------


def test_delivery_is_signed_over_the_exact_body_with_berth_headers(
    make_trigger, repo, listener: Listener
) -> None:  # type: ignore[no-untyped-def]
    make_trigger(
        url=listener.url + "?via=berth", secret="s3cret", headers={"Authorization": "Bearer tok"}
    )
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    delivery = _run(delivery)

    (got,) = listener.received
    assert got.path == "/hook?via=berth"
    expected = "sha256=" + hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers[SIGNATURE_HEADER.lower()], expected)
    assert delivery_signature(secret="s3cret", body=got.body) == expected
    assert delivery_signature(secret="wrong", body=got.body) != expected
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("berth/")
    assert got.headers["x-berth-event"] == "push"
    assert got.headers["x-berth-delivery"] == str(delivery.pk)
    assert got.headers["authorization"] == "Bearer tok"
    assert got.json == delivery.payload
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("success", 1, 200)
    assert delivery.response_excerpt == '{"ok": true}'
    assert delivery.duration_ms is not None and delivery.finished_at is not None
    assert delivery.result == "success"
    assert [entry["status_code"] for entry in delivery.attempt_log] == [200]
    job = _job(delivery)
    assert job.status == "succeeded" and "answered HTTP 200" in job.message


def test_without_a_secret_there_is_no_signature(make_trigger, repo, listener: Listener) -> None:  # type: ignore[no-untyped-def]
    make_trigger(url=listener.url)
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    _run(delivery)
    assert SIGNATURE_HEADER.lower() not in listener.received[0].headers


def test_cloudevents_form_is_a_structured_cloudevent(
    make_trigger, repo, listener: Listener
) -> None:  # type: ignore[no-untyped-def]
    make_trigger(url=listener.url, payload_format="cloudevents", secret="k")
    push = _push(repo, "v2")
    (delivery,) = triggers_fire_for_pushes(pushes=[push])
    _run(delivery)
    (got,) = listener.received
    assert got.headers["content-type"] == "application/cloudevents+json; charset=utf-8"
    event = got.json
    assert set(event) == {
        "specversion",
        "type",
        "source",
        "id",
        "time",
        "subject",
        "datacontenttype",
        "data",
    }
    assert (event["specversion"], event["type"], event["id"]) == (
        "1.0",
        "io.berth.image.push",
        str(delivery.pk),
    )
    assert event["source"].endswith("/repos/trig/app/")
    assert event["time"] == push.pushed_at.isoformat().replace("+00:00", "Z")
    assert (event["datacontenttype"], event["subject"]) == ("application/json", "trig/app:v2")
    assert event["data"]["tag"] == "v2" and event["data"]["event"] == "push"
    assert got.headers[SIGNATURE_HEADER.lower()] == delivery_signature(secret="k", body=got.body)


@override_settings(JOB_MAX_ATTEMPTS=3, JOB_RETRY_SECONDS=0.05)
def test_a_500_is_retried_with_backoff_then_its_error_is_recorded(
    make_trigger, repo, listener: Listener
) -> None:  # type: ignore[no-untyped-def]
    listener.statuses, listener.body = [500], b"database is down"
    make_trigger(url=listener.url)
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    sent = Sent()
    delivery = _run(delivery, sent)
    assert (delivery.status, delivery.attempts, delivery.error_code) == (
        "retrying",
        1,
        "WEBHOOK.HTTP_500",
    )
    assert _job(delivery).status == "pending"
    delivery = _run(_run(delivery, sent), sent)

    assert len(listener.received) == 3
    assert {r.headers["x-berth-delivery"] for r in listener.received} == {str(delivery.pk)}
    assert len({r.body for r in listener.received}) == 1
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("failed", 3, 500)
    assert delivery.error_code == "WEBHOOK.HTTP_500"
    assert "answered HTTP 500 Internal Server Error" in delivery.error
    assert delivery.response_excerpt == "database is down"
    assert [e["status_code"] for e in delivery.attempt_log] == [500, 500, 500]
    assert [e["attempt"] for e in delivery.attempt_log] == [1, 2, 3]
    assert len(sent.calls) == 2 and all(c is not None and 0 < c <= 0.2 for _, c in sent.calls)
    job = _job(delivery)
    assert (job.status, job.error_code) == ("failed", "WEBHOOK.HTTP_500")


@override_settings(JOB_MAX_ATTEMPTS=3, JOB_RETRY_SECONDS=0.05)
@pytest.mark.parametrize("first", [503, 429, 408])
def test_a_retryable_answer_then_success_succeeds(
    make_trigger, repo, listener: Listener, first: int
) -> None:  # type: ignore[no-untyped-def]
    listener.statuses = [first, 204]
    make_trigger(url=listener.url)
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    delivery = _run(_run(delivery))
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("success", 2, 204)
    assert (delivery.error_code, delivery.error) == ("", "")
    assert [e["status_code"] for e in delivery.attempt_log] == [first, 204]


@pytest.mark.parametrize("status", [400, 401, 404, 410, 302])
def test_other_answers_fail_at_once(make_trigger, repo, listener: Listener, status: int) -> None:  # type: ignore[no-untyped-def]
    listener.statuses = [status]
    make_trigger(url=listener.url)
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    sent = Sent()
    delivery = _run(delivery, sent)
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("failed", 1, status)
    assert delivery.error_code == f"WEBHOOK.HTTP_{status}"
    assert sent.calls == []
    assert _job(delivery).error_code == f"WEBHOOK.HTTP_{status}"


@override_settings(JOB_MAX_ATTEMPTS=2, JOB_RETRY_SECONDS=0.05)
def test_an_unreachable_target_is_retried_then_failed_with_the_reason(make_trigger, repo) -> None:  # type: ignore[no-untyped-def]
    make_trigger(url=f"http://127.0.0.1:{free_port()}/hook")
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    delivery = _run(_run(delivery))
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("failed", 2, None)
    assert delivery.error_code == "WEBHOOK.CONNECTION"
    assert "Connection refused" in delivery.error


@override_settings(JOB_MAX_ATTEMPTS=1, TRIGGER_READ_TIMEOUT=0.3)
def test_a_slow_target_times_out(make_trigger, repo, listener: Listener) -> None:  # type: ignore[no-untyped-def]
    listener.delay = 1.0
    make_trigger(url=listener.url)
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    started = time.monotonic()
    delivery = _run(delivery)
    assert time.monotonic() - started < 0.9
    assert (delivery.status, delivery.error_code) == ("failed", "WEBHOOK.TIMEOUT")
    assert "did not answer within 0.3 s" in delivery.error


def test_a_long_answer_is_kept_as_an_excerpt(make_trigger, repo, listener: Listener) -> None:  # type: ignore[no-untyped-def]
    listener.body = b"x" * 100_000
    make_trigger(url=listener.url)
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    delivery = _run(delivery)
    assert delivery.status == "success" and delivery.response_excerpt == "x" * 4096


def test_a_trigger_disabled_or_deleted_before_sending_sends_nothing(
    make_trigger, repo, owner, listener: Listener
) -> None:  # type: ignore[no-untyped-def]
    trigger = make_trigger(url=listener.url)
    (disabled,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    (deleted,) = triggers_fire_for_pushes(pushes=[_push(repo, "v2")])
    trigger_set_enabled(trigger=trigger, enabled=False, actor=owner)
    disabled = _run(disabled)
    assert (disabled.status, disabled.error_code, disabled.attempts) == (
        "failed",
        "WEBHOOK.DISABLED",
        0,
    )
    trigger_delete(trigger=trigger, actor=owner)
    job_id = deleted.job_id
    assert job_id is not None
    job_run(job_id, lambda job: trigger_delivery_execute(job=job), task=Sent())
    assert listener.received == []
    assert Job.objects.get(pk=job_id).status == "succeeded"


def test_a_secret_sealed_under_another_key_fails_the_delivery_clearly(
    make_trigger, repo, listener: Listener
) -> None:  # type: ignore[no-untyped-def]
    trigger = make_trigger(url=listener.url)
    Trigger.objects.filter(pk=trigger.pk).update(
        secret_encrypted=seal("x", purpose="another purpose")
    )
    (delivery,) = triggers_fire_for_pushes(pushes=[_push(repo, "v1")])
    delivery = _run(delivery)
    assert (delivery.status, delivery.error_code) == ("failed", "WEBHOOK.SECRET")
    assert listener.received == []


def test_a_test_delivery_describes_the_newest_tag_or_a_sample(
    make_trigger, repo, owner, listener: Listener
) -> None:  # type: ignore[no-untyped-def]
    trigger = make_trigger(url=listener.url, enabled=False)  # tests work on disabled triggers
    sample = _run(trigger_test(trigger=trigger, actor=owner))
    assert sample.status == "success" and sample.event == "test"
    assert listener.received[0].headers["x-berth-event"] == "test"
    assert listener.received[0].json["tag"] == "sample"
    assert listener.received[0].json["pusher"] == "owner"

    make_tag(repo, "v1", pushed_at=timezone.now() - dt.timedelta(hours=1))
    newest = make_tag(repo, "v2", pushed_by="ci")
    make_tag(repo, "v0", pushed_at=timezone.now() - dt.timedelta(days=1))
    _run(trigger_test(trigger=trigger, actor=owner))
    payload = listener.received[1].json
    assert (payload["event"], payload["tag"], payload["digest"], payload["pusher"]) == (
        "test",
        "v2",
        newest.manifest.digest,
        "ci",
    )
    assert _job(sample).created_by == owner
