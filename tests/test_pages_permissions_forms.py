"""The permission sections of the organization and repository pages, the team pages, and what a
grant made through the form lets the grantee do against the real registry."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import Level, OrganizationPermission, RepositoryPermission, TeamProfile
from dashboard.registry.client import RegistryClient
from dashboard.registry.errors import RegistryError
from dashboard.registry.images import build_image, push_image
from dashboard.services.errors import PREFIX
from tests.index_rows import grant_org, grant_repo, make_repository
from tests.pages import HTMX, toasts

ERRORS_INLINE = {**HTMX, "HTTP_X_BERTH_ERROR_TARGET": "#permission-error"}


@pytest.fixture
def org(owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("perm-team", creator=owner)
    grant_org(organization, reader, Level.READ)
    return organization


def _error_code(response) -> str:  # type: ignore[no-untyped-def]
    body = response.content.decode()
    return body.split('data-error-code="', 1)[1].split('"', 1)[0].removeprefix(PREFIX)


# -- organization section ---------------------------------------------------------------------


@pytest.mark.django_db
def test_manager_sees_the_grant_form_and_editable_rows(  # type: ignore[no-untyped-def]
    client, owner, reader, outsider, admin_user, org
) -> None:
    Group.objects.create(name="devs")
    client.force_login(owner)
    body = client.get("/orgs/perm-team/").content.decode()
    assert 'id="permission-grant"' in body
    # The picker offers who holds no grant yet, never oneself nor administrators.
    assert 'value="user:outsider"' in body and 'value="team:devs"' in body
    assert 'value="user:reader"' not in body
    assert 'value="user:owner"' not in body and 'value="user:root"' not in body
    grant = OrganizationPermission.objects.get(user=reader)
    assert f'id="grant-{grant.pk}"' in body
    own = OrganizationPermission.objects.get(user=owner)
    assert f'id="grant-{own.pk}"' not in body  # nobody changes their own grant


@pytest.mark.django_db
def test_reader_sees_members_without_forms(client, reader, org) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    body = client.get("/orgs/perm-team/").content.decode()
    assert 'id="organization-members"' in body and 'data-grant="user:owner"' in body
    assert 'id="permission-grant"' not in body and "/revoke/" not in body
    body = client.get("/orgs/perm-team/permissions/", **HTMX).content.decode()
    assert 'data-grant="user:reader"' in body and 'id="permission-grant"' not in body


@pytest.mark.django_db
def test_grant_through_the_form(client, owner, outsider, org) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post(
        "/orgs/perm-team/permissions/", {"principal": "user:outsider", "level": "3"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="permissions"')
    assert 'data-grant="user:outsider"' in body
    assert toasts(response)[0]["message"] == "outsider now has Write."
    assert OrganizationPermission.objects.get(user=outsider).level == Level.WRITE


@pytest.mark.django_db
def test_grant_to_a_team_without_javascript_redirects(client, owner, org) -> None:  # type: ignore[no-untyped-def]
    Group.objects.create(name="devs")
    client.force_login(owner)
    response = client.post("/orgs/perm-team/permissions/", {"principal": "team:devs", "level": 1})
    assert response.status_code == 302 and response["Location"] == "/orgs/perm-team/"
    assert OrganizationPermission.objects.get(team__name="devs").level == Level.READ


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        ({"principal": "user:outsider", "level": "2"}, "4001065", 400),
        ({"principal": "user:outsider", "level": "x"}, "4001065", 400),
        ({"principal": "user:nobody", "level": "1"}, "4001067", 400),
        ({"principal": "team:nobody", "level": "1"}, "4000014", 400),
        ({"principal": "user:reader", "level": "1"}, "4090076", 409),
        ({"principal": "user:owner", "level": "1"}, "4039002", 403),
    ],
)
def test_grant_errors_show_inline_with_the_code(
    client, owner, outsider, org, data, code, status
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post("/orgs/perm-team/permissions/", data, **ERRORS_INLINE)
    assert response.status_code == status
    assert response["HX-Retarget"] == "#permission-error"
    assert _error_code(response) == code


@pytest.mark.django_db
def test_change_and_revoke_through_the_forms(client, owner, reader, org) -> None:  # type: ignore[no-untyped-def]
    grant = OrganizationPermission.objects.get(user=reader)
    client.force_login(owner)
    response = client.post(f"/orgs/perm-team/permissions/{grant.pk}/", {"level": "7"}, **HTMX)
    assert response.status_code == 200
    grant.refresh_from_db()
    assert grant.level == Level.MANAGE
    response = client.post(f"/orgs/perm-team/permissions/{grant.pk}/revoke/", **HTMX)
    assert response.status_code == 200
    assert 'data-grant="user:reader"' not in response.content.decode()
    assert not OrganizationPermission.objects.filter(pk=grant.pk).exists()
    response = client.post(f"/orgs/perm-team/permissions/{grant.pk}/revoke/", **ERRORS_INLINE)
    assert (response.status_code, _error_code(response)) == (404, "4040078")


@pytest.mark.django_db
def test_reader_cannot_grant_change_or_revoke(client, owner, reader, outsider, org) -> None:  # type: ignore[no-untyped-def]
    own = OrganizationPermission.objects.get(user=owner)
    client.force_login(reader)
    for url, data in [
        ("/orgs/perm-team/permissions/", {"principal": "user:outsider", "level": "1"}),
        (f"/orgs/perm-team/permissions/{own.pk}/", {"level": "1"}),
        (f"/orgs/perm-team/permissions/{own.pk}/revoke/", {}),
    ]:
        response = client.post(url, data, **ERRORS_INLINE)
        assert (response.status_code, _error_code(response)) == (403, "4039002"), url
    assert OrganizationPermission.objects.get(pk=own.pk).level == Level.MANAGE
    assert not OrganizationPermission.objects.filter(user=outsider).exists()


@pytest.mark.django_db
def test_outsider_gets_404_everywhere(client, owner, outsider, org) -> None:  # type: ignore[no-untyped-def]
    repo = make_repository(org, "app")
    grant_repo(repo, owner, Level.MANAGE)
    own = OrganizationPermission.objects.get(user=owner)
    client.force_login(outsider)
    assert client.get("/orgs/perm-team/permissions/").status_code == 404
    for url in [
        "/orgs/perm-team/permissions/",
        f"/orgs/perm-team/permissions/{own.pk}/",
        f"/orgs/perm-team/permissions/{own.pk}/revoke/",
        "/repos/perm-team/app/-/permissions/",
        "/repos/perm-team/app/-/permissions/1/",
        "/repos/perm-team/app/-/permissions/1/revoke/",
    ]:
        assert client.post(url, {"principal": "user:outsider", "level": "7"}).status_code == 404
    assert OrganizationPermission.objects.filter(organization=org).count() == 2


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in(client, org) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/orgs/perm-team/permissions/")
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.django_db
def test_organization_section_queries_do_not_grow(client, owner, make_user, org) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/orgs/perm-team/permissions/", **HTMX).status_code == 200
        return len(captured)

    small = queries()
    for i in range(10):
        user = make_user(f"u{i}")
        grant_org(org, user, Level.WRITE)
        OrganizationPermission.objects.create(
            organization=org, team=Group.objects.create(name=f"t{i}"), level=Level.READ
        )
    assert queries() == small
    assert small <= 8


# -- repository section -----------------------------------------------------------------------


@pytest.mark.django_db
def test_repository_page_loads_the_section_for_writers_only(client, owner, reader, org) -> None:  # type: ignore[no-untyped-def]
    make_repository(org, "app")
    client.force_login(owner)
    assert (
        'hx-get="/repos/perm-team/app/-/permissions/"'
        in client.get("/repos/perm-team/app/").content.decode()
    )
    client.force_login(reader)
    assert "/-/permissions/" not in client.get("/repos/perm-team/app/").content.decode()
    response = client.get("/repos/perm-team/app/-/permissions/", **ERRORS_INLINE)
    assert (response.status_code, _error_code(response)) == (403, "4037018")


@pytest.mark.django_db
def test_org_writer_grants_on_a_repository_through_the_form(client, reader, outsider, org) -> None:  # type: ignore[no-untyped-def]
    repo = make_repository(org, "app")
    OrganizationPermission.objects.filter(user=reader).update(level=Level.WRITE)
    client.force_login(reader)
    body = client.get("/repos/perm-team/app/-/permissions/", **HTMX).content.decode()
    assert 'id="permission-grant"' in body
    url = "/repos/perm-team/app/-/permissions/"
    response = client.post(url, {"principal": "user:outsider", "level": "7"}, **ERRORS_INLINE)
    assert (response.status_code, _error_code(response)) == (403, "4039002")
    response = client.post(url, {"principal": "user:outsider", "level": "1"}, **HTMX)
    assert response.status_code == 200 and 'data-grant="user:outsider"' in response.content.decode()
    grant = RepositoryPermission.objects.get(repository=repo, user=outsider)
    response = client.post(f"{url}{grant.pk}/", {"level": "3"}, **HTMX)
    grant.refresh_from_db()
    assert grant.level == Level.WRITE
    response = client.post(f"{url}{grant.pk}/", {"level": "5"}, **ERRORS_INLINE)
    assert (response.status_code, _error_code(response)) == (400, "4001066")
    client.post(f"{url}{grant.pk}/revoke/", **HTMX)
    assert not RepositoryPermission.objects.filter(pk=grant.pk).exists()


@pytest.mark.django_db
def test_repository_writer_sees_grants_but_no_forms(client, owner, outsider, org) -> None:  # type: ignore[no-untyped-def]
    repo = make_repository(org, "app")
    grant = grant_repo(repo, outsider, Level.WRITE)
    client.force_login(outsider)
    body = client.get("/repos/perm-team/app/-/permissions/", **HTMX).content.decode()
    assert 'data-grant="user:outsider"' in body and 'id="permission-grant"' not in body
    response = client.post(
        f"/repos/perm-team/app/-/permissions/{grant.pk}/revoke/", **ERRORS_INLINE
    )
    assert (response.status_code, _error_code(response)) == (403, "4039002")
    # Without JavaScript the section is a page of its own.
    assert "<nav" in client.get("/repos/perm-team/app/-/permissions/").content.decode()


# -- teams ------------------------------------------------------------------------------------


@pytest.fixture
def devs(admin_user, owner, reader):  # type: ignore[no-untyped-def]
    team = Group.objects.create(name="devs")
    TeamProfile.objects.create(team=team, description="Developers").managers.add(owner)
    reader.groups.add(team)
    return team


@pytest.mark.django_db
def test_teams_nav_and_list(client, admin_user, outsider, devs) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    body = client.get("/teams/").content.decode()
    assert 'href="/teams/"' in body and 'data-team="devs"' in body and 'id="team-create"' in body
    client.force_login(outsider)
    body = client.get("/teams/").content.decode()
    assert 'data-team="devs"' not in body and 'id="team-create"' not in body


@pytest.mark.django_db
def test_members_see_their_teams_with_every_member_counted(
    client, owner, reader, outsider, devs
) -> None:  # type: ignore[no-untyped-def]
    outsider.groups.add(devs)
    Group.objects.create(name="other")
    for user in (owner, reader):  # a manager, a member
        client.force_login(user)
        teams = client.get("/teams/").context["teams"]
        assert [(t.name, t.member_count) for t in teams] == [("devs", 2)]


@pytest.mark.django_db
def test_team_list_queries_do_not_grow(client, admin_user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/teams/", **HTMX).status_code == 200
        return len(captured)

    Group.objects.create(name="one")
    small = queries()
    for i in range(10):
        TeamProfile.objects.create(team=Group.objects.create(name=f"t{i}"))
    assert queries() == small


@pytest.mark.django_db
def test_administrator_creates_a_team(client, admin_user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    response = client.post("/teams/", {"name": "ops", "description": "Ops"}, **HTMX)
    assert response["HX-Redirect"] == "/teams/ops/"
    assert TeamProfile.objects.get(team__name="ops").managers.get() == admin_user
    response = client.post("/teams/", {"name": "Ops!"}, **ERRORS_INLINE)
    assert (response.status_code, _error_code(response)) == (400, "4000014")


@pytest.mark.django_db
def test_others_cannot_create_or_delete_teams(client, owner, devs) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post("/teams/", {"name": "ops"}, **ERRORS_INLINE)
    assert (response.status_code, _error_code(response)) == (403, "4039002")
    assert client.post("/teams/devs/delete/").status_code == 403
    assert Group.objects.filter(name="devs").exists()


@pytest.mark.django_db
def test_team_manager_adds_and_removes_members(client, owner, outsider, devs) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    body = client.get("/teams/devs/").content.decode()
    assert 'id="team-members-add"' in body and 'data-user="reader"' in body
    response = client.post("/teams/devs/members/add/", {"username": "outsider"}, **HTMX)
    assert response.status_code == 200 and 'data-user="outsider"' in response.content.decode()
    assert outsider.groups.filter(name="devs").exists()
    client.post("/teams/devs/members/remove/", {"username": "outsider"}, **HTMX)
    assert not outsider.groups.filter(name="devs").exists()
    response = client.post("/teams/devs/members/add/", {"username": "ghost"}, **ERRORS_INLINE)
    assert (response.status_code, _error_code(response)) == (400, "4001067")


@pytest.mark.django_db
def test_member_and_outsider_cannot_change_a_team(client, reader, outsider, devs) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    body = client.get("/teams/devs/").content.decode()
    assert 'data-user="reader"' in body and 'id="team-members-add"' not in body
    response = client.post("/teams/devs/members/add/", {"username": "outsider"}, **ERRORS_INLINE)
    assert (response.status_code, _error_code(response)) == (403, "4039002")
    changes = [
        f"/teams/devs/{role}/{op}/" for role in ("members", "managers") for op in ("add", "remove")
    ]
    for url in [*changes, "/teams/devs/delete/"]:
        response = client.post(url, {"username": "reader"}, **ERRORS_INLINE)
        assert (response.status_code, _error_code(response)) == (403, "4039002"), url
    client.force_login(outsider)
    assert client.get("/teams/devs/").status_code == 404
    assert client.get("/teams/devs/delete/").status_code == 404
    for url in [*changes, "/teams/devs/delete/", "/teams/devs/owners/add/"]:
        assert client.post(url, {"username": "outsider"}).status_code == 404, url
    assert not outsider.groups.exists()
    assert list(reader.groups.all()) == [devs]
    assert Group.objects.filter(name="devs").exists()


# -- with the real registry -------------------------------------------------------------------


@pytest.mark.registry
def test_form_grants_let_the_grantee_push_and_a_team_member_only_pull(
    transactional_db: None,
    client,
    owner,
    make_user,
    make_org,
    berth_registry_client: RegistryClient,
    user_registry_client: Callable[..., RegistryClient],
) -> None:  # type: ignore[no-untyped-def]
    org = make_org(f"perm-{uuid.uuid4().hex[:8]}", creator=owner)
    make_user("writer")
    member = make_user("member")
    team = Group.objects.create(name=f"readers-{uuid.uuid4().hex[:6]}")
    member.groups.add(team)  # type: ignore[attr-defined]
    client.force_login(owner)
    url = f"/orgs/{org.name}/permissions/"
    assert client.post(url, {"principal": "user:writer", "level": "3"}, **HTMX).status_code == 200
    response = client.post(url, {"principal": f"team:{team.name}", "level": "1"}, **HTMX)
    assert response.status_code == 200

    path = f"{org.name}/app"
    image = build_image(labels={"c": uuid.uuid4().hex})
    push_image(user_registry_client("writer"), path, image, "v1")
    assert berth_registry_client.head_manifest(path, "v1").digest == image.digest

    reader_client = user_registry_client("member")
    assert reader_client.get_manifest(path, "v1").digest == image.digest
    other = build_image(labels={"c": uuid.uuid4().hex})
    with pytest.raises(RegistryError):
        push_image(reader_client, path, other, "v2")
    assert berth_registry_client.tags(path) == ["v1"]
