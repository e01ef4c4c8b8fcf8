"""Deleting without surprises: exactly the chosen tags go, checked in the registry and the index.

Images are pushed through the real registry and the real worker turns the events into the
index. Each deletion must update the index at once: it runs while the indexer's lock is held,
so what the index shows right after comes from the service, not from the registry's events.
Once the events are indexed too, the index must still say the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from dashboard.models import (
    Level,
    Manifest,
    Organization,
    OrganizationPermission,
    RegistryEvent,
    Repository,
    Tag,
)
from dashboard.registry import errors
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import BuiltImage, build_image, build_index, push_image
from dashboard.services import index
from dashboard.services import tags as tag_service
from dashboard.services.errors import (
    FORBIDDEN_IMAGE,
    INVALID_PARAMETERS,
    MANIFEST_NOT_FOUND,
    PREFIX,
    TAG_NOT_FOUND,
    ServiceError,
)
from tests.servers import wait_for

pytestmark = pytest.mark.registry


def _uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def org(worker: object, owner: object, make_org: Callable[..., Organization]) -> Organization:
    return make_org(f"del-{_uid()}", creator=owner)


def _push(
    client: RegistryClient, org: Organization, name: str, image: BuiltImage, *tags: str
) -> Repository:
    """Push `image` under each tag, each once the index shows the one before at its digest.

    One at a time because distribution 2.8 rewrites a manifest's link files on every PUT, and
    a GET racing that rewrite fails (500 "invalid checksum digest format").
    """
    path = f"{org.name}/{name}"
    for tag in tags:
        push_image(client, path, image, tag)
        indexed = Tag.objects.filter(
            repository__organization=org,
            repository__name=name,
            name=tag,
            manifest__digest=image.digest,
        )
        wait_for(indexed.exists, timeout=30, what=f"the index to show {path}:{tag}")
    return Repository.objects.get(organization=org, name=name)


@contextmanager
def _index_paused() -> Iterator[None]:
    """Keep the event indexer out while the block runs; it catches up afterwards."""
    with index.cache_lock(index.INDEX_LOCK_KEY, ttl=60, wait=30) as locked:
        assert locked
        yield


def _events_settled(path: str) -> None:
    """Wait until the registry's events for `path` so far are indexed."""
    wait_for(
        lambda: not RegistryEvent.objects.filter(repository=path, processed_at=None).exists(),
        timeout=30,
        what=f"the events of {path} to be indexed",
    )


def _tag_names(repository: Repository) -> set[str]:
    return set(Tag.objects.filter(repository=repository).values_list("name", flat=True))


def _pullable(client: RegistryClient, path: str, tag: str, image: BuiltImage) -> bool:
    """What a pull does: the manifest by tag, then every blob it names."""
    got = client.get_manifest(path, tag)
    assert got.digest == image.digest
    return all(client.get_blob(path, digest) == blob for digest, blob in image.blobs.items())


def test_deleting_one_of_two_sibling_tags_leaves_the_other(
    org,
    owner,
    berth_registry_client: RegistryClient,
    user_registry_client: Callable[..., RegistryClient],
) -> None:
    image, other = build_image(labels={"c": _uid()}), build_image(labels={"c": _uid()})
    repo = _push(berth_registry_client, org, "app", image, "v1", "stable")
    _push(berth_registry_client, org, "app", other, "v2")
    path = repo.full_name

    with _index_paused():
        removed = tag_service.tags_delete(repository=repo, names=["v1"], actor=owner)
        # The index, at once.
        assert _tag_names(repo) == {"stable", "v2"}
        repo.refresh_from_db()
        assert repo.tag_count == 2

    assert removed == ["v1"]
    # The registry: only v1 went; its sibling still points at the same image and pulls.
    assert sorted(berth_registry_client.tags(path)) == ["stable", "v2"]
    assert berth_registry_client.head_manifest(path, "stable").digest == image.digest
    assert _pullable(user_registry_client("owner"), path, "stable", image)
    # The registry's own events (placeholder push, deletes) leave the index as it is.
    _events_settled(path)
    assert _tag_names(repo) == {"stable", "v2"}
    assert Tag.objects.get(repository=repo, name="stable").manifest.digest == image.digest
    # Distribution 2.8 cannot delete by tag; that is learned once and remembered.
    assert tag_service._delete_by_tag[berth_registry_client.base_url] is False


def test_deleting_several_tags_removes_exactly_those(
    org, owner, berth_registry_client: RegistryClient
) -> None:
    image = build_image(labels={"c": _uid()})
    repo = _push(berth_registry_client, org, "many", image, "a", "b", "c", "d")

    removed = tag_service.tags_delete(repository=repo, names=["b", "d", "b"], actor=owner)

    assert removed == ["b", "d"]
    assert sorted(berth_registry_client.tags(repo.full_name)) == ["a", "c"]
    assert _tag_names(repo) == {"a", "c"}
    # The placeholders never reach the index, not even after the worker has seen their events.
    wait_for(
        lambda: (
            Tag.objects.filter(repository=repo).count() == 2
            and not Manifest.objects.filter(repository=repo, raw__contains="org.berth.placeholder")
        ),
        what="the index to stay free of placeholders",
    )


def test_deleting_a_tag_that_does_not_exist_is_404_and_deletes_nothing(
    org, owner, berth_registry_client: RegistryClient
) -> None:
    image = build_image(labels={"c": _uid()})
    repo = _push(berth_registry_client, org, "app", image, "v1")

    with pytest.raises(ServiceError) as info:
        tag_service.tags_delete(repository=repo, names=["v1", "nope"], actor=owner)

    assert info.value.code == PREFIX + TAG_NOT_FOUND
    assert info.value.status == 404
    assert berth_registry_client.tags(repo.full_name) == ["v1"]
    assert _tag_names(repo) == {"v1"}


def test_delete_by_digest_plans_and_removes_every_tag_on_it(
    org, owner, berth_registry_client: RegistryClient
) -> None:
    image, other = build_image(labels={"c": _uid()}), build_image(labels={"c": _uid()})
    repo = _push(berth_registry_client, org, "app", image, "latest", "v1", "v1.0")
    _push(berth_registry_client, org, "app", other, "v2")

    plan = tag_service.manifest_delete_plan(repository=repo, digest=image.digest)
    assert [t.name for t in plan] == ["latest", "v1", "v1.0"]

    with _index_paused():
        removed = tag_service.manifest_delete(repository=repo, digest=image.digest, actor=owner)
        assert _tag_names(repo) == {"v2"}
        assert not Manifest.objects.filter(repository=repo, digest=image.digest).exists()
        repo.refresh_from_db()
        assert repo.tag_count == 1

    assert removed == ["latest", "v1", "v1.0"]
    assert berth_registry_client.tags(repo.full_name) == ["v2"]
    with pytest.raises(errors.RegistryNotFound):
        berth_registry_client.head_manifest(repo.full_name, image.digest)
    _events_settled(repo.full_name)
    assert _tag_names(repo) == {"v2"}


def test_delete_by_digest_refuses_bad_and_unknown_digests(
    org, owner, berth_registry_client: RegistryClient
) -> None:
    repo = _push(berth_registry_client, org, "app", build_image(labels={"c": _uid()}), "v1")
    with pytest.raises(ServiceError) as bad:
        tag_service.manifest_delete(repository=repo, digest="v1", actor=owner)
    assert (bad.value.code, bad.value.status) == (PREFIX + INVALID_PARAMETERS, 400)
    with pytest.raises(ServiceError) as unknown:
        tag_service.manifest_delete(repository=repo, digest="sha256:" + "0" * 64, actor=owner)
    assert (unknown.value.code, unknown.value.status) == (PREFIX + MANIFEST_NOT_FOUND, 404)
    assert berth_registry_client.tags(repo.full_name) == ["v1"]


def test_a_platform_of_a_multi_arch_image_is_not_deleted_alone(
    org, owner, berth_registry_client: RegistryClient
) -> None:
    amd, arm = build_image(architecture="amd64"), build_image(architecture="arm64", variant="v8")
    multi = build_index([amd, arm])
    repo = _push(berth_registry_client, org, "multi", multi, "latest")
    wait_for(
        lambda: Manifest.objects.get(repository=repo, digest=multi.digest).platforms,
        what="the index to list the platforms",
    )

    with pytest.raises(ServiceError) as info:
        tag_service.manifest_delete(repository=repo, digest=arm.digest, actor=owner)

    assert info.value.status == 400
    assert berth_registry_client.get_manifest(repo.full_name, arm.digest).digest == arm.digest


def test_deleting_a_repository_deletes_every_manifest_and_forgets_it(
    org, owner, berth_registry_client: RegistryClient
) -> None:
    oci, docker = build_image(labels={"c": _uid()}), build_image(fmt="docker", labels={"c": _uid()})
    amd, arm = build_image(architecture="amd64"), build_image(architecture="arm64", variant="v8")
    multi = build_index([amd, arm], fmt="docker")
    repo = _push(berth_registry_client, org, "gone", oci, "v1", "v1-alias")
    _push(berth_registry_client, org, "gone", docker, "v2")
    _push(berth_registry_client, org, "gone", multi, "multi")
    path = repo.full_name

    with _index_paused():
        tag_service.repository_delete(repository=repo, actor=owner)
        assert not Repository.objects.filter(pk=repo.pk).exists()

    assert berth_registry_client.tags(path) == []
    for digest in (oci.digest, docker.digest, multi.digest, amd.digest, arm.digest):
        with pytest.raises(errors.RegistryNotFound):
            berth_registry_client.head_manifest(path, digest)
    assert not Repository.objects.filter(pk=repo.pk).exists()
    assert not Manifest.objects.filter(repository_id=repo.pk).exists()
    # The registry still lists the empty repository; its events do not bring it back.
    assert path in set(berth_registry_client.catalog())
    _events_settled(path)
    assert not Repository.objects.filter(organization=org, name="gone").exists()


@pytest.mark.parametrize("level", [None, Level.READ, Level.WRITE])
def test_only_manage_may_delete(
    org, make_user, berth_registry_client: RegistryClient, level: Level | None
) -> None:
    user = make_user(f"u{_uid()}")
    if level is not None:
        OrganizationPermission.objects.create(organization=org, user=user, level=level)
    image = build_image(labels={"c": _uid()})
    repo = _push(berth_registry_client, org, "app", image, "v1", "v2")

    calls = [
        lambda: tag_service.tags_delete(repository=repo, names=["v1"], actor=user),
        lambda: tag_service.manifest_delete(repository=repo, digest=image.digest, actor=user),
        lambda: tag_service.repository_delete(repository=repo, actor=user),
    ]
    for call in calls:
        with pytest.raises(ServiceError) as info:
            call()
        assert (info.value.code, info.value.status) == (PREFIX + FORBIDDEN_IMAGE, 403)

    assert sorted(berth_registry_client.tags(repo.full_name)) == ["v1", "v2"]
    assert _tag_names(repo) == {"v1", "v2"}
    assert Repository.objects.filter(pk=repo.pk).exists()
