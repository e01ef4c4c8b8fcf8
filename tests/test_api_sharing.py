"""Sharing through the SWR API (SWR-SPEC.md §2.7): `repositories/.../access-domains`, teams as
SWR's accounts, `forever` or a UTC deadline, SWR's status codes (201 / 200 / 201 / 204) and
codes, and who may share."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkswr.v2.model import (
    CreateRepoDomainsRequest,
    CreateRepoDomainsRequestBody,
    DeleteRepoDomainsRequest,
    ListRepoDomainsRequest,
    ShowAccessDomainRequest,
    UpdateRepoDomainsRequest,
    UpdateRepoDomainsRequestBody,
)

from dashboard.models import AuditEvent, Level, Share
from dashboard.services import sharing
from dashboard.services.access import repository_level
from tests.index_rows import grant_org, grant_repo, make_repository
from tests.swr_api import Api, sdk_client, swr_error

BASE = "/v2/manage/namespaces/team-a/repositories/tools$busybox/access-domains"


@pytest.fixture
def repo(make_org, owner):  # type: ignore[no-untyped-def]
    return make_repository(make_org("team-a", creator=owner), "tools/busybox")


@pytest.fixture
def team(outsider) -> Group:  # type: ignore[no-untyped-def]
    group = Group.objects.create(name="recipients")
    outsider.groups.add(group)
    return group


@pytest.fixture
def api(client: Client, owner) -> Api:  # type: ignore[no-untyped-def]
    return Api(client, owner)


def _share(deadline: str = "forever", **extra: Any) -> dict[str, Any]:
    return {"access_domain": "recipients", "permit": "read", "deadline": deadline, **extra}


def test_share_answers_201_and_the_team_may_pull(api: Api, repo, team, owner, outsider) -> None:  # type: ignore[no-untyped-def]
    assert repository_level(user=outsider, organization=repo.organization, repository=repo) == 0
    response = api.post(BASE, _share(description="for the release"))
    assert (response.status_code, response.content) == (201, b"")
    outsider.refresh_from_db()  # the permission function caches the user's teams
    assert repository_level(user=outsider, organization=repo.organization, repository=repo) == 1
    [listed] = api.get(BASE).json()
    share = Share.objects.get()
    assert listed == {
        "namespace": "team-a",
        "repository": "tools/busybox",
        "access_domain": "recipients",
        "permit": "read",
        "deadline": "forever",
        "description": "for the release",
        "creator_id": str(owner.pk),
        "creator_name": "owner",
        "created": share.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "updated": share.updated_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": True,
    }
    assert AuditEvent.objects.filter(action="createRepoShare", result="success").exists()


def test_a_deadline_is_a_utc_time_and_an_expired_share_stays_listed(api: Api, repo, team) -> None:  # type: ignore[no-untyped-def]
    assert api.post(BASE, _share("2099-10-01T16:00:00.000Z")).status_code == 201
    assert Share.objects.get().deadline == dt.datetime(2099, 10, 1, 16, tzinfo=dt.UTC)
    assert api.get(BASE).json()[0]["deadline"] == "2099-10-01T16:00:00.000Z"
    # An offset is honoured; a time without one is UTC.
    assert api.patch(f"{BASE}/recipients", _share("2099-10-01T18:00:00+02:00")).status_code == 201
    assert Share.objects.get().deadline == dt.datetime(2099, 10, 1, 16, tzinfo=dt.UTC)
    assert api.patch(f"{BASE}/recipients", _share("2099-10-01T16:30:00")).status_code == 201
    assert Share.objects.get().deadline == dt.datetime(2099, 10, 1, 16, 30, tzinfo=dt.UTC)
    Share.objects.update(deadline=timezone.now() - dt.timedelta(seconds=1))
    assert api.get(BASE).json()[0]["status"] is False
    assert api.get(f"{BASE}/recipients").json()["status"] is False


def test_show_says_whether_the_image_is_shared_with_the_team(api: Api, repo, team) -> None:  # type: ignore[no-untyped-def]
    assert api.get(f"{BASE}/recipients").json() == {"exist": False}
    assert api.get(f"{BASE}/no-such-team").json() == {"exist": False}
    api.post(BASE, _share())
    shown = api.get(f"{BASE}/recipients")
    assert shown.status_code == 200
    body = shown.json()
    assert body["exist"] is True
    assert body == {"exist": True, **api.get(BASE).json()[0]}


def test_update_answers_201_and_delete_204(api: Api, repo, team) -> None:  # type: ignore[no-untyped-def]
    api.post(BASE, _share(description="first"))
    response = api.patch(f"{BASE}/recipients", {"permit": "read", "deadline": "forever"})
    assert (response.status_code, response.content) == (201, b"")
    assert Share.objects.get().description == ""  # SWR: description defaults to ""
    response = api.delete(f"{BASE}/recipients")
    assert (response.status_code, response.content) == (204, b"")
    assert not Share.objects.exists()
    assert swr_error(api.delete(f"{BASE}/recipients")) == (404, "SVCSTG.SWR.4040091")
    assert swr_error(api.patch(f"{BASE}/recipients", _share())) == (404, "SVCSTG.SWR.4040091")
    assert swr_error(api.delete(f"{BASE}/no-such-team")) == (404, "SVCSTG.SWR.4040091")
    actions = set(AuditEvent.objects.filter(result="success").values_list("action", flat=True))
    assert {"createRepoShare", "updateRepoShare", "deleteRepoShare"} <= actions


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (_share(permit="write"), 400, "4000014"),
        (_share("next tuesday"), 400, "4000014"),
        (_share("2001-01-01T00:00:00Z"), 400, "4000014"),
        (_share("9999-12-31T23:00:00-05:00"), 400, "4000014"),
        (_share(description="x" * 1001), 413, "4131012"),
        (_share(access_domain="nobody"), 400, "4000014"),
        ({"access_domain": "recipients", "permit": "read"}, 400, "4000014"),
        ([], 400, "4000014"),
    ],
)
def test_invalid_shares_get_swr_codes(
    api: Api, repo, team, body: Any, status: int, code: str
) -> None:  # type: ignore[no-untyped-def]
    assert swr_error(api.post(BASE, body)) == (status, f"SVCSTG.SWR.{code}")
    assert not Share.objects.exists()
    refused = AuditEvent.objects.get(action="createRepoShare", result="failure")
    assert refused.detail["code"] == f"SVCSTG.SWR.{code}"


def test_a_description_of_1000_characters_is_fine(api: Api, repo, team) -> None:  # type: ignore[no-untyped-def]
    assert api.post(BASE, _share(description="x" * 1000)).status_code == 201
    over = api.patch(f"{BASE}/recipients", _share(description="x" * 1001))
    assert swr_error(over) == (413, "SVCSTG.SWR.4131012")


def test_public_images_are_not_shared_and_a_team_only_once(api: Api, repo, team) -> None:  # type: ignore[no-untyped-def]
    assert api.post(BASE, _share()).status_code == 201
    assert swr_error(api.post(BASE, _share())) == (409, "SVCSTG.SWR.4090089")
    repo.is_public = True
    repo.save()
    other = Group.objects.create(name="others")
    refused = api.post(BASE, _share(access_domain=other.name))
    assert swr_error(refused) == (400, "SVCSTG.SWR.4000014")


def test_the_500th_share_is_the_last(api: Api, repo, team, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sharing, "SHARES_MAX", 1)
    assert api.post(BASE, _share()).status_code == 201
    Group.objects.create(name="second")
    assert swr_error(api.post(BASE, _share(access_domain="second"))) == (400, "SVCSTG.SWR.4000014")


def test_only_managers_share_and_others_learn_nothing_of_teams(
    client: Client, repo, team, reader, outsider
) -> None:  # type: ignore[no-untyped-def]
    grant_repo(repo, reader, Level.WRITE)
    writer = Api(client, reader)
    assert writer.get(BASE).status_code == 200
    assert writer.get(f"{BASE}/recipients").json() == {"exist": False}
    for name in ("recipients", "no-such-team"):
        assert swr_error(writer.post(BASE, _share(access_domain=name))) == (
            403,
            "SVCSTG.SWR.4037018",
        )
        assert swr_error(writer.patch(f"{BASE}/{name}", _share())) == (403, "SVCSTG.SWR.4037018")
        assert swr_error(writer.delete(f"{BASE}/{name}")) == (403, "SVCSTG.SWR.4037018")
    stranger = Api(client, outsider)
    assert swr_error(stranger.get(BASE)) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(stranger.get(f"{BASE}/recipients")) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(stranger.post(BASE, _share())) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(stranger.delete(f"{BASE}/recipients")) == (404, "SVCSTG.SWR.4040010")
    assert not Share.objects.exists()
    # Organization Manage is Manage on its images.
    grant_org(repo.organization, reader, Level.MANAGE)
    assert writer.post(BASE, _share()).status_code == 201


def test_unknown_images_and_missing_credentials(client: Client, api: Api, repo, team) -> None:  # type: ignore[no-untyped-def]
    missing = "/v2/manage/namespaces/team-a/repositories/nope/access-domains"
    assert swr_error(api.get(missing)) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(api.post(missing, _share())) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(api.get(f"{missing}/recipients")) == (404, "SVCSTG.SWR.4040010")
    # `repos` is not SWR's sharing path.
    wrong = "/v2/manage/namespaces/team-a/repos/tools$busybox/access-domains"
    assert swr_error(api.get(wrong)) == (404, "SVCSTG.SWR.4040083")
    anonymous = Api(client)
    assert swr_error(anonymous.get(BASE)) == (401, "SVCSTG.SWR.4010000")
    assert swr_error(anonymous.post(BASE, _share())) == (401, "SVCSTG.SWR.4010000")
    assert swr_error(anonymous.get(f"{BASE}/recipients")) == (401, "SVCSTG.SWR.4010000")
    assert swr_error(anonymous.patch(f"{BASE}/recipients", _share())) == (401, "SVCSTG.SWR.4010000")
    assert swr_error(anonymous.delete(f"{BASE}/recipients")) == (401, "SVCSTG.SWR.4010000")


def test_the_list_costs_the_same_queries_whatever_the_number_of_shares(
    api: Api, repo, owner, make_user
) -> None:  # type: ignore[no-untyped-def]
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(BASE).status_code == 200
        return len(queries)

    def share(i: int) -> None:
        creator = make_user(f"sharer{i}")
        Share.objects.create(
            repository=repo, team=Group.objects.create(name=f"team{i}"), created_by=creator
        )

    share(0)
    count()  # the token's first use is recorded once
    few = count()
    for i in range(1, 15):
        share(i)
    assert count() == few
    assert len(api.get(BASE).json()) == 15


# -- the official SDK ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sdk_shares_lists_checks_changes_and_stops(live_server, make_org, make_user) -> None:  # type: ignore[no-untyped-def]
    owner = make_user("owner")
    make_repository(make_org("sdk-share", creator=owner), "tools/busybox")
    Group.objects.create(name="partners")
    sdk = sdk_client(live_server.url, owner)
    where = {"namespace": "sdk-share", "repository": "tools$busybox"}

    created = sdk.create_repo_domains(
        CreateRepoDomainsRequest(
            **where,
            body=CreateRepoDomainsRequestBody(
                access_domain="partners", permit="read", deadline="forever", description="hi"
            ),
        )
    )
    assert created.status_code == 201
    listed = sdk.list_repo_domains(ListRepoDomainsRequest(**where)).body
    assert [(s.access_domain, s.deadline, s.status, s.creator_name) for s in listed] == [
        ("partners", "forever", True, "owner")
    ]
    shown = sdk.show_access_domain(ShowAccessDomainRequest(**where, access_domain="partners"))
    assert (shown.exist, shown.repository, shown.description) == (True, "tools/busybox", "hi")
    absent = sdk.show_access_domain(ShowAccessDomainRequest(**where, access_domain="nobody"))
    assert absent.exist is False
    updated = sdk.update_repo_domains(
        UpdateRepoDomainsRequest(
            **where,
            access_domain="partners",
            body=UpdateRepoDomainsRequestBody(permit="read", deadline="2099-01-01T00:00:00.000Z"),
        )
    )
    assert updated.status_code == 201
    assert Share.objects.get().deadline == dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    deleted = sdk.delete_repo_domains(DeleteRepoDomainsRequest(**where, access_domain="partners"))
    assert deleted.status_code == 204
    with pytest.raises(ClientRequestException) as refused:
        sdk.delete_repo_domains(DeleteRepoDomainsRequest(**where, access_domain="partners"))
    assert (refused.value.status_code, refused.value.error_code) == (404, "SVCSTG.SWR.4040091")
