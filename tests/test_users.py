"""Users: administrators create local users, deactivate and reactivate them, make and remove
administrators, set passwords and delete users; nobody locks themselves or everyone out."""

from __future__ import annotations

import base64
import json

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import Client

from dashboard.models import AuditEvent, Level, OrganizationPermission
from dashboard.selectors.users import user_list, user_sign_in
from dashboard.services.credentials import (
    access_key_create,
    api_token_authenticate,
    api_token_create,
    login_secret_create,
    long_term_password,
)
from dashboard.services.errors import PREFIX, ServiceError
from dashboard.services.users import (
    user_create,
    user_delete,
    user_set_active,
    user_set_admin,
    user_set_password,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

REALM = "/service/token"


def _code(exc: pytest.ExceptionInfo[ServiceError]) -> tuple[str, int]:
    return exc.value.code.removeprefix(PREFIX), exc.value.status


def _realm(username: str, password: str) -> int:
    """The token realm's status for a docker login with these credentials."""
    header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    response = Client().get(
        REALM, {"service": settings.TOKEN_SERVICE}, headers={"Authorization": header}
    )
    return response.status_code


def _traces(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# -- create ----------------------------------------------------------------------------------


def test_administrator_creates_a_local_user_who_signs_in(admin_user) -> None:  # type: ignore[no-untyped-def]
    user, generated = user_create(
        username="carol",
        email="Carol@EXAMPLE.com",
        full_name="  Carol   van Dyke ",
        password=PASSWORD,
        actor=admin_user,
    )
    assert generated is None
    user.refresh_from_db()
    assert (user.is_active, user.is_superuser, user.is_staff) == (True, False, False)
    assert user.email == "Carol@example.com"
    assert (user.first_name, user.last_name) == ("Carol", "van Dyke")
    assert user_sign_in(user=user).kind == "local"
    assert authenticate(username="carol", password=PASSWORD) == user
    [trace] = _traces("createUser")
    assert (trace.resource_name, trace.actor, trace.resource_type) == ("carol", admin_user, "user")
    assert PASSWORD not in json.dumps(trace.detail)


def test_a_generated_password_is_returned_once_and_never_traced(admin_user) -> None:  # type: ignore[no-untyped-def]
    user, generated = user_create(username="dave", email="dave@example.com", actor=admin_user)
    assert generated is not None and len(generated) >= 20
    assert authenticate(username="dave", password=generated) == user
    assert generated not in json.dumps([t.detail for t in AuditEvent.objects.all()])
    assert generated not in user.password


@pytest.mark.parametrize(
    "username",
    ["", "   ", "with space", "semi;colon", "slash/name", "a" * 151, "local@ABCDEF"],
)
def test_invalid_usernames_are_4001067(admin_user, username: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        user_create(username=username, email="x@example.com", password=PASSWORD, actor=admin_user)
    assert _code(exc) == ("4001067", 400)
    assert User.objects.count() == 1


def test_valid_usernames_follow_djangos_rules(admin_user) -> None:  # type: ignore[no-untyped-def]
    for name in ("a", "first.last", "me+ci@corp", "x-y_z", "élodie", "a" * 150):
        user_create(username=name, email="x@example.com", password=PASSWORD, actor=admin_user)
    assert User.objects.count() == 7


def test_a_taken_username_is_409_ignoring_case(admin_user, owner) -> None:  # type: ignore[no-untyped-def]
    for name in ("owner", "Owner", "OWNER"):
        with pytest.raises(ServiceError) as exc:
            user_create(username=name, email="o@example.com", password=PASSWORD, actor=admin_user)
        assert _code(exc) == ("4001067", 409)
    assert User.objects.filter(username__iexact="owner").count() == 1


@pytest.mark.parametrize(
    ("email", "full_name", "password"),
    [
        ("", "", PASSWORD),
        ("not-an-email", "", PASSWORD),
        ("x@example.com", "n" * 151, PASSWORD),
        ("x@example.com", "", "Zk9"),
        ("x@example.com", "", ""),
    ],
)
def test_bad_email_full_name_or_password_is_4000014_and_creates_nobody(  # type: ignore[no-untyped-def]
    admin_user, email: str, full_name: str, password: str
) -> None:
    with pytest.raises(ServiceError) as exc:
        user_create(
            username="erin", email=email, full_name=full_name, password=password, actor=admin_user
        )
    assert _code(exc) == ("4000014", 400)
    if password:
        assert password not in exc.value.message
    assert not User.objects.filter(username="erin").exists()
    assert not _traces("createUser")


# -- who may -----------------------------------------------------------------------------------


def test_only_active_administrators_manage_users(admin_user, owner, reader, make_user) -> None:  # type: ignore[no-untyped-def]
    retired = make_user("retired", superuser=True)
    User.objects.filter(pk=retired.pk).update(is_active=False)
    retired.refresh_from_db()
    changes = [
        lambda actor: user_create(username="new", email="n@example.com", actor=actor),
        lambda actor: user_set_active(user=reader, active=False, actor=actor),
        lambda actor: user_set_admin(user=reader, admin=True, actor=actor),
        lambda actor: user_set_password(user=reader, password="another-password", actor=actor),
        lambda actor: user_delete(user=reader, actor=actor),
    ]
    for actor in (owner, AnonymousUser(), retired):
        for change in changes:
            with pytest.raises(ServiceError) as exc:
                change(actor)
            assert _code(exc) == ("4039002", 403)
    reader.refresh_from_db()
    assert (reader.is_active, reader.is_superuser) == (True, False)
    assert reader.check_password(PASSWORD)
    assert not User.objects.filter(username="new").exists()


# -- deactivate and reactivate -----------------------------------------------------------------


def test_a_deactivated_user_gets_no_registry_token_until_reactivated(  # type: ignore[no-untyped-def]
    admin_user, reader, settings
) -> None:
    settings.TOKEN_AUTH_CACHE_SECONDS = 300  # a cached sign-in must not outlive deactivation
    _secret, secret_user, secret_password = login_secret_create(user=reader)
    key, secret_key = access_key_create(user=reader)
    key_user = f"{settings.REGION}@{key.access_key}"
    key_password = long_term_password(key.access_key, secret_key)
    _token, token_text = api_token_create(user=reader, name="ci")
    credentials = [("reader", PASSWORD), (secret_user, secret_password), (key_user, key_password)]
    assert [_realm(*c) for c in credentials] == [200, 200, 200]

    user_set_active(user=reader, active=False, actor=admin_user)
    assert [_realm(*c) for c in credentials] == [401, 401, 401]
    assert api_token_authenticate(token_text) is None
    assert authenticate(username="reader", password=PASSWORD) is None

    user_set_active(user=reader, active=True, actor=admin_user)
    assert [_realm(*c) for c in credentials] == [200, 200, 200]
    assert api_token_authenticate(token_text) == reader
    changes = [t.detail for t in _traces("updateUser")]
    assert changes == [{"is_active": False}, {"is_active": True}]


def test_setting_the_same_state_changes_and_traces_nothing(admin_user, reader) -> None:  # type: ignore[no-untyped-def]
    user_set_active(user=reader, active=True, actor=admin_user)
    user_set_admin(user=reader, admin=False, actor=admin_user)
    assert not _traces("updateUser")


def test_nobody_deactivates_demotes_or_deletes_themselves(admin_user, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("second", superuser=True)  # not the last administrator: the refusal is for self
    for change in (
        lambda: user_set_active(user=admin_user, active=False, actor=admin_user),
        lambda: user_set_admin(user=admin_user, admin=False, actor=admin_user),
        lambda: user_delete(user=admin_user, actor=admin_user),
    ):
        with pytest.raises(ServiceError) as exc:
            change()
        assert _code(exc) == ("4039002", 403)
    admin_user.refresh_from_db()
    assert (admin_user.is_active, admin_user.is_superuser) == (True, True)


def test_two_administrators_removing_each_other_leave_one(admin_user, make_user) -> None:  # type: ignore[no-untyped-def]
    other = make_user("other-admin", superuser=True)
    # `other` deactivated `admin_user` a moment ago; admin_user's request still holds the old row.
    User.objects.filter(pk=admin_user.pk).update(is_active=False)
    for change in (
        lambda: user_set_active(user=other, active=False, actor=admin_user),
        lambda: user_set_admin(user=other, admin=False, actor=admin_user),
        lambda: user_delete(user=other, actor=admin_user),
    ):
        with pytest.raises(ServiceError) as exc:
            change()
        assert _code(exc) == ("4039002", 403)
        assert "last active administrator" in exc.value.message
    other.refresh_from_db()
    assert (other.is_active, other.is_superuser) == (True, True)


# -- administrators ----------------------------------------------------------------------------


def test_making_and_removing_an_administrator(admin_user, reader, make_org) -> None:  # type: ignore[no-untyped-def]
    user_set_admin(user=reader, admin=True, actor=admin_user)
    reader.refresh_from_db()
    assert (reader.is_superuser, reader.is_staff) == (True, True)
    # The token realm now grants the catalog, which only administrators get.
    response = Client().get(
        REALM,
        {"service": settings.TOKEN_SERVICE, "scope": "registry:catalog:*"},
        headers={
            "Authorization": "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
        },
    )
    assert response.status_code == 200
    user_set_admin(user=reader, admin=False, actor=admin_user)
    reader.refresh_from_db()
    assert (reader.is_superuser, reader.is_staff) == (False, False)
    changes = [t.detail for t in _traces("updateUser")]
    assert changes == [{"is_superuser": True}, {"is_superuser": False}]


# -- passwords -----------------------------------------------------------------------------------


def test_setting_a_local_users_password(admin_user, reader) -> None:  # type: ignore[no-untyped-def]
    assert user_set_password(user=reader, password="brand-new-secret", actor=admin_user) is None
    assert authenticate(username="reader", password=PASSWORD) is None
    assert authenticate(username="reader", password="brand-new-secret") == reader
    generated = user_set_password(user=reader, actor=admin_user)
    assert generated is not None
    assert authenticate(username="reader", password=generated) == reader
    details = json.dumps([t.detail for t in _traces("updateUser")])
    assert "brand-new-secret" not in details and generated not in details


def test_a_refused_password_changes_nothing(admin_user, reader) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        user_set_password(user=reader, password="Zk9", actor=admin_user)
    assert _code(exc) == ("4000014", 400)
    assert "Zk9" not in exc.value.message
    reader.refresh_from_db()
    assert reader.check_password(PASSWORD)


def test_directory_users_keep_the_directorys_password(admin_user, make_user, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LDAP_ENABLED = True
    ldap_user = make_user("from-ldap")
    ldap_user.set_unusable_password()
    ldap_user.save()
    with pytest.raises(ServiceError) as exc:
        user_set_password(user=ldap_user, password="brand-new-secret", actor=admin_user)
    assert _code(exc) == ("4000014", 400)
    ldap_user.refresh_from_db()
    assert not ldap_user.has_usable_password()


@pytest.mark.parametrize(
    ("ldap", "oidc", "kind"),
    [
        (False, False, "none"),
        (True, False, "ldap"),
        (False, True, "oidc"),
        (True, True, "external"),
    ],
)
def test_how_users_without_a_password_sign_in(  # type: ignore[no-untyped-def]
    make_user, settings, ldap: bool, oidc: bool, kind: str
) -> None:
    settings.LDAP_ENABLED, settings.OIDC_ENABLED = ldap, oidc
    user = make_user("someone")
    assert user_sign_in(user=user).kind == "local"
    user.set_unusable_password()
    assert user_sign_in(user=user).kind == kind
    # With no directory configured the user has no way in: a password may be set.
    assert user_sign_in(user=user).is_local == (kind == "none")


# -- delete ------------------------------------------------------------------------------------


def test_deleting_a_user_removes_their_grants_and_keeps_the_audit_trail(  # type: ignore[no-untyped-def]
    admin_user, owner, reader, make_org
) -> None:
    org = make_org("acme", creator=owner)
    OrganizationPermission.objects.create(organization=org, user=reader, level=Level.READ)
    login_secret_create(user=reader)
    user_delete(user=reader, actor=admin_user)
    assert not User.objects.filter(username="reader").exists()
    assert list(org.permissions.values_list("user__username", flat=True)) == ["owner"]
    [trace] = _traces("deleteUser")
    assert (trace.resource_name, trace.actor) == ("reader", admin_user)
    assert AuditEvent.objects.filter(actor_name="reader", action="createDockerConfig").exists()


def test_the_last_manage_holder_of_an_organization_is_not_deleted(  # type: ignore[no-untyped-def]
    admin_user, owner, make_org
) -> None:
    make_org("zeta", creator=owner)
    org = make_org("alpha", creator=owner)
    with pytest.raises(ServiceError) as exc:
        user_delete(user=owner, actor=admin_user)
    assert _code(exc) == ("4039002", 403)
    assert "alpha, zeta" in exc.value.message
    assert User.objects.filter(username="owner").exists()
    # Once a team also manages both, the owner may go.
    ops = Group.objects.create(name="ops")
    for organization in (org, org.__class__.objects.get(name="zeta")):
        OrganizationPermission.objects.create(
            organization=organization, team=ops, level=Level.MANAGE
        )
    user_delete(user=owner, actor=admin_user)
    assert not User.objects.filter(username="owner").exists()


def test_an_administrator_deletes_another_administrator(admin_user, make_user) -> None:  # type: ignore[no-untyped-def]
    other = make_user("other-admin", superuser=True)
    user_delete(user=other, actor=admin_user)
    assert list(User.objects.values_list("username", flat=True)) == ["root"]


# -- the list ----------------------------------------------------------------------------------


def test_the_list_filters_by_name_email_and_status(admin_user, make_user) -> None:  # type: ignore[no-untyped-def]
    ada = make_user("ada")
    ada.first_name, ada.last_name = "Ada", "Lovelace"
    ada.save()
    gone = make_user("gone")
    gone.is_active = False
    gone.save()
    make_user("bob")

    def names(**filters: str) -> list[str]:
        return [u.username for u in user_list(**filters)]

    assert names() == ["ada", "bob", "gone", "root"]
    assert names(q="LOVE") == ["ada"]
    assert names(q="bob@example") == ["bob"]
    assert names(status="active") == ["ada", "bob", "root"]
    assert names(status="inactive") == ["gone"]
    assert names(status="admin") == ["root"]
    assert names(status="nonsense") == ["ada", "bob", "gone", "root"]
