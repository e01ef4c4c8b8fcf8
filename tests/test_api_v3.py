"""SWR's v3 lists (SWR-SPEC.md §2.14): repositories, shared repositories and tags paged by a
marker. Markers are keyset positions: what is created between two pages never repeats or
pushes out what the caller has not seen yet. Also shapes, filters, bad markers, access, query
counts, and the official SDK reading them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huaweicloudsdkswr.v2.model import (
    ListRepoDetailsRequest,
    ListRepositoryTagRequest,
    ListSharedRepoDetailsRequest,
)

from dashboard.models import Level, Organization, Repository, Share, Tag
from tests.index_rows import grant_org, grant_repo, make_manifest, make_repository, make_tag
from tests.swr_api import Api, sdk_client, swr_error

V3 = "/v3/manage"
TAGS = f"{V3}/namespaces/team/repos/tools$app/tags"


@pytest.fixture
def api(client: Client, owner: Any) -> Api:
    return Api(client, owner)


def _walk(
    api: Api, url: str, query: str, key: str, *, between: Callable[[], None] | None = None
) -> tuple[list[str], int]:
    """Every page of a v3 list; `between` runs after each page. Returns (names, pages)."""
    names: list[str] = []
    pages = 0
    marker = None
    while pages < 50:  # a marker that does not advance would loop forever
        full = query + (f"&marker={marker}" if marker is not None else "")
        response = api.get(url, QUERY_STRING=full)
        assert response.status_code == 200, response.content
        body = response.json()
        names += [item[key] for item in body["repos" if key == "name" else "tags"]]
        pages += 1
        marker = body.get("nextMarker")
        if "has_more" in body:
            assert body["has_more"] is (marker is not None)
        if marker is None:
            return names, pages
        if between is not None:
            between()
    raise AssertionError(f"the list did not end after {pages} pages: {names}")


# -- repositories ----------------------------------------------------------------------------------


def test_repositories_come_in_id_order_with_every_field(
    api: Api, make_org: Callable[..., Organization], owner: Any
) -> None:
    org = make_org("team", creator=owner)
    first = make_repository(org, "a/b", is_public=True, category="lang", description="d")
    make_tag(first, "v1")
    second = make_repository(org, "c")
    response = api.get(f"{V3}/repos", QUERY_STRING="limit=1")
    assert response.status_code == 200
    body = response.json()
    assert body["nextMarker"] == first.pk
    (row,) = body["repos"]
    first.refresh_from_db()
    assert row.pop("created_at") and row.pop("updated_at")
    assert row == {
        "id": first.pk,
        "name": "a/b",
        "category": "lang",
        "description": "d",
        "size": first.size,
        "is_public": True,
        "num_images": 1,
        "num_download": 0,
        "domain_name": "",
        "namespace_name": "team",
        "status": False,
    }
    rest = api.get(f"{V3}/repos", QUERY_STRING=f"limit=1&marker={first.pk}").json()
    assert ([r["id"] for r in rest["repos"]], "nextMarker" in rest) == ([second.pk], False)


def test_repository_pages_survive_repositories_created_meanwhile(
    api: Api, make_org: Callable[..., Organization], owner: Any
) -> None:
    org = make_org("team", creator=owner)
    before = [make_repository(org, f"r{i:02d}").name for i in range(7)]
    added: list[str] = []

    def churn() -> None:
        # One created, and one already listed deleted (an offset would now skip one).
        name = f"new-{len(added)}"
        make_repository(org, name)
        added.append(name)
        Repository.objects.filter(organization=org, name__startswith="r").order_by("id")[
            :1
        ].get().delete()

    names, pages = _walk(api, f"{V3}/repos", "limit=3", "name", between=churn)
    # Each existing repository exactly once, in order; those created meanwhile after them.
    assert names[: len(before)] == before
    assert sorted(names) == sorted(before + added) and len(names) == len(set(names))
    assert pages >= 3


def test_repository_filters_and_visibility(
    client: Client, make_org: Callable[..., Organization], owner: Any, reader: Any
) -> None:
    alpha, beta = make_org("alpha", creator=owner), make_org("beta", creator=owner)
    grant_org(alpha, reader, Level.READ)
    make_repository(alpha, "web", category="app_server")
    make_repository(alpha, "db", category="database", is_public=True)
    grant_repo(make_repository(beta, "granted"), reader, Level.READ)
    make_repository(beta, "hidden")
    api = Api(client, reader)

    def names(query: str) -> list[str]:
        response = api.get(f"{V3}/repos", QUERY_STRING=query)
        assert response.status_code == 200, response.content
        return [f"{r['namespace_name']}/{r['name']}" for r in response.json()["repos"]]

    assert names("") == ["alpha/web", "alpha/db", "beta/granted"]
    assert names("namespace=alpha") == ["alpha/web", "alpha/db"]
    assert names("namespace=alph") == []  # v3's namespace is a name, not a part of one
    assert names("name=E") == ["alpha/web", "beta/granted"]
    assert names("category=database") == ["alpha/db"]
    assert names("is_public=true") == ["alpha/db"]
    assert names("is_public=False") == ["alpha/web", "beta/granted"]
    for query, code in (
        ("marker=abc", "SVCSTG.SWR.4000014"),
        ("limit=0", "SVCSTG.SWR.4000056"),
        ("limit=1001", "SVCSTG.SWR.4000056"),
        ("is_public=1", "SVCSTG.SWR.4001009"),
        ("category=games", "SVCSTG.SWR.4000014"),
    ):
        assert swr_error(api.get(f"{V3}/repos", QUERY_STRING=query)) == (400, code)
    assert swr_error(client.get(f"{V3}/repos")) == (401, "SVCSTG.SWR.4010000")


def test_shared_repositories_by_me_and_with_me(
    client: Client, make_org: Callable[..., Organization], owner: Any, reader: Any
) -> None:
    org = make_org("team", creator=owner)
    team = Group.objects.create(name="devs")
    reader.groups.add(team)
    valid, expired = make_repository(org, "valid"), make_repository(org, "expired")
    Share.objects.create(repository=valid, team=team, created_by=owner)
    Share.objects.create(
        repository=expired,
        team=team,
        created_by=owner,
        deadline=timezone.now() - dt.timedelta(hours=1),
    )
    make_repository(org, "unshared")

    def rows(user: Any, query: str) -> list[tuple[str, bool]]:
        response = Api(client, user).get(f"{V3}/shared-repositories", QUERY_STRING=query)
        assert response.status_code == 200, response.content
        return [(r["name"], r["status"]) for r in response.json()["repos"]]

    assert rows(reader, "shared_by=thirdparty") == [("valid", True), ("expired", False)]
    assert rows(reader, "shared_by=thirdparty&status=false") == [("expired", False)]
    assert rows(reader, "shared_by=thirdparty&status=true&name=VAL") == [("valid", True)]
    assert rows(owner, "shared_by=self") == [("valid", False), ("expired", False)]
    assert rows(reader, "shared_by=self") == []
    page = Api(client, reader).get(
        f"{V3}/shared-repositories", QUERY_STRING="shared_by=thirdparty&limit=1"
    )
    assert page.json()["nextMarker"] == valid.pk
    anonymous = client.get(f"{V3}/shared-repositories", QUERY_STRING="shared_by=self")
    assert swr_error(anonymous) == (401, "SVCSTG.SWR.4010000")
    for query in ("", "shared_by=all", "shared_by=self&status=perhaps", "shared_by=self&marker=x"):
        response = Api(client, owner).get(f"{V3}/shared-repositories", QUERY_STRING=query)
        assert swr_error(response) == (400, "SVCSTG.SWR.4000014")


# -- tags ------------------------------------------------------------------------------------------


@pytest.fixture
def repo(make_org: Callable[..., Organization], owner: Any) -> Repository:
    return make_repository(make_org("team", creator=owner), "tools/app")


def _tag_names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [t["tag"] for t in response.json()["tags"]]


def test_tags_have_lowercase_tag_and_the_manifest_only_when_asked(
    api: Api, repo: Repository
) -> None:
    tag = make_tag(repo, "v1")
    body = api.get(TAGS).json()
    assert (body["has_more"], "nextMarker" in body) == (False, False)
    (row,) = body["tags"]
    assert (row["tag"], row["id"], row["digest"], row["manifest"]) == (
        "v1",
        tag.pk,
        tag.manifest.digest,
        "",
    )
    assert "Tag" not in row
    assert row["image_id"] == tag.manifest.config_digest.removeprefix("sha256:")
    full = api.get(TAGS, QUERY_STRING="with_manifest=true").json()["tags"][0]
    assert full["manifest"] == tag.manifest.raw
    assert swr_error(api.get(TAGS, QUERY_STRING="with_manifest=sometimes")) == (
        400,
        "SVCSTG.SWR.4000014",
    )


@pytest.fixture
def seven(repo: Repository) -> list[str]:
    """Tags t0..t6 pushed a minute apart (t6 last), plus two sharing t3's push time."""
    image = make_manifest(repo)
    start = timezone.now() - dt.timedelta(hours=1)
    names = [f"t{i}" for i in range(7)]
    for i, name in enumerate(names):
        make_tag(repo, name, image, pushed_at=start + dt.timedelta(minutes=i))
    for name in ("t3a", "t3b"):
        make_tag(repo, name, image, pushed_at=start + dt.timedelta(minutes=3))
    return names


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("limit=2", ["t6", "t5", "t4", "t3b", "t3a", "t3", "t2", "t1", "t0"]),
        (
            "limit=4&order_column=updated_at&order_type=asc",
            ["t0", "t1", "t2", "t3", "t3a", "t3b", "t4", "t5", "t6"],
        ),
        (
            "limit=3&order_column=tag&order_type=asc",
            ["t0", "t1", "t2", "t3", "t3a", "t3b", "t4", "t5", "t6"],
        ),
        (
            "limit=5&order_column=tag&order_type=desc",
            ["t6", "t5", "t4", "t3b", "t3a", "t3", "t2", "t1", "t0"],
        ),
        ("limit=1&tag=T3", ["t3b", "t3a", "t3"]),
    ],
)
def test_tag_pages_walk_the_whole_list_once(
    api: Api, seven: list[str], query: str, expected: list[str]
) -> None:
    names, _ = _walk(api, TAGS, query, "tag")
    assert names == expected


@pytest.mark.parametrize(
    "query",
    [
        "limit=2",
        "limit=2&order_column=tag&order_type=asc",
        "limit=3&order_type=asc&order_column=updated_at",
    ],
)
def test_tag_pages_survive_pushes_and_deletes_meanwhile(
    api: Api, repo: Repository, seven: list[str], query: str
) -> None:
    image = Tag.objects.filter(repository=repo).first().manifest  # type: ignore[union-attr]
    before = set(Tag.objects.filter(repository=repo).values_list("name", flat=True))
    deleted: list[str] = []

    def churn() -> None:
        # A push sorting first and one sorting last, and a delete of something not seen yet
        # (the oldest remaining tag that is neither first nor last in any order).
        make_tag(repo, f"a-new-{uuid.uuid4().hex[:6]}", image)
        make_tag(repo, f"z-new-{uuid.uuid4().hex[:6]}", image, pushed_at=timezone.now())
        victim = next((n for n in ("t2", "t3a", "t4") if n not in deleted), None)
        if victim is not None:
            Tag.objects.filter(repository=repo, name=victim).delete()
            deleted.append(victim)

    names, _ = _walk(api, TAGS, query, "tag", between=churn)
    assert len(names) == len(set(names)), names
    # Every tag that existed throughout was listed.
    assert before - set(deleted) <= set(names)


def test_bad_tag_markers_and_parameters_are_400(
    api: Api, repo: Repository, seven: list[str]
) -> None:
    by_tag = api.get(TAGS, QUERY_STRING="limit=2&order_column=tag&order_type=asc").json()
    marker = by_tag["nextMarker"]
    # A marker of one order is refused by another.
    assert swr_error(api.get(TAGS, QUERY_STRING=f"limit=2&marker={marker}")) == (
        400,
        "SVCSTG.SWR.4000014",
    )
    other_direction = f"limit=2&order_column=tag&order_type=desc&marker={marker}"
    assert swr_error(api.get(TAGS, QUERY_STRING=other_direction)) == (400, "SVCSTG.SWR.4000014")
    for query, code in (
        ("marker=not-a-marker", "SVCSTG.SWR.4000014"),
        ("marker=W10", "SVCSTG.SWR.4000014"),  # valid base64 JSON, wrong shape
        ("limit=0", "SVCSTG.SWR.4000056"),
        ("limit=1001", "SVCSTG.SWR.4000056"),
        ("order_column=tag", "SVCSTG.SWR.4000014"),
        ("order_column=size&order_type=asc", "SVCSTG.SWR.4000014"),
    ):
        assert swr_error(api.get(TAGS, QUERY_STRING=query)) == (400, code)


def test_tags_need_read_on_the_repository(
    client: Client, repo: Repository, reader: Any, outsider: Any
) -> None:
    make_tag(repo, "v1")
    grant_repo(repo, reader, Level.READ)
    assert _tag_names(Api(client, reader).get(TAGS)) == ["v1"]
    assert swr_error(Api(client, outsider).get(TAGS)) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(client.get(TAGS)) == (401, "SVCSTG.SWR.4010000")
    missing = f"{V3}/namespaces/team/repos/nope/tags"
    assert swr_error(Api(client, reader).get(missing)) == (404, "SVCSTG.SWR.4040010")


def test_v3_queries_do_not_grow_with_the_total_or_the_page_size(
    api: Api, repo: Repository, owner: Any
) -> None:
    org = repo.organization
    team = Group.objects.create(name="devs")
    owner.groups.add(team)

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
        for _ in range(count):
            shared = make_repository(org, f"r{uuid.uuid4().hex[:12]}")
            Share.objects.create(repository=shared, team=team, created_by=owner)

    def queries() -> list[int]:
        counts = []
        for url, query in (
            (TAGS, "limit={n}"),
            (TAGS, "limit={n}&with_manifest=true&order_column=tag&order_type=asc"),
            (f"{V3}/repos", "limit={n}"),
            (f"{V3}/shared-repositories", "shared_by=thirdparty&limit={n}"),
        ):
            for n in (10, 100):
                first = api.get(url, QUERY_STRING=query.format(n=n)).json()
                marker = first["nextMarker"]
                with CaptureQueriesContext(connection) as captured:
                    second = api.get(url, QUERY_STRING=query.format(n=n) + f"&marker={marker}")
                    assert second.status_code == 200
                counts.append(len(captured))
        return counts

    grow(120)
    small = queries()
    grow(300)
    large = queries()
    assert small == large
    assert small[0::2] == small[1::2]  # page size 10 and 100 alike


# -- the official SDK ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sdk_pages_the_v3_lists(
    live_server: Any, make_user: Any, make_org: Callable[..., Organization]
) -> None:
    alice = make_user("alice")
    org = make_org("sdk-org", creator=alice)
    repository = make_repository(org, "tools/app", is_public=True)
    other = make_repository(org, "other")
    image = make_manifest(repository)
    start = timezone.now() - dt.timedelta(hours=1)
    for i in range(3):
        make_tag(repository, f"v{i}", image, pushed_at=start + dt.timedelta(minutes=i))
    team = Group.objects.create(name="friends")
    alice.groups.add(team)  # type: ignore[attr-defined]
    Share.objects.create(repository=other, team=team, created_by=alice)
    sdk = sdk_client(live_server.url, alice)

    first = sdk.list_repo_details(ListRepoDetailsRequest(limit=1))
    assert ([r.name for r in first.repos], first.next_marker) == (["tools/app"], repository.pk)
    rest = sdk.list_repo_details(ListRepoDetailsRequest(limit=1, marker=first.next_marker))
    assert ([r.name for r in rest.repos], rest.next_marker) == (["other"], None)
    public = sdk.list_repo_details(ListRepoDetailsRequest(is_public=True))
    assert [r.namespace_name + "/" + r.name for r in public.repos] == ["sdk-org/tools/app"]

    shared = sdk.list_shared_repo_details(
        ListSharedRepoDetailsRequest(shared_by="thirdparty", status=True)
    )
    assert [(r.name, r.status) for r in shared.repos] == [("other", True)]

    seen: list[str] = []
    marker = None
    while True:
        page = sdk.list_repository_tag(
            ListRepositoryTagRequest(
                namespace="sdk-org",
                repository="tools$app",
                limit=2,
                marker=marker,
                with_manifest=True,
            )
        )
        seen += [t.tag for t in page.tags]
        assert all(t.manifest == image.raw for t in page.tags)
        marker = page.next_marker
        assert page.has_more is (marker is not None)
        if marker is None:
            break
    assert seen == ["v2", "v1", "v0"]
