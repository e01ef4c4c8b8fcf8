"""Triggers from end to end: real pushes into the real registry → its notifications → the
indexer (which reports each pushed tag, new or not) → deliveries sent by a real Celery worker
to a real local HTTP listener.

What the indexer reports (`TagPush.is_new`) is recorded on the way, so each test checks both
what the index decided and what was delivered.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from dashboard.models import Organization, RegistryEvent, Repository, Tag, TriggerDelivery
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import BuiltImage, build_image, push_image
from dashboard.services import index
from dashboard.services import tags as tag_service
from dashboard.services import triggers as trigger_service
from dashboard.services.pushes import TagPush
from dashboard.services.triggers import trigger_create
from tests.servers import wait_for
from tests.test_triggers import Listener

pytestmark = pytest.mark.registry


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _image() -> BuiltImage:
    return build_image(labels={"build": _uid()})


@pytest.fixture
def listener() -> Iterator[Listener]:
    target = Listener()
    yield target
    target.close()


@pytest.fixture
def reported(monkeypatch: pytest.MonkeyPatch) -> list[TagPush]:
    """Every TagPush the indexer hands to triggers (which still fire as usual)."""
    seen: list[TagPush] = []
    fire = trigger_service.triggers_fire_for_pushes

    def recording(*, pushes: list[TagPush]) -> list[TriggerDelivery]:
        seen.extend(pushes)
        return fire(pushes=pushes)

    monkeypatch.setattr(trigger_service, "triggers_fire_for_pushes", recording)
    return seen


@pytest.fixture
def org(worker: object, owner: object, make_org: Callable[..., Organization]) -> Organization:
    return make_org(f"tp-{_uid()}", creator=owner)


def _indexed(path: str) -> bool:
    """The events of `path` so far are indexed and no indexer is mid-batch, so whatever they
    dispatched after their commit (trigger deliveries) exists."""
    pending = RegistryEvent.objects.filter(repository=path, processed_at=None).exists()
    return not pending and cache.get(index.INDEX_LOCK_KEY) is None


def _push(client: RegistryClient, path: str, image: BuiltImage, tag: str) -> None:
    """Push `image` as `tag` and wait until the index has taken that push in."""
    pushes = RegistryEvent.objects.filter(repository=path, action="push", tag=tag)
    before = pushes.count()
    push_image(client, path, image, tag)
    wait_for(
        lambda: pushes.count() > before and _indexed(path),
        timeout=30,
        what=f"the push of {path}:{tag} to be indexed",
    )


def _repository(path: str) -> Repository:
    org, _, name = path.partition("/")
    return Repository.objects.select_related("organization").get(organization__name=org, name=name)


def _all_sent(repository: Repository) -> list[TriggerDelivery]:
    """Wait until every delivery of the repository's triggers has finished; return them."""
    deliveries = TriggerDelivery.objects.filter(trigger__repository=repository)
    wait_for(
        lambda: not [d for d in deliveries.select_related("job") if d.waiting],
        timeout=30,
        what="the deliveries to finish",
    )
    return list(deliveries.select_related("trigger").order_by("id"))


def _new(reported: list[TagPush], tag: str) -> list[bool]:
    return [push.is_new for push in reported if push.tag == tag]


def test_a_new_tag_is_delivered_signed_with_who_pushed_it(
    org: Organization,
    owner: object,
    user_registry_client: Callable[..., RegistryClient],
    listener: Listener,
    reported: list[TagPush],
) -> None:
    client, path = user_registry_client("owner"), f"{org.name}/app"
    _push(client, path, _image(), "seed")
    repository = _repository(path)
    trigger_create(
        repository=repository,
        actor=owner,  # type: ignore[arg-type]
        name="deploy",
        trigger_type="all",
        condition="",
        url=listener.url,
        secret="s3cret",
        headers={"Authorization": "Bearer tok"},
    )
    image = _image()
    _push(client, path, image, "v1")

    (delivery,) = _all_sent(repository)
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("success", 1, 200)
    (got,) = listener.received
    signature = "sha256=" + hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-berth-signature-256"], signature)
    assert got.headers["authorization"] == "Bearer tok"
    payload = got.json
    assert (payload["event"], payload["tag"], payload["digest"]) == ("push", "v1", image.digest)
    assert (payload["repository"], payload["namespace"], payload["pusher"]) == (
        path,
        org.name,
        "owner",
    )
    assert payload["pull_command"].endswith(f"/{path}:v1")
    assert payload["delivery_id"] == got.headers["x-berth-delivery"] == str(delivery.pk)
    tag = Tag.objects.get(repository=repository, name="v1")
    assert payload["time"] == tag.pushed_at.isoformat().replace("+00:00", "Z")
    assert _new(reported, "seed") == [True] and _new(reported, "v1") == [True]


def test_conditions_pick_exactly_their_tags(
    org: Organization,
    owner: object,
    berth_registry_client: RegistryClient,
    listener: Listener,
) -> None:
    path = f"{org.name}/app"
    _push(berth_registry_client, path, _image(), "seed")
    repository = _repository(path)
    for name, trigger_type, condition in [
        ("every", "all", ""),
        ("listed", "tag", "v1; latest"),
        ("releases", "regular", "^release-[0-9]+$"),
    ]:
        trigger_create(
            repository=repository,
            actor=owner,  # type: ignore[arg-type]
            name=name,
            trigger_type=trigger_type,
            condition=condition,
            url=listener.url,
        )
    tags = ["v1", "v10", "release-2", "pre-release-2", "release-2b", "latest"]
    for tag in tags:
        _push(berth_registry_client, path, _image(), tag)

    delivered = {(d.trigger.name, d.tag) for d in _all_sent(repository)}
    assert delivered == {("every", tag) for tag in tags} | {
        ("listed", "v1"),
        ("listed", "latest"),
        ("releases", "release-2"),
    }
    assert {(r.json["trigger"], r.json["tag"]) for r in listener.received} == delivered
    assert len(listener.received) == len(delivered)


def test_re_pushing_a_tag_never_fires_but_a_deleted_tag_pushed_again_does(
    org: Organization,
    owner: object,
    berth_registry_client: RegistryClient,
    listener: Listener,
    reported: list[TagPush],
) -> None:
    client, path = berth_registry_client, f"{org.name}/app"
    first, second, third = _image(), _image(), _image()
    _push(client, path, first, "seed")
    repository = _repository(path)
    trigger_create(
        repository=repository,
        actor=owner,  # type: ignore[arg-type]
        name="all-tags",
        trigger_type="all",
        condition="",
        url=listener.url,
    )

    _push(client, path, first, "v1")
    assert [d.tag for d in _all_sent(repository)] == ["v1"]
    _push(client, path, first, "v1")  # the same image again
    _push(client, path, second, "v1")  # another image under the same tag
    assert [d.tag for d in _all_sent(repository)] == ["v1"]
    assert _new(reported, "v1") == [True, False, False]
    assert [p.digest for p in reported if p.tag == "v1"] == [
        first.digest,
        first.digest,
        second.digest,
    ]

    _push(client, path, third, "v2")
    # Deleted through Berth (a placeholder on distribution 2.8), then pushed again: new again.
    tag_service.tags_delete(repository=repository, names=["v1"], actor=owner)  # type: ignore[arg-type]
    wait_for(lambda: _indexed(path), timeout=30, what="the delete's events")
    _push(client, path, second, "v1")
    # Deleted in the registry by digest (the indexer removes the tag), then pushed again.
    client.delete_manifest(path, third.digest)
    wait_for(
        lambda: (
            not Tag.objects.filter(repository=repository, name="v2").exists() and _indexed(path)
        ),
        timeout=30,
        what="v2 to leave the index",
    )
    _push(client, path, third, "v2")

    sent = _all_sent(repository)
    assert [(d.tag, d.digest) for d in sent] == [
        ("v1", first.digest),
        ("v2", third.digest),
        ("v1", second.digest),
        ("v2", third.digest),
    ]
    assert all(d.status == "success" for d in sent)
    assert [r.json["tag"] for r in listener.received] == ["v1", "v2", "v1", "v2"]
    assert _new(reported, "v1") == [True, False, False, True]
    assert _new(reported, "v2") == [True, True]


def test_within_one_index_batch_a_tag_is_new_once_and_a_delete_makes_it_new_again(
    org: Organization,
    owner: object,
    berth_registry_client: RegistryClient,
    listener: Listener,
    reported: list[TagPush],
) -> None:
    client, path = berth_registry_client, f"{org.name}/app"
    first, second, gone = _image(), _image(), _image()
    _push(client, path, gone, "old")
    repository = _repository(path)
    trigger_create(
        repository=repository,
        actor=owner,  # type: ignore[arg-type]
        name="all-tags",
        trigger_type="all",
        condition="",
        url=listener.url,
    )
    events = RegistryEvent.objects.filter(repository=path)
    # The indexer waits for the lock, then takes all of these events in one batch.
    with index.cache_lock(index.INDEX_LOCK_KEY, ttl=60, wait=30) as locked:
        assert locked
        push_image(client, path, first, "v5")
        push_image(client, path, second, "v5")  # moved at once
        client.delete_manifest(path, gone.digest)  # "old" goes...
        push_image(client, path, gone, "old")  # ...and comes back
        wait_for(
            lambda: (
                events.filter(action="push", tag="v5").count() == 2
                and events.filter(action="push", tag="old").count() == 2
                and events.filter(action="delete", digest=gone.digest).exists()
            ),
            timeout=30,
            what="the registry's events",
        )
        assert events.filter(processed_at=None).count() == 5  # none indexed yet
    wait_for(lambda: _indexed(path), timeout=30, what="the batch to be indexed")

    sent = _all_sent(repository)
    assert sorted((d.tag, d.digest) for d in sent) == sorted(
        [("v5", second.digest), ("old", gone.digest)]
    )
    assert _new(reported, "v5") == [True]
    assert _new(reported, "old") == [True, True]  # its first push (before the trigger), then now


def test_a_disabled_trigger_stays_silent(
    org: Organization,
    owner: object,
    berth_registry_client: RegistryClient,
    listener: Listener,
) -> None:
    path = f"{org.name}/app"
    _push(berth_registry_client, path, _image(), "seed")
    repository = _repository(path)
    for name, enabled in (("on", True), ("off", False)):
        trigger_create(
            repository=repository,
            actor=owner,  # type: ignore[arg-type]
            name=name,
            trigger_type="all",
            condition="",
            url=listener.url,
            enabled=enabled,
            payload_format="cloudevents",
        )
    _push(berth_registry_client, path, _image(), "v1")
    assert [(d.trigger.name, d.tag) for d in _all_sent(repository)] == [("on", "v1")]
    (got,) = listener.received
    assert got.headers["content-type"].startswith("application/cloudevents+json")
    assert (got.json["specversion"], got.json["data"]["trigger"]) == ("1.0", "on")


@override_settings(JOB_RETRY_SECONDS=0.05, JOB_MAX_ATTEMPTS=3)
def test_a_500_is_retried_by_the_worker_then_recorded(
    org: Organization,
    owner: object,
    berth_registry_client: RegistryClient,
    listener: Listener,
) -> None:
    listener.statuses, listener.body = [500], b"upstream exploded"
    path = f"{org.name}/app"
    _push(berth_registry_client, path, _image(), "seed")
    repository = _repository(path)
    trigger_create(
        repository=repository,
        actor=owner,  # type: ignore[arg-type]
        name="flaky",
        trigger_type="tag",
        condition="v1",
        url=listener.url,
    )
    _push(berth_registry_client, path, _image(), "v1")

    (delivery,) = _all_sent(repository)
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("failed", 3, 500)
    assert (delivery.error_code, delivery.response_excerpt) == (
        "WEBHOOK.HTTP_500",
        "upstream exploded",
    )
    assert [e["status_code"] for e in delivery.attempt_log] == [500, 500, 500]
    assert len(listener.received) == 3
    job = delivery.job
    assert job is not None
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_code) == ("failed", 3, "WEBHOOK.HTTP_500")


def test_send_test_delivery_from_the_page_reaches_the_target(
    org: Organization,
    owner: object,
    berth_registry_client: RegistryClient,
    listener: Listener,
    client: Client,
) -> None:
    path = f"{org.name}/app"
    image = _image()
    _push(berth_registry_client, path, image, "v3")
    repository = _repository(path)
    trigger_create(
        repository=repository,
        actor=owner,  # type: ignore[arg-type]
        name="deploy",
        trigger_type="tag",
        condition="never-pushed",
        url=listener.url,
    )
    client.force_login(owner)  # type: ignore[arg-type]
    response = client.post(f"/repos/{path}/-/triggers/deploy/test/")
    assert response.status_code == 302

    (delivery,) = _all_sent(repository)
    assert (delivery.event, delivery.status, delivery.tag) == ("test", "success", "v3")
    (got,) = listener.received
    assert got.headers["x-berth-event"] == "test"
    assert (got.json["tag"], got.json["digest"]) == ("v3", image.digest)
