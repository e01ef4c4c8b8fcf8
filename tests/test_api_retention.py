"""Retention policies through the SWR API (SWR-SPEC.md §2.8): shapes and status codes as the SDK
has them, SWR's codes for invalid rules, one policy per repository, an immutable template, who
may read and change, the histories with paging, and a policy set with the official SDK that
deletes tags in the real registry and shows them in its histories."""

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
    CreateRetentionRequest,
    CreateRetentionRequestBody,
    ListRetentionHistoriesRequest,
    ListRetentionsRequest,
    Rule,
    TagSelector,
)

from dashboard.models import AuditEvent, Job, Level, Organization, Repository, RetentionLog, Tag
from dashboard.models import RetentionPolicy as Policy
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from tests.index_rows import grant_org, make_repository
from tests.servers import wait_for
from tests.swr_api import Api, sdk_client, swr_error

BASE = "/v2/manage/namespaces/keep/repos/tools$app/retentions"
RULE = {
    "template": "tag_rule",
    "params": {"num": "5"},
    "tag_selectors": [
        {"kind": "label", "pattern": "latest"},
        {"kind": "regexp", "pattern": "^release-"},
    ],
}
BODY = {"algorithm": "or", "rules": [RULE]}


@pytest.fixture
def repo(owner, reader, make_org) -> Repository:  # type: ignore[no-untyped-def]
    organization = make_org("keep", creator=owner)
    grant_org(organization, reader, Level.READ)
    return make_repository(organization, "tools/app")


@pytest.fixture
def api(client: Client, owner, repo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client, owner)


def _create(api: Api, body: Any = None) -> int:
    response = api.post(BASE, body or BODY)
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


# -- create, read ----------------------------------------------------------------------------------


def test_create_answers_201_with_the_id_and_runs_the_policy_at_once(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    response = api.post(BASE, BODY)
    assert response.status_code == 201
    policy = Policy.objects.get(repository=repo)
    assert response.json() == {"id": policy.pk}
    assert (policy.template, policy.value) == ("tag_rule", 5)
    run = Job.objects.get(kind=Job.Kind.RETENTION, repository=repo)
    assert policy.last_job == run
    assert AuditEvent.objects.filter(action="createRetention", result="success").exists()

    expected = {"id": policy.pk, "algorithm": "or", "rules": [RULE], "scope": ""}
    assert api.get(BASE).json() == [expected]
    assert api.get(f"{BASE}/{policy.pk}").json() == expected


def test_swr_s_date_rule_with_string_days_and_no_exceptions(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    policy_id = _create(
        api, {"algorithm": "or", "rules": [{"template": "date_rule", "params": {"days": "30"}}]}
    )
    rule = api.get(f"{BASE}/{policy_id}").json()["rules"][0]
    assert rule == {"template": "date_rule", "params": {"days": "30"}, "tag_selectors": []}


def test_a_repository_without_a_policy_lists_none(api: Api) -> None:
    response = api.get(BASE)
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**BODY, "algorithm": "and"}, "SVCSTG.SWR.4000014"),
        ({"rules": [RULE]}, "SVCSTG.SWR.4000014"),
        ({"algorithm": "or", "rules": []}, "SVCSTG.SWR.4000014"),
        ({"algorithm": "or", "rules": [RULE, RULE]}, "SVCSTG.SWR.4000014"),
        ({"algorithm": "or", "rules": [{**RULE, "template": "size_rule"}]}, "SVCSTG.SWR.4000014"),
        ({"algorithm": "or", "rules": [{**RULE, "params": {}}]}, "SVCSTG.SWR.4000014"),
        ({"algorithm": "or", "rules": [{**RULE, "params": {"days": "5"}}]}, "SVCSTG.SWR.4000014"),
        ({"algorithm": "or", "rules": [{**RULE, "params": {"num": "0"}}]}, "SVCSTG.SWR.4000014"),
        ({"algorithm": "or", "rules": [{**RULE, "params": {"num": "1001"}}]}, "SVCSTG.SWR.4000014"),
        ({"algorithm": "or", "rules": [{**RULE, "params": {"num": ["5"]}}]}, "SVCSTG.SWR.4000014"),
        ({"algorithm": "or", "rules": [{**RULE, "params": "5"}]}, "SVCSTG.SWR.4000014"),
        (
            {
                "algorithm": "or",
                "rules": [{**RULE, "tag_selectors": [{"kind": "glob", "pattern": "v*"}]}],
            },
            "SVCSTG.SWR.4000014",
        ),
        (
            {
                "algorithm": "or",
                "rules": [{**RULE, "tag_selectors": [{"kind": "regexp", "pattern": "("}]}],
            },
            "SVCSTG.SWR.4000014",
        ),
        (
            {
                "algorithm": "or",
                "rules": [{**RULE, "tag_selectors": [{"kind": "label", "pattern": "a b"}]}],
            },
            "SVCSTG.SWR.4009021",
        ),
        ([], "SVCSTG.SWR.4000014"),
        ("or", "SVCSTG.SWR.4000014"),
    ],
)
def test_invalid_policies_get_swr_codes_and_nothing_is_stored(
    api: Api, body: Any, code: str
) -> None:
    assert swr_error(api.post(BASE, body)) == (400, code)
    assert not Policy.objects.exists()
    assert not Job.objects.exists()


def test_malformed_json_is_400_with_4001018(api: Api) -> None:
    response = api.client.post(
        BASE, data="{not json", content_type="application/json", headers=api.headers
    )
    assert swr_error(response) == (400, "SVCSTG.SWR.4001018")


def test_one_policy_per_repository_the_second_is_409(api: Api) -> None:
    _create(api)
    assert swr_error(api.post(BASE, BODY)) == (409, "SVCSTG.SWR.4000014")
    assert Policy.objects.count() == 1
    traced = AuditEvent.objects.get(action="createRetention", result="failure")
    assert traced.detail["status"] == 409


# -- change, delete --------------------------------------------------------------------------------


def test_patch_answers_201_changes_the_rule_and_runs_again(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    policy_id = _create(api)
    changed = {**RULE, "params": {"num": "9"}, "tag_selectors": []}
    response = api.patch(f"{BASE}/{policy_id}", {"algorithm": "or", "rules": [changed]})
    assert (response.status_code, response.content) == (201, b"")
    assert api.get(f"{BASE}/{policy_id}").json()["rules"] == [changed]
    assert Job.objects.filter(kind=Job.Kind.RETENTION, repository=repo).count() == 2
    assert AuditEvent.objects.filter(action="updateRetention", result="success").exists()


def test_the_template_cannot_change_and_a_refused_patch_changes_nothing(api: Api) -> None:
    policy_id = _create(api)
    other = {"template": "date_rule", "params": {"days": "3"}, "tag_selectors": []}
    url = f"{BASE}/{policy_id}"
    assert swr_error(api.patch(url, {"algorithm": "or", "rules": [other]})) == (
        400,
        "SVCSTG.SWR.4000014",
    )
    bad = {**RULE, "params": {"num": "-1"}}
    assert swr_error(api.patch(url, {"algorithm": "or", "rules": [bad]}))[0] == 400
    assert api.get(url).json()["rules"] == [RULE]
    assert AuditEvent.objects.filter(action="updateRetention", result="failure").count() == 2


def test_delete_answers_200_and_the_policy_is_gone(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    policy_id = _create(api)
    RetentionLog.objects.create(
        retention_id=policy_id,
        repository=repo,
        namespace="keep",
        repo="tools/app",
        tag="old",
        rule_type="{}",
    )
    response = api.delete(f"{BASE}/{policy_id}")
    assert (response.status_code, response.content) == (200, b"")
    assert api.get(BASE).json() == []
    assert swr_error(api.get(f"{BASE}/{policy_id}")) == (404, "SVCSTG.SWR.4040083")
    assert swr_error(api.delete(f"{BASE}/{policy_id}")) == (404, "SVCSTG.SWR.4040083")
    # The histories outlive the policy.
    assert api.get(f"{BASE}/histories").json()["total"] == 1
    assert AuditEvent.objects.filter(action="deleteRetention", result="success").exists()


@pytest.mark.parametrize("suffix", ["abc", "-1", "1.5", "99999999999999999999999999", "0"])
def test_an_unknown_or_malformed_id_is_404_with_a_code(api: Api, suffix: str) -> None:
    _create(api)
    for method in ("get", "patch", "delete"):
        response = getattr(api, method)(f"{BASE}/{suffix}", *([BODY] if method == "patch" else []))
        assert swr_error(response) == (404, "SVCSTG.SWR.4040083"), (method, suffix)
    assert Policy.objects.count() == 1


def test_another_repository_s_policy_id_is_not_found_here(api: Api, repo, make_org, owner) -> None:  # type: ignore[no-untyped-def]
    other = make_repository(repo.organization, "other")
    policy_id = _create(api)
    assert api.post("/v2/manage/namespaces/keep/repos/other/retentions", BODY).status_code == 201
    path = f"/v2/manage/namespaces/keep/repos/other/retentions/{policy_id}"
    assert swr_error(api.get(path)) == (404, "SVCSTG.SWR.4040083")
    assert swr_error(api.delete(path)) == (404, "SVCSTG.SWR.4040083")
    assert Policy.objects.filter(repository=other).exists()


# -- who may --------------------------------------------------------------------------------------


def _calls(policy_id: int) -> list[tuple[str, str, Any]]:
    return [
        ("post", BASE, BODY),
        ("get", BASE, None),
        ("get", f"{BASE}/{policy_id}", None),
        ("patch", f"{BASE}/{policy_id}", BODY),
        ("delete", f"{BASE}/{policy_id}", None),
        ("get", f"{BASE}/histories", None),
    ]


def test_without_credentials_every_call_is_401(api: Api, client: Client) -> None:
    policy_id = _create(api)
    anonymous = Api(client)
    for method, path, body in _calls(policy_id):
        response = anonymous.call(method, path, body)
        assert swr_error(response) == (401, "SVCSTG.SWR.4010000"), (method, path)


def test_an_outsider_gets_404_and_a_reader_reads_but_cannot_change(
    api: Api, client: Client, outsider, reader
) -> None:  # type: ignore[no-untyped-def]
    policy_id = _create(api)
    stranger, read_only = Api(client, outsider), Api(client, reader)
    for method, path, body in _calls(policy_id):
        response = stranger.call(method, path, body)
        assert swr_error(response) == (404, "SVCSTG.SWR.4040010"), (method, path)
        response = read_only.call(method, path, body)
        if method == "get":
            assert response.status_code == 200, (method, path)
        else:
            assert swr_error(response) == (403, "SVCSTG.SWR.4037018"), (method, path)
    assert Policy.objects.get().value == 5
    refused = AuditEvent.objects.filter(result="failure", actor_name="reader")
    assert sorted(refused.values_list("action", flat=True)) == [
        "createRetention",
        "deleteRetention",
        "updateRetention",
    ]


def test_an_unknown_repository_or_organization_is_404(api: Api) -> None:
    for path in (
        "/v2/manage/namespaces/keep/repos/nope/retentions",
        "/v2/manage/namespaces/none/repos/tools$app/retentions/histories",
    ):
        assert swr_error(api.get(path)) == (404, "SVCSTG.SWR.4040010")


# -- histories -------------------------------------------------------------------------------------


def _logs(repo: Repository, count: int, retention_id: int = 7) -> list[RetentionLog]:  # type: ignore[no-untyped-def]
    start = timezone.now() - dt.timedelta(hours=count)
    return [
        RetentionLog.objects.create(
            retention_id=retention_id,
            repository=repo,
            namespace="keep",
            repo="tools/app",
            tag=f"t{number}",
            digest="sha256:" + "0" * 64,
            rule_type='{"template":"tag_rule","params":{"num":"1"},"tag_selectors":[]}',
            created_at=start + dt.timedelta(hours=number),
        )
        for number in range(count)
    ]


def test_histories_are_newest_first_with_swr_s_fields_and_content_range(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    logs = _logs(repo, 5)
    response = api.get(f"{BASE}/histories")
    assert response.status_code == 200
    assert response["Content-Range"] == "0-5/5"
    body = response.json()
    assert body["total"] == 5
    assert [entry["tag"] for entry in body["retention_log"]] == ["t4", "t3", "t2", "t1", "t0"]
    newest = logs[-1]
    assert body["retention_log"][0] == {
        "id": newest.pk,
        "created_at": newest.created_at.isoformat().replace("+00:00", "Z"),
        "namespace": "keep",
        "repo": "tools/app",
        "retention_id": 7,
        "rule_type": newest.rule_type,
        "tag": "t4",
    }


def test_histories_page_with_limit_and_offset_or_swr_s_filter(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    _logs(repo, 5)
    url = f"{BASE}/histories"

    def tags(response: Any) -> list[str]:
        return [entry["tag"] for entry in response.json()["retention_log"]]

    paged = api.get(url, QUERY_STRING="limit=2&offset=1")
    assert (tags(paged), paged["Content-Range"], paged.json()["total"]) == (
        ["t3", "t2"],
        "1-2/5",
        5,
    )
    filtered = api.get(url, QUERY_STRING="limit=1&offset=0&filter=limit::2|offset::3")
    assert (tags(filtered), filtered["Content-Range"]) == (["t1", "t0"], "3-2/5")
    beyond = api.get(url, QUERY_STRING="filter=limit::10|offset::10")
    assert (tags(beyond), beyond["Content-Range"]) == ([], "10-0/5")
    for query, code in (
        ("filter=limit::0|offset::0", "SVCSTG.SWR.4000056"),
        ("filter=limit::1001|offset::0", "SVCSTG.SWR.4000056"),
        ("limit=x&offset=0", "SVCSTG.SWR.4000056"),
        ("filter=limit::2|offset::-1", "SVCSTG.SWR.4000014"),
        ("filter=limit:2", "SVCSTG.SWR.4001035"),
        ("filter=tag::v1", "SVCSTG.SWR.4001035"),
    ):
        assert swr_error(api.get(url, QUERY_STRING=query)) == (400, code), query


def test_histories_cost_the_same_queries_for_3_and_60_entries(api: Api, repo) -> None:  # type: ignore[no-untyped-def]
    def count(query: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"{BASE}/histories", QUERY_STRING=query).status_code == 200
        return len(queries)

    _logs(repo, 3)
    count("")  # the token's first use is recorded once
    small = count("limit=2&offset=0")
    _logs(repo, 57)
    assert count("limit=50&offset=0") == small
    assert count("limit=1000&offset=0") == small


# -- against the real registry, with the official SDK ----------------------------------------------


@pytest.mark.registry
@pytest.mark.django_db(transaction=True)
def test_a_policy_set_with_the_sdk_deletes_tags_and_its_histories_show_them(
    worker: object,
    live_server: Any,
    owner: Any,
    make_org: Callable[..., Organization],
    berth_registry_client: RegistryClient,
) -> None:
    org = make_org(f"ret-{uuid.uuid4().hex[:8]}", creator=owner)
    path = f"{org.name}/tools/app"
    for tag in ("one", "two", "three", "latest"):
        push_image(berth_registry_client, path, build_image(labels={"u": uuid.uuid4().hex}), tag)
        indexed = Tag.objects.filter(
            repository__organization=org, repository__name="tools/app", name=tag
        ).exists
        wait_for(indexed, timeout=30, what=f"the index to show {path}:{tag}")
    sdk = sdk_client(live_server.url, owner)
    rule = Rule(
        template="tag_rule",
        params={"num": "1"},
        tag_selectors=[TagSelector(kind="label", pattern="latest")],
    )
    created = sdk.create_retention(
        CreateRetentionRequest(
            namespace=org.name,
            repository="tools$app",
            body=CreateRetentionRequestBody(algorithm="or", rules=[rule]),
        )
    )
    assert created.status_code == 201 and created.id
    run = Policy.objects.get(pk=created.id).last_job
    assert run is not None
    wait_for(lambda: Job.objects.get(pk=run.pk).is_finished, timeout=60, what="the retention run")
    assert Job.objects.get(pk=run.pk).status == Job.Status.SUCCEEDED

    # "latest" is an exception, "three" the most recent of the others: both stay.
    assert sorted(berth_registry_client.tags(path)) == ["latest", "three"]
    listed = sdk.list_retentions(ListRetentionsRequest(namespace=org.name, repository="tools$app"))
    assert [(p.id, p.algorithm, p.rules[0].params) for p in listed.body] == [
        (created.id, "or", {"num": "1"})
    ]
    histories = sdk.list_retention_histories(
        ListRetentionHistoriesRequest(
            namespace=org.name, repository="tools$app", filter="limit::10|offset::0"
        )
    )
    assert histories.total == 2 and histories.content_range == "0-2/2"
    assert sorted(entry.tag for entry in histories.retention_log) == ["one", "two"]
    entry = histories.retention_log[0]
    assert (entry.namespace, entry.repo, entry.retention_id) == (org.name, "tools/app", created.id)
    assert json.loads(entry.rule_type) == {
        "template": "tag_rule",
        "params": {"num": "1"},
        "tag_selectors": [{"kind": "label", "pattern": "latest"}],
    }
