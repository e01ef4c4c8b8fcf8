"""Organizations through the SWR API (SWR-SPEC.md §2.2): shapes, status codes and SWR's error
codes, `mode::visible`, the `filter` form, and who may see or delete what."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from dashboard.models import AuditEvent, Level, Organization
from tests.index_rows import grant_org, grant_repo, make_repository
from tests.swr_api import Api, swr_error

URL = "/v2/manage/namespaces"


@pytest.fixture
def api(client: Client, owner) -> Api:  # type: ignore[no-untyped-def]
    return Api(client, owner)


def test_create_answers_201_without_a_body_and_the_creator_manages(api: Api, owner) -> None:  # type: ignore[no-untyped-def]
    response = api.post(URL, {"namespace": "team-a"})
    assert (response.status_code, response.content) == (201, b"")
    shown = api.get(f"{URL}/team-a")
    assert shown.status_code == 200
    organization = Organization.objects.get(name="team-a")
    assert shown.json() == {
        "id": organization.pk,
        "name": "team-a",
        "creator_name": "owner",
        "auth": 7,
    }
    assert AuditEvent.objects.filter(action="createUserNamespace", resource_name="team-a").exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"namespace": "Team-A"}, 400, "SVCSTG.SWR.4001028"),
        ({"namespace": "library"}, 400, "SVCSTG.SWR.4001028"),
        ({"namespace": "a" * 65}, 400, "SVCSTG.SWR.4001028"),
        ({"namespace": ""}, 400, "SVCSTG.SWR.4001028"),
        ({}, 400, "SVCSTG.SWR.4000014"),
        ({"namespace": ["x"]}, 400, "SVCSTG.SWR.4000014"),
        ([], 400, "SVCSTG.SWR.4000014"),
    ],
)
def test_invalid_names_and_bodies_get_swr_codes(
    api: Api, body: object, status: int, code: str
) -> None:
    assert swr_error(api.post(URL, body)) == (status, code)
    assert not Organization.objects.exists()


def test_a_taken_name_is_409_even_when_invisible(api: Api, make_org, outsider) -> None:  # type: ignore[no-untyped-def]
    make_org("taken", creator=outsider)
    assert swr_error(api.post(URL, {"namespace": "taken"})) == (409, "SVCSTG.SWR.4090060")
    assert swr_error(api.get(f"{URL}/taken")) == (404, "SVCSTG.SWR.4040058")


@override_settings(ORG_QUOTA=1)
def test_the_quota_is_400_with_4000097(api: Api) -> None:
    assert api.post(URL, {"namespace": "one"}).status_code == 201
    assert swr_error(api.post(URL, {"namespace": "two"})) == (400, "SVCSTG.SWR.4000097")
    traced = AuditEvent.objects.get(action="createUserNamespace", result="failure")
    assert traced.detail["code"] == "SVCSTG.SWR.4000097"


def test_the_list_has_org_grants_and_visible_adds_repository_grants(
    client: Client, make_org, owner, reader
) -> None:  # type: ignore[no-untyped-def]
    mine = make_org("mine", creator=owner)
    grant_org(mine, reader, Level.WRITE)
    other = make_org("other", creator=owner)
    grant_repo(make_repository(other, "app"), reader, Level.READ)
    make_org("hidden", creator=owner)
    api = Api(client, reader)

    listed = api.get(URL).json()["namespaces"]
    assert [(n["name"], n["auth"]) for n in listed] == [("mine", 3)]
    visible = api.get(URL, QUERY_STRING="filter=mode::visible").json()["namespaces"]
    assert [(n["name"], n["auth"]) for n in visible] == [("mine", 3), ("other", 1)]
    # `filter` wins over the separate parameter.
    both = api.get(URL, QUERY_STRING="namespace=mine&filter=namespace::other|mode::visible")
    assert [n["name"] for n in both.json()["namespaces"]] == ["other"]
    assert api.get(URL, QUERY_STRING="namespace=mine").json()["namespaces"][0]["name"] == "mine"
    assert swr_error(api.get(URL, QUERY_STRING="filter=nonsense")) == (400, "SVCSTG.SWR.4001035")
    assert swr_error(api.get(URL, QUERY_STRING="filter=color::red")) == (400, "SVCSTG.SWR.4001035")
    assert swr_error(api.get(f"{URL}/hidden")) == (404, "SVCSTG.SWR.4040058")
    assert api.get(f"{URL}/other").json()["auth"] == 1


def test_superusers_see_and_manage_every_organization(
    client: Client, make_org, owner, admin_user
) -> None:  # type: ignore[no-untyped-def]
    make_org("someone-elses", creator=owner)
    listed = Api(client, admin_user).get(URL).json()["namespaces"]
    assert [(n["name"], n["auth"]) for n in listed] == [("someone-elses", 7)]


def test_delete_needs_manage_and_an_empty_organization(
    client: Client, make_org, owner, reader, outsider
) -> None:  # type: ignore[no-untyped-def]
    organization = make_org("busy", creator=owner)
    grant_org(organization, reader, Level.READ)
    make_repository(organization, "app")
    assert swr_error(Api(client, outsider).delete(f"{URL}/busy")) == (404, "SVCSTG.SWR.4040058")
    assert swr_error(Api(client, reader).delete(f"{URL}/busy")) == (403, "SVCSTG.SWR.4037017")
    owner_api = Api(client, owner)
    assert swr_error(owner_api.delete(f"{URL}/busy")) == (406, "SVCSTG.SWR.4060074")
    organization.repositories.all().delete()
    response = owner_api.delete(f"{URL}/busy")
    assert (response.status_code, response.content) == (204, b"")
    assert not Organization.objects.filter(name="busy").exists()
    assert swr_error(owner_api.delete(f"{URL}/busy")) == (404, "SVCSTG.SWR.4040058")
