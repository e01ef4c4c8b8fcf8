"""The repository's Triggers tab: who sees and does what, the forms, the deliveries, and query
counts that stay flat however many triggers and deliveries there are."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.models import Level, Repository, Trigger, TriggerDelivery
from dashboard.services.errors import PREFIX
from dashboard.services.pushes import TagPush
from dashboard.services.triggers import trigger_create, triggers_fire_for_pushes
from tests.index_rows import grant_org, make_repository
from tests.pages import HTMX, toasts

pytestmark = pytest.mark.django_db

URL = "/repos/pt/app/-/triggers/"
CREATE_ERRORS = {**HTMX, "HTTP_X_BERTH_ERROR_TARGET": "#trigger-create-error"}
VALID = {
    "name": "deploy",
    "trigger_type": "regular",
    "condition": "release-.*",
    "url": "https://deploy.example.internal/hook",
    "secret": "TOP-SECRET-VALUE",
    "headers": "Authorization: Bearer HIDDEN-TOKEN\nX-Team: core",
    "payload_format": "berth",
    "enabled": "on",
}


@pytest.fixture
def repo(owner, reader, make_org) -> Repository:  # type: ignore[no-untyped-def]
    organization = make_org("pt", creator=owner)
    grant_org(organization, reader, Level.READ)
    return make_repository(organization, "app")


@pytest.fixture
def trigger(repo, owner) -> Trigger:  # type: ignore[no-untyped-def]
    return trigger_create(
        repository=repo,
        actor=owner,
        name="deploy",
        trigger_type="tag",
        condition="v1;latest",
        url="https://deploy.example.internal/hook",
        secret="TOP-SECRET-VALUE",
        headers={"Authorization": "Bearer HIDDEN-TOKEN"},
    )


def _deliver(trigger: Trigger, tag: str, **outcome: Any) -> TriggerDelivery:
    """A delivery queued as a push queues it, then given an outcome."""
    push = TagPush(
        repository_id=trigger.repository_id,
        tag=tag,
        digest="sha256:" + "b" * 64,
        pushed_at=timezone.now(),
        pushed_by="ci",
        is_new=True,
    )
    (delivery,) = [d for d in triggers_fire_for_pushes(pushes=[push]) if d.trigger_id == trigger.pk]
    if outcome:
        TriggerDelivery.objects.filter(pk=delivery.pk).update(**outcome)
        delivery.refresh_from_db()
    return delivery


def _failed(**extra: Any) -> dict[str, Any]:
    return {
        "status": "failed",
        "attempts": 3,
        "status_code": 503,
        "error_code": "WEBHOOK.HTTP_503",
        "error": "deploy.example.internal answered HTTP 503 Service Unavailable.",
        "response_excerpt": "maintenance window",
        "duration_ms": 41,
        "attempt_log": [
            {"attempt": n, "at": "2026-01-01T00:00:00Z", "status_code": 503, "duration_ms": 41}
            | {"error_code": "WEBHOOK.HTTP_503", "error": "answered HTTP 503"}
            for n in (1, 2, 3)
        ],
        "finished_at": timezone.now(),
        **extra,
    }


def _code(response) -> str:  # type: ignore[no-untyped-def]
    body = response.content.decode()
    return body.split('data-error-code="', 1)[1].split('"', 1)[0].removeprefix(PREFIX)


def _posts(name: str = "deploy") -> list[tuple[str, dict[str, str]]]:
    return [
        (URL, {**VALID, "name": "other"}),
        (f"{URL}{name}/", {**VALID, "url": "https://evil.example/"}),
        (f"{URL}{name}/enable/", {"enable": "false"}),
        (f"{URL}{name}/delete/", {}),
        (f"{URL}{name}/test/", {}),
    ]


def _unchanged(trigger: Trigger) -> None:
    row = Trigger.objects.get()
    assert (row.name, row.url, row.enabled, row.condition) == (
        trigger.name,
        trigger.url,
        trigger.enabled,
        trigger.condition,
    )
    assert not TriggerDelivery.objects.filter(event="test").exists()


# -- who may ---------------------------------------------------------------------------------------


def test_outsider_gets_404_on_every_page_and_post(client, outsider, trigger) -> None:  # type: ignore[no-untyped-def]
    client.force_login(outsider)
    for url in (URL, f"{URL}deploy/deliveries/", f"{URL}deploy/delete/"):
        assert client.get(url).status_code == 404
        assert client.get(url, **HTMX).status_code == 404
    for url, data in _posts():
        assert client.post(url, data).status_code == 404, url
        assert client.post(url, data, **HTMX).status_code == 404, url
    _unchanged(trigger)


def test_reader_sees_triggers_and_deliveries_without_any_form_and_every_post_is_403(
    client, reader, trigger
) -> None:  # type: ignore[no-untyped-def]
    _deliver(trigger, "v1", **_failed())
    client.force_login(reader)
    for headers in ({}, HTMX):
        response = client.get(URL, **headers)
        assert response.status_code == 200
        body = response.content.decode()
        assert 'data-trigger="deploy" data-enabled="true"' in body
        assert "https://deploy.example.internal/hook" in body
        assert "<code>v1</code>, <code>latest</code>" in body
        assert "WEBHOOK.HTTP_503" in body and "maintenance window" in body
        assert 'data-status="failed"' in body
        for form_part in ('id="trigger-create"', "/enable/", "/delete/", "/test/", 'name="secret"'):
            assert form_part not in body, form_part
    assert client.get(f"{URL}deploy/deliveries/").status_code == 200
    response = client.get(f"{URL}deploy/delete/", **HTMX)
    assert response.status_code == 403
    for url, data in _posts():
        response = client.post(url, data, **CREATE_ERRORS)
        assert response.status_code == 403, url
        assert _code(response) == "4037018"
        assert client.post(url, data).status_code == 403
    _unchanged(trigger)


def test_the_secret_and_header_values_are_never_shown(client, owner, trigger) -> None:  # type: ignore[no-untyped-def]
    _deliver(trigger, "v1")
    client.force_login(owner)
    for url in (URL, f"{URL}deploy/deliveries/"):
        body = client.get(url).content.decode()
        assert "TOP-SECRET-VALUE" not in body and "HIDDEN-TOKEN" not in body
    body = client.get(URL).content.decode()
    assert "<code>Authorization</code>" in body and "(values hidden)" in body
    assert "X-Berth-Signature-256" in body


def test_an_unknown_trigger_is_404_with_its_code(client, owner, trigger) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post(f"{URL}nope/enable/", {"enable": "false"}, **CREATE_ERRORS)
    assert response.status_code == 404 and _code(response) == "4040111"
    assert client.get(f"{URL}nope/deliveries/").status_code == 404


# -- what managers do ------------------------------------------------------------------------------


def test_manager_adds_a_trigger_through_the_form(client, owner, repo) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    page = client.get(URL).content.decode()
    assert 'id="trigger-create"' in page and 'id="no-triggers"' in page
    response = client.post(URL, VALID, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="triggers"')
    assert 'data-trigger="deploy" data-enabled="true"' in body
    assert "TOP-SECRET-VALUE" not in body and "HIDDEN-TOKEN" not in body
    assert toasts(response)[0]["message"] == "Trigger deploy added."
    trigger = Trigger.objects.get()
    assert (trigger.trigger_type, trigger.condition, trigger.creator_name) == (
        "regular",
        "release-.*",
        "owner",
    )
    assert trigger.header_names == ["Authorization", "X-Team"] and trigger.secret_encrypted
    assert trigger.matches("release-7") and not trigger.matches("release7")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"condition": "release-("}, 400, "4000014"),
        ({"trigger_type": "tag", "condition": " ; "}, 400, "4000014"),
        ({"url": "ftp://deploy.example.internal/"}, 400, "4000014"),
        ({"headers": "Authorization Bearer x"}, 400, "4000014"),
        ({"headers": "X-Berth-Delivery: 1"}, 400, "4000014"),
        ({"name": "9lives"}, 400, "4000014"),
        ({"payload_format": "soap"}, 400, "4000014"),
    ],
)
def test_bad_input_is_refused_inline_with_its_code_and_nothing_is_stored(
    client, owner, repo, change: dict[str, str], status: int, code: str
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post(URL, {**VALID, **change}, **CREATE_ERRORS)
    assert response.status_code == status
    assert response["HX-Retarget"] == "#trigger-create-error"
    assert _code(response) == code
    assert not Trigger.objects.exists()


def test_a_taken_name_is_409(client, owner, trigger) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post(URL, VALID, **CREATE_ERRORS)
    assert response.status_code == 409 and _code(response) == "4090111"
    assert Trigger.objects.count() == 1


def test_manager_edits_disables_tests_and_deletes(client, owner, trigger) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    sealed = trigger.secret_encrypted
    edit = {
        "trigger_type": "all",
        "condition": "",
        "url": "https://new.example.internal/hook",
        "payload_format": "cloudevents",
        "enabled": "on",
        "secret": "",
        "headers": "",
    }
    response = client.post(f"{URL}deploy/", edit, **HTMX)
    assert response.status_code == 200 and toasts(response)[0]["message"] == "Trigger deploy saved."
    row = Trigger.objects.get()
    assert (row.trigger_type, row.condition, row.url, row.payload_format) == (
        "all",
        ".*",
        "https://new.example.internal/hook",
        "cloudevents",
    )
    assert (row.secret_encrypted, row.header_names) == (sealed, ["Authorization"])  # kept

    response = client.post(f"{URL}deploy/", {**edit, "clear_secret": "on", "replace_headers": "on"})
    assert response.status_code == 302 and response["Location"] == URL
    row = Trigger.objects.get()
    assert (row.secret_encrypted, row.headers) == ("", {})

    response = client.post(f"{URL}deploy/enable/", {"enable": "maybe"}, **CREATE_ERRORS)
    assert response.status_code == 400 and _code(response) == "4000014"
    response = client.post(f"{URL}deploy/enable/", {"enable": "false"}, **HTMX)
    assert 'data-trigger="deploy" data-enabled="false"' in response.content.decode()
    assert not Trigger.objects.get().enabled

    response = client.post(f"{URL}deploy/test/", **HTMX)
    assert response.status_code == 200
    delivery = TriggerDelivery.objects.get()
    assert (delivery.event, delivery.tag, delivery.status) == ("test", "sample", "pending")
    assert (
        toasts(response)[0]["message"] == f"Test delivery #{delivery.pk} of deploy queued (sample)."
    )
    body = response.content.decode()
    assert f'data-delivery="{delivery.pk}" data-status="pending"' in body
    assert f'hx-get="{URL}deploy/deliveries/?recent=1"' in body  # polls until it is sent

    confirm = client.get(f"{URL}deploy/delete/", **HTMX)
    assert confirm.status_code == 200
    assert f'action="{URL}deploy/delete/"' in confirm.content.decode()
    response = client.post(f"{URL}deploy/delete/", **HTMX)
    assert response.status_code == 200 and 'id="no-triggers"' in response.content.decode()
    assert not Trigger.objects.exists() and not TriggerDelivery.objects.exists()


# -- deliveries ------------------------------------------------------------------------------------


def test_deliveries_page_lists_every_attempt_page_by_page(client, reader, trigger) -> None:  # type: ignore[no-untyped-def]
    failed = _deliver(trigger, "v1", **_failed())
    for _ in range(26):
        _deliver(trigger, "latest", status="success", status_code=200, attempts=1)
    client.force_login(reader)
    first = client.get(f"{URL}deploy/deliveries/")
    assert first.status_code == 200
    assert len(first.context["page"].object_list) == 25
    assert f'data-delivery="{failed.pk}"' not in first.content.decode()
    second = client.get(f"{URL}deploy/deliveries/?page=2", **HTMX).content.decode()
    assert second.lstrip().startswith('<div id="deliveries">')
    assert f'data-attempts="{failed.pk}"' in second
    assert second.count("HTTP 503, 41 ms") == 3
    assert "maintenance window" in second


def test_the_latest_deliveries_poll_until_none_is_waiting(client, reader, trigger) -> None:  # type: ignore[no-untyped-def]
    waiting = _deliver(trigger, "v1")
    client.force_login(reader)
    url = f"{URL}deploy/deliveries/?recent=1"
    response = client.get(url, **HTMX)
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.content.decode()
    TriggerDelivery.objects.filter(pk=waiting.pk).update(status="success", status_code=200)
    response = client.get(url, **HTMX)
    assert response.status_code == 286  # htmx stops polling
    body = response.content.decode()
    assert 'data-status="success"' in body and "every 2s" not in body


def test_a_delivery_whose_job_was_cancelled_says_so_and_stops_polling(
    client, owner, trigger
) -> None:  # type: ignore[no-untyped-def]
    delivery = _deliver(trigger, "v1")
    assert delivery.job is not None
    delivery.job.status = "cancelled"
    delivery.job.save(update_fields=["status"])
    client.force_login(owner)
    response = client.get(f"{URL}deploy/deliveries/?recent=1", **HTMX)
    assert response.status_code == 286
    assert 'data-status="cancelled"' in response.content.decode()


# -- query counts ----------------------------------------------------------------------------------


def _queries(client: Client, url: str, **headers: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_triggers_or_deliveries(client, owner, repo) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    one = trigger_create(
        repository=repo,
        actor=owner,
        name="t0",
        trigger_type="all",
        condition="",
        url="https://x.example/",
    )
    _deliver(one, "v0")
    small = (
        _queries(client, URL),
        _queries(client, URL, **HTMX),
        _queries(client, f"{URL}t0/deliveries/"),
    )

    for number in range(1, 8):
        trigger_create(
            repository=repo,
            actor=owner,
            name=f"t{number}",
            trigger_type="all",
            condition="",
            url="https://x.example/",
        )
    for number in range(1, 9):  # every trigger matches: 8 deliveries each
        triggers_fire_for_pushes(
            pushes=[
                TagPush(
                    repository_id=repo.pk,
                    tag=f"v{number}",
                    digest="sha256:" + "c" * 64,
                    pushed_at=timezone.now(),
                    pushed_by="ci",
                    is_new=True,
                )
            ]
        )
    assert TriggerDelivery.objects.count() == 8 * 8 + 1
    big = (
        _queries(client, URL),
        _queries(client, URL, **HTMX),
        _queries(client, f"{URL}t0/deliveries/"),
    )
    assert big == small
    body = client.get(URL).content.decode()
    assert body.count("data-delivery=") == 8 * 5  # the five latest of each
