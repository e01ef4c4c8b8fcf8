"""Rate limits on sign-in and the token realm (429), and lockout after repeated failures.

Limits are counted in the session's shared redis, so each test uses its own client address and
usernames."""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

REALM = "/service/token"


def _address() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _basic(username: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def person(make_user: Callable[..., User]) -> User:
    return make_user(f"rl{uuid.uuid4().hex[:8]}")


def test_token_realm_answers_429_over_the_per_address_limit(client: Client, settings: Any) -> None:
    settings.RATE_LIMIT_TOKEN = 3
    address = _address()
    answers = [client.get(REALM, REMOTE_ADDR=address).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.get(REALM, REMOTE_ADDR=address)
    assert refused.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert refused["Retry-After"] == "60"
    # Another address is counted apart.
    assert client.get(REALM, REMOTE_ADDR=_address()).status_code == 200


def test_sign_in_answers_429_over_the_per_address_limit(
    client: Client, settings: Any, person: User
) -> None:
    settings.RATE_LIMIT_SIGN_IN = 2
    address = _address()
    data = {"username": person.username, "password": "wrong"}
    assert client.post("/accounts/login/", data, REMOTE_ADDR=address).status_code == 200
    assert client.post("/accounts/login/", data, REMOTE_ADDR=address).status_code == 200
    refused = client.post(
        "/accounts/login/",
        {"username": person.username, "password": PASSWORD},
        REMOTE_ADDR=address,
    )
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session  # the right password was not even checked
    # Pages (GET) are not counted.
    assert client.get("/accounts/login/", REMOTE_ADDR=address).status_code == 200


def test_repeated_failures_lock_the_username_and_the_right_password_waits(
    client: Client, settings: Any, person: User
) -> None:
    settings.LOCKOUT_FAILURES = 3
    wrong = {"username": person.username, "password": "wrong"}
    for _ in range(2):
        page = client.post("/accounts/login/", wrong, REMOTE_ADDR=_address())
        assert "did not match" in page.content.decode()
    third = client.post("/accounts/login/", wrong, REMOTE_ADDR=_address())
    assert "locked for 15 minutes" in third.content.decode()

    right = {"username": person.username, "password": PASSWORD}
    page = client.post("/accounts/login/", right, REMOTE_ADDR=_address())
    assert "locked for 15 minutes" in page.content.decode()
    assert "_auth_user_id" not in client.session
    token = client.get(REALM, HTTP_AUTHORIZATION=_basic(person.username), REMOTE_ADDR=_address())
    assert token.status_code == 429
    assert "locked" in token.json()["errors"][0]["message"]
    assert AuditEvent.objects.filter(
        resource_name=person.username, action="login", result="failure", detail__reason="locked"
    ).exists()


def test_token_realm_failures_count_toward_the_lockout(
    client: Client, settings: Any, person: User
) -> None:
    settings.LOCKOUT_FAILURES = 2
    bad = _basic(person.username, "wrong")
    assert client.get(REALM, HTTP_AUTHORIZATION=bad, REMOTE_ADDR=_address()).status_code == 401
    assert client.get(REALM, HTTP_AUTHORIZATION=bad, REMOTE_ADDR=_address()).status_code == 401
    locked = client.get(REALM, HTTP_AUTHORIZATION=_basic(person.username))
    assert locked.status_code == 429


def test_a_success_resets_the_run_of_failures(client: Client, settings: Any, person: User) -> None:
    settings.LOCKOUT_FAILURES = 2
    bad, good = _basic(person.username, "wrong"), _basic(person.username)
    for _ in range(3):
        assert client.get(REALM, HTTP_AUTHORIZATION=bad).status_code == 401
        assert client.get(REALM, HTTP_AUTHORIZATION=good).status_code == 200


def test_zero_turns_the_limits_off(client: Client, settings: Any, person: User) -> None:
    settings.RATE_LIMIT_TOKEN = 0
    settings.LOCKOUT_FAILURES = 0
    address = _address()
    bad = _basic(person.username, "wrong")
    for _ in range(12):
        assert client.get(REALM, HTTP_AUTHORIZATION=bad, REMOTE_ADDR=address).status_code == 401
    assert client.get(REALM, HTTP_AUTHORIZATION=_basic(person.username)).status_code == 200


def test_behind_a_trusted_proxy_each_client_is_counted_apart(client: Client, settings: Any) -> None:
    settings.RATE_LIMIT_TOKEN = 1
    settings.TRUSTED_PROXIES = ["172.16.0.0/12"]
    proxy, one, two = "172.20.0.5", _address(), _address()
    assert client.get(REALM, REMOTE_ADDR=proxy, HTTP_X_REAL_IP=one).status_code == 200
    assert client.get(REALM, REMOTE_ADDR=proxy, HTTP_X_REAL_IP=two).status_code == 200
    assert client.get(REALM, REMOTE_ADDR=proxy, HTTP_X_REAL_IP=one).status_code == 429
    assert AuditEvent.objects.filter(source_ip=two, action="createRegistryToken").exists()


def test_forwarded_address_from_an_untrusted_client_is_ignored(
    client: Client, settings: Any
) -> None:
    settings.RATE_LIMIT_TOKEN = 1
    settings.TRUSTED_PROXIES = ["172.16.0.0/12"]
    address = _address()
    assert client.get(REALM, REMOTE_ADDR=address, HTTP_X_REAL_IP=_address()).status_code == 200
    assert client.get(REALM, REMOTE_ADDR=address, HTTP_X_REAL_IP=_address()).status_code == 429
    assert set(AuditEvent.objects.values_list("source_ip", flat=True)) == {address}
