"""Repositories through the SWR API (SWR-SPEC.md §2.4): create, show, change, delete, the list
the caller can see and the shared images; shapes, status codes, SWR's error codes, paging and
filters, `$` names, who may do what, and query counts that do not grow with the list."""

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
    CreateRepoRequest,
    CreateRepoRequestBody,
    ListReposDetailsRequest,
    ListSharedReposDetailsRequest,
    ShowRepositoryRequest,
    UpdateRepoRequest,
    UpdateRepoRequestBody,
)

from dashboard.models import AuditEvent, Level, Organization, Repository, Share, Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from dashboard.services.errors import ServiceError
from dashboard.services.repositories import repository_create
from tests.index_rows import grant_org, grant_repo, make_repository, make_tag
from tests.servers import wait_for
from tests.swr_api import Api, sdk_client, swr_error

M = "/v2/manage"
NS = f"{M}/namespaces"


@pytest.fixture
def org(make_org: Callable[..., Organization], owner: Any) -> Organization:
    return make_org("team", creator=owner)


@pytest.fixture
def api(client: Client, owner: Any) -> Api:
    return Api(client, owner)


def _share(repository: Repository, team: Group, by: Any, *, days: int | None = None) -> Share:
    deadline = timezone.now() + dt.timedelta(days=days) if days is not None else None
    return Share.objects.create(repository=repository, team=team, created_by=by, deadline=deadline)


# -- create ----------------------------------------------------------------------------------------


def test_create_answers_200_without_a_body_and_show_has_every_field(
    api: Api, org: Organization, owner: Any, settings: Any
) -> None:
    settings.REGISTRY_HOST = "registry.example.com"
    settings.REGISTRY_URL = "http://registry.internal:5000"
    body = {
        "repository": "tools/busybox",
        "is_public": True,
        "category": "linux",
        "description": "Small tools.",
    }
    response = api.post(f"{NS}/team/repos", body)
    assert (response.status_code, response.content) == (200, b"")

    repository = Repository.objects.get(organization=org, name="tools/busybox")
    shown = api.get(f"{NS}/team/repos/tools$busybox")
    assert shown.status_code == 200
    data = shown.json()
    assert data.pop("created") == data.pop("updated")
    assert data == {
        "id": repository.pk,
        "ns_id": org.pk,
        "name": "tools/busybox",
        "category": "linux",
        "description": "Small tools.",
        "creator_id": str(owner.pk),
        "creator_name": "owner",
        "size": 0,
        "is_public": True,
        "num_images": 0,
        "num_download": 0,
        "url": "",
        "path": "registry.example.com/team/tools/busybox",
        "internal_path": "registry.internal:5000/team/tools/busybox",
        "domain_id": "",
        "priority": 0,
    }
    created = AuditEvent.objects.get(action="createImageRepository")
    assert (created.resource_name, created.result, created.actor) == (
        "team/tools/busybox",
        "success",
        owner,
    )


def test_create_defaults_to_category_other_and_no_description(api: Api, org: Organization) -> None:
    assert (
        api.post(f"{NS}/team/repos", {"repository": "app", "is_public": False}).status_code == 200
    )
    repository = Repository.objects.get(organization=org, name="app")
    assert (repository.category, repository.description, repository.is_public) == (
        "other",
        "",
        False,
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"repository": "App", "is_public": True}, 400, "SVCSTG.SWR.4001029"),
        ({"repository": "a..b", "is_public": True}, 400, "SVCSTG.SWR.4001029"),
        ({"repository": "a" * 129, "is_public": True}, 400, "SVCSTG.SWR.4001029"),
        ({"repository": "", "is_public": True}, 400, "SVCSTG.SWR.4001029"),
        ({"repository": "app"}, 400, "SVCSTG.SWR.4001009"),
        ({"repository": "app", "is_public": "true"}, 400, "SVCSTG.SWR.4001009"),
        ({"repository": "app", "is_public": 1}, 400, "SVCSTG.SWR.4001009"),
        ({"repository": "app", "is_public": None}, 400, "SVCSTG.SWR.4001009"),
        ({"repository": "app", "is_public": True, "category": "games"}, 400, "SVCSTG.SWR.4000014"),
        ({"is_public": True}, 400, "SVCSTG.SWR.4000014"),
        ({"repository": ["app"], "is_public": True}, 400, "SVCSTG.SWR.4000014"),
        ([], 400, "SVCSTG.SWR.4000014"),
        (
            {"repository": "app", "is_public": True, "description": "x" * 30_001},
            413,
            "SVCSTG.SWR.4131012",
        ),
    ],
)
def test_create_refuses_bad_bodies_with_swr_codes(
    api: Api, org: Organization, body: object, status: int, code: str
) -> None:
    assert swr_error(api.post(f"{NS}/team/repos", body)) == (status, code)
    assert not Repository.objects.exists()


def test_create_refuses_malformed_json_and_accepts_the_longest_description(
    api: Api, org: Organization
) -> None:
    malformed = api.client.post(
        f"{NS}/team/repos", "{", content_type="application/json", headers=api.headers
    )
    assert swr_error(malformed) == (400, "SVCSTG.SWR.4001018")
    body = {"repository": "app", "is_public": False, "description": "x" * 30_000}
    assert api.post(f"{NS}/team/repos", body).status_code == 200


def test_an_existing_repository_is_409(api: Api, org: Organization) -> None:
    make_repository(org, "app")
    response = api.post(f"{NS}/team/repos", {"repository": "app", "is_public": True})
    assert swr_error(response) == (409, "SVCSTG.SWR.4090006")
    traced = AuditEvent.objects.get(action="createImageRepository")
    assert (traced.result, traced.detail["code"]) == ("failure", "SVCSTG.SWR.4090006")


def test_creating_needs_write_on_the_organization(
    client: Client, org: Organization, reader: Any, outsider: Any, make_user: Any
) -> None:
    body = {"repository": "app", "is_public": False}
    assert swr_error(client.post(f"{NS}/team/repos", body, content_type="application/json")) == (
        401,
        "SVCSTG.SWR.4010000",
    )
    assert swr_error(Api(client, outsider).post(f"{NS}/team/repos", body)) == (
        404,
        "SVCSTG.SWR.4040058",
    )
    grant_org(org, reader, Level.READ)
    assert swr_error(Api(client, reader).post(f"{NS}/team/repos", body)) == (
        403,
        "SVCSTG.SWR.4037017",
    )
    # A repository grant, even Manage, does not let one create siblings.
    only_repo = make_user("only-repo")
    grant_repo(make_repository(org, "other"), only_repo, Level.MANAGE)
    assert swr_error(Api(client, only_repo).post(f"{NS}/team/repos", body)) == (
        403,
        "SVCSTG.SWR.4037017",
    )
    writer = make_user("writer")
    grant_org(org, writer, Level.WRITE)
    assert Api(client, writer).post(f"{NS}/team/repos", body).status_code == 200
    assert Repository.objects.get(name="app").creator == writer
    assert swr_error(Api(client, writer).post(f"{NS}/nowhere/repos", body)) == (
        404,
        "SVCSTG.SWR.4040058",
    )


def test_the_service_checks_the_organization_level_itself(
    org: Organization, reader: Any, owner: Any
) -> None:
    grant_org(org, reader, Level.READ)
    with pytest.raises(ServiceError) as refused:
        repository_create(organization=org, name="app", actor=reader, is_public=False)
    assert (refused.value.code, refused.value.status) == ("SVCSTG.SWR.4037017", 403)
    created = repository_create(
        organization=org, name="a/b", actor=owner, is_public=True, category="lang"
    )
    assert (created.full_name, created.category, created.creator, created.tag_count) == (
        "team/a/b",
        "lang",
        owner,
        0,
    )
    with pytest.raises(ServiceError) as exists:
        repository_create(organization=org, name="a/b", actor=owner, is_public=True)
    assert (exists.value.code, exists.value.status) == ("SVCSTG.SWR.4090006", 409)


# -- show, change ----------------------------------------------------------------------------------


def test_show_needs_read_and_answers_404_otherwise(
    client: Client, org: Organization, reader: Any, outsider: Any
) -> None:
    repository = make_repository(org, "a/b/c", tag_count=3, size=4096)
    grant_repo(repository, reader, Level.READ)
    url = f"{NS}/team/repos/a$b$c"
    shown = Api(client, reader).get(url).json()
    assert (shown["name"], shown["num_images"], shown["size"], shown["creator_name"]) == (
        "a/b/c",
        3,
        4096,
        "",  # a push created it: no creator recorded
    )
    assert swr_error(Api(client, outsider).get(url)) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(Api(client, reader).get(f"{NS}/team/repos/nope")) == (
        404,
        "SVCSTG.SWR.4040010",
    )
    assert swr_error(client.get(url)) == (401, "SVCSTG.SWR.4010000")


def test_patch_answers_201_and_requires_is_public(
    api: Api, org: Organization, client: Client, reader: Any, outsider: Any
) -> None:
    repository = make_repository(org, "a/b", category="linux", description="keep me")
    url = f"{NS}/team/repos/a$b"
    response = api.patch(url, {"is_public": True})
    assert (response.status_code, response.content) == (201, b"")
    repository.refresh_from_db()
    # Left out: unchanged.
    assert (repository.is_public, repository.category, repository.description) == (
        True,
        "linux",
        "keep me",
    )
    assert api.patch(url, {"is_public": False, "category": "lang", "description": ""}).status_code
    repository.refresh_from_db()
    assert (repository.is_public, repository.category, repository.description) == (
        False,
        "lang",
        "",
    )
    assert AuditEvent.objects.filter(action="updateImageRepository", result="success").count() == 2

    for body in ({"category": "linux"}, {"is_public": "yes"}, {"is_public": 0}):
        assert swr_error(api.patch(url, body)) == (400, "SVCSTG.SWR.4001009")
    assert swr_error(api.patch(url, {"is_public": True, "category": "x"})) == (
        400,
        "SVCSTG.SWR.4000014",
    )
    too_long = {"is_public": True, "description": "x" * 30_001}
    assert swr_error(api.patch(url, too_long)) == (413, "SVCSTG.SWR.4131012")
    assert swr_error(api.patch(f"{NS}/team/repos/nope", {"is_public": True})) == (
        404,
        "SVCSTG.SWR.4040010",
    )

    grant_repo(repository, reader, Level.READ)
    assert swr_error(Api(client, reader).patch(url, {"is_public": True})) == (
        403,
        "SVCSTG.SWR.4037018",
    )
    assert swr_error(Api(client, outsider).patch(url, {"is_public": True})) == (
        404,
        "SVCSTG.SWR.4040010",
    )
    anonymous = client.patch(url, {"is_public": True}, content_type="application/json")
    assert swr_error(anonymous) == (401, "SVCSTG.SWR.4010000")
    refused = AuditEvent.objects.filter(action="updateImageRepository", result="failure")
    assert refused.filter(actor=reader).exists()
    repository.refresh_from_db()
    assert repository.is_public is False


def test_delete_refuses_readers_writers_and_outsiders(
    client: Client, org: Organization, reader: Any, outsider: Any, make_user: Any
) -> None:
    repository = make_repository(org, "app")
    grant_repo(repository, reader, Level.READ)
    writer = make_user("writer")
    grant_repo(repository, writer, Level.WRITE)
    url = f"{NS}/team/repos/app"
    assert swr_error(Api(client, reader).delete(url)) == (403, "SVCSTG.SWR.4037018")
    assert swr_error(Api(client, writer).delete(url)) == (403, "SVCSTG.SWR.4037018")
    assert swr_error(Api(client, outsider).delete(url)) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(client.delete(url)) == (401, "SVCSTG.SWR.4010000")
    assert Repository.objects.filter(pk=repository.pk).exists()
    refused = AuditEvent.objects.filter(action="deleteImageRepository", result="failure")
    assert sorted(refused.exclude(actor=None).values_list("actor__username", flat=True)) == [
        "outsider",
        "reader",
        "writer",
    ]


@pytest.mark.registry
def test_delete_removes_every_image_from_registry_and_index(
    worker: object,
    owner: Any,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
    client: Client,
) -> None:
    org = make_org(f"rd-{uuid.uuid4().hex[:8]}", creator=owner)
    path = f"{org.name}/tools/app"
    image = build_image(labels={"u": uuid.uuid4().hex})
    for tag in ("v1", "v2"):
        push_image(berth_registry_client, path, image, tag)
    wait_for(
        lambda: (
            Tag.objects.filter(repository__organization=org, repository__name="tools/app")
            .filter(name__in=["v1", "v2"])
            .count()
            == 2
        ),
        timeout=30,
        what=f"the index to show {path}",
    )
    api = Api(client, owner)
    empty = api.post(f"{NS}/{org.name}/repos", {"repository": "empty", "is_public": False})
    assert empty.status_code == 200

    response = api.delete(f"{NS}/{org.name}/repos/tools$app")
    assert (response.status_code, response.content) == (204, b"")
    assert not Repository.objects.filter(organization=org, name="tools/app").exists()
    assert berth_registry_client.tags(path) == []
    assert api.delete(f"{NS}/{org.name}/repos/empty").status_code == 204
    assert swr_error(api.get(f"{NS}/{org.name}/repos/empty")) == (404, "SVCSTG.SWR.4040010")
    assert AuditEvent.objects.filter(action="deleteImageRepository", result="success").count() == 2


# -- the list --------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(make_org: Callable[..., Organization], owner: Any, reader: Any) -> dict[str, Any]:
    """Three organizations; the reader sees `alpha` (org grant), one repository of `beta`
    (repository grant) and public ones; `gamma/secret` stays hidden."""
    now = timezone.now()
    alpha, beta, gamma = (make_org(n, creator=owner) for n in ("alpha", "beta", "gamma"))
    grant_org(alpha, reader, Level.READ)
    web = make_repository(alpha, "web", category="app_server", updated_at=now)
    make_tag(web, "v1")
    make_tag(web, "latest")
    db = make_repository(alpha, "tools/db", category="database", updated_at=now - dt.timedelta(1))
    make_tag(db, "16")
    shared = make_repository(beta, "granted", updated_at=now - dt.timedelta(2))
    grant_repo(shared, reader, Level.READ)
    public = make_repository(gamma, "public-web", is_public=True, updated_at=now - dt.timedelta(3))
    make_repository(gamma, "secret", updated_at=now - dt.timedelta(4))
    web.refresh_from_db()
    db.refresh_from_db()
    return {"web": web, "db": db, "granted": shared, "public": public}


def _names(response: Any) -> list[str]:
    return [f"{r['namespace']}/{r['name']}" for r in response.json()]


def test_the_list_shows_what_the_caller_can_see_newest_push_first(
    client: Client, catalogue: dict[str, Any], reader: Any, settings: Any
) -> None:
    settings.REGISTRY_HOST = "registry.example.com"
    response = Api(client, reader).get(f"{M}/repos")
    assert response.status_code == 200
    assert response["Content-Range"] == "0-4/4"
    assert _names(response) == ["alpha/web", "alpha/tools/db", "beta/granted", "gamma/public-web"]
    web = catalogue["web"]
    first = response.json()[0]
    assert first.pop("created_at") and first.pop("updated_at")
    assert first == {
        "name": "web",
        "category": "app_server",
        "description": "",
        "size": web.size,
        "is_public": False,
        "num_images": 2,
        "num_download": 0,
        "logo": "",
        "url": "",
        "path": "registry.example.com/alpha/web",
        "internal_path": f"{settings.REGISTRY_URL.split('//')[1]}/alpha/web",
        "domain_name": "",
        "namespace": "alpha",
        "tags": ["latest", "v1"],
        "status": False,
        "total_range": 4,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("namespace=alph", ["alpha/web", "alpha/tools/db"]),
        ("name=WEB", ["alpha/web", "gamma/public-web"]),
        ("name=tools/", ["alpha/tools/db"]),
        ("category=database", ["alpha/tools/db"]),
        ("is_public=true", ["gamma/public-web"]),
        ("is_public=false", ["alpha/web", "alpha/tools/db", "beta/granted"]),
        (
            "order_column=name&order_type=asc",
            ["alpha/tools/db", "alpha/web", "beta/granted", "gamma/public-web"],
        ),
        (
            "order_column=tag_count&order_type=desc",
            ["alpha/web", "alpha/tools/db", "beta/granted", "gamma/public-web"],
        ),
        (
            "order_column=updated_time&order_type=asc",
            ["gamma/public-web", "beta/granted", "alpha/tools/db", "alpha/web"],
        ),
        (
            "order_column=updated_at&order_type=desc",
            ["alpha/web", "alpha/tools/db", "beta/granted", "gamma/public-web"],
        ),
        (
            "order_column=namespace&order_type=desc",
            ["gamma/public-web", "beta/granted", "alpha/tools/db", "alpha/web"],
        ),
        (
            "order_column=is_public&order_type=desc",
            ["gamma/public-web", "alpha/tools/db", "alpha/web", "beta/granted"],
        ),
        # `filter` wins over the separate parameters.
        ("name=web&filter=name::granted", ["beta/granted"]),
        ("filter=namespace::a|category::app_server", ["alpha/web"]),
        ("filter=is_public::true|limit::5|offset::0", ["gamma/public-web"]),
    ],
)
def test_the_list_filters_and_orders(
    client: Client, catalogue: dict[str, Any], reader: Any, query: str, expected: list[str]
) -> None:
    response = Api(client, reader).get(f"{M}/repos", QUERY_STRING=query)
    assert response.status_code == 200, response.content
    assert _names(response) == expected


def test_the_list_pages_with_offset_and_limit(
    client: Client, catalogue: dict[str, Any], reader: Any
) -> None:
    api = Api(client, reader)
    page = api.get(f"{M}/repos", QUERY_STRING="offset=1&limit=2")
    assert (page["Content-Range"], _names(page)) == ("1-2/4", ["alpha/tools/db", "beta/granted"])
    assert all(r["total_range"] == 4 for r in page.json())
    last = api.get(f"{M}/repos", QUERY_STRING="offset=3&limit=2")
    assert (last["Content-Range"], _names(last)) == ("3-1/4", ["gamma/public-web"])
    beyond = api.get(f"{M}/repos", QUERY_STRING="offset=9&limit=2")
    assert (beyond["Content-Range"], beyond.json()) == ("9-0/4", [])


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "SVCSTG.SWR.4000056"),
        ("limit=1001", "SVCSTG.SWR.4000056"),
        ("limit=ten", "SVCSTG.SWR.4000056"),
        ("offset=-1&limit=1", "SVCSTG.SWR.4000014"),
        ("order_column=size&order_type=asc", "SVCSTG.SWR.4000014"),
        ("order_column=name", "SVCSTG.SWR.4000014"),
        ("order_column=name&order_type=up", "SVCSTG.SWR.4000014"),
        ("category=games", "SVCSTG.SWR.4000014"),
        ("is_public=yes", "SVCSTG.SWR.4001009"),
        ("filter=name", "SVCSTG.SWR.4001035"),
        ("filter=color::red", "SVCSTG.SWR.4001035"),
    ],
)
def test_bad_list_parameters_are_400(api: Api, db: None, query: str, code: str) -> None:
    assert swr_error(api.get(f"{M}/repos", QUERY_STRING=query)) == (400, code)


def test_the_list_needs_credentials(client: Client, db: None) -> None:
    assert swr_error(client.get(f"{M}/repos")) == (401, "SVCSTG.SWR.4010000")
    assert swr_error(client.get(f"{M}/shared-repositories?center=self")) == (
        401,
        "SVCSTG.SWR.4010000",
    )


def _queries(api: Api, url: str, query: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url, QUERY_STRING=query).status_code == 200
    return len(captured)


def test_list_queries_do_not_grow_with_the_total_or_the_page_size(
    client: Client, make_org: Callable[..., Organization], owner: Any, reader: Any
) -> None:
    team = Group.objects.create(name="readers")
    reader.groups.add(team)
    alpha, beta = make_org("alpha", creator=owner), make_org("beta", creator=owner)
    grant_org(alpha, reader, Level.READ)

    def grow(count: int) -> None:
        for _ in range(count):
            repository = make_repository(alpha, f"r{uuid.uuid4().hex[:10]}")
            make_tag(repository, "v1")
            make_tag(repository, "v2")
            other = make_repository(beta, f"s{uuid.uuid4().hex[:10]}")
            _share(other, team, owner)

    api = Api(client, reader)
    shared = f"{M}/shared-repositories"
    api.get(f"{M}/repos")  # the token's first use records it
    grow(3)
    small = [
        _queries(api, f"{M}/repos", "limit=10&offset=0"),
        _queries(api, shared, "center=thirdparty&limit=10&offset=0"),
    ]
    grow(120)
    large = [
        _queries(api, f"{M}/repos", "limit=10&offset=0"),
        _queries(api, shared, "center=thirdparty&limit=10&offset=0"),
    ]
    wide = [
        _queries(api, f"{M}/repos", "limit=100&offset=0"),
        _queries(api, shared, "center=thirdparty&limit=100&offset=0"),
    ]
    everything = [_queries(api, shared, "center=thirdparty")]
    assert small == large == wide
    assert everything == [small[1]]
    assert len(api.get(f"{M}/repos", QUERY_STRING="limit=100&offset=0").json()) == 100


# -- shared repositories ---------------------------------------------------------------------------


@pytest.fixture
def shares(
    make_org: Callable[..., Organization], owner: Any, reader: Any, make_user: Any
) -> dict[str, Any]:
    """The owner shares three private repositories with the reader's team (one expired, one
    twice through two teams); another user shares one more."""
    org = make_org("share-org", creator=owner)
    team, other_team = Group.objects.create(name="devs"), Group.objects.create(name="ops")
    reader.groups.add(team, other_team)
    now = timezone.now()
    valid = make_repository(org, "valid", updated_at=now)
    expired = make_repository(org, "expired", updated_at=now - dt.timedelta(1))
    twice = make_repository(org, "twice", updated_at=now - dt.timedelta(2))
    _share(valid, team, owner)
    _share(expired, team, owner, days=1)
    Share.objects.filter(repository=expired).update(deadline=now - dt.timedelta(hours=1))
    _share(twice, team, owner, days=1)
    Share.objects.filter(repository=twice, team=team).update(deadline=now - dt.timedelta(1))
    _share(twice, other_team, owner)  # still valid through the other team
    someone = make_user("someone")
    foreign_org = make_org("foreign", creator=someone)
    _share(make_repository(foreign_org, "theirs", updated_at=now - dt.timedelta(3)), team, someone)
    return {"org": org}


def test_shared_with_me_lists_each_repository_once_with_its_status(
    client: Client, shares: dict[str, Any], reader: Any
) -> None:
    api = Api(client, reader)
    response = api.get(f"{M}/shared-repositories", QUERY_STRING="center=thirdparty")
    assert response.status_code == 200
    assert response["Content-Range"] == "0-4/4"
    assert [(r["namespace"], r["name"], r["status"]) for r in response.json()] == [
        ("share-org", "valid", True),
        ("share-org", "expired", False),
        ("share-org", "twice", True),
        ("foreign", "theirs", True),
    ]
    expired = api.get(f"{M}/shared-repositories", QUERY_STRING="center=thirdparty&status=false")
    assert _names(expired) == ["share-org/expired"]
    valid = api.get(
        f"{M}/shared-repositories", QUERY_STRING="filter=center::thirdparty|status::true"
    )
    assert _names(valid) == ["share-org/valid", "share-org/twice", "foreign/theirs"]
    page = api.get(
        f"{M}/shared-repositories",
        QUERY_STRING="center=thirdparty&offset=1&limit=2&order_column=name&order_type=asc",
    )
    assert (page["Content-Range"], _names(page)) == (
        "1-2/4",
        ["share-org/expired", "share-org/twice"],
    )
    by_org = api.get(f"{M}/shared-repositories", QUERY_STRING="center=thirdparty&namespace=foreign")
    assert _names(by_org) == ["foreign/theirs"]
    by_name = api.get(f"{M}/shared-repositories", QUERY_STRING="center=thirdparty&name=WI")
    assert _names(by_name) == ["share-org/twice"]


def test_shared_by_me_lists_what_i_shared(
    client: Client, shares: dict[str, Any], owner: Any, reader: Any
) -> None:
    response = Api(client, owner).get(f"{M}/shared-repositories", QUERY_STRING="center=self")
    assert [(r["name"], r["status"]) for r in response.json()] == [
        ("valid", False),
        ("expired", False),
        ("twice", False),
    ]
    assert (
        Api(client, reader).get(f"{M}/shared-repositories", QUERY_STRING="center=self").json() == []
    )


@pytest.mark.parametrize(
    "query", ["", "center=others", "center=self&status=maybe", "filter=name::x"]
)
def test_shared_lists_need_a_valid_center(api: Api, db: None, query: str) -> None:
    response = api.get(f"{M}/shared-repositories", QUERY_STRING=query)
    assert swr_error(response) == (400, "SVCSTG.SWR.4000014")


# -- the official SDK ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sdk_creates_shows_updates_and_lists_repositories(
    live_server: Any, make_user: Any, make_org: Callable[..., Organization]
) -> None:
    alice = make_user("alice")
    make_org("sdk-org", creator=alice)
    sdk = sdk_client(live_server.url, alice)
    created = sdk.create_repo(
        CreateRepoRequest(
            namespace="sdk-org",
            body=CreateRepoRequestBody(
                repository="tools/app", is_public=False, category="lang", description="d"
            ),
        )
    )
    assert created.status_code == 200
    shown = sdk.show_repository(ShowRepositoryRequest(namespace="sdk-org", repository="tools$app"))
    assert (shown.name, shown.category, shown.creator_name, shown.is_public) == (
        "tools/app",
        "lang",
        "alice",
        False,
    )
    updated = sdk.update_repo(
        UpdateRepoRequest(
            namespace="sdk-org",
            repository="tools$app",
            body=UpdateRepoRequestBody(is_public=True, description="now public"),
        )
    )
    assert updated.status_code == 201
    listed = sdk.list_repos_details(
        ListReposDetailsRequest(namespace="sdk-org", limit="10", offset="0")
    )
    assert listed.content_range == "0-1/1"
    assert [
        (r.namespace, r.name, r.is_public, r.description, r.total_range) for r in listed.body
    ] == [("sdk-org", "tools/app", True, "now public", 1)]
    shared = sdk.list_shared_repos_details(ListSharedReposDetailsRequest(center="self"))
    assert (shared.content_range, shared.body) == ("0-0/0", None)  # the SDK reads [] as None
