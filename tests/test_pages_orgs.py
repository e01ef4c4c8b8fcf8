"""The organization pages: list with the user's permission, create, detail, delete."""

from __future__ import annotations

import pytest

from dashboard.models import Level, Organization, OrganizationPermission
from dashboard.services.errors import FORBIDDEN_ORG, ORG_NOT_EMPTY, PREFIX
from tests.index_rows import grant_org, make_repository
from tests.pages import HTMX, toasts

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("team-a", creator=owner)
    grant_org(organization, reader, Level.READ)
    return organization


def test_list_shows_permission_and_image_count(client, owner, reader, team, make_org) -> None:  # type: ignore[no-untyped-def]
    make_repository(team, "app")
    make_repository(team, "tools/busybox")
    make_org("other", creator=owner)
    client.force_login(reader)
    body = client.get("/orgs/").content.decode()
    assert 'data-organization="team-a"' in body
    assert ">Read</span>" in body
    assert 'data-organization="other"' not in body

    client.force_login(owner)
    response = client.get("/orgs/")
    rows = response.context["page"].object_list
    assert [(o.name, o.user_level, o.repository_count) for o in rows] == [
        ("other", Level.MANAGE, 0),
        ("team-a", Level.MANAGE, 2),
    ]
    assert ">Manage</span>" in response.content.decode()


def test_list_counts_only_images_the_user_can_see(client, owner, outsider, make_org) -> None:  # type: ignore[no-untyped-def]
    organization = make_org("mixed", creator=owner)
    make_repository(organization, "public-app", is_public=True)
    make_repository(organization, "secret")
    client.force_login(outsider)
    rows = client.get("/orgs/").context["page"].object_list
    assert [(o.name, o.user_level, o.repository_count) for o in rows] == [("mixed", 0, 1)]


def test_outsider_sees_no_private_organization(client, outsider, team) -> None:  # type: ignore[no-untyped-def]
    make_repository(team, "app")
    client.force_login(outsider)
    body = client.get("/orgs/").content.decode()
    assert 'data-organization="team-a"' not in body
    assert 'href="/orgs/team-a/"' not in body
    assert 'id="no-organizations"' in body


def test_create_with_htmx_swaps_the_list_and_toasts(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post("/orgs/", {"name": "new-team"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="org-section">')
    assert "<html" not in body
    assert 'data-organization="new-team"' in body
    assert toasts(response) == [
        {"level": "success", "message": "Organization new-team created.", "code": ""}
    ]
    grant = OrganizationPermission.objects.get(organization__name="new-team")
    assert (grant.user, grant.level) == (owner, Level.MANAGE)


def test_create_without_javascript_redirects_to_the_organization(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post("/orgs/", {"name": "plain"}, follow=True)
    assert response.redirect_chain == [("/orgs/plain/", 302)]
    assert "Organization plain created." in response.content.decode()


def test_create_error_without_javascript_is_an_error_page(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post("/orgs/", {"name": "Bad"})
    assert response.status_code == 400
    assert "SVCSTG.SWR.4001028" in response.content.decode()
    assert "<nav" in response.content.decode()


def test_detail_lists_images_and_members(client, owner, reader, team) -> None:  # type: ignore[no-untyped-def]
    make_repository(team, "app", tag_count=3)
    client.force_login(reader)
    response = client.get("/orgs/team-a/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-repository="team-a/app"' in body
    assert 'id="organization-members"' in body
    assert "owner" in body and "reader" in body
    assert 'id="organization-delete"' not in body


def test_detail_hides_members_from_those_who_only_see_a_public_image(  # type: ignore[no-untyped-def]
    client, outsider, team
) -> None:
    make_repository(team, "public-app", is_public=True)
    make_repository(team, "private-app")
    client.force_login(outsider)
    body = client.get("/orgs/team-a/").content.decode()
    assert 'data-repository="team-a/public-app"' in body
    assert "private-app" not in body
    assert 'id="organization-members"' not in body


def test_outsider_gets_404_for_a_private_organization(client, outsider, team) -> None:  # type: ignore[no-untyped-def]
    client.force_login(outsider)
    assert client.get("/orgs/team-a/").status_code == 404
    assert client.get("/orgs/team-a/delete/").status_code == 404
    assert client.post("/orgs/team-a/delete/").status_code == 404
    assert Organization.objects.filter(name="team-a").exists()


def test_delete_button_only_for_managers_of_an_empty_organization(  # type: ignore[no-untyped-def]
    client, owner, team
) -> None:
    client.force_login(owner)
    assert 'id="organization-delete"' in client.get("/orgs/team-a/").content.decode()
    make_repository(team, "app")
    assert 'id="organization-delete"' not in client.get("/orgs/team-a/").content.decode()


def test_delete_confirms_then_deletes(client, owner, team) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    confirm = client.get("/orgs/team-a/delete/", **HTMX)
    assert confirm.status_code == 200
    assert "Delete organization team-a?" in confirm.content.decode()
    assert "<html" not in confirm.content.decode()
    response = client.post("/orgs/team-a/delete/", **HTMX)
    assert response["HX-Redirect"] == "/orgs/"
    assert not Organization.objects.filter(name="team-a").exists()
    # The message travels to the next page.
    assert "Organization team-a deleted." in client.get("/orgs/").content.decode()


def test_delete_of_a_non_empty_organization_is_406(client, owner, team) -> None:  # type: ignore[no-untyped-def]
    make_repository(team, "app")
    client.force_login(owner)
    response = client.post(
        "/orgs/team-a/delete/", HTTP_X_BERTH_ERROR_TARGET="#confirm-error", **HTMX
    )
    assert response.status_code == 406
    assert response["HX-Retarget"] == "#confirm-error"
    assert PREFIX + ORG_NOT_EMPTY in response.content.decode()
    assert Organization.objects.filter(name="team-a").exists()


@pytest.mark.parametrize("htmx", [True, False])
def test_reader_cannot_delete(client, reader, team, htmx: bool) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    headers = HTMX if htmx else {}
    response = client.post("/orgs/team-a/delete/", **headers)
    assert response.status_code == 403
    assert PREFIX + FORBIDDEN_ORG in (
        toasts(response)[0]["code"] if htmx else response.content.decode()
    )
    assert client.get("/orgs/team-a/delete/").status_code == 403
    assert Organization.objects.filter(name="team-a").exists()


def test_anonymous_is_sent_to_sign_in(client, team) -> None:  # type: ignore[no-untyped-def]
    for url in ("/orgs/", "/orgs/team-a/", "/orgs/team-a/delete/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert client.post("/orgs/", {"name": "anon"}).status_code == 302
    assert not Organization.objects.filter(name="anon").exists()
