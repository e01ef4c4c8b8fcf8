"""Organization and image permissions through the SWR API (SWR-SPEC.md §2.3, §2.6): bare-array
bodies applied whole or not at all, SWR's status codes (200 / 201 / 201 / 204 for orgs, 201 /
201 / 204 for images), SWR's error codes, teams as `team:<name>`, and who may do what."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkswr.v2.model import (
    CreateNamespaceAuthRequest,
    CreateUserRepositoryAuthRequest,
    DeleteNamespaceAuthRequest,
    DeleteUserRepositoryAuthRequest,
    ShowNamespaceAuthRequest,
    ShowUserRepositoryAuthRequest,
    UpdateNamespaceAuthRequest,
    UpdateUserRepositoryAuthRequest,
    UserAuth,
)

from dashboard.models import AuditEvent, Level, OrganizationPermission, RepositoryPermission
from dashboard.services.errors import ServiceError
from dashboard.services.permissions import organization_require_grant, repository_require_grant
from tests.index_rows import grant_org, grant_repo, make_repository
from tests.swr_api import Api, sdk_client, swr_error

ORG = "/v2/manage/namespaces/team-a/access"


def _auth(user: Any, level: int) -> dict[str, Any]:
    return {"user_id": str(user.pk), "user_name": user.get_username(), "auth": level}


def _team(team: Group, level: int) -> dict[str, Any]:
    return {"user_id": f"team:{team.name}", "user_name": f"team:{team.name}", "auth": level}


@pytest.fixture
def org(make_org, owner):  # type: ignore[no-untyped-def]
    return make_org("team-a", creator=owner)


@pytest.fixture
def devs(db: None) -> Group:
    return Group.objects.create(name="devs")


@pytest.fixture
def api(client: Client, owner) -> Api:  # type: ignore[no-untyped-def]
    return Api(client, owner)


def _org_levels(org) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        (g.user.username if g.user is not None else f"team:{g.team}"): g.level
        for g in OrganizationPermission.objects.filter(organization=org)
    }


# -- organizations ---------------------------------------------------------------------------


def test_granting_users_and_teams_answers_200_and_the_show_lists_them(
    api: Api, org, owner, reader, devs
) -> None:  # type: ignore[no-untyped-def]
    response = api.post(ORG, [_auth(reader, 3), _team(devs, 1)])
    assert (response.status_code, response.content) == (200, b"")
    assert _org_levels(org) == {"owner": 7, "reader": 3, "team:devs": 1}
    shown = api.get(ORG)
    assert shown.status_code == 200
    assert shown.json() == {
        "id": org.pk,
        "name": "team-a",
        "creator_name": "owner",
        "self_auth": _auth(owner, 7),
        "others_auths": [_auth(reader, 3), _team(devs, 1)],
    }
    traces = AuditEvent.objects.filter(action="createUserNamespaceAuth", result="success")
    assert traces.count() == 2


def test_a_reader_sees_themself_apart_from_the_others(client: Client, org, owner, reader) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.READ)
    body = Api(client, reader).get(ORG).json()
    assert body["self_auth"] == _auth(reader, 1)
    assert body["others_auths"] == [_auth(owner, 7)]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([{"user_id": "{reader}", "user_name": "reader", "auth": 5}], "4001065"),
        ([{"user_id": "{reader}", "user_name": "reader", "auth": 0}], "4001065"),
        ([{"user_id": "{reader}", "user_name": "reader", "auth": "x"}], "4000014"),
        ([{"user_id": "{reader}", "user_name": "reader"}], "4000014"),
        ([{"user_id": "{reader}", "user_name": "someone-else", "auth": 1}], "4001067"),
        ([{"user_id": "999999", "user_name": "reader", "auth": 1}], "4001067"),
        ([{"user_id": "0{reader}", "user_name": "reader", "auth": 1}], "4001067"),
        ([{"user_id": "reader", "user_name": "reader", "auth": 1}], "4001067"),
        ([{"user_id": "team:nobody", "user_name": "team:nobody", "auth": 1}], "4001067"),
        ([{"user_id": "team:devs", "user_name": "devs", "auth": 1}], "4001067"),
        ([], "4000014"),
        ({"user_id": "{reader}", "user_name": "reader", "auth": 1}, "4000014"),
        (["{reader}"], "4000014"),
    ],
)
def test_invalid_bodies_get_swr_codes_and_change_nothing(
    api: Api, org, reader, devs, body: Any, code: str
) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(body).replace("{reader}", str(reader.pk))
    response = api.client.generic(
        "POST", ORG, data=text, content_type="application/json", headers=api.headers
    )
    assert swr_error(response) == (400, f"SVCSTG.SWR.{code}")
    assert _org_levels(org) == {"owner": 7}
    refused = AuditEvent.objects.get(action="createUserNamespaceAuth", result="failure")
    assert refused.detail["code"] == f"SVCSTG.SWR.{code}"


def test_malformed_json_is_4001018(api: Api, org) -> None:  # type: ignore[no-untyped-def]
    response = api.client.generic(
        "POST", ORG, data="[{", content_type="application/json", headers=api.headers
    )
    assert swr_error(response) == (400, "SVCSTG.SWR.4001018")


def test_nobody_grants_to_themself_and_administrators_need_no_grant(
    api: Api, org, owner, admin_user
) -> None:  # type: ignore[no-untyped-def]
    assert swr_error(api.post(ORG, [_auth(owner, 3)])) == (403, "SVCSTG.SWR.4039002")
    assert swr_error(api.post(ORG, [_auth(admin_user, 3)])) == (400, "SVCSTG.SWR.4001067")


def test_an_existing_grant_is_409_and_the_whole_array_is_undone(
    api: Api, org, reader, outsider
) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.READ)
    response = api.post(ORG, [_auth(outsider, 1), _auth(reader, 3)])
    assert swr_error(response) == (409, "SVCSTG.SWR.4090076")
    assert _org_levels(org) == {"owner": 7, "reader": 1}
    assert not AuditEvent.objects.filter(action="createUserNamespaceAuth", result="success")


def test_the_same_principal_twice_in_one_array_is_409(api: Api, org, reader) -> None:  # type: ignore[no-untyped-def]
    response = api.post(ORG, [_auth(reader, 1), _auth(reader, 3)])
    assert swr_error(response) == (409, "SVCSTG.SWR.4090076")
    assert _org_levels(org) == {"owner": 7}


def test_a_deactivated_user_gets_no_new_grant_but_theirs_can_be_changed_and_revoked(
    api: Api, org, reader
) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.READ)
    reader.is_active = False
    reader.save()
    assert swr_error(api.post(ORG, [_auth(reader, 3)])) == (400, "SVCSTG.SWR.4001067")
    assert api.patch(ORG, [_auth(reader, 3)]).status_code == 201
    assert api.delete(ORG, [str(reader.pk)]).status_code == 204
    assert _org_levels(org) == {"owner": 7}


def test_update_answers_201_and_needs_an_existing_grant(api: Api, org, reader, devs) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.READ)
    OrganizationPermission.objects.create(organization=org, team=devs, level=Level.READ)
    response = api.patch(ORG, [_auth(reader, 7), _team(devs, 3)])
    assert (response.status_code, response.content) == (201, b"")
    assert _org_levels(org) == {"owner": 7, "reader": 7, "team:devs": 3}
    assert swr_error(api.patch(ORG, [_auth(reader, 4)])) == (400, "SVCSTG.SWR.4001065")
    missing = api.patch(ORG, [_auth(reader, 1), _team(Group.objects.create(name="ops"), 1)])
    assert swr_error(missing) == (404, "SVCSTG.SWR.4040078")
    assert _org_levels(org)["reader"] == 7  # the first item was undone with the second
    assert (
        AuditEvent.objects.filter(action="updateUserNamespaceAuth", result="success").count() == 2
    )


def test_the_last_manager_cannot_be_lowered_by_another_admin(
    client: Client, org, owner, admin_user
) -> None:  # type: ignore[no-untyped-def]
    admin = Api(client, admin_user)
    assert swr_error(admin.patch(ORG, [_auth(owner, 3)])) == (403, "SVCSTG.SWR.4039002")
    assert swr_error(admin.delete(ORG, [str(owner.pk)])) == (403, "SVCSTG.SWR.4039002")


def test_delete_takes_a_body_of_ids_and_answers_204(api: Api, org, reader, devs) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.WRITE)
    OrganizationPermission.objects.create(organization=org, team=devs, level=Level.READ)
    response = api.delete(ORG, [str(reader.pk), "team:devs"])
    assert (response.status_code, response.content) == (204, b"")
    assert _org_levels(org) == {"owner": 7}
    assert (
        AuditEvent.objects.filter(action="deleteUserNamespaceAuth", result="success").count() == 2
    )


@pytest.mark.parametrize(
    ("ids", "status", "code"),
    [
        (["{reader}", "999999"], 404, "4040078"),
        (["{reader}", "team:nobody"], 404, "4040078"),
        (["{reader}", "{outsider}"], 404, "4040078"),
        ([], 400, "4000014"),
        ("{reader}", 400, "4000014"),
        ([["x"]], 400, "4000014"),
        (None, 400, "4000014"),
    ],
)
def test_delete_refusals_keep_every_grant(
    api: Api, org, reader, outsider, ids: Any, status: int, code: str
) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.READ)
    people = {"{reader}": str(reader.pk), "{outsider}": str(outsider.pk)}
    if isinstance(ids, list):
        ids = [people.get(i, i) if isinstance(i, str) else i for i in ids]
    elif isinstance(ids, str):
        ids = people[ids]
    assert swr_error(api.delete(ORG, ids)) == (status, f"SVCSTG.SWR.{code}")
    assert _org_levels(org) == {"owner": 7, "reader": 1}


def test_outsiders_get_404_and_readers_403_before_any_name_is_looked_up(
    client: Client, org, owner, reader, outsider
) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.READ)
    stranger, member = Api(client, outsider), Api(client, reader)
    assert swr_error(stranger.get(ORG)) == (404, "SVCSTG.SWR.4040058")
    for method in (stranger.post, stranger.patch):
        assert swr_error(method(ORG, [_auth(owner, 1)])) == (404, "SVCSTG.SWR.4040058")
    assert swr_error(stranger.delete(ORG, [str(owner.pk)])) == (404, "SVCSTG.SWR.4040058")
    # A reader learns nothing about who exists: refused with the same code either way.
    for body in ([_auth(outsider, 1)], [{"user_id": "999999", "user_name": "x", "auth": 1}]):
        assert swr_error(member.post(ORG, body)) == (403, "SVCSTG.SWR.4039002")
        assert swr_error(member.patch(ORG, body)) == (403, "SVCSTG.SWR.4039002")
    assert swr_error(member.delete(ORG, ["999999"])) == (403, "SVCSTG.SWR.4039002")
    assert _org_levels(org) == {"owner": 7, "reader": 1}


def test_a_user_seeing_the_org_only_through_an_image_cannot_read_its_grants(
    client: Client, org, reader
) -> None:  # type: ignore[no-untyped-def]
    grant_repo(make_repository(org, "app"), reader, Level.READ)
    assert swr_error(Api(client, reader).get(ORG)) == (403, "SVCSTG.SWR.4037017")


def test_unknown_organizations_and_missing_credentials(client: Client, api: Api, org) -> None:  # type: ignore[no-untyped-def]
    missing = "/v2/manage/namespaces/nope/access"
    assert swr_error(api.get(missing)) == (404, "SVCSTG.SWR.4040058")
    assert swr_error(api.post(missing, [])) == (404, "SVCSTG.SWR.4040058")
    anonymous = Api(client)
    for method in ("get", "post", "patch", "delete"):
        assert swr_error(getattr(anonymous, method)(ORG)) == (401, "SVCSTG.SWR.4010000")


def test_show_costs_the_same_queries_whatever_the_number_of_grants(
    api: Api, org, make_user
) -> None:  # type: ignore[no-untyped-def]
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(ORG).status_code == 200
        return len(queries)

    grant_org(org, make_user("u0"), Level.READ)
    count()  # the token's first use is recorded once
    few = count()
    for i in range(1, 15):
        grant_org(org, make_user(f"u{i}"), Level.READ)
        OrganizationPermission.objects.create(
            organization=org, team=Group.objects.create(name=f"t{i}"), level=Level.WRITE
        )
    assert count() == few
    assert len(api.get(ORG).json()["others_auths"]) == 29


# -- repositories ----------------------------------------------------------------------------

REPO = "/v2/manage/namespaces/team-a/repos/tools$busybox/access"


@pytest.fixture
def repo(org):  # type: ignore[no-untyped-def]
    return make_repository(org, "tools/busybox")


def _repo_levels(repo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        (g.user.username if g.user is not None else f"team:{g.team}"): g.level
        for g in RepositoryPermission.objects.filter(repository=repo)
    }


def test_image_grants_answer_201_and_the_show_lists_only_the_images_own(
    api: Api, repo, owner, reader, devs
) -> None:  # type: ignore[no-untyped-def]
    response = api.post(REPO, [_auth(reader, 1), _team(devs, 3)])
    assert (response.status_code, response.content) == (201, b"")
    assert _repo_levels(repo) == {"reader": 1, "team:devs": 3}
    assert api.get(REPO).json() == {
        "id": repo.pk,
        "name": "tools/busybox",
        "self_auth": _auth(owner, 7),
        "others_auths": [_auth(reader, 1), _team(devs, 3)],
    }
    assert api.patch(REPO, [_auth(reader, 3)]).status_code == 201
    assert _repo_levels(repo)["reader"] == 3
    response = api.delete(REPO, [str(reader.pk), "team:devs"])
    assert (response.status_code, response.content) == (204, b"")
    assert _repo_levels(repo) == {}
    actions = AuditEvent.objects.filter(resource_name="team-a/tools/busybox", result="success")
    assert sorted(set(actions.values_list("action", flat=True))) == [
        "createUserRepositoryAuth",
        "deleteUserRepositoryAuth",
        "updateUserRepositoryAuth",
    ]


def test_image_grant_codes(api: Api, repo, reader) -> None:  # type: ignore[no-untyped-def]
    assert swr_error(api.post(REPO, [_auth(reader, 2)])) == (400, "SVCSTG.SWR.4001066")
    assert api.post(REPO, [_auth(reader, 1)]).status_code == 201
    assert swr_error(api.post(REPO, [_auth(reader, 1)])) == (409, "SVCSTG.SWR.4090089")
    assert swr_error(api.delete(REPO, ["999999"])) == (404, "SVCSTG.SWR.4040091")
    api.delete(REPO, [str(reader.pk)])
    assert swr_error(api.patch(REPO, [_auth(reader, 3)])) == (404, "SVCSTG.SWR.4040091")
    assert swr_error(api.delete(REPO, [str(reader.pk)])) == (404, "SVCSTG.SWR.4040091")
    missing = "/v2/manage/namespaces/team-a/repos/nope/access"
    assert swr_error(api.get(missing)) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(api.post(missing, [_auth(reader, 1)])) == (404, "SVCSTG.SWR.4040010")


def test_who_may_grant_on_an_image(client: Client, org, repo, owner, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    grant_repo(repo, reader, Level.READ)
    member = Api(client, reader)
    assert swr_error(member.get(REPO)) == (403, "SVCSTG.SWR.4037018")
    assert swr_error(member.post(REPO, [_auth(outsider, 1)])) == (403, "SVCSTG.SWR.4039002")
    assert swr_error(member.delete(REPO, ["999999"])) == (403, "SVCSTG.SWR.4039002")
    stranger = Api(client, outsider)
    assert swr_error(stranger.get(REPO)) == (404, "SVCSTG.SWR.4040010")
    assert swr_error(stranger.post(REPO, [_auth(reader, 1)])) == (404, "SVCSTG.SWR.4040010")
    # Organization Write grants Read and Write on its images, but not Manage.
    grant_org(org, outsider, Level.WRITE)
    writer = Api(client, outsider)
    assert swr_error(writer.patch(REPO, [_auth(reader, 7)])) == (403, "SVCSTG.SWR.4039002")
    assert writer.patch(REPO, [_auth(reader, 3)]).status_code == 201
    assert writer.get(REPO).json()["self_auth"] == _auth(outsider, 3)


def test_image_show_costs_the_same_queries_whatever_the_number_of_grants(
    api: Api, repo, make_user
) -> None:  # type: ignore[no-untyped-def]
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(REPO).status_code == 200
        return len(queries)

    grant_repo(repo, make_user("u0"), Level.READ)
    count()  # the token's first use is recorded once
    few = count()
    for i in range(1, 15):
        grant_repo(repo, make_user(f"u{i}"), Level.READ)
    assert count() == few


def test_the_require_functions_say_who_may_grant(org, repo, owner, reader) -> None:  # type: ignore[no-untyped-def]
    organization_require_grant(organization=org, actor=owner)
    repository_require_grant(repository=repo, actor=owner)
    grant_org(org, reader, Level.WRITE)
    repository_require_grant(repository=repo, actor=reader)
    with pytest.raises(ServiceError) as refused:
        organization_require_grant(organization=org, actor=reader)
    assert (refused.value.code, refused.value.status) == ("SVCSTG.SWR.4039002", 403)


# -- the official SDK ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sdk_grants_shows_changes_and_revokes(live_server, make_org, make_user) -> None:  # type: ignore[no-untyped-def]
    owner, bob = make_user("owner"), make_user("bob")
    org = make_org("sdk-perms", creator=owner)
    make_repository(org, "tools/busybox")
    sdk = sdk_client(live_server.url, owner)
    bob_auth = UserAuth(user_id=str(bob.pk), user_name="bob", auth=1)

    created = sdk.create_namespace_auth(
        CreateNamespaceAuthRequest(namespace="sdk-perms", body=[bob_auth])
    )
    assert created.status_code == 200
    shown = sdk.show_namespace_auth(ShowNamespaceAuthRequest(namespace="sdk-perms"))
    assert (shown.name, shown.self_auth.auth) == ("sdk-perms", 7)
    assert [(a.user_name, a.auth) for a in shown.others_auths] == [("bob", 1)]
    bob_auth.auth = 3
    updated = sdk.update_namespace_auth(
        UpdateNamespaceAuthRequest(namespace="sdk-perms", body=[bob_auth])
    )
    assert updated.status_code == 201
    deleted = sdk.delete_namespace_auth(
        DeleteNamespaceAuthRequest(namespace="sdk-perms", body=[str(bob.pk)])
    )
    assert deleted.status_code == 204
    with pytest.raises(ClientRequestException) as refused:
        sdk.delete_namespace_auth(
            DeleteNamespaceAuthRequest(namespace="sdk-perms", body=[str(bob.pk)])
        )
    assert (refused.value.status_code, refused.value.error_code) == (404, "SVCSTG.SWR.4040078")

    repo = {"namespace": "sdk-perms", "repository": "tools$busybox"}
    created = sdk.create_user_repository_auth(
        CreateUserRepositoryAuthRequest(**repo, body=[bob_auth])
    )
    assert created.status_code == 201
    shown_repo = sdk.show_user_repository_auth(ShowUserRepositoryAuthRequest(**repo))
    assert shown_repo.name == "tools/busybox"
    assert [(a.user_id, a.auth) for a in shown_repo.others_auths] == [(str(bob.pk), 3)]
    bob_auth.auth = 1
    updated = sdk.update_user_repository_auth(
        UpdateUserRepositoryAuthRequest(**repo, body=[bob_auth])
    )
    assert updated.status_code == 201
    deleted = sdk.delete_user_repository_auth(
        DeleteUserRepositoryAuthRequest(**repo, body=[str(bob.pk)])
    )
    assert deleted.status_code == 204
    assert not RepositoryPermission.objects.exists()
