"""Image synchronization through the SWR API (SWR-SPEC.md §2.13): the regions (Berth's remote
registries), sync rules, manual syncs answering the tags that failed, the sync records with
SWR's required `filter` paging, who may read and change, and a manual sync made with the
official SDK that copies a tag into a real second registry."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huaweicloudsdkswr.v2.model import (
    CreateImageSyncRepoRequest,
    CreateImageSyncRepoRequestBody,
    CreateManualImageSyncRepoRequest,
    CreateManualImageSyncRepoRequestBody,
    DeleteImageSyncRepoRequest,
    DeleteImageSyncRepoRequestBody,
    ListImageAutoSyncReposDetailsRequest,
    ListSyncRegionsRequest,
    ShowSyncJobRequest,
)

from dashboard.models import (
    AuditEvent,
    Job,
    Level,
    Organization,
    RemoteRegistry,
    Repository,
    SyncJob,
    SyncRule,
    Tag,
)
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from dashboard.services.sync import remote_registry_create
from tests.index_rows import grant_org, make_repository, make_tag
from tests.servers import wait_for
from tests.swr_api import Api, sdk_client, swr_error
from tests.sync_targets import Target, basic_target

__all__ = ["basic_target"]

BASE = "/v2/manage/namespaces/team/repos/tools$app"
TARGET = {"remoteRegionId": "cn-north-4", "remoteNamespace": "mirror"}


@pytest.fixture
def remote(admin_user) -> RemoteRegistry:  # type: ignore[no-untyped-def]
    return remote_registry_create(
        name="cn-north-4", url="https://swr.example.com", actor=admin_user
    )


@pytest.fixture
def repo(owner, reader, make_org, remote) -> Repository:  # type: ignore[no-untyped-def]
    organization = make_org("team", creator=owner)
    grant_org(organization, reader, Level.READ)
    repository = make_repository(organization, "tools/app")
    for name in ("v1", "v2", "latest"):
        make_tag(repository, name)
    return repository


@pytest.fixture
def api(client: Client, owner, repo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client, owner)


# -- regions ---------------------------------------------------------------------------------------


def test_regions_are_the_remote_registries_by_name_for_any_user(
    client: Client, remote, admin_user, outsider
) -> None:  # type: ignore[no-untyped-def]
    remote_registry_create(name="af-south-1", url="https://af.example.com", actor=admin_user)
    response = Api(client, outsider).get("/v2/manage/regions")
    assert response.status_code == 200
    assert response.json() == [{"regionID": "af-south-1"}, {"regionID": "cn-north-4"}]
    assert swr_error(Api(client).get("/v2/manage/regions")) == (401, "SVCSTG.SWR.4010000")


# -- rules (sync_repo) -----------------------------------------------------------------------------


def test_a_rule_is_added_with_200_and_lists_with_swr_s_fields(api: Api, repo, owner) -> None:  # type: ignore[no-untyped-def]
    response = api.post(f"{BASE}/sync_repo", {**TARGET, "syncAuto": True})
    assert (response.status_code, response.content) == (200, b"")
    rule = SyncRule.objects.get(repository=repo)
    assert (rule.sync_auto, rule.override) == (True, False)
    listed = api.get(f"{BASE}/sync_repo")
    assert listed.status_code == 200
    stamp = rule.created_at.isoformat().replace("+00:00", "Z")
    assert listed.json() == [
        {
            "id": rule.pk,
            "namespace": "team",
            "repoName": "tools/app",
            "remoteRegionId": "cn-north-4",
            "remoteNamespace": "mirror",
            "syncAuto": True,
            "override": False,
            "domainID": str(owner.pk),
            "domainName": "owner",
            "createdAt": stamp,
            "updatedAt": rule.updated_at.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert AuditEvent.objects.filter(action="createSyncRepo", result="success").exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**TARGET, "remoteRegionId": "nowhere"}, 404, "SVCSTG.SWR.4040083"),
        ({**TARGET, "remoteNamespace": "Bad_Name!"}, 400, "SVCSTG.SWR.4001028"),
        ({**TARGET, "remoteNamespace": "library"}, 400, "SVCSTG.SWR.4001028"),
        ({"remoteNamespace": "mirror"}, 400, "SVCSTG.SWR.4000014"),
        ({"remoteRegionId": "cn-north-4"}, 400, "SVCSTG.SWR.4000014"),
        ({**TARGET, "syncAuto": "sometimes"}, 400, "SVCSTG.SWR.4000014"),
        ({**TARGET, "override": [True]}, 400, "SVCSTG.SWR.4000014"),
        ([TARGET], 400, "SVCSTG.SWR.4000014"),
    ],
)
def test_invalid_rules_get_swr_codes_and_nothing_is_stored(
    api: Api, body: Any, status: int, code: str
) -> None:
    assert swr_error(api.post(f"{BASE}/sync_repo", body)) == (status, code)
    assert not SyncRule.objects.exists()


def test_a_second_rule_to_one_target_is_409(api: Api) -> None:
    assert api.post(f"{BASE}/sync_repo", TARGET).status_code == 200
    assert swr_error(api.post(f"{BASE}/sync_repo", TARGET)) == (409, "SVCSTG.SWR.4090089")
    other = {**TARGET, "remoteNamespace": "mirror2"}
    assert api.post(f"{BASE}/sync_repo", other).status_code == 200
    assert SyncRule.objects.count() == 2


def test_delete_names_the_rule_in_the_body_and_answers_200(api: Api) -> None:
    api.post(f"{BASE}/sync_repo", TARGET)
    api.post(f"{BASE}/sync_repo", {**TARGET, "remoteNamespace": "keep"})
    response = api.delete(f"{BASE}/sync_repo", TARGET)
    assert (response.status_code, response.content) == (200, b"")
    assert list(SyncRule.objects.values_list("remote_namespace", flat=True)) == ["keep"]
    assert swr_error(api.delete(f"{BASE}/sync_repo", TARGET)) == (404, "SVCSTG.SWR.4040083")
    unknown = {**TARGET, "remoteRegionId": "nowhere"}
    assert swr_error(api.delete(f"{BASE}/sync_repo", unknown)) == (404, "SVCSTG.SWR.4040083")
    assert swr_error(api.delete(f"{BASE}/sync_repo")) == (400, "SVCSTG.SWR.4000014")
    assert AuditEvent.objects.filter(action="deleteSyncRepo", result="success").count() == 1


# -- manual sync (sync_images) ---------------------------------------------------------------------


def test_sync_images_answers_200_with_the_tags_that_failed(api: Api, repo, owner) -> None:  # type: ignore[no-untyped-def]
    body = {**TARGET, "imageTag": ["v1", "nope", "latest"], "override": True}
    response = api.post(f"{BASE}/sync_images", body)
    assert (response.status_code, response.json()) == (200, ["nope"])
    records = SyncJob.objects.filter(repository=repo).order_by("tag")
    assert [(r.tag, r.status, r.override, r.operator_name) for r in records] == [
        ("latest", "waiting", True, "owner"),
        ("v1", "waiting", True, "owner"),
    ]
    assert Job.objects.get(kind=Job.Kind.SYNC).repository == repo
    everything_ok = api.post(f"{BASE}/sync_images", {**TARGET, "imageTag": ["v2"]})
    assert everything_ok.json() == []
    nothing = api.post(f"{BASE}/sync_images", {**TARGET, "imageTag": ["x", "y"]})
    assert (nothing.status_code, nothing.json()) == (200, ["x", "y"])
    assert Job.objects.filter(kind=Job.Kind.SYNC).count() == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**TARGET, "imageTag": []}, 400, "SVCSTG.SWR.4000014"),
        ({**TARGET, "imageTag": [" "]}, 400, "SVCSTG.SWR.4000014"),
        ({**TARGET, "imageTag": "v1"}, 400, "SVCSTG.SWR.4000014"),
        ({**TARGET, "imageTag": [f"t{n}" for n in range(501)]}, 400, "SVCSTG.SWR.4000014"),
        (TARGET, 400, "SVCSTG.SWR.4000014"),
        ({**TARGET, "imageTag": ["v1"], "remoteRegionId": "nowhere"}, 404, "SVCSTG.SWR.4040083"),
        ({**TARGET, "imageTag": ["v1"], "remoteNamespace": "UP"}, 400, "SVCSTG.SWR.4001028"),
    ],
)
def test_invalid_manual_syncs_get_swr_codes_and_start_nothing(
    api: Api, body: Any, status: int, code: str
) -> None:
    assert swr_error(api.post(f"{BASE}/sync_images", body)) == (status, code)
    assert not SyncJob.objects.exists()


# -- records (sync_job) ----------------------------------------------------------------------------


def _records(repo: Repository, count: int, operator: Any = None) -> list[SyncJob]:
    start = timezone.now() - dt.timedelta(hours=count)
    return [
        SyncJob.objects.create(
            repository=repo,
            namespace="team",
            repo_name="tools/app",
            tag=f"t{number}",
            remote_region_id="cn-north-4",
            remote_namespace="mirror",
            status="success" if number % 2 else "failed",
            operator=operator,
            operator_name=operator.get_username() if operator else "pusher",
            created_at=start + dt.timedelta(hours=number),
            updated_at=start + dt.timedelta(hours=number),
        )
        for number in range(count)
    ]


def test_records_need_limit_and_offset_and_page_newest_first(api: Api, repo, owner) -> None:  # type: ignore[no-untyped-def]
    records = _records(repo, 5, owner)
    url = f"{BASE}/sync_job"

    def tags(response: Any) -> list[str]:
        assert response.status_code == 200, response.content
        return [record["tag"] for record in response.json()]

    first = api.get(url, QUERY_STRING="filter=limit::2|offset::0")
    assert (tags(first), first["Content-Range"]) == (["t4", "t3"], "0-2/5")
    newest = records[-1]
    assert first.json()[0] == {
        "id": newest.pk,
        "namespace": "team",
        "repoName": "tools/app",
        "tag": "t4",
        "remoteRegionId": "cn-north-4",
        "remoteNamespace": "mirror",
        "override": False,
        "status": "failed",
        "syncOperatorId": str(owner.pk),
        "syncOperatorName": "owner",
        "domainID": str(owner.pk),
        "domainName": "owner",
        "createdAt": newest.created_at.isoformat().replace("+00:00", "Z"),
        "updatedAt": newest.updated_at.isoformat().replace("+00:00", "Z"),
    }
    oldest = api.get(url, QUERY_STRING="filter=limit::2|offset::1|order::asc")
    assert (tags(oldest), oldest["Content-Range"]) == (["t1", "t2"], "1-2/5")
    assert tags(api.get(url, QUERY_STRING="filter=limit::10|offset::0|order::desc"))[0] == "t4"
    assert tags(api.get(url, QUERY_STRING="limit=1&offset=4")) == ["t0"]
    for query, code in (
        ("", "SVCSTG.SWR.4000014"),
        ("filter=limit::2", "SVCSTG.SWR.4000014"),
        ("filter=offset::0", "SVCSTG.SWR.4000014"),
        ("filter=limit::2|offset::0|order::sideways", "SVCSTG.SWR.4000014"),
        ("filter=limit::0|offset::0", "SVCSTG.SWR.4000056"),
        ("filter=limit::2|offset::0|status::success", "SVCSTG.SWR.4001035"),
        ("filter=limit", "SVCSTG.SWR.4001035"),
    ):
        assert swr_error(api.get(url, QUERY_STRING=query)) == (400, code), query


def test_automatic_records_name_who_pushed_and_no_operator_id(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    _records(repo, 1)
    (record,) = api.get(f"{BASE}/sync_job", QUERY_STRING="filter=limit::5|offset::0").json()
    assert (record["syncOperatorId"], record["syncOperatorName"]) == ("", "pusher")


def test_lists_cost_the_same_queries_whatever_their_size(api: Api, repo, owner, admin_user) -> None:  # type: ignore[no-untyped-def]
    def count(path: str, query: str = "") -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(path, QUERY_STRING=query).status_code == 200
        return len(queries)

    jobs = f"{BASE}/sync_job"
    _records(repo, 3, owner)
    api.post(f"{BASE}/sync_repo", TARGET)
    count("/v2/manage/regions")  # the token's first use is recorded once
    small = (
        count(jobs, "filter=limit::2|offset::0"),
        count(f"{BASE}/sync_repo"),
        count("/v2/manage/regions"),
    )
    _records(repo, 60, owner)
    for number in range(10):
        name = f"r{number}"
        remote_registry_create(name=name, url=f"https://{name}.example.com", actor=admin_user)
        api.post(f"{BASE}/sync_repo", {**TARGET, "remoteRegionId": name})
    assert (
        count(jobs, "filter=limit::50|offset::0"),
        count(f"{BASE}/sync_repo"),
        count("/v2/manage/regions"),
    ) == small
    assert len(api.get(f"{BASE}/sync_repo").json()) == 11


# -- who may --------------------------------------------------------------------------------------


CALLS: list[tuple[str, str, Any]] = [
    ("post", f"{BASE}/sync_repo", {**TARGET, "remoteNamespace": "other"}),
    ("get", f"{BASE}/sync_repo", None),
    ("delete", f"{BASE}/sync_repo", TARGET),
    ("post", f"{BASE}/sync_images", {**TARGET, "imageTag": ["v1"]}),
    ("get", f"{BASE}/sync_job?filter=limit::10|offset::0", None),
]


def test_without_credentials_every_call_is_401(api: Api, client: Client) -> None:
    for method, path, body in CALLS:
        assert swr_error(Api(client).call(method, path, body)) == (401, "SVCSTG.SWR.4010000")


def test_an_outsider_gets_404_and_a_reader_reads_but_cannot_change(
    api: Api, client: Client, outsider, reader
) -> None:  # type: ignore[no-untyped-def]
    api.post(f"{BASE}/sync_repo", TARGET)
    stranger, read_only = Api(client, outsider), Api(client, reader)
    for method, path, body in CALLS:
        response = stranger.call(method, path, body)
        assert swr_error(response) == (404, "SVCSTG.SWR.4040010"), (method, path)
        response = read_only.call(method, path, body)
        if method == "get":
            assert response.status_code == 200, (method, path)
        else:
            assert swr_error(response) == (403, "SVCSTG.SWR.4037018"), (method, path)
    assert SyncRule.objects.count() == 1 and not SyncJob.objects.exists()
    refused = AuditEvent.objects.filter(result="failure", actor_name="reader")
    assert sorted(refused.values_list("action", flat=True)) == [
        "createSyncRepo",
        "deleteSyncRepo",
        "syncImages",
    ]


# -- the official SDK, a real registry and a real target -------------------------------------------


@pytest.mark.registry
@pytest.mark.django_db(transaction=True)
def test_a_manual_sync_made_with_the_sdk_copies_the_tag_and_its_record_says_success(
    worker: object,
    live_server: Any,
    owner: Any,
    admin_user: Any,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
    basic_target: Target,
) -> None:
    org = make_org(f"src{uuid.uuid4().hex[:8]}", creator=owner)
    path = f"{org.name}/tools/app"
    image = build_image(labels={"u": uuid.uuid4().hex})
    push_image(berth_registry_client, path, image, "v1")
    indexed = Tag.objects.filter(
        repository__organization=org, repository__name="tools/app", name="v1"
    ).exists
    wait_for(indexed, timeout=30, what=f"the index to show {path}:v1")
    region = f"basic-{uuid.uuid4().hex[:6]}"
    remote_registry_create(
        name=region,
        url=basic_target.url,
        username=basic_target.username,
        password=basic_target.password,
        actor=admin_user,
    )
    target_ns = f"mirror{uuid.uuid4().hex[:8]}"
    sdk = sdk_client(live_server.url, owner)

    regions = sdk.list_sync_regions(ListSyncRegionsRequest())
    assert region in [r.region_id for r in regions.body]
    rule = CreateImageSyncRepoRequestBody(
        remote_region_id=region, remote_namespace=target_ns, sync_auto=False, override=False
    )
    made = sdk.create_image_sync_repo(
        CreateImageSyncRepoRequest(namespace=org.name, repository="tools$app", body=rule)
    )
    assert made.status_code == 200
    rules = sdk.list_image_auto_sync_repos_details(
        ListImageAutoSyncReposDetailsRequest(namespace=org.name, repository="tools$app")
    )
    assert [(r.remote_region_id, r.remote_namespace, r.repo_name) for r in rules.body] == [
        (region, target_ns, "tools/app")
    ]

    started = sdk.create_manual_image_sync_repo(
        CreateManualImageSyncRepoRequest(
            namespace=org.name,
            repository="tools$app",
            body=CreateManualImageSyncRepoRequestBody(
                image_tag=["v1", "gone"], remote_region_id=region, remote_namespace=target_ns
            ),
        )
    )
    assert started.body == ["gone"]

    def records() -> Any:
        return sdk.show_sync_job(
            ShowSyncJobRequest(
                namespace=org.name, repository="tools$app", filter="limit::10|offset::0"
            )
        )

    wait_for(lambda: [r.status for r in records().body] == ["success"], timeout=60, what="the copy")
    shown = records()
    (record,) = shown.body
    assert (record.tag, record.remote_region_id, record.remote_namespace) == (
        "v1",
        region,
        target_ns,
    )
    assert (record.sync_operator_name, shown.content_range) == ("owner", "0-1/1")
    digest, _, body = basic_target.client().get_manifest(f"{target_ns}/tools/app", "v1")
    assert (digest, body) == (image.digest, image.manifest)

    removed = sdk.delete_image_sync_repo(
        DeleteImageSyncRepoRequest(
            namespace=org.name,
            repository="tools$app",
            body=DeleteImageSyncRepoRequestBody(
                remote_region_id=region, remote_namespace=target_ns
            ),
        )
    )
    assert removed.status_code == 200
    assert not SyncRule.objects.filter(repository__organization=org).exists()
