"""Sign-in through LDAP against a real slapd: the sign-in page, the token realm (`docker login`),
names and email from the directory, groups mirrored to teams, the superuser group, StartTLS.

The directory is a throwaway slapd on a free loopback port (python-ldap's `slapdtest`), with
Debian's schemas. `make test` installs `slapd` and `ldap-utils`; only a hand-run pytest on a
machine without them skips.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import environ
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from slapdtest import SlapdObject

from dashboard.auth.ldap import ldap_user_populate
from dashboard.auth.signin_settings import ldap_settings
from dashboard.models import AuditEvent, TeamProfile
from dashboard.services.teams import team_create, team_member_add

pytestmark = pytest.mark.django_db

BASE = "dc=berth,dc=test"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
BACKEND = "dashboard.auth.ldap.BerthLDAPBackend"
#: The `ldap_on` fixture: `with ldap_on(**variables):` signs in through the test directory.
Enable = Callable[..., AbstractContextManager[None]]
PASSWORDS = {"alice": "alice-directory-pw", "bob": "bob-directory-pw", "carol": "carol-pw"}


def _person(uid: str, given: str, family: str) -> str:
    return f"""dn: uid={uid},{PEOPLE}
objectClass: inetOrgPerson
uid: {uid}
cn: {given} {family}
givenName: {given}
sn: {family}
mail: {uid}@directory.example
userPassword: {PASSWORDS.get(uid, "dave-directory-pw")}
"""


def _group(cn: str, *members: str) -> str:
    lines = "".join(f"member: uid={uid},{PEOPLE}\n" for uid in members)
    return f"dn: cn={cn},{GROUPS}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}"


DIRECTORY = "\n".join(
    [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: berth\no: Berth\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
        _person("alice", "Alice", "Liddell"),
        _person("bob", "Bob", "Builder"),
        _person("carol", "Carol", "Danvers"),
        _person("dave", "Dave", "Directory"),
        _group("developers", "alice", "bob"),
        _group("operators", "bob"),
        _group("berth-admins", "bob"),
        _group("Release Engineers", "alice"),  # not a valid team name: never mirrored
    ]
)


class Directory(SlapdObject):  # type: ignore[misc]  # python-ldap's test helper is untyped
    openldap_schema_files = ("core.ldif", "cosine.ldif", "inetorgperson.ldif", "nis.ldif")
    suffix = BASE
    slapd_loglevel = "0"

    def __init__(self, rundir: Path) -> None:
        self.TMPDIR = str(rundir)  # slapdtest's default is the current directory
        super().__init__()


def _require_slapd() -> None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    if shutil.which("slapd", path=path) and shutil.which("ldapadd"):
        return
    # `make test` installs them; only a hand-run pytest on a machine without them may skip.
    if os.environ.get("CI"):
        pytest.fail("slapd is missing in CI: `make test` should have installed slapd ldap-utils")
    pytest.skip("slapd is not installed (apt-get install slapd ldap-utils)")


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real slapd with people and groupOfNames groups, for this module."""
    _require_slapd()
    server = Directory(tmp_path_factory.mktemp("slapd"))
    server.start()
    try:
        server.ldapadd(DIRECTORY)
        yield server
    finally:
        server.stop()


def _env(**values: str) -> environ.Env:
    env = environ.Env()
    env.ENVIRON = values  # type: ignore[assignment]  # read these, not os.environ
    return env


def _config(directory: Any, **extra: str) -> dict[str, str]:
    return {
        "BERTH_LDAP_SERVER_URI": directory.ldap_uri,
        "BERTH_LDAP_BIND_DN": directory.root_dn,
        "BERTH_LDAP_BIND_PASSWORD": directory.root_pw,
        "BERTH_LDAP_USER_SEARCH_BASE": PEOPLE,
        "BERTH_LDAP_GROUP_SEARCH_BASE": GROUPS,
        "BERTH_LDAP_MIRROR_GROUPS": "true",
        "BERTH_LDAP_SUPERUSER_GROUP": f"cn=berth-admins,{GROUPS}",
        **extra,
    }


@pytest.fixture
def ldap_on(directory: Any) -> Enable:
    """Turn LDAP on (as settings.py would for these variables) inside a `with` block."""

    @contextmanager
    def enable(**extra: str) -> Iterator[None]:
        values = ldap_settings(_env(**_config(directory, **extra)))
        backends = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
        # Many sign-ins from 127.0.0.1 in a row: the per-address limit is not under test here.
        with override_settings(**values, AUTHENTICATION_BACKENDS=backends, RATE_LIMIT_SIGN_IN=0):
            yield

    return enable


def _sign_in(client: Client, username: str, password: str | None = None) -> int:
    password = PASSWORDS[username] if password is None else password
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return response.status_code


def _teams(username: str) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


def _modify(directory: Any, ldif: str) -> None:
    directory.ldapmodify(ldif)


# -- off by default ------------------------------------------------------------------------


def test_ldap_is_off_unless_a_server_is_configured() -> None:
    assert settings.LDAP_ENABLED is False
    assert BACKEND not in settings.AUTHENTICATION_BACKENDS
    assert ldap_settings(_env()) == {"LDAP_ENABLED": False, "LDAP_MIRROR_GROUPS": False}
    assert ldap_user_populate("alice") is None


def test_incomplete_or_malformed_configuration_fails_loudly() -> None:
    server = {"BERTH_LDAP_SERVER_URI": "ldap://127.0.0.1:1"}
    with pytest.raises(ImproperlyConfigured, match="USER_SEARCH_BASE"):
        ldap_settings(_env(**server))
    people = {**server, "BERTH_LDAP_USER_SEARCH_BASE": PEOPLE}
    with pytest.raises(ImproperlyConfigured, match="GROUP_SEARCH_BASE"):
        ldap_settings(_env(**people, BERTH_LDAP_MIRROR_GROUPS="true"))
    with pytest.raises(ImproperlyConfigured, match="BERTH_LDAP_GROUP_TYPE"):
        ldap_settings(
            _env(**people, BERTH_LDAP_GROUP_SEARCH_BASE=GROUPS, BERTH_LDAP_GROUP_TYPE="x")
        )
    with pytest.raises(ImproperlyConfigured, match="BERTH_LDAP_TIMEOUT"):
        ldap_settings(_env(**people, BERTH_LDAP_TIMEOUT="soon"))


# -- the sign-in page ------------------------------------------------------------------------


def test_first_sign_in_creates_the_user_from_the_directory(client: Client, ldap_on: Enable) -> None:
    with ldap_on():
        response = client.post(
            "/accounts/login/", {"username": "Alice", "password": PASSWORDS["alice"]}
        )
        assert response.status_code == 302 and response["Location"] == "/"
        assert client.get("/").status_code == 200
    alice = User.objects.get(username="alice")  # directory names are lowercased
    assert (alice.first_name, alice.last_name, alice.email) == (
        "Alice",
        "Liddell",
        "alice@directory.example",
    )
    assert not alice.has_usable_password() and not alice.is_superuser
    trace = AuditEvent.objects.get(action="login", result="success")
    assert (trace.actor, trace.resource_name) == (alice, "alice")


def test_a_wrong_directory_password_is_refused_and_traced(client: Client, ldap_on: Enable) -> None:
    with ldap_on():
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
        assert "did not match" in response.content.decode()
        assert _sign_in(client, "nobody", "whatever") == 200
    assert not User.objects.filter(username="alice").exists()
    failures = AuditEvent.objects.filter(action="login", result="failure")
    assert sorted(failures.values_list("actor_name", flat=True)) == ["alice", "nobody"]


def test_directory_changes_apply_at_the_next_sign_in(
    client: Client, ldap_on: Enable, directory: Any
) -> None:
    with ldap_on():
        assert _sign_in(client, "alice") == 302
    _modify(directory, f"dn: uid=alice,{PEOPLE}\nchangetype: modify\nreplace: sn\nsn: Hargreaves\n")
    try:
        with ldap_on():
            assert _sign_in(Client(), "alice") == 302
        assert User.objects.get(username="alice").last_name == "Hargreaves"
    finally:
        _modify(
            directory, f"dn: uid=alice,{PEOPLE}\nchangetype: modify\nreplace: sn\nsn: Liddell\n"
        )


def test_deactivating_a_directory_user_ends_their_session(client: Client, ldap_on: Enable) -> None:
    with ldap_on():
        assert _sign_in(client, "alice") == 302
        assert client.get("/account/login-commands/").status_code == 200
        User.objects.filter(username="alice").update(is_active=False)
        assert client.get("/account/login-commands/").status_code == 302
        assert _sign_in(Client(), "alice") == 200
        realm = client.get(
            "/service/token",
            {"service": settings.TOKEN_SERVICE},
            HTTP_AUTHORIZATION=_basic("alice", PASSWORDS["alice"]),
        )
        assert realm.status_code == 401


def test_a_berth_account_with_a_password_is_not_taken_over(client: Client, ldap_on: Enable) -> None:
    User.objects.create_user("dave", password="dave-berth-pw")
    with ldap_on():
        assert _sign_in(client, "dave", "dave-directory-pw") == 200
        assert _sign_in(client, "dave", "dave-berth-pw") == 302
    assert User.objects.get(username="dave").last_name == ""


def test_only_members_of_the_required_group_sign_in(client: Client, ldap_on: Enable) -> None:
    with ldap_on(BERTH_LDAP_REQUIRE_GROUP=f"cn=developers,{GROUPS}"):
        assert _sign_in(client, "carol") == 200
        assert _sign_in(client, "alice") == 302
    assert not User.objects.filter(username="carol").exists()


# -- teams -------------------------------------------------------------------------------------


def test_groups_are_mirrored_to_teams_and_follow_the_directory(
    client: Client, ldap_on: Enable, directory: Any, admin_user: User
) -> None:
    local = team_create(name="local-team", actor=admin_user)
    with ldap_on():
        assert _sign_in(client, "alice") == 302
        # Mirrored teams are teams like any other: a profile, listed on /teams/.
        assert _teams("alice") == {"developers"}
        assert TeamProfile.objects.filter(team__name="developers").exists()
        assert 'href="/teams/developers/"' in client.get("/teams/").content.decode()
        assert not Group.objects.filter(name__iexact="release engineers").exists()
        team_member_add(team=local, user=User.objects.get(username="alice"), actor=admin_user)

        # In the directory: alice leaves developers and joins operators.
        _modify(
            directory,
            f"dn: cn=developers,{GROUPS}\nchangetype: modify\ndelete: member\n"
            f"member: uid=alice,{PEOPLE}\n\n"
            f"dn: cn=operators,{GROUPS}\nchangetype: modify\nadd: member\n"
            f"member: uid=alice,{PEOPLE}\n",
        )
        try:
            assert _sign_in(Client(), "alice") == 302
            # The team made in Berth is not a directory group: its membership stays.
            assert _teams("alice") == {"operators", "local-team"}
        finally:
            _modify(
                directory,
                f"dn: cn=developers,{GROUPS}\nchangetype: modify\nadd: member\n"
                f"member: uid=alice,{PEOPLE}\n\n"
                f"dn: cn=operators,{GROUPS}\nchangetype: modify\ndelete: member\n"
                f"member: uid=alice,{PEOPLE}\n",
            )
    traces = AuditEvent.objects.filter(actor_name="ldap").values_list("action", "resource_name")
    assert ("createTeam", "developers") in traces
    assert ("removeTeamMember", "developers") in traces


def test_without_mirroring_teams_are_left_alone(client: Client, ldap_on: Enable) -> None:
    with ldap_on(BERTH_LDAP_MIRROR_GROUPS="false", BERTH_LDAP_SUPERUSER_GROUP=""):
        assert _sign_in(client, "alice") == 302
    assert _teams("alice") == set()


def test_members_of_the_superuser_group_become_superusers(
    client: Client, ldap_on: Enable, directory: Any
) -> None:
    with ldap_on():
        assert _sign_in(client, "bob") == 302
        bob = User.objects.get(username="bob")
        assert bob.is_superuser and bob.is_staff
        assert _teams("bob") == {"berth-admins", "developers", "operators"}
        _modify(
            directory,
            f"dn: cn=berth-admins,{GROUPS}\nchangetype: modify\nreplace: member\n"
            f"member: uid=carol,{PEOPLE}\n",
        )
        try:
            assert _sign_in(Client(), "bob") == 302
        finally:
            _modify(
                directory,
                f"dn: cn=berth-admins,{GROUPS}\nchangetype: modify\nreplace: member\n"
                f"member: uid=bob,{PEOPLE}\n",
            )
    bob.refresh_from_db()
    assert not bob.is_superuser and not bob.is_staff


def test_a_team_manager_adds_a_directory_user_who_never_signed_in(
    client: Client, ldap_on: Enable, admin_user: User
) -> None:
    team_create(name="platform", actor=admin_user)
    client.force_login(admin_user)
    with ldap_on():
        response = client.post("/teams/platform/members/add/", {"username": "carol"})
        assert response.status_code == 302
        carol = User.objects.get(username="carol")
        assert carol.email == "carol@directory.example" and not carol.has_usable_password()
        assert _teams("carol") == {"platform"}  # carol is in no directory group
        unknown = client.post("/teams/platform/members/add/", {"username": "nobody"})
        assert unknown.status_code == 400 and not User.objects.filter(username="nobody").exists()


# -- docker login: the token realm ------------------------------------------------------------


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_docker_login_with_the_directory_password(client: Client, ldap_on: Enable) -> None:
    query = {"service": settings.TOKEN_SERVICE, "account": "alice"}
    with ldap_on():
        response = client.get(
            "/service/token", query, HTTP_AUTHORIZATION=_basic("alice", PASSWORDS["alice"])
        )
        assert response.status_code == 200 and response.json()["token"]
        refused = client.get("/service/token", query, HTTP_AUTHORIZATION=_basic("alice", "wrong"))
        assert refused.status_code == 401
    assert User.objects.filter(username="alice").exists()


# -- StartTLS ----------------------------------------------------------------------------------


def test_start_tls_verifies_the_server_certificate(
    client: Client, ldap_on: Enable, directory: Any
) -> None:
    # slapdtest serves a certificate for localhost/127.0.0.1 signed by its own test CA.
    ca_file = directory.cafile
    with ldap_on(BERTH_LDAP_START_TLS="true"):
        assert _sign_in(client, "alice") == 200  # the system CAs do not know that CA
    with ldap_on(BERTH_LDAP_START_TLS="true", BERTH_LDAP_CA_FILE=ca_file):
        assert _sign_in(client, "alice") == 302
