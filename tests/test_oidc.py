"""Sign-in through OpenID Connect against a real provider: `oidc-provider-mock` (authlib's
authorization server) on a free loopback port. The flow is the real one: Berth redirects to the
provider, the test authorizes there as a subject over HTTP, Berth's callback exchanges the code,
verifies the ID token against the provider's keys and reads userinfo.

`oidc_provider` and `oidc_on` are shared with tests/e2e/test_browser_oidc.py.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
import pytest
import requests
import yaml
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import HttpResponse
from django.test import Client, override_settings

from dashboard.auth.oidc import oidc_username
from dashboard.auth.signin_settings import oidc_settings
from dashboard.models import AuditEvent, TeamProfile
from dashboard.services.teams import team_create, team_member_add

# oidc-provider-mock 0.3 (the last for Python 3.11) calls authlib APIs that authlib deprecates;
# authlib's own import turns its warnings on for good, hence the second filter.
with warnings.catch_warnings():
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from oidc_provider_mock import run_server_in_thread

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib"),
]

BACKEND = "dashboard.auth.oidc.BerthOIDCBackend"
PROVIDER_NAME = "Mock IdP"
#: The `oidc_on` fixture: `with oidc_on(**variables):` signs in through the test provider.
Enable = Callable[..., AbstractContextManager[None]]


class Provider:
    """The running provider: its address, and its users' claims (set before they authorize)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def set_claims(self, sub: str, **claims: object) -> None:
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        response.raise_for_status()

    def authorize(self, authorize_url: str, sub: str) -> str:
        """Authorize as `sub` on the provider's page; return where it sends the browser."""
        assert authorize_url.startswith(f"{self.url}/oauth2/authorize?"), authorize_url
        answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    with run_server_in_thread(port=0) as server:
        yield Provider(f"http://localhost:{server.server_port}")


def _env(**values: str) -> environ.Env:
    env = environ.Env()
    env.ENVIRON = values  # type: ignore[assignment]  # read these, not os.environ
    return env


def provider_variables(provider: Provider, **extra: str) -> dict[str, str]:
    return {
        "BERTH_OIDC_RP_CLIENT_ID": "berth",
        "BERTH_OIDC_RP_CLIENT_SECRET": "berth-client-secret",
        "BERTH_OIDC_OP_AUTHORIZATION_ENDPOINT": f"{provider.url}/oauth2/authorize",
        "BERTH_OIDC_OP_TOKEN_ENDPOINT": f"{provider.url}/oauth2/token",
        "BERTH_OIDC_OP_USER_ENDPOINT": f"{provider.url}/userinfo",
        "BERTH_OIDC_OP_JWKS_ENDPOINT": f"{provider.url}/jwks",
        "BERTH_OIDC_PROVIDER_NAME": PROVIDER_NAME,
        **extra,
    }


@pytest.fixture
def oidc_on(oidc_provider: Provider) -> Enable:
    """Turn OIDC on (as settings.py would for these variables) inside a `with` block."""

    @contextmanager
    def enable(**extra: str) -> Iterator[None]:
        values = oidc_settings(_env(**provider_variables(oidc_provider, **extra)))
        backends = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
        # The mock's ID tokens carry no `kid` (real providers send one).
        with override_settings(**values, AUTHENTICATION_BACKENDS=backends, OIDC_VERIFY_KID=False):
            yield

    return enable


def _sign_in(client: Client, provider: Provider, sub: str) -> HttpResponse:
    """The whole flow as a browser makes it; returns Berth's answer to the callback."""
    start = client.get("/oidc/authenticate/", {"next": "/account/"})
    assert start.status_code == 302
    callback = urlsplit(provider.authorize(start["Location"], sub))
    assert callback.path == "/oidc/callback/"
    return client.get(f"{callback.path}?{callback.query}")  # type: ignore[return-value]


def _teams(username: str) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


# -- off by default ------------------------------------------------------------------------


def test_oidc_is_off_unless_a_client_is_configured(client: Client) -> None:
    assert settings.OIDC_ENABLED is False
    assert BACKEND not in settings.AUTHENTICATION_BACKENDS
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "x", "state": "y"}).status_code == 404
    page = client.get("/accounts/login/").content.decode()
    assert "oidc-sign-in" not in page and "Sign in with" not in page


def test_every_sign_in_variable_is_documented_and_passed_by_compose() -> None:
    # tests/test_deploy.py checks the variables settings.py reads; these are read elsewhere.
    base = Path(__file__).resolve().parent.parent
    source = (base / "dashboard" / "auth" / "signin_settings.py").read_text()
    variables = set(re.findall(r'"(BERTH_(?:LDAP|OIDC)_[A-Z0-9_]+)"', source))
    documented = set(
        re.findall(r"^# ([A-Z][A-Z0-9_]*)=", (base / ".env.example").read_text(), re.M)
    )
    compose = yaml.safe_load((base / "docker-compose.yml").read_text())["x-berth-environment"]
    assert len(variables) > 25
    assert variables - documented == set()
    assert variables - set(compose) == set()


def test_an_incomplete_configuration_fails_loudly() -> None:
    with pytest.raises(ImproperlyConfigured, match="BERTH_OIDC_OP_TOKEN_ENDPOINT"):
        oidc_settings(
            _env(
                BERTH_OIDC_RP_CLIENT_ID="berth",
                BERTH_OIDC_OP_AUTHORIZATION_ENDPOINT="https://idp.example/authorize",
            )
        )


# -- usernames ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "username"),
    [
        ({"preferred_username": "Carol.Ops", "email": "c@example.org"}, "carol.ops"),
        ({"email": "dora.explorer@example.org"}, "dora.explorer"),
        ({"preferred_username": "erin@corp.example"}, "erin@corp.example"),
    ],
)
def test_the_username_comes_from_preferred_username_then_email(
    claims: dict[str, Any], username: str
) -> None:
    assert oidc_username({"sub": "s", **claims}) == username


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"preferred_username": "has space"},
        {"preferred_username": "semi;colon"},
        {"preferred_username": "x" * 151},
    ],
)
def test_claims_without_a_valid_username_are_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(SuspiciousOperation):
        oidc_username({"sub": "s", **claims})


def test_a_username_shaped_like_a_registry_credential_is_refused() -> None:
    # `<region>@<id>` names login commands and access keys in `docker login`.
    with pytest.raises(SuspiciousOperation, match="registry credential"):
        oidc_username({"sub": "s", "preferred_username": f"{settings.REGION}@0123abcd"})


# -- the flow against the provider -------------------------------------------------------------


def test_sign_in_creates_the_user_from_the_claims(
    client: Client, oidc_on: Enable, oidc_provider: Provider
) -> None:
    oidc_provider.set_claims(
        "sub-carol",
        preferred_username="Carol.Ops",
        email="carol@idp.example",
        given_name="Carol",
        family_name="Ops",
    )
    with oidc_on():
        page = client.get("/accounts/login/").content.decode()
        assert f"Sign in with {PROVIDER_NAME}" in page and 'href="/oidc/authenticate/' in page
        response = _sign_in(client, oidc_provider, "sub-carol")
        assert response.status_code == 302 and response["Location"] == "/account/"
        assert client.get("/account/login-commands/").status_code == 200
    carol = User.objects.get(username="carol.ops")
    assert (carol.first_name, carol.last_name, carol.email) == ("Carol", "Ops", "carol@idp.example")
    assert not carol.has_usable_password()
    trace = AuditEvent.objects.get(action="login", result="success")
    assert (trace.actor, trace.resource_name) == (carol, "carol.ops")


def test_claims_update_the_user_at_the_next_sign_in(
    client: Client, oidc_on: Enable, oidc_provider: Provider
) -> None:
    oidc_provider.set_claims("sub-frank", preferred_username="frank", email="frank@old.example")
    with oidc_on():
        assert _sign_in(client, oidc_provider, "sub-frank").status_code == 302
        oidc_provider.set_claims("sub-frank", preferred_username="frank", email="frank@new.example")
        assert _sign_in(Client(), oidc_provider, "sub-frank").status_code == 302
    assert User.objects.filter(username="frank").count() == 1
    assert User.objects.get(username="frank").email == "frank@new.example"


def test_an_invalid_username_claim_refuses_the_sign_in(
    client: Client, oidc_on: Enable, oidc_provider: Provider
) -> None:
    oidc_provider.set_claims("sub-bad", preferred_username="bad name", email="bad@idp.example")
    with oidc_on():
        response = _sign_in(client, oidc_provider, "sub-bad")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?oidc=failed"
        page = client.get(response["Location"]).content.decode()
        assert 'id="oidc-refused"' in page
    assert not User.objects.filter(email="bad@idp.example").exists()
    assert AuditEvent.objects.filter(action="login", result="failure").exists()


def test_a_berth_account_with_a_password_is_not_taken_over(
    client: Client, oidc_on: Enable, oidc_provider: Provider
) -> None:
    User.objects.create_superuser("root", password="berth-password")
    oidc_provider.set_claims("sub-root", preferred_username="root")
    with oidc_on():
        response = _sign_in(client, oidc_provider, "sub-root")
        assert response["Location"] == "/accounts/login/?oidc=failed"
        assert client.get("/account/").status_code == 302  # still signed out


def test_deactivating_an_oidc_user_ends_their_session(
    client: Client, oidc_on: Enable, oidc_provider: Provider
) -> None:
    oidc_provider.set_claims("sub-jo", preferred_username="jo")
    with oidc_on():
        assert _sign_in(client, oidc_provider, "sub-jo").status_code == 302
        assert client.get("/account/login-commands/").status_code == 200
        User.objects.filter(username="jo").update(is_active=False)
        assert client.get("/account/login-commands/").status_code == 302
        # And the provider cannot sign them in again.
        assert _sign_in(Client(), oidc_provider, "sub-jo")["Location"].endswith("oidc=failed")


def test_the_groups_claim_decides_the_users_teams(
    client: Client, oidc_on: Enable, oidc_provider: Provider, admin_user: User
) -> None:
    local = team_create(name="local-team", actor=admin_user)
    oidc_provider.set_claims(
        "sub-gina", preferred_username="gina", groups=["developers", "/platform", "Not A Team"]
    )
    with oidc_on(BERTH_OIDC_GROUPS_CLAIM="groups"):
        assert _sign_in(client, oidc_provider, "sub-gina").status_code == 302
        assert _teams("gina") == {"developers", "platform"}
        assert TeamProfile.objects.filter(team__name__in=["developers", "platform"]).count() == 2
        team_member_add(team=local, user=User.objects.get(username="gina"), actor=admin_user)
        oidc_provider.set_claims("sub-gina", preferred_username="gina", groups=["platform"])
        assert _sign_in(Client(), oidc_provider, "sub-gina").status_code == 302
    assert _teams("gina") == {"platform"}


def test_without_a_groups_claim_teams_are_left_alone(
    client: Client, oidc_on: Enable, oidc_provider: Provider
) -> None:
    oidc_provider.set_claims("sub-hank", preferred_username="hank", groups=["developers"])
    with oidc_on():
        assert _sign_in(client, oidc_provider, "sub-hank").status_code == 302
    assert _teams("hank") == set()


def test_an_oidc_user_is_told_how_to_docker_login(
    client: Client, oidc_on: Enable, oidc_provider: Provider
) -> None:
    oidc_provider.set_claims("sub-ivy", preferred_username="ivy")
    with oidc_on():
        assert _sign_in(client, oidc_provider, "sub-ivy").status_code == 302
        page = client.get("/account/login-commands/").content.decode()
    assert 'id="no-password-hint"' in page
