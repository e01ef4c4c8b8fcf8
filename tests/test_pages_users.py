"""The administrators' Users pages: list, filters, create, one user's page and its actions.
Everyone else gets 404 on every page and form; anonymous visitors are sent to sign in."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dashboard.models import AuditEvent, Level, OrganizationPermission
from dashboard.services.errors import PREFIX
from tests.conftest import PASSWORD
from tests.index_rows import grant_repo, make_repository
from tests.pages import HTMX, toasts

pytestmark = pytest.mark.django_db

TYPED = "typed-Secret-4711"

#: (method, url, data): every users page and form, for a target user named `reader`.
ENDPOINTS = [
    ("get", "/users/", {}),
    ("get", "/users/?q=rea&status=active", {}),
    ("post", "/users/", {"username": "sneaky", "email": "s@example.com", "generate": "on"}),
    ("get", "/users/reader/", {}),
    ("get", "/users/nobody/", {}),
    ("post", "/users/reader/active/", {"active": "false"}),
    ("post", "/users/reader/admin/", {"admin": "true"}),
    ("post", "/users/reader/password/", {"generate": "on"}),
    ("get", "/users/reader/delete/", {}),
    ("post", "/users/reader/delete/", {}),
]


def _code(response) -> str:  # type: ignore[no-untyped-def]
    """The SWR code of an error partial."""
    body = response.content.decode()
    return body.split('data-error-code="', 1)[1].split('"', 1)[0].removeprefix(PREFIX)


def _unchanged(reader: User) -> None:
    reader.refresh_from_db()
    assert (reader.is_active, reader.is_superuser) == (True, False)
    assert reader.check_password(PASSWORD)
    assert not User.objects.filter(username="sneaky").exists()


# -- who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "url", "data"), ENDPOINTS)
def test_anonymous_is_sent_to_sign_in(client, reader, method, url, data) -> None:  # type: ignore[no-untyped-def]
    response = getattr(client, method)(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    _unchanged(reader)


@pytest.mark.parametrize("who", ["outsider", "owner"])
@pytest.mark.parametrize(("method", "url", "data"), ENDPOINTS)
def test_non_administrators_get_404_everywhere(  # type: ignore[no-untyped-def]
    client, reader, outsider, owner, make_org, who, method, url, data
) -> None:
    make_org("acme", creator=owner)  # owner manages an organization: still no users pages
    client.force_login({"outsider": outsider, "owner": owner}[who])
    assert getattr(client, method)(url, data).status_code == 404
    response = getattr(client, method)(url, data, **HTMX)
    assert response.status_code == 404
    assert toasts(response)[0]["code"] == PREFIX + "4040083"
    _unchanged(reader)


def test_a_deactivated_administrator_is_signed_out(client, admin_user, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("second", superuser=True)
    client.force_login(admin_user)
    User.objects.filter(pk=admin_user.pk).update(is_active=False)
    response = client.get("/users/")
    assert response.status_code == 302


def test_only_administrators_see_the_users_link(client, admin_user, reader) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    assert 'id="nav-users"' not in client.get("/").content.decode()
    client.force_login(admin_user)
    body = client.get("/").content.decode()
    assert 'id="nav-users" href="/users/">Users</a>' in body


# -- the list --------------------------------------------------------------------------------------


def test_the_list_shows_each_users_details(client, admin_user, make_user, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LDAP_ENABLED = True
    ada = make_user("ada")
    ada.first_name, ada.last_name = "Ada", "Lovelace"
    ada.save()
    ada.groups.add(Group.objects.create(name="devs"), Group.objects.create(name="ops"))
    directory = make_user("dir-user")
    directory.set_unusable_password()
    directory.is_active = False
    directory.save()
    client.force_login(admin_user)
    body = client.get("/users/").content.decode()
    ada_row = body.split('data-user="ada"', 1)[1].split("</tr>", 1)[0]
    for text in (
        "Ada Lovelace",
        "ada@example.com",
        'href="/teams/devs/">devs</a>',
        'href="/teams/ops/">ops</a>',
        ">active<",
        "Local password",
        "never",
    ):
        assert text in ada_row, text
    directory_row = body.split('data-user="dir-user"', 1)[1].split("</tr>", 1)[0]
    assert ">deactivated<" in directory_row and ">LDAP<" in directory_row
    root_row = body.split('data-user="root"', 1)[1].split("</tr>", 1)[0]
    assert ">admin</span>" in root_row
    assert ">admin</span>" not in ada_row


def test_filters_answer_htmx_with_the_table_only(client, admin_user, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada")
    make_user("bob").groups.add(Group.objects.create(name="devs"))
    gone = make_user("gone")
    gone.is_active = False
    gone.save()
    client.force_login(admin_user)
    response = client.get("/users/", {"q": "O", "status": "inactive"}, **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="user-table">')
    assert "<html" not in body
    assert [row.user.username for row in response.context["rows"]] == ["gone"]
    response = client.get("/users/", {"q": "o", "status": "active"})
    assert [row.user.username for row in response.context["rows"]] == ["ada", "bob", "root"]
    response = client.get("/users/", {"q": "go", "status": "active"})
    assert not response.context["rows"]
    assert 'id="no-users"' in client.get("/users/", {"q": "zzz"}).content.decode()


def test_the_list_is_paginated_and_keeps_its_filters(client, admin_user) -> None:  # type: ignore[no-untyped-def]
    User.objects.bulk_create(User(username=f"user{i:02d}", email="") for i in range(30))
    client.force_login(admin_user)
    response = client.get("/users/", {"q": "user", "page": "2"})
    assert [row.user.username for row in response.context["rows"]] == [
        f"user{i:02d}" for i in range(25, 30)
    ]
    assert 'href="?page=1&amp;q=user"' in response.content.decode()


def test_list_queries_do_not_grow_with_users_or_teams(client, admin_user) -> None:  # type: ignore[no-untyped-def]
    teams = [Group.objects.create(name=f"team{i}") for i in range(5)]

    def populate(start: int, count: int) -> None:
        for i in range(start, start + count):
            user = User.objects.create_user(f"u{i:03d}", f"u{i}@example.com", PASSWORD)
            user.groups.add(*teams[: i % 5 + 1])

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    client.force_login(admin_user)
    populate(0, 3)
    small = [queries("/users/"), queries("/users/?q=u0&status=active")]
    populate(3, 60)
    large = [queries("/users/"), queries("/users/?q=u0&status=active")]
    assert large == small
    assert max(large) <= 10


# -- create ----------------------------------------------------------------------------------


def test_create_with_a_typed_password(client, admin_user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    response = client.post(
        "/users/",
        {
            "username": "carol",
            "email": "carol@example.com",
            "full_name": "Carol King",
            "password1": TYPED,
            "password2": TYPED,
        },
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="user-section"')
    assert 'data-user="carol"' in body and 'id="user-created"' in body
    assert TYPED not in body
    assert toasts(response)[0]["message"] == "User carol created."
    assert Client().login(username="carol", password=TYPED)


def test_a_generated_password_is_shown_once_and_never_cached(client, admin_user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    response = client.post(
        "/users/", {"username": "dave", "email": "dave@example.com", "generate": "on"}, **HTMX
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    generated = response.context["created"]["password"]
    assert response.content.decode().count(generated) == 2  # the field and its copy button
    assert Client().login(username="dave", password=generated)
    assert generated not in client.get("/users/").content.decode()
    assert generated not in client.get("/users/dave/").content.decode()


def test_without_javascript_the_page_shows_the_created_user(client, admin_user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    response = client.post(
        "/users/", {"username": "erin", "email": "erin@example.com", "generate": "on"}
    )
    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert 'id="user-created-password"' in response.content.decode()


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        ({"password1": TYPED, "password2": TYPED + "x"}, "4000014", 400),
        ({"password1": "", "password2": ""}, "4000014", 400),
        ({"password1": TYPED, "password2": TYPED, "generate": "on"}, "4000014", 400),
        ({"username": "bad name", "password1": TYPED, "password2": TYPED}, "4001067", 400),
        ({"username": "READER", "password1": TYPED, "password2": TYPED}, "4001067", 409),
        ({"email": "nope", "password1": TYPED, "password2": TYPED}, "4000014", 400),
        ({"password1": "Zk9", "password2": "Zk9"}, "4000014", 400),
    ],
)
def test_bad_input_is_shown_in_the_forms_error_box(  # type: ignore[no-untyped-def]
    client, admin_user, reader, data, code, status
) -> None:
    client.force_login(admin_user)
    posted = {"username": "frank", "email": "frank@example.com", **data}
    response = client.post(
        "/users/", posted, HTTP_X_BERTH_ERROR_TARGET="#user-create-error", **HTMX
    )
    assert response.status_code == status
    assert response["HX-Retarget"] == "#user-create-error"
    assert _code(response) == code
    body = response.content.decode()
    assert TYPED not in body and "Zk9" not in body
    assert User.objects.count() == 2  # admin_user and reader: nobody was created
    # The refusal is traced, under the page's route name, without what was typed.
    [refusal] = AuditEvent.objects.filter(action="user-list", result="failure")
    assert TYPED not in str(refusal.detail)


# -- one user ----------------------------------------------------------------------------------


def test_the_user_page_links_teams_and_direct_grants(  # type: ignore[no-untyped-def]
    client, admin_user, owner, reader, make_org
) -> None:
    org = make_org("acme", creator=owner)
    OrganizationPermission.objects.create(organization=org, user=reader, level=Level.WRITE)
    grant_repo(make_repository(org, "tools/app"), reader, Level.MANAGE)
    reader.groups.add(Group.objects.create(name="devs"))
    client.force_login(admin_user)
    body = client.get("/users/reader/").content.decode()
    assert 'href="/teams/devs/">devs</a>' in body
    org_grant = body.split('data-grant="org:acme"', 1)[1].split("</li>", 1)[0]
    assert 'href="/orgs/acme/"' in org_grant and "Write" in org_grant
    repo_grant = body.split('data-grant="repo:acme/tools/app"', 1)[1].split("</li>", 1)[0]
    assert 'href="/repos/acme/tools/app/"' in repo_grant and "Manage" in repo_grant
    assert 'id="user-password-form"' in body and 'id="user-delete"' in body


def test_deactivating_ends_the_users_session_and_sign_in(client, admin_user, reader) -> None:  # type: ignore[no-untyped-def]
    theirs = Client()
    theirs.force_login(reader)
    assert theirs.get("/").status_code == 200
    client.force_login(admin_user)
    response = client.post("/users/reader/active/", {"active": "false"}, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="user-profile">')
    assert "Reactivate" in response.content.decode()
    assert "deactivated" in toasts(response)[0]["message"]
    assert theirs.get("/").status_code == 302
    assert not Client().login(username="reader", password=PASSWORD)

    response = client.post("/users/reader/active/", {"active": "true"})
    assert response.status_code == 302 and response["Location"] == "/users/reader/"
    assert Client().login(username="reader", password=PASSWORD)


def test_making_and_removing_an_administrator(client, admin_user, reader) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    response = client.post("/users/reader/admin/", {"admin": "true"}, **HTMX)
    assert response.status_code == 200 and 'id="user-admin-badge"' in response.content.decode()
    reader.refresh_from_db()
    assert reader.is_superuser
    client.post("/users/reader/admin/", {"admin": "false"}, **HTMX)
    reader.refresh_from_db()
    assert not reader.is_superuser


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/users/root/active/", {"active": "false"}),
        ("/users/root/admin/", {"admin": "false"}),
        ("/users/root/delete/", {}),
    ],
)
def test_administrators_cannot_lock_themselves_out(client, admin_user, url, data) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    response = client.post(url, data, HTTP_X_BERTH_ERROR_TARGET="#user-error", **HTMX)
    assert response.status_code == 403
    assert _code(response) == "4039002"
    admin_user.refresh_from_db()
    assert (admin_user.is_active, admin_user.is_superuser) == (True, True)
    body = client.get("/users/root/").content.decode()
    assert 'id="user-self-note"' in body and 'id="user-delete"' not in body


@pytest.mark.parametrize("value", ["", "yes", "False"])
def test_a_malformed_flag_changes_nothing(client, admin_user, reader, value) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    for url, name in (("/users/reader/active/", "active"), ("/users/reader/admin/", "admin")):
        response = client.post(url, {name: value}, **HTMX)
        assert response.status_code == 400
        assert toasts(response)[0]["code"] == PREFIX + "4000014"
    _unchanged(reader)


def test_setting_a_password(client, admin_user, reader) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    mismatch = {"password1": TYPED, "password2": "other-Secret-1"}
    response = client.post(
        "/users/reader/password/",
        mismatch,
        HTTP_X_BERTH_ERROR_TARGET="#user-password-error",
        **HTMX,
    )
    assert response.status_code == 400 and _code(response) == "4000014"
    assert TYPED not in response.content.decode()
    _unchanged(reader)

    response = client.post(
        "/users/reader/password/", {"password1": TYPED, "password2": TYPED}, **HTMX
    )
    assert response.status_code == 200 and TYPED not in response.content.decode()
    assert Client().login(username="reader", password=TYPED)

    response = client.post("/users/reader/password/", {"generate": "on"}, **HTMX)
    generated = response.context["new_password"]
    assert 'id="user-generated-password"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert Client().login(username="reader", password=generated)


def test_an_administrator_changing_their_own_password_stays_signed_in(client, admin_user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    response = client.post("/users/root/password/", {"password1": TYPED, "password2": TYPED})
    assert response.status_code == 302
    assert client.get("/users/").status_code == 200


def test_directory_users_get_no_password_form(client, admin_user, make_user, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "Keycloak"
    sso = make_user("sso-user")
    sso.set_unusable_password()
    sso.save()
    client.force_login(admin_user)
    body = client.get("/users/sso-user/").content.decode()
    assert 'id="user-password-form"' not in body
    assert "signs in through OIDC (Keycloak)" in body
    response = client.post("/users/sso-user/password/", {"generate": "on"}, **HTMX)
    assert response.status_code == 400
    sso.refresh_from_db()
    assert not sso.has_usable_password()


def test_deleting_after_confirming(client, admin_user, reader) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    response = client.get("/users/reader/delete/", **HTMX)
    assert response.status_code == 200
    assert "Delete user reader?" in response.content.decode()
    response = client.post("/users/reader/delete/", **HTMX)
    assert response["HX-Redirect"] == "/users/"
    assert not User.objects.filter(username="reader").exists()
    assert client.get("/users/reader/").status_code == 404
