"""Triggers through the SWR API (SWR-SPEC.md §2.12): SWR's fields kept and read back, Berth's
webhook fields beside them (or SWR's `application` as the webhook), SWR's codes, `enable` as a
string, histories from the deliveries, who may read and change, and a trigger made with the
official SDK that POSTs a real webhook when a new tag reaches the real registry."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huaweicloudsdkswr.v2.model import (
    CreateTriggerRequest,
    CreateTriggerRequestBody,
    DeleteTriggerRequest,
    ListTriggersDetailsRequest,
    ShowTriggerRequest,
    UpdateTriggerRequest,
    UpdateTriggerRequestBody,
)

from dashboard.models import (
    AuditEvent,
    Level,
    Organization,
    RegistryEvent,
    Repository,
    Tag,
    Trigger,
    TriggerDelivery,
)
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from dashboard.services.index import INDEX_LOCK_KEY
from dashboard.services.sealed import unseal
from tests.index_rows import grant_org, make_repository
from tests.servers import wait_for
from tests.swr_api import Api, sdk_client, swr_error
from tests.test_triggers import Listener

BASE = "/v2/manage/namespaces/trig/repos/tools$app/triggers"
SWR = {
    "name": "deploy-web",
    "action": "update",
    "app_type": "deployments",
    "application": "web",
    "cluster_id": "c-1234",
    "cluster_name": "prod",
    "cluster_ns": "shop",
    "container": "nginx",
    "trigger_mode": "cce",
    "trigger_type": "tag",
    "condition": "v1;latest",
    "enable": "true",
}
BERTH = {"url": "https://deploy.example/hooks/web", "payload_format": "cloudevents"}


@pytest.fixture
def repo(owner, reader, make_org) -> Repository:  # type: ignore[no-untyped-def]
    organization = make_org("trig", creator=owner)
    grant_org(organization, reader, Level.READ)
    return make_repository(organization, "tools/app")


@pytest.fixture
def api(client: Client, owner, repo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client, owner)


@pytest.fixture
def listener() -> Iterator[Listener]:
    target = Listener()
    yield target
    target.close()


def _create(api: Api, **fields: Any) -> None:
    response = api.post(BASE, {**SWR, **BERTH, **fields})
    assert (response.status_code, response.content) == (201, b""), response.content


# -- create, read ----------------------------------------------------------------------------------


def test_create_answers_201_and_every_field_reads_back(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    _create(api, secret="s3cret", headers={"Authorization": "Bearer tok"})
    trigger = Trigger.objects.get(repository=repo)
    assert unseal(trigger.secret_encrypted, purpose="trigger-secret") == "s3cret"
    expected = {
        **SWR,
        "created_at": trigger.created_at.isoformat().replace("+00:00", "Z"),
        "creator_name": "owner",
        "trigger_history": [],
        **BERTH,
        "header_names": ["Authorization"],
    }
    assert api.get(BASE).json() == [expected]
    shown = api.get(f"{BASE}/deploy-web").json()
    assert shown == expected
    assert "s3cret" not in str(shown) and "Bearer tok" not in str(shown)
    assert AuditEvent.objects.filter(action="createTrigger", result="success").exists()


def test_without_url_an_http_application_is_the_webhook(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    body = {**SWR, "application": "http://deploy.example:8080/hook", "enable": "false"}
    assert api.post(BASE, body).status_code == 201
    trigger = Trigger.objects.get(repository=repo)
    assert (trigger.url, trigger.enabled, trigger.payload_format) == (
        "http://deploy.example:8080/hook",
        False,
        "berth",
    )
    shown = api.get(f"{BASE}/deploy-web").json()
    assert (shown["application"], shown["url"], shown["enable"]) == (
        "http://deploy.example:8080/hook",
        "http://deploy.example:8080/hook",
        "false",
    )


def test_without_url_or_an_http_application_it_is_400_and_says_so(api: Api) -> None:
    response = api.post(BASE, SWR)
    assert swr_error(response) == (400, "SVCSTG.SWR.4000014")
    assert "`url`" in response.json()["error_msg"]
    assert not Trigger.objects.exists()
    traced = AuditEvent.objects.get(action="createTrigger", result="failure")
    assert traced.detail["code"] == "SVCSTG.SWR.4000014"


def test_only_swr_s_required_fields_make_an_all_trigger(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "all", "trigger_type": "all", "enable": "true", **BERTH}
    assert api.post(BASE, body).status_code == 201
    shown = api.get(f"{BASE}/all").json()
    assert (shown["condition"], shown["action"], shown["trigger_mode"]) == (".*", "update", "")


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "1st"},
        {"name": ""},
        {"name": "a" * 65},
        {"trigger_type": "sometimes"},
        {"condition": ""},
        {"trigger_type": "regular", "condition": "(unclosed"},
        {"condition": "v1;bad tag"},
        {"enable": True},
        {"enable": "yes"},
        {"enable": None},
        {"action": "delete"},
        {"app_type": "pods"},
        {"trigger_mode": "k8s"},
        {"container": "c" * 129},
        {"cluster_ns": "shop\r\nx"},
        {"url": "ftp://deploy.example/"},
        {"url": "https://ci:pw@deploy.example/"},
        {"secret": "s" * 257},
        {"headers": ["Authorization"]},
        {"headers": {"Content-Type": "text/plain"}},
        {"payload_format": "xml"},
        {"name": ["deploy"]},
    ],
)
def test_invalid_triggers_are_400_with_4000014_and_nothing_is_stored(
    api: Api, fields: dict[str, Any]
) -> None:
    assert swr_error(api.post(BASE, {**SWR, **BERTH, **fields})) == (400, "SVCSTG.SWR.4000014")
    assert not Trigger.objects.exists()


@pytest.mark.parametrize("missing", ["name", "trigger_type", "enable"])
def test_swr_s_required_fields_are_required(api: Api, missing: str) -> None:
    body = {key: value for key, value in {**SWR, **BERTH}.items() if key != missing}
    assert swr_error(api.post(BASE, body)) == (400, "SVCSTG.SWR.4000014")


def test_a_taken_name_is_409(api: Api) -> None:
    _create(api)
    assert swr_error(api.post(BASE, {**SWR, **BERTH})) == (409, "SVCSTG.SWR.4090111")
    assert Trigger.objects.count() == 1


# -- histories -------------------------------------------------------------------------------------


def _delivery(trigger: Trigger, tag: str, status: str, minutes: int, **fields: Any) -> None:
    TriggerDelivery.objects.create(
        trigger=trigger,
        tag=tag,
        status=status,
        created_at=timezone.now() - dt.timedelta(minutes=minutes),
        **fields,
    )


def test_the_history_is_the_finished_deliveries_newest_first(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    _create(api)
    trigger = Trigger.objects.get()
    _delivery(trigger, "v1", "success", 30, status_code=200)
    _delivery(
        trigger,
        "latest",
        "failed",
        20,
        status_code=500,
        error_code="WEBHOOK.HTTP_500",
        error="deploy.example answered HTTP 500 Internal Server Error.",
    )
    _delivery(trigger, "v1", "pending", 10)
    _delivery(trigger, "sample", "success", 5, status_code=204, event="test")

    history = api.get(f"{BASE}/deploy-web").json()["trigger_history"]
    workload = {key: SWR[key] for key in ("action", "app_type", "application", "cluster_id")}
    workload |= {key: SWR[key] for key in ("cluster_name", "cluster_ns", "container")}
    assert [(h["tag"], h["result"]) for h in history] == [
        ("sample", "success"),
        ("latest", "failed"),
        ("v1", "success"),
    ]
    assert history[1] == {
        **workload,
        "condition": "v1;latest",
        "created_at": TriggerDelivery.objects.get(tag="latest")
        .created_at.isoformat()
        .replace("+00:00", "Z"),
        "creator_name": "owner",
        "detail": "Push of latest: deploy.example answered HTTP 500 Internal Server Error.",
        "result": "failed",
        "tag": "latest",
    }
    assert history[0]["detail"] == "Test delivery: deploy.example answered HTTP 204."
    assert history[2]["detail"] == "Push of v1: deploy.example answered HTTP 200."
    assert api.get(BASE).json()[0]["trigger_history"] == history


def test_the_list_costs_the_same_queries_for_2_and_12_triggers(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(BASE).status_code == 200
        return len(queries)

    def add(first: int, last: int) -> None:
        for number in range(first, last):
            _create(api, name=f"t{number}")
            trigger = Trigger.objects.get(name=f"t{number}")
            for minutes in range(3):
                _delivery(trigger, f"v{minutes}", "success", minutes, status_code=200)

    add(0, 2)
    count()  # the token's first use is recorded once
    small = count()
    add(2, 12)
    assert count() == small
    assert len(api.get(BASE).json()) == 12


# -- enable, delete --------------------------------------------------------------------------------


def test_patch_takes_enable_as_a_string_and_answers_201(api: Api) -> None:
    _create(api)
    url = f"{BASE}/deploy-web"
    response = api.patch(url, {"enable": "false"})
    assert (response.status_code, response.content) == (201, b"")
    assert Trigger.objects.get().enabled is False
    assert api.get(url).json()["enable"] == "false"
    assert api.patch(url, {"enable": "true"}).status_code == 201
    assert Trigger.objects.get().enabled is True
    bodies: list[Any] = [{"enable": False}, {"enable": "no"}, {}, []]
    for body in bodies:
        assert swr_error(api.patch(url, body)) == (400, "SVCSTG.SWR.4000014"), body
    assert Trigger.objects.get().enabled is True
    assert AuditEvent.objects.filter(action="updateTrigger", result="success").count() == 2


def test_delete_answers_204_and_takes_the_deliveries(api: Api) -> None:
    _create(api)
    _delivery(Trigger.objects.get(), "v1", "success", 1, status_code=200)
    response = api.delete(f"{BASE}/deploy-web")
    assert (response.status_code, response.content) == (204, b"")
    assert not Trigger.objects.exists() and not TriggerDelivery.objects.exists()
    assert AuditEvent.objects.filter(action="deleteTrigger", result="success").exists()


def test_an_unknown_trigger_is_404_with_4040111(api: Api) -> None:
    for method, body in (("get", None), ("patch", {"enable": "true"}), ("delete", None)):
        response = api.call(method, f"{BASE}/nope", body)
        assert swr_error(response) == (404, "SVCSTG.SWR.4040111"), method


# -- who may --------------------------------------------------------------------------------------


CALLS: list[tuple[str, str, Any]] = [
    ("post", BASE, {**SWR, **BERTH, "name": "other"}),
    ("get", BASE, None),
    ("get", f"{BASE}/deploy-web", None),
    ("patch", f"{BASE}/deploy-web", {"enable": "false"}),
    ("delete", f"{BASE}/deploy-web", None),
]


def test_without_credentials_every_call_is_401(api: Api, client: Client) -> None:
    _create(api)
    for method, path, body in CALLS:
        assert swr_error(Api(client).call(method, path, body)) == (401, "SVCSTG.SWR.4010000")


def test_an_outsider_gets_404_and_a_reader_reads_but_cannot_change(
    api: Api, client: Client, outsider, reader
) -> None:  # type: ignore[no-untyped-def]
    _create(api)
    stranger, read_only = Api(client, outsider), Api(client, reader)
    for method, path, body in CALLS:
        response = stranger.call(method, path, body)
        assert swr_error(response) == (404, "SVCSTG.SWR.4040010"), (method, path)
        response = read_only.call(method, path, body)
        if method == "get":
            assert response.status_code == 200, (method, path)
        else:
            assert swr_error(response) == (403, "SVCSTG.SWR.4037018"), (method, path)
    trigger = Trigger.objects.get()
    assert (trigger.name, trigger.enabled) == ("deploy-web", True)
    refused = AuditEvent.objects.filter(result="failure", actor_name="reader")
    assert sorted(refused.values_list("action", flat=True)) == [
        "createTrigger",
        "deleteTrigger",
        "updateTrigger",
    ]


# -- the official SDK, a real registry and a real webhook ------------------------------------------


def _indexed(path: str, tag: str) -> bool:
    """The tag is indexed, and so is every event of `path` so far, with no indexer mid-batch:
    what the indexer hands to triggers after its commit has been handed."""
    namespace, _, name = path.partition("/")
    known = Tag.objects.filter(
        repository__organization__name=namespace, repository__name=name, name=tag
    ).exists()
    pending = RegistryEvent.objects.filter(repository=path, processed_at=None).exists()
    return known and not pending and cache.get(INDEX_LOCK_KEY) is None


@pytest.mark.registry
@pytest.mark.django_db(transaction=True)
def test_a_trigger_made_with_the_sdk_posts_the_webhook_for_a_new_tag(
    worker: object,
    live_server: Any,
    owner: Any,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
    listener: Listener,
) -> None:
    org = make_org(f"trg-{uuid.uuid4().hex[:8]}", creator=owner)
    path = f"{org.name}/tools/app"

    def push(tag: str) -> str:
        image = build_image(labels={"u": uuid.uuid4().hex})
        push_image(berth_registry_client, path, image, tag)
        wait_for(lambda: _indexed(path, tag), timeout=30, what=f"the index to take {path}:{tag}")
        return image.digest

    push("seed")
    sdk = sdk_client(live_server.url, owner)
    created = sdk.create_trigger(
        CreateTriggerRequest(
            namespace=org.name,
            repository="tools$app",
            body=CreateTriggerRequestBody(
                name="deploy",
                action="update",
                app_type="deployments",
                application=listener.url,
                cluster_id="c-1",
                cluster_name="prod",
                cluster_ns="shop",
                container="web",
                trigger_mode="cce",
                trigger_type="regular",
                condition="^v[0-9]+$",
                enable="true",
            ),
        )
    )
    assert created.status_code == 201
    digest = push("v1")
    push("rc-1")  # does not match: no delivery

    deliveries = TriggerDelivery.objects.filter(trigger__repository__organization=org)
    wait_for(lambda: deliveries.filter(status="success").exists(), timeout=30, what="the webhook")
    (got,) = listener.received
    payload = got.json
    assert (payload["event"], payload["tag"], payload["digest"]) == ("push", "v1", digest)
    assert payload["repository"] == path
    assert payload["workload"] == {
        "action": "update",
        "app_type": "deployments",
        "application": listener.url,
        "cluster_id": "c-1",
        "cluster_name": "prod",
        "cluster_ns": "shop",
        "container": "web",
        "trigger_mode": "cce",
    }

    shown = sdk.show_trigger(
        ShowTriggerRequest(namespace=org.name, repository="tools$app", trigger="deploy")
    )
    assert (shown.name, shown.enable, shown.condition, shown.container) == (
        "deploy",
        "true",
        "^v[0-9]+$",
        "web",
    )
    assert [(h.tag, h.result) for h in shown.trigger_history] == [("v1", "success")]
    listed = sdk.list_triggers_details(
        ListTriggersDetailsRequest(namespace=org.name, repository="tools$app")
    )
    assert [t.name for t in listed.body] == ["deploy"]

    updated = sdk.update_trigger(
        UpdateTriggerRequest(
            namespace=org.name,
            repository="tools$app",
            trigger="deploy",
            body=UpdateTriggerRequestBody(enable="false"),
        )
    )
    assert updated.status_code == 201
    push("v2")  # disabled: nothing more is sent
    assert deliveries.count() == 1 and len(listener.received) == 1
    deleted = sdk.delete_trigger(
        DeleteTriggerRequest(namespace=org.name, repository="tools$app", trigger="deploy")
    )
    assert deleted.status_code == 204
    assert not Trigger.objects.filter(repository__organization=org).exists()
