"""The event-fed index: real pushes → the registry's events → the receiver → a real worker → rows.

And the rules that keep it right whatever order or how often events arrive: duplicates change
nothing, an older event never overwrites a newer state, deletes remove exactly what went.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from dashboard.models import (
    Category,
    Manifest,
    Organization,
    RegistryEvent,
    Repository,
    Tag,
)
from dashboard.registry.client import OCI_MANIFEST, RegistryClient
from dashboard.registry.errors import RegistryUnavailable
from dashboard.registry.images import BuiltImage, build_image, build_index, push_image
from dashboard.services.index import (
    GIVE_UP_AFTER,
    INDEX_LOCK_KEY,
    INDEX_PENDING_KEY,
    PLACEHOLDER_ANNOTATION,
    cache_lock,
    events_index_drain,
    events_index_pending,
    events_store,
    manifest_ensure_details,
    manifest_index,
    repository_get_or_create_for_path,
    repository_refresh_counters,
    tag_forget,
    tag_set,
)
from tests.servers import RegistryProcess, wait_for

pytestmark = pytest.mark.registry

CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _tag(path: str, name: str) -> Tag | None:
    org, _, repo = path.partition("/")
    return (
        Tag.objects.select_related("manifest", "repository")
        .filter(repository__organization__name=org, repository__name=repo, name=name)
        .first()
    )


def _wait_tag(path: str, name: str, digest: str | None = None) -> Tag:
    def ready() -> Tag | None:
        tag = _tag(path, name)
        if tag is None or (digest is not None and tag.manifest.digest != digest):
            return None
        return tag

    return wait_for(ready, timeout=30, what=f"{path}:{name} in the index")  # type: ignore[return-value]


def _wait_gone(path: str, name: str) -> None:
    wait_for(lambda: _tag(path, name) is None, timeout=30, what=f"{path}:{name} to go")


def _repository(path: str) -> Repository:
    org, _, name = path.partition("/")
    return Repository.objects.get(organization__name=org, name=name)


def _placeholder(client: RegistryClient, path: str) -> tuple[bytes, str]:
    """A throwaway manifest as Berth's single-tag delete pushes it on distribution 2.8."""
    config = client.ensure_blob(path, b"{}")
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": config,
                "size": 2,
            },
            "layers": [],
            "annotations": {PLACEHOLDER_ANNOTATION: str(uuid.uuid4())},
        }
    ).encode()
    return body, OCI_MANIFEST


# -- real pushes through the worker ----------------------------------------------------------


def test_pushed_oci_image_is_indexed_with_size_digest_created_and_platform(
    worker: object, berth_registry_client: RegistryClient, make_org: Callable[..., Organization]
) -> None:
    make_org(f"idx{_uid()}")
    path = f"{Organization.objects.latest('id').name}/app"
    image = build_image(
        fmt="oci", architecture="arm64", variant="v8", labels={"team": "core"}, created=CREATED
    )
    digest = push_image(berth_registry_client, path, image, "v1")

    tag = _wait_tag(path, "v1")
    manifest = tag.manifest
    assert manifest.digest == digest == image.digest
    assert manifest.media_type == OCI_MANIFEST
    assert manifest.size == image.size > 0
    assert manifest.manifest_size == len(image.manifest)
    assert manifest.created == CREATED
    assert (manifest.os, manifest.architecture, manifest.variant) == ("linux", "arm64", "v8")
    assert manifest.labels == {"team": "core"}
    assert manifest.config_digest == json.loads(image.manifest)["config"]["digest"]
    assert (manifest.config or {})["architecture"] == "arm64"
    assert manifest.raw == image.manifest.decode()
    assert [layer["size"] for layer in manifest.layers] == [
        layer["size"] for layer in json.loads(image.manifest)["layers"]
    ]
    assert tag.pushed_by == "berth"
    assert tag.pushed_at <= timezone.now()

    repo = tag.repository
    assert (repo.is_public, repo.category) == (False, Category.OTHER)
    assert (repo.tag_count, repo.size) == (1, image.size)
    assert repo.updated_at == tag.pushed_at
    event = RegistryEvent.objects.get(repository=path, tag="v1", action="push")
    assert event.processed_at is not None and event.error == ""


def test_pushed_docker_schema2_image_is_indexed(
    worker: object, berth_registry_client: RegistryClient
) -> None:
    path = f"idx{_uid()}/docker"
    image = build_image(fmt="docker", architecture="amd64", created=CREATED)
    push_image(berth_registry_client, path, image, "1.0")

    tag = _wait_tag(path, "1.0")
    assert tag.manifest.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert tag.manifest.size == image.size
    assert (tag.manifest.os, tag.manifest.architecture) == ("linux", "amd64")
    assert tag.manifest.created == CREATED
    # Pushed with an admin token into an organization the index did not know.
    organization = tag.repository.organization
    assert organization.name == path.split("/")[0]
    assert organization.creator is None


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_pushed_multi_arch_index_has_each_platform_with_its_size(
    worker: object, berth_registry_client: RegistryClient, fmt: str
) -> None:
    path = f"idx{_uid()}/multi"
    amd = build_image(fmt=fmt, architecture="amd64", layers=1)
    arm = build_image(fmt=fmt, architecture="arm64", variant="v8", layers=2)
    index = build_index([amd, arm], fmt=fmt)
    push_image(berth_registry_client, path, index, "latest")

    tag = _wait_tag(path, "latest")
    manifest = tag.manifest
    assert manifest.is_index
    assert manifest.digest == index.digest
    assert manifest.size == amd.size + arm.size == index.size
    assert manifest.layers == []
    platforms = {p["architecture"]: p for p in manifest.platforms}
    assert set(platforms) == {"amd64", "arm64"}
    assert platforms["amd64"] == {
        "digest": amd.digest,
        "media_type": amd.media_type,
        "size": amd.size,
        "os": "linux",
        "architecture": "amd64",
        "variant": "",
    }
    assert (platforms["arm64"]["size"], platforms["arm64"]["variant"]) == (arm.size, "v8")
    # The children are indexed too (their own untagged push events), with their configs.
    children = Manifest.objects.filter(
        repository=tag.repository, digest__in=[amd.digest, arm.digest]
    )
    assert {c.architecture: c.size for c in children} == {"amd64": amd.size, "arm64": arm.size}
    assert Tag.objects.filter(repository=tag.repository).count() == 1
    assert tag.repository.size == index.size


def test_two_tags_sharing_one_digest_share_one_manifest(
    worker: object, berth_registry_client: RegistryClient
) -> None:
    path = f"idx{_uid()}/shared"
    image = build_image()
    push_image(berth_registry_client, path, image, "v1")
    push_image(berth_registry_client, path, image, "latest")

    first, second = _wait_tag(path, "v1"), _wait_tag(path, "latest")
    assert first.manifest_id == second.manifest_id
    repo = _repository(path)
    assert Manifest.objects.filter(repository=repo).count() == 1
    wait_for(lambda: _repository(path).tag_count == 2, what="the tag counter")
    assert _repository(path).size == image.size  # counted once


def test_user_push_through_the_realm_records_who_pushed(
    worker: object,
    user_registry_client: Callable[[str], RegistryClient],
    owner: object,
    make_org: Callable[..., Organization],
) -> None:
    org = make_org(f"own{_uid()}", owner)
    path = f"{org.name}/web"
    push_image(user_registry_client("owner"), path, build_image(), "v1")

    tag = _wait_tag(path, "v1")
    assert tag.pushed_by == "owner"
    assert tag.repository.organization == org


def test_repushed_tag_moves_to_the_new_digest(
    worker: object, berth_registry_client: RegistryClient
) -> None:
    path = f"idx{_uid()}/moving"
    old, new = build_image(files={"a": b"1"}), build_image(files={"a": b"2"})
    push_image(berth_registry_client, path, old, "latest")
    first = _wait_tag(path, "latest", old.digest)
    push_image(berth_registry_client, path, new, "latest")

    moved = _wait_tag(path, "latest", new.digest)
    assert moved.pk == first.pk
    assert moved.pushed_at >= first.pushed_at
    wait_for(lambda: _repository(path).size == new.size, what="the size to follow the tag")


def test_delete_by_digest_removes_exactly_its_tags_and_manifest(
    worker: object, berth_registry_client: RegistryClient
) -> None:
    path = f"idx{_uid()}/del"
    doomed, kept = build_image(files={"x": b"doomed"}), build_image(files={"x": b"kept"})
    for tag in ("v1", "v1-alias"):
        push_image(berth_registry_client, path, doomed, tag)
    push_image(berth_registry_client, path, kept, "v2")
    for tag in ("v1", "v1-alias", "v2"):
        _wait_tag(path, tag)

    berth_registry_client.delete_manifest(path, doomed.digest)

    _wait_gone(path, "v1")
    _wait_gone(path, "v1-alias")
    repo = _repository(path)
    assert not Manifest.objects.filter(repository=repo, digest=doomed.digest).exists()
    assert _tag(path, "v2").manifest.digest == kept.digest  # type: ignore[union-attr]
    wait_for(lambda: _repository(path).tag_count == 1, what="the tag counter")
    assert _repository(path).size == kept.size
    assert sorted(berth_registry_client.tags(path)) == ["v2"]


def test_single_tag_delete_through_a_placeholder_leaves_its_sibling(
    worker: object, berth_registry_client: RegistryClient
) -> None:
    path = f"idx{_uid()}/single"
    image = build_image()
    push_image(berth_registry_client, path, image, "keep")
    push_image(berth_registry_client, path, image, "drop")
    _wait_tag(path, "keep")
    _wait_tag(path, "drop")

    # What Berth's delete service does on distribution 2.8 (without touching the index here):
    body, media_type = _placeholder(berth_registry_client, path)
    placeholder = berth_registry_client.put_manifest(path, "drop", body, media_type)
    berth_registry_client.delete_manifest(path, placeholder)

    _wait_gone(path, "drop")
    assert _tag(path, "keep").manifest.digest == image.digest  # type: ignore[union-attr]
    repo = _repository(path)
    wait_for(
        lambda: not RegistryEvent.objects.filter(repository=path, processed_at=None).exists(),
        what="every event processed",
    )
    assert not Manifest.objects.filter(repository=repo, digest=placeholder).exists()
    assert list(Manifest.objects.filter(repository=repo).values_list("digest", flat=True)) == [
        image.digest
    ]
    assert berth_registry_client.head_manifest(path, "keep").digest == image.digest


def test_placeholder_pushed_into_a_new_repository_creates_nothing(
    worker: object, berth_registry_client: RegistryClient
) -> None:
    path = f"idx{_uid()}/ghost"
    body, media_type = _placeholder(berth_registry_client, path)
    berth_registry_client.put_manifest(path, "t", body, media_type)
    wait_for(
        lambda: (
            RegistryEvent.objects.filter(repository=path, tag="t")
            .exclude(processed_at=None)
            .exists()
        ),
        what="the placeholder's push event processed",
    )
    assert not Repository.objects.filter(name="ghost").exists()
    assert _tag(path, "t") is None


# -- ordering, duplicates, deletes: the replay rules (events_store + events_index_pending) ----


def _push_event(path: str, tag: str, digest: str, at: dt.datetime, actor: str = "ci") -> dict:
    return {
        "id": str(uuid.uuid4()),
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "action": "push",
        "target": {
            "mediaType": OCI_MANIFEST,
            "digest": digest,
            "repository": path,
            "url": f"http://registry/v2/{path}/manifests/{digest}",
            "tag": tag,
        },
        "actor": {"name": actor},
    }


def _delete_event(path: str, at: dt.datetime, *, tag: str = "", digest: str = "") -> dict:
    target = {
        "repository": path,
        **({"tag": tag} if tag else {}),
        **({"digest": digest} if digest else {}),
    }
    return {
        "id": str(uuid.uuid4()),
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "action": "delete",
        "target": target,
        "actor": {"name": "ci"},
    }


@pytest.fixture
def pushed(
    transactional_db: None, berth_registry_client: RegistryClient
) -> Iterator[Callable[[str, BuiltImage, str], str]]:
    """Push into the real registry with this test's events kept away from any worker.

    The debounce key is held, so the receiver queues no task; the test runs the indexer itself.
    """
    cache.set(INDEX_PENDING_KEY, "test", 300)

    def push(path: str, image: BuiltImage, tag: str) -> str:
        return push_image(berth_registry_client, path, image, tag)

    yield push
    cache.delete(INDEX_PENDING_KEY)


def _index_all() -> int:
    total = 0
    while done := events_index_pending():
        total += done
    return total


def _forget_received(path: str, count: int) -> None:
    """Wait for the registry's `count` events of `path`; mark them processed (replayed by hand)."""
    wait_for(
        lambda: RegistryEvent.objects.filter(repository=path).count() == count,
        what=f"{count} events of {path}",
    )
    RegistryEvent.objects.filter(repository=path).update(processed_at=timezone.now())


def test_older_push_event_never_overwrites_a_newer_tag(pushed: Callable[..., str]) -> None:
    path = f"ord{_uid()}/app"
    old, new = build_image(files={"v": b"old"}), build_image(files={"v": b"new"})
    pushed(path, old, "seed-old")
    pushed(path, new, "seed-new")
    _forget_received(path, 2)
    t0 = timezone.now()

    # Delivered out of order: the newer push first.
    events_store(events=[_push_event(path, "latest", new.digest, t0 + dt.timedelta(seconds=2))])
    events_store(events=[_push_event(path, "latest", old.digest, t0 + dt.timedelta(seconds=1))])
    _index_all()

    tag = _tag(path, "latest")
    assert tag is not None
    assert tag.manifest.digest == new.digest
    assert tag.pushed_at == t0 + dt.timedelta(seconds=2)


def test_delete_event_older_than_the_tag_leaves_it(pushed: Callable[..., str]) -> None:
    path = f"ord{_uid()}/app"
    image = build_image()
    pushed(path, image, "seed")
    _forget_received(path, 1)
    t0 = timezone.now()
    events_store(events=[_push_event(path, "v1", image.digest, t0)])
    events_store(events=[_delete_event(path, t0 - dt.timedelta(seconds=5), tag="v1")])
    events_store(events=[_delete_event(path, t0 - dt.timedelta(seconds=5), digest=image.digest)])
    _index_all()
    assert _tag(path, "v1") is not None
    assert Manifest.objects.filter(digest=image.digest, repository__name="app").exists()

    events_store(events=[_delete_event(path, t0 + dt.timedelta(seconds=1), tag="v1")])
    _index_all()
    assert _tag(path, "v1") is None


def test_duplicate_events_and_reruns_converge(pushed: Callable[..., str]) -> None:
    path = f"dup{_uid()}/app"
    image = build_image()
    pushed(path, image, "seed")
    _forget_received(path, 1)
    event = _push_event(path, "v1", image.digest, timezone.now(), actor="alice")
    assert events_store(events=[event]) == 1
    assert events_store(events=[event]) == 0
    assert _index_all() == 1
    assert events_store(events=[event]) == 0
    assert _index_all() == 0
    repo = _repository(path)
    assert Tag.objects.filter(repository=repo, name="v1").count() == 1
    assert Manifest.objects.filter(repository=repo).count() == 1
    assert RegistryEvent.objects.filter(event_id=event["id"]).count() == 1


def test_push_of_a_manifest_already_deleted_has_no_effect(
    pushed: Callable[..., str], berth_registry_client: RegistryClient
) -> None:
    path = f"gone{_uid()}/app"
    image = build_image()
    pushed(path, image, "v1")
    wait_for(lambda: RegistryEvent.objects.filter(repository=path, tag="v1").exists(), what="event")
    berth_registry_client.delete_manifest(path, image.digest)
    wait_for(
        lambda: RegistryEvent.objects.filter(repository=path, action="delete").count() >= 2,
        what="the delete events",
    )

    _index_all()
    assert not Repository.objects.filter(organization__name=path.split("/")[0]).exists()
    assert not RegistryEvent.objects.filter(repository=path, processed_at=None).exists()
    assert not RegistryEvent.objects.filter(repository=path).exclude(error="").exists()


def test_registry_down_leaves_events_pending_until_it_is_back(
    pushed: Callable[..., str], registry: RegistryProcess
) -> None:
    path = f"down{_uid()}/app"
    image = build_image()
    pushed(path, image, "v1")
    wait_for(lambda: RegistryEvent.objects.filter(repository=path).count() == 1, what="event")
    registry.stop()
    try:
        with pytest.raises(RegistryUnavailable):
            events_index_pending(client=RegistryClient(registry.url, retries=0))
        event = RegistryEvent.objects.get(repository=path)
        assert event.processed_at is None
        assert "cannot be reached" in event.error
        assert _tag(path, "v1") is None
    finally:
        registry.start()

    assert _index_all() == 1
    assert _tag(path, "v1") is not None
    event.refresh_from_db()
    assert event.processed_at is not None and event.error == ""


def test_event_failing_for_too_long_is_given_up_not_blocking_the_queue(
    pushed: Callable[..., str], registry: RegistryProcess
) -> None:
    path = f"stale{_uid()}/app"
    pushed(path, build_image(), "v1")
    wait_for(lambda: RegistryEvent.objects.filter(repository=path).count() == 1, what="event")
    RegistryEvent.objects.filter(repository=path).update(
        received_at=timezone.now() - GIVE_UP_AFTER - dt.timedelta(seconds=1)
    )
    later = _push_event(path, "other", "sha256:" + "0" * 64, timezone.now())
    events_store(events=[later])
    registry.stop()
    try:
        with pytest.raises(RegistryUnavailable):
            events_index_pending(client=RegistryClient(registry.url, retries=0))
    finally:
        registry.start()
    stale = RegistryEvent.objects.get(repository=path, tag="v1")
    assert stale.processed_at is not None
    assert "RegistryUnavailable" in stale.error
    assert _tag(path, "v1") is None  # reconcile brings it back
    # The fresh event behind it waits for the registry, and is not held back any more.
    assert RegistryEvent.objects.get(event_id=later["id"]).processed_at is None
    assert events_index_pending() == 1


def test_drain_that_cannot_get_the_lock_queues_a_retry(db: None) -> None:
    events_store(events=[_push_event("lk/app", "v1", "sha256:" + "0" * 64, timezone.now())])
    cache.delete(INDEX_PENDING_KEY)
    with cache_lock(INDEX_LOCK_KEY, ttl=30, wait=0) as locked:
        assert locked
        assert events_index_drain(lock_wait=0) == 0
    assert cache.get(INDEX_PENDING_KEY) is not None  # a retry is queued, the event not left
    assert RegistryEvent.objects.get().processed_at is None
    cache.delete(INDEX_PENDING_KEY)


def test_events_without_an_organization_part_are_skipped(db: None) -> None:
    events_store(events=[_push_event("library", "v1", "sha256:" + "0" * 64, timezone.now())])
    assert events_index_pending() == 1
    assert not Repository.objects.exists()
    assert RegistryEvent.objects.get().processed_at is not None


def test_query_count_does_not_grow_with_the_number_of_events(
    pushed: Callable[..., str], django_assert_max_num_queries: Any
) -> None:
    path = f"qc{_uid()}/app"
    images = [build_image(files={"n": str(i).encode()}) for i in range(12)]
    for i, image in enumerate(images):
        for name in ("t", "alias", "other"):
            pushed(path, image, f"{name}{i}")
    wait_for(
        lambda: RegistryEvent.objects.filter(repository=path).count() == 36,
        what="36 push events",
    )
    # Fewer queries than events, creating the organization and repository included, and the
    # three reactions to pushes (triggers, sync rules, retention policies: one query each).
    with django_assert_max_num_queries(28):
        assert events_index_pending() == 36
    repo = _repository(path)
    assert Tag.objects.filter(repository=repo).count() == 36
    assert Manifest.objects.filter(repository=repo).count() == 12
    assert repo.tag_count == 36
    assert repo.size == sum(image.size for image in images)

    # Known digests, more tags: still the same small number of queries.
    t0 = timezone.now()
    events_store(
        events=[
            _push_event(path, f"extra{i}", images[i % 12].digest, t0 + dt.timedelta(seconds=i))
            for i in range(60)
        ]
    )
    # 17: the index's queries, the audit traces (the actors by name, one insert) and the
    # three reactions to pushes.
    with django_assert_max_num_queries(17):
        assert events_index_pending() == 60
    assert Tag.objects.filter(repository=repo).count() == 96


# -- the service functions other parts call ----------------------------------------------------


def test_tag_set_keeps_the_newest_state(db: None) -> None:
    repo = repository_get_or_create_for_path(path=f"svc{_uid()}/app")
    assert repo is not None
    one = Manifest.objects.create(repository=repo, digest="sha256:" + "1" * 64, size=10)
    two = Manifest.objects.create(repository=repo, digest="sha256:" + "2" * 64, size=20)
    t0 = timezone.now()

    tag = tag_set(repository=repo, name="v", manifest=two, pushed_at=t0, pushed_by="new")
    older = tag_set(
        repository=repo, name="v", manifest=one, pushed_at=t0 - dt.timedelta(1), pushed_by="old"
    )
    assert (older.pk, older.manifest_id, older.pushed_by) == (tag.pk, two.pk, "new")
    newer = tag_set(
        repository=repo, name="v", manifest=one, pushed_at=t0 + dt.timedelta(1), pushed_by="x"
    )
    assert (newer.manifest_id, newer.pushed_by) == (one.pk, "x")

    repository_refresh_counters(repositories=[repo])
    repo.refresh_from_db()
    assert (repo.tag_count, repo.size, repo.updated_at) == (1, 10, newer.pushed_at)

    assert tag_forget(repository=repo, names=["v"], before=t0) == 0  # pushed after `before`
    assert tag_forget(repository=repo, names=["v"]) == 1
    repo.refresh_from_db()
    assert (repo.tag_count, repo.size) == (0, 0)


def test_reconcile_seen_tag_adopts_the_real_push_time(db: None) -> None:
    repo = repository_get_or_create_for_path(path=f"svc{_uid()}/app")
    assert repo is not None
    manifest = Manifest.objects.create(repository=repo, digest="sha256:" + "3" * 64)
    seen = timezone.now()
    tag_set(repository=repo, name="v", manifest=manifest, pushed_at=seen, pushed_by="")
    pushed_at = seen - dt.timedelta(minutes=3)
    tag = tag_set(repository=repo, name="v", manifest=manifest, pushed_at=pushed_at, pushed_by="a")
    assert (tag.pushed_at, tag.pushed_by) == (pushed_at, "a")


def test_repository_for_path(db: None) -> None:
    assert repository_get_or_create_for_path(path="library") is None
    assert repository_get_or_create_for_path(path="/x") is None
    repo = repository_get_or_create_for_path(path="team/group/app")
    assert repo is not None
    assert (repo.organization.name, repo.name) == ("team", "group/app")
    assert repository_get_or_create_for_path(path="team/group/app") == repo


def test_manifest_index_fetches_once_and_ensure_details_refills(
    transactional_db: None, berth_registry_client: RegistryClient
) -> None:
    path = f"svc{_uid()}/details"
    image = build_image(labels={"a": "b"}, created=CREATED)
    push_image(berth_registry_client, path, image, "v1")
    repo = repository_get_or_create_for_path(path=path)
    assert repo is not None

    manifest = manifest_index(repository=repo, digest=image.digest, client=berth_registry_client)
    assert (manifest.size, manifest.labels, manifest.created) == (image.size, {"a": "b"}, CREATED)
    again = manifest_index(repository=repo, digest=image.digest, client=berth_registry_client)
    assert again.pk == manifest.pk

    Manifest.objects.filter(pk=manifest.pk).update(raw="", config=None)
    manifest.refresh_from_db()
    filled = manifest_ensure_details(manifest=manifest)
    assert filled.raw == image.manifest.decode()
    assert filled.config["config"]["Labels"] == {"a": "b"}  # type: ignore[index]
    filled.refresh_from_db()
    assert filled.config is not None

    from dashboard.registry.errors import RegistryNotFound

    with pytest.raises(RegistryNotFound):
        manifest_index(repository=repo, digest="sha256:" + "9" * 64, client=berth_registry_client)
