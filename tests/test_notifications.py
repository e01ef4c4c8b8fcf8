"""The notification receiver: who may post, what it accepts, and that each event is kept once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from dashboard.models import RegistryEvent
from dashboard.services.index import INDEX_PENDING_KEY, events_store

URL = "/service/notifications"
CONTENT_TYPE = "application/vnd.docker.distribution.events.v1+json"


def _auth(secret: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret or settings.NOTIFY_SECRET}"}


def _event(**overrides: Any) -> dict:
    """A manifest push event shaped as distribution 2.8 sends it (REGISTRY-FACTS.md §2.3)."""
    digest = "sha256:" + uuid.uuid4().hex * 2
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "timestamp": "2026-11-29T17:47:41.887034263Z",
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": 501,
            "digest": digest,
            "length": 501,
            "repository": "team/app",
            "url": f"http://127.0.0.1:5100/v2/team/app/manifests/{digest}",
            "tag": "v1",
        },
        "request": {"id": "r1", "addr": "127.0.0.1:1", "host": "h", "method": "PUT"},
        "actor": {"name": "pusher"},
        "source": {"addr": "vm:5100", "instanceID": "i1"},
    }
    event.update(overrides)
    return event


def _post(client: Client, body: object, headers: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body, indent=3)
    return client.post(URL, data, content_type=CONTENT_TYPE, headers=headers or _auth())


@pytest.fixture(autouse=True)
def _no_indexing() -> Iterator[None]:
    """Hold the debounce key, so these tests queue no indexing task for a worker to run."""
    cache.set(INDEX_PENDING_KEY, "test", 60)
    yield
    cache.delete(INDEX_PENDING_KEY)


@pytest.mark.django_db
def test_event_is_stored_with_its_fields(client: Client) -> None:
    event = _event()
    response = _post(client, {"events": [event]})
    assert response.status_code == 200
    assert response.json() == {"received": 1, "stored": 1}
    row = RegistryEvent.objects.get(event_id=event["id"])
    assert (row.action, row.repository, row.tag, row.actor) == ("push", "team/app", "v1", "pusher")
    assert row.digest == event["target"]["digest"]
    assert row.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert row.timestamp.isoformat() == "2026-11-29T17:47:41.887034+00:00"
    assert row.payload == event
    assert row.processed_at is None


@pytest.mark.django_db
def test_duplicate_delivery_is_stored_once(client: Client) -> None:
    event = _event()
    assert _post(client, {"events": [event]}).json()["stored"] == 1
    again = _post(client, {"events": [event, event]})
    assert again.status_code == 200
    assert again.json() == {"received": 2, "stored": 0}
    assert RegistryEvent.objects.filter(event_id=event["id"]).count() == 1


@pytest.mark.django_db
def test_events_store_counts_only_new_events() -> None:
    first, second = _event(), _event()
    assert events_store(events=[first]) == 1
    assert events_store(events=[first, second, second]) == 1
    assert RegistryEvent.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-secret"},
        {"Authorization": "Basic dGVzdDp0ZXN0"},
        {"Authorization": "test-notify-secret"},
    ],
    ids=["missing", "forged", "basic", "no-scheme"],
)
def test_forged_or_missing_secret_is_refused(client: Client, headers: dict[str, str]) -> None:
    response = client.post(
        URL, json.dumps({"events": [_event()]}), content_type=CONTENT_TYPE, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error_code"] == "SVCSTG.SWR.4010000"
    assert not RegistryEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[]", '{"events"'),
        ('{"events": {"id": "x"}}', '{"events"'),
        ('{"other": []}', '{"events"'),
        ('{"events": ["text"]}', "JSON object"),
        ('{"events": [{"action": "push"}]}', "`id`"),
        ('{"events": [{"id": "", "action": "push"}]}', "`id`"),
        ('{"events": [{"id": 7, "action": "push"}]}', "`id`"),
        ('{"events": [{"id": "' + "x" * 65 + '"}]}', "64"),
        ('{"events": [{"id": "a", "target": "x"}]}', "objects"),
        ('{"events": [{"id": "a", "target": {"repository": 5}}]}', "`repository`"),
        ('{"events": [{"id": "a", "timestamp": "yesterday"}]}', "`timestamp`"),
        ('{"events": [{"id": "a", "action": ["push"]}]}', "`action`"),
    ],
)
def test_malformed_bodies_are_refused_with_a_clear_error(
    client: Client, body: str, fragment: str
) -> None:
    response = _post(client, body)
    assert response.status_code == 400
    assert fragment in response.json()["error_msg"]
    assert not RegistryEvent.objects.exists()


@pytest.mark.django_db
def test_one_bad_event_refuses_the_whole_body(client: Client) -> None:
    response = _post(client, {"events": [_event(), {"action": "push"}]})
    assert response.status_code == 400
    assert not RegistryEvent.objects.exists()


@pytest.mark.django_db
def test_only_post_is_allowed(client: Client) -> None:
    assert client.get(URL, headers=_auth()).status_code == 405
    assert client.put(URL, "{}", headers=_auth()).status_code == 405


@pytest.mark.django_db
def test_empty_event_list_is_fine(client: Client) -> None:
    response = _post(client, {"events": []})
    assert response.status_code == 200
    assert response.json() == {"received": 0, "stored": 0}


@pytest.mark.django_db
def test_receiver_queues_indexing_once_while_a_run_is_pending(client: Client) -> None:
    from dashboard.services.index import events_index_enqueue

    cache.delete(INDEX_PENDING_KEY)
    assert events_index_enqueue() is True
    assert events_index_enqueue() is False
    assert cache.get(INDEX_PENDING_KEY) is not None


def test_prune_events_drops_only_old_processed_events(db: None) -> None:
    import datetime as dt

    from django.utils import timezone

    from dashboard.models import RegistryEvent
    from dashboard.services.index import events_prune

    now = timezone.now()
    old = now - dt.timedelta(days=8)

    def event(name: str, received: dt.datetime, processed: dt.datetime | None) -> None:
        RegistryEvent.objects.create(
            event_id=name,
            action="push",
            timestamp=received,
            payload={},
            received_at=received,
            processed_at=processed,
        )

    event("old-done", old, old)
    event("old-pending", old, None)
    event("new-done", now, now)

    assert events_prune(older_than=dt.timedelta(days=7)) == 1
    assert set(RegistryEvent.objects.values_list("event_id", flat=True)) == {
        "old-pending",
        "new-done",
    }
