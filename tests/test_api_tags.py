"""Tags through the SWR API (SWR-SPEC.md §2.5 and the SDK's tag operations): the list (`Tag`
with a capital T) read from the index, one tag, copying and deleting against the real registry,
and cosign signatures (accessories, references); shapes, codes, paging, `$` names, who may do
what, and query counts that do not grow with the list."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huaweicloudsdkswr.v2.model import (
    ListReferencesRequest,
    ListRepoAccessoriesRequest,
    ListRepositoryTagsRequest,
    ShowRepoTagRequest,
)

from dashboard.models import AuditEvent, Level, Organization, Repository, Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import BuiltImage, build_image, push_image
from dashboard.services.errors import ServiceError
from dashboard.services.tags import tag_copy
from tests.index_rows import (
    grant_org,
    grant_repo,
    make_index,
    make_manifest,
    make_repository,
    make_tag,
)
from tests.servers import wait_for
from tests.swr_api import Api, sdk_client, swr_error

NS = "/v2/manage/namespaces"
BASE = f"{NS}/team/repos/tools$app"


@pytest.fixture
def repo(make_org: Callable[..., Organization], owner: Any) -> Repository:
    return make_repository(make_org("team", creator=owner), "tools/app")


@pytest.fixture
def api(client: Client, owner: Any) -> Api:
    return Api(client, owner)


def _signature(repository: Repository, target: Tag, *, pushed_at: dt.datetime | None = None) -> Tag:
    """What `cosign sign` leaves: a tag `sha256-<hex>.sig` naming the signed digest."""
    name = "sha256-" + target.manifest.digest.removeprefix("sha256:") + ".sig"
    return make_tag(repository, name, make_manifest(repository, size=700), pushed_at=pushed_at)


# -- the list --------------------------------------------------------------------------------------


def test_the_list_has_swrs_tag_objects_newest_push_first(
    api: Api, repo: Repository, settings: Any
) -> None:
    settings.REGISTRY_HOST = "registry.example.com"
    settings.REGISTRY_URL = "http://registry.internal:5000"
    now = timezone.now()
    image = make_manifest(repo, size=5000, created=dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    old = make_tag(repo, "v1", image, pushed_at=now - dt.timedelta(hours=2))
    arm = make_manifest(repo, architecture="arm64")
    multi = make_tag(repo, "multi", make_index(repo, [image, arm]), pushed_at=now)

    response = api.get(f"{BASE}/tags")
    assert response.status_code == 200
    assert response["Content-Range"] == "0-2/2"
    first, second = response.json()
    assert first["Tag"] == "multi" and second["Tag"] == "v1"
    assert first["tag_type"] == 1 and first["image_id"] == ""
    assert json.loads(first["manifest"])["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert second == {
        "id": old.pk,
        "repo_id": repo.pk,
        "Tag": "v1",
        "image_id": image.config_digest.removeprefix("sha256:"),
        "manifest": image.raw,
        "digest": image.digest,
        "schema": 2,
        "path": "registry.example.com/team/tools/app:v1",
        "internal_path": "registry.internal:5000/team/tools/app:v1",
        "size": 5000,
        "is_trusted": False,
        "created": "2025-05-01T00:00:00Z",
        "updated": old.pushed_at.isoformat().replace("+00:00", "Z"),
        "deleted": None,
        "domain_id": "",
        "scanned": False,
        "tag_type": 0,
    }
    assert multi.pk == first["id"]


def test_a_manifest_whose_text_the_index_lacks_answers_an_empty_string(
    api: Api, repo: Repository
) -> None:
    make_tag(repo, "v1", make_manifest(repo, with_details=False))
    (row,) = api.get(f"{BASE}/tags").json()
    assert (row["Tag"], row["manifest"], row["schema"]) == ("v1", "", 2)


@pytest.fixture
def many(repo: Repository) -> list[str]:
    """Tags t0..t4, t4 pushed last; one manifest shared by all."""
    image = make_manifest(repo)
    start = timezone.now() - dt.timedelta(hours=1)
    names = [f"t{i}" for i in range(5)]
    for i, name in enumerate(names):
        make_tag(repo, name, image, pushed_at=start + dt.timedelta(minutes=i))
    make_tag(repo, "latest", image, pushed_at=start - dt.timedelta(hours=1))
    return names


def _tags(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [t["Tag"] for t in response.json()]


@pytest.mark.parametrize(
    ("query", "expected", "content_range"),
    [
        ("", ["t4", "t3", "t2", "t1", "t0", "latest"], "0-6/6"),
        ("order_column=updated_at&order_type=asc", ["latest", "t0", "t1", "t2", "t3", "t4"], None),
        ("order_column=tag&order_type=asc", ["latest", "t0", "t1", "t2", "t3", "t4"], None),
        ("order_column=tag&order_type=desc", ["t4", "t3", "t2", "t1", "t0", "latest"], None),
        ("tag=T", ["t4", "t3", "t2", "t1", "t0", "latest"], None),
        ("tag=t1", ["t1"], "0-1/1"),
        ("offset=1&limit=2", ["t3", "t2"], "1-2/6"),
        ("offset=4&limit=4", ["t0", "latest"], "4-2/6"),
        ("tag=t&filter=tag::late", ["latest"], "0-1/1"),
        ("filter=offset::0|limit::2|order_column::tag|order_type::asc", ["latest", "t0"], "0-2/6"),
    ],
)
def test_the_list_filters_orders_and_pages(
    api: Api, many: list[str], query: str, expected: list[str], content_range: str | None
) -> None:
    response = api.get(f"{BASE}/tags", QUERY_STRING=query)
    assert _tags(response) == expected
    if content_range is not None:
        assert response["Content-Range"] == content_range


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "SVCSTG.SWR.4000056"),
        ("limit=1001", "SVCSTG.SWR.4000056"),
        ("order_column=size&order_type=asc", "SVCSTG.SWR.4000014"),
        ("order_type=asc", "SVCSTG.SWR.4000014"),
        ("filter=name::x", "SVCSTG.SWR.4001035"),
    ],
)
def test_bad_list_parameters_are_400(api: Api, repo: Repository, query: str, code: str) -> None:
    assert swr_error(api.get(f"{BASE}/tags", QUERY_STRING=query)) == (400, code)


def test_reading_tags_needs_read_on_the_repository(
    client: Client, repo: Repository, reader: Any, outsider: Any
) -> None:
    tag = make_tag(repo, "v1")
    grant_repo(repo, reader, Level.READ)
    assert _tags(Api(client, reader).get(f"{BASE}/tags")) == ["v1"]
    assert Api(client, reader).get(f"{BASE}/tags/v1").json()["id"] == tag.pk
    signature = _signature(repo, tag)
    urls = (
        f"{BASE}/tags",
        f"{BASE}/tags/v1",
        f"{BASE}/v1/accessories",
        f"{BASE}/{signature.name}/references",
    )
    for url in urls:
        assert Api(client, reader).get(url).status_code == 200
        assert swr_error(Api(client, outsider).get(url)) == (404, "SVCSTG.SWR.4040010")
        assert swr_error(client.get(url)) == (401, "SVCSTG.SWR.4010000")
    assert swr_error(Api(client, reader).get(f"{NS}/team/repos/nope/tags")) == (
        404,
        "SVCSTG.SWR.4040010",
    )
    # The path keeps `/` as `$`: the unescaped form is another route, not this repository.
    assert swr_error(Api(client, reader).get(f"{NS}/team/repos/tools/app/tags"))[0] == 404


def test_list_queries_do_not_grow_with_the_total_or_the_page_size(
    api: Api, repo: Repository
) -> None:
    def grow(count: int) -> None:
        image = make_manifest(repo)
        start = timezone.now()
        Tag.objects.bulk_create(
            Tag(
                repository=repo,
                name=f"g{uuid.uuid4().hex[:12]}",
                manifest=image,
                pushed_at=start + dt.timedelta(seconds=i),
            )
            for i in range(count)
        )

    def queries(query: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"{BASE}/tags", QUERY_STRING=query).status_code == 200
        return len(captured)

    api.get(f"{BASE}/tags")  # the token's first use records it
    grow(3)
    small = queries("offset=0&limit=10")
    grow(300)
    assert queries("offset=0&limit=10") == small
    assert queries("offset=0&limit=100") == small
    assert queries("offset=200&limit=100&order_column=tag&order_type=asc") == small


# -- one tag ---------------------------------------------------------------------------------------


def test_show_answers_lowercase_tag_and_404_for_unknown_tags(api: Api, repo: Repository) -> None:
    tag = make_tag(repo, "v1.0_rc-1")
    shown = api.get(f"{BASE}/tags/v1.0_rc-1")
    assert shown.status_code == 200
    body = shown.json()
    assert (body["tag"], body["id"], body["digest"]) == ("v1.0_rc-1", tag.pk, tag.manifest.digest)
    assert "Tag" not in body and "deleted" not in body
    assert swr_error(api.get(f"{BASE}/tags/v2")) == (404, "SVCSTG.SWR.4041056")


def test_deleting_needs_manage_and_a_known_tag(
    client: Client, repo: Repository, reader: Any, outsider: Any, make_user: Any
) -> None:
    make_tag(repo, "v1")
    grant_repo(repo, reader, Level.READ)
    writer = make_user("writer")
    grant_repo(repo, writer, Level.WRITE)
    assert swr_error(Api(client, reader).delete(f"{BASE}/tags/v1")) == (403, "SVCSTG.SWR.4037018")
    assert swr_error(Api(client, writer).delete(f"{BASE}/tags/v1")) == (403, "SVCSTG.SWR.4037018")
    assert swr_error(Api(client, outsider).delete(f"{BASE}/tags/v1")) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(client.delete(f"{BASE}/tags/v1")) == (401, "SVCSTG.SWR.4010000")
    anonymous_copy = client.post(
        f"{BASE}/tags",
        {"source_tag": "v1", "destination_tag": "v2"},
        content_type="application/json",
    )
    assert swr_error(anonymous_copy) == (401, "SVCSTG.SWR.4010000")
    assert Tag.objects.filter(repository=repo, name="v1").exists()
    assert swr_error(Api(client, writer).post(f"{BASE}/tags", {"source_tag": "v1"})) == (
        400,
        "SVCSTG.SWR.4000014",
    )
    copy = {"source_tag": "v1", "destination_tag": "v2"}
    assert swr_error(Api(client, reader).post(f"{BASE}/tags", copy)) == (403, "SVCSTG.SWR.4037018")
    assert swr_error(Api(client, outsider).post(f"{BASE}/tags", copy)) == (
        404,
        "SVCSTG.SWR.4040010",
    )
    traced = AuditEvent.objects.filter(result="failure").exclude(actor=None)
    assert sorted(traced.values_list("action", "actor__username")) == [
        ("createImageTag", "outsider"),
        ("createImageTag", "reader"),
        ("createImageTag", "writer"),
        ("deleteImageTag", "outsider"),
        ("deleteImageTag", "reader"),
        ("deleteImageTag", "writer"),
    ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"source_tag": "v1", "destination_tag": ".hidden"}, 400, "SVCSTG.SWR.4009021"),
        ({"source_tag": "v1", "destination_tag": "a/b"}, 400, "SVCSTG.SWR.4009021"),
        ({"source_tag": "v1", "destination_tag": "x" * 129}, 400, "SVCSTG.SWR.4009021"),
        ({"source_tag": "v1", "destination_tag": ""}, 400, "SVCSTG.SWR.4009021"),
        ({"source_tag": "v1", "destination_tag": "v1"}, 400, "SVCSTG.SWR.4000014"),
        (
            {"source_tag": "v1", "destination_tag": "v2", "override": "maybe"},
            400,
            "SVCSTG.SWR.4000014",
        ),
        ({"source_tag": "nope", "destination_tag": "v2"}, 404, "SVCSTG.SWR.4041056"),
        ({"source_tag": "v1", "destination_tag": "taken"}, 409, "SVCSTG.SWR.4090006"),
    ],
)
def test_copying_refuses_what_it_cannot_do_before_the_registry(
    api: Api, repo: Repository, body: dict[str, Any], status: int, code: str, settings: Any
) -> None:
    # No registry answers here: each refusal comes from the request or the index.
    settings.REGISTRY_URL = "http://127.0.0.1:9"
    make_tag(repo, "v1")
    make_tag(repo, "taken")
    assert swr_error(api.post(f"{BASE}/tags", body)) == (status, code)


# -- signatures ------------------------------------------------------------------------------------


def test_accessories_are_the_cosign_signatures_of_the_tags_image(
    api: Api, repo: Repository
) -> None:
    signed = make_tag(repo, "v1")
    sibling = make_tag(repo, "stable", signed.manifest)
    unsigned = make_tag(repo, "v2")
    signature = _signature(repo, signed)

    for name in ("v1", "stable"):
        response = api.get(f"{BASE}/{name}/accessories")
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 1
        (accessory,) = body["accessories"]
        assert accessory.pop("created_at") == accessory.pop("updated_at")
        assert accessory == {
            "id": signature.pk,
            "domain_id": "",
            "namespace_name": "team",
            "repo_name": "tools/app",
            "sig_tag": signature.name,
            "sig_digest": signature.manifest.digest,
            "target_digest": signed.manifest.digest,
            "size": 700,
            "type": "signature.cosign",
        }
    assert sibling.manifest == signed.manifest
    assert api.get(f"{BASE}/{unsigned.name}/accessories").json() == {"total": 0, "accessories": []}
    assert api.get(f"{BASE}/v1/accessories", QUERY_STRING="offset=1&limit=5").json() == {
        "total": 1,
        "accessories": [],
    }
    assert swr_error(api.get(f"{BASE}/v1/accessories", QUERY_STRING="limit=101")) == (
        400,
        "SVCSTG.SWR.4000056",
    )
    assert swr_error(api.get(f"{BASE}/nope/accessories")) == (404, "SVCSTG.SWR.4041056")


def test_references_are_the_tags_a_signature_signs_page_by_page(api: Api, repo: Repository) -> None:
    signed = make_tag(repo, "v1")
    for name in ("stable", "latest"):
        make_tag(repo, name, signed.manifest)
    make_tag(repo, "other")
    signature = _signature(repo, signed)
    url = f"{BASE}/{signature.name}/references"

    assert api.get(url).json() == {"tags": ["latest", "stable", "v1"], "has_more": False}
    seen: list[str] = []
    marker = None
    for _ in range(3):
        query = "limit=1" + (f"&marker={marker}" if marker else "")
        page = api.get(url, QUERY_STRING=query).json()
        seen += page["tags"]
        marker = page.get("next_marker")
        assert page["has_more"] is (marker is not None)
    assert (seen, marker) == (["latest", "stable", "v1"], None)

    assert swr_error(api.get(f"{BASE}/v1/references")) == (400, "SVCSTG.SWR.4000014")
    assert swr_error(api.get(url, QUERY_STRING="marker=%%%")) == (400, "SVCSTG.SWR.4000014")
    assert swr_error(api.get(url, QUERY_STRING="limit=11")) == (400, "SVCSTG.SWR.4000056")
    missing = "sha256-" + "0" * 64 + ".sig"
    assert swr_error(api.get(f"{BASE}/{missing}/references")) == (404, "SVCSTG.SWR.4041056")


def test_signature_lists_take_the_same_queries_whatever_their_size(
    api: Api, repo: Repository
) -> None:
    signed = make_tag(repo, "v1")
    signature = _signature(repo, signed)

    def queries(url: str, query: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url, QUERY_STRING=query).status_code == 200
        return len(captured)

    references, accessories = f"{BASE}/{signature.name}/references", f"{BASE}/v1/accessories"
    api.get(references)  # the token's first use records it
    few = [queries(references, "limit=1"), queries(accessories, "limit=1")]
    for i in range(40):
        make_tag(repo, f"s{i}", signed.manifest)
    assert [queries(references, "limit=10"), queries(accessories, "limit=100")] == few


def test_a_tag_named_like_a_sub_resource_does_not_shadow_it(api: Api, repo: Repository) -> None:
    make_tag(repo, "tags")
    # `.../tags/accessories` is the tag `accessories`, not the accessories of tag `tags`.
    assert swr_error(api.get(f"{BASE}/tags/accessories")) == (404, "SVCSTG.SWR.4041056")
    assert api.get(f"{BASE}/tags/tags").json()["tag"] == "tags"


# -- against the real registry ---------------------------------------------------------------------


@pytest.fixture
def pushed(
    worker: object,
    owner: Any,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
) -> tuple[Repository, BuiltImage, BuiltImage]:
    """`<org>/tools/app` with v1 and stable on one image and v2 on another, indexed."""
    org = make_org(f"tg-{uuid.uuid4().hex[:8]}", creator=owner)
    one, two = build_image(labels={"u": uuid.uuid4().hex}), build_image(labels={"u": "2"})
    for image, tag in ((one, "v1"), (one, "stable"), (two, "v2")):
        _push(berth_registry_client, org, image, tag)
    return Repository.objects.get(organization=org, name="tools/app"), one, two


def _push(client: RegistryClient, org: Organization, image: BuiltImage, tag: str) -> None:
    """One tag at a time, each once indexed (distribution 2.8 races concurrent PUTs)."""
    push_image(client, f"{org.name}/tools/app", image, tag)
    _indexed(org.name, tag, image.digest)


def _indexed(org: str, tag: str, digest: str) -> None:
    wait_for(
        Tag.objects.filter(
            repository__organization__name=org,
            repository__name="tools/app",
            name=tag,
            manifest__digest=digest,
        ).exists,
        timeout=30,
        what=f"the index to show {org}/tools/app:{tag}",
    )


@pytest.mark.registry
def test_deleting_a_tag_leaves_its_sibling(
    client: Client,
    owner: Any,
    pushed: tuple[Repository, BuiltImage, BuiltImage],
    berth_registry_client: RegistryClient,
) -> None:
    repository, one, _ = pushed
    api = Api(client, owner)
    base = f"{NS}/{repository.organization.name}/repos/tools$app"
    response = api.delete(f"{base}/tags/v1")
    assert (response.status_code, response.content) == (204, b"")
    assert sorted(berth_registry_client.tags(repository.full_name)) == ["stable", "v2"]
    assert berth_registry_client.head_manifest(repository.full_name, "stable").digest == one.digest
    assert _tags(api.get(f"{base}/tags")) == ["v2", "stable"]
    assert swr_error(api.delete(f"{base}/tags/v1")) == (404, "SVCSTG.SWR.4041056")
    assert AuditEvent.objects.filter(action="deleteImageTag", result="success").count() == 1


@pytest.mark.registry
def test_copying_a_tag_puts_the_same_manifest_under_the_new_name(
    client: Client,
    owner: Any,
    pushed: tuple[Repository, BuiltImage, BuiltImage],
    berth_registry_client: RegistryClient,
    make_user: Any,
) -> None:
    repository, one, two = pushed
    org = repository.organization.name
    writer = make_user("writer")
    grant_org(repository.organization, writer, Level.WRITE)
    api = Api(client, writer)
    base = f"{NS}/{org}/repos/tools$app"

    response = api.post(f"{base}/tags", {"source_tag": "v1", "destination_tag": "release"})
    assert (response.status_code, response.content) == (201, b"")
    assert berth_registry_client.head_manifest(repository.full_name, "release").digest == one.digest
    _indexed(org, "release", one.digest)
    copied = AuditEvent.objects.get(action="createImageTag", result="success")
    assert (copied.resource_name, copied.actor, copied.detail["digest"]) == (
        f"{repository.full_name}:release",
        writer,
        one.digest,
    )

    # An existing destination stays unless override says otherwise.
    taken = {"source_tag": "v2", "destination_tag": "release"}
    assert swr_error(api.post(f"{base}/tags", taken)) == (409, "SVCSTG.SWR.4090006")
    assert berth_registry_client.head_manifest(repository.full_name, "release").digest == one.digest
    moved = api.post(f"{base}/tags", {**taken, "override": True})
    assert moved.status_code == 201
    assert berth_registry_client.head_manifest(repository.full_name, "release").digest == two.digest
    _indexed(org, "release", two.digest)
    assert api.get(f"{base}/tags/release").json()["digest"] == two.digest


@pytest.mark.registry
def test_copy_sees_a_destination_the_index_has_not_caught_up_with(
    owner: Any,
    pushed: tuple[Repository, BuiltImage, BuiltImage],
    berth_registry_client: RegistryClient,
) -> None:
    repository, one, two = pushed
    # Pushed, then forgotten by the index (as if its notification were still on the way).
    push_image(berth_registry_client, repository.full_name, two, "fresh")
    _indexed(repository.organization.name, "fresh", two.digest)
    Tag.objects.filter(repository=repository, name="fresh").delete()
    with pytest.raises(ServiceError) as refused:
        tag_copy(
            repository=repository, source="v1", destination="fresh", override=False, actor=owner
        )
    assert (refused.value.code, refused.value.status) == ("SVCSTG.SWR.4090006", 409)
    # A source the index knows but the registry lost is "not found", not a registry failure.
    Tag.objects.create(
        repository=repository,
        name="ghost",
        manifest=Tag.objects.get(repository=repository, name="v1").manifest,
    )
    with pytest.raises(ServiceError) as missing:
        tag_copy(
            repository=repository, source="ghost", destination="x", override=False, actor=owner
        )
    assert (missing.value.code, missing.value.status) == ("SVCSTG.SWR.4041056", 404)
    assert one.digest != two.digest


# -- the official SDK ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sdk_reads_tags_and_signatures(
    live_server: Any, make_user: Any, make_org: Callable[..., Organization]
) -> None:
    alice = make_user("alice")
    repository = make_repository(make_org("sdk-org", creator=alice), "tools/app")
    signed = make_tag(repository, "v1")
    make_tag(repository, "v2")
    signature = _signature(repository, signed)
    sdk = sdk_client(live_server.url, alice)

    listed = sdk.list_repository_tags(
        ListRepositoryTagsRequest(
            namespace="sdk-org",
            repository="tools$app",
            order_column="tag",
            order_type="asc",
            offset="0",
            limit="2",
        )
    )
    assert listed.content_range == "0-2/3"
    assert [(t.tag, t.digest, t.tag_type) for t in listed.body] == [
        ("sha256-" + signed.manifest.digest[7:] + ".sig", signature.manifest.digest, 0),
        ("v1", signed.manifest.digest, 0),
    ]
    shown = sdk.show_repo_tag(
        ShowRepoTagRequest(namespace="sdk-org", repository="tools$app", tag="v1")
    )
    assert (shown.tag, shown.manifest) == ("v1", signed.manifest.raw)
    accessories = sdk.list_repo_accessories(
        ListRepoAccessoriesRequest(namespace="sdk-org", repository="tools$app", tag="v1")
    )
    assert accessories.total == 1
    assert [(a.sig_tag, a.type) for a in accessories.accessories] == [
        (signature.name, "signature.cosign")
    ]
    references = sdk.list_references(
        ListReferencesRequest(namespace="sdk-org", repository="tools$app", tag=signature.name)
    )
    assert (references.tags, references.has_more, references.next_marker) == (["v1"], False, None)
