"""Credentials: login secrets, access keys and API tokens; the registry backend; the commands."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import re
import subprocess

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.utils import timezone

from dashboard.models import AccessKey, ApiToken, LoginSecret
from dashboard.services.credentials import (
    access_key_create,
    access_key_delete,
    access_key_secret,
    access_key_set_active,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    login_secret_create,
    login_secret_revoke,
    login_secrets_active,
    long_term_password,
)
from dashboard.services.errors import PREFIX, ServiceError

pytestmark = pytest.mark.django_db

REALM = "/service/token"


def _token_request(username: str, password: str, client: Client) -> int:
    header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    response = client.get(
        REALM, {"service": settings.TOKEN_SERVICE}, headers={"Authorization": header}
    )
    return response.status_code


def _realm_request() -> HttpRequest:
    return RequestFactory().get(REALM)


# -- login secrets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "duration", [dt.timedelta(minutes=14, seconds=59), dt.timedelta(hours=24, seconds=1)]
)
def test_login_secret_validity_outside_15_minutes_to_24_hours_is_refused(
    owner, duration: dt.timedelta
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as raised:
        login_secret_create(user=owner, duration=duration)
    assert raised.value.code == PREFIX + "4000014"
    assert raised.value.status == 400
    assert not LoginSecret.objects.exists()


@pytest.mark.parametrize("duration", [dt.timedelta(minutes=15), dt.timedelta(hours=24)])
def test_login_secret_bounds_are_inclusive(owner, duration: dt.timedelta) -> None:  # type: ignore[no-untyped-def]
    secret, _username, _password = login_secret_create(user=owner, duration=duration)
    assert secret.expires_at - secret.created_at == duration


def test_login_secret_defaults_to_24_hours_and_is_stored_hashed(owner) -> None:  # type: ignore[no-untyped-def]
    secret, username, password = login_secret_create(user=owner)
    assert secret.expires_at - secret.created_at == dt.timedelta(hours=24)
    assert username == f"{settings.REGION}@{secret.key_id}"
    assert len(base64.urlsafe_b64decode(password + "=" * (-len(password) % 4))) >= 32
    assert password not in secret.secret_hash
    expected = hmac.new(settings.SECRET_KEY.encode(), password.encode(), hashlib.sha256)
    assert secret.secret_hash == expected.hexdigest()
    other = login_secret_create(user=owner)
    assert other[2] != password and other[0].key_id != secret.key_id


def test_backend_accepts_a_login_secret_until_revoked(owner) -> None:  # type: ignore[no-untyped-def]
    secret, username, password = login_secret_create(user=owner)
    assert secret.last_used_at is None
    assert authenticate(_realm_request(), username=username, password=password) == owner
    secret.refresh_from_db()
    assert secret.last_used_at is not None
    assert authenticate(_realm_request(), username=username, password=password + "x") is None
    assert (
        authenticate(_realm_request(), username=f"elsewhere@{secret.key_id}", password=password)
        is None
    )
    assert authenticate(_realm_request(), username=secret.key_id, password=password) is None
    assert list(login_secrets_active(user=owner)) == [secret]
    login_secret_revoke(secret=secret)
    assert authenticate(_realm_request(), username=username, password=password) is None
    assert list(login_secrets_active(user=owner)) == []


def test_an_expired_login_secret_is_refused(owner) -> None:  # type: ignore[no-untyped-def]
    secret, username, password = login_secret_create(user=owner)
    LoginSecret.objects.filter(pk=secret.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert authenticate(_realm_request(), username=username, password=password) is None
    assert list(login_secrets_active(user=owner)) == []


def test_an_inactive_users_credentials_are_refused(owner) -> None:  # type: ignore[no-untyped-def]
    _secret, username, password = login_secret_create(user=owner)
    key, secret_key = access_key_create(user=owner)
    _token, token_text = api_token_create(user=owner, name="ci")
    owner.is_active = False
    owner.save()
    assert authenticate(_realm_request(), username=username, password=password) is None
    lt_user = f"{settings.REGION}@{key.access_key}"
    lt_password = long_term_password(key.access_key, secret_key)
    assert authenticate(_realm_request(), username=lt_user, password=lt_password) is None
    assert api_token_authenticate(token_text) is None


def test_registry_credentials_do_not_sign_in_to_the_web_pages(owner, client: Client) -> None:  # type: ignore[no-untyped-def]
    _secret, username, password = login_secret_create(user=owner)
    login_page = RequestFactory().post("/accounts/login/")
    assert authenticate(login_page, username=username, password=password) is None
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session


def test_the_token_realm_accepts_login_secrets(owner, client: Client) -> None:  # type: ignore[no-untyped-def]
    secret, username, password = login_secret_create(user=owner)
    assert _token_request(username, password, client) == 200
    assert _token_request(username, "wrong", client) == 401
    login_secret_revoke(secret=secret)
    assert _token_request(username, password, client) == 401


# -- access keys -------------------------------------------------------------------------------


def test_access_key_shape_and_encryption_round_trip(owner) -> None:  # type: ignore[no-untyped-def]
    key, secret_key = access_key_create(user=owner, description="laptop")
    assert re.fullmatch(r"[A-Z0-9]{20}", key.access_key)
    assert re.fullmatch(r"[A-Za-z0-9]{40}", secret_key)
    assert secret_key not in key.secret_encrypted
    stored = AccessKey.objects.get(pk=key.pk)
    assert access_key_secret(key=stored) == secret_key
    assert stored.description == "laptop" and stored.is_active


def test_an_sk_encrypted_under_another_secret_key_cannot_be_read(owner, settings) -> None:  # type: ignore[no-untyped-def]
    key, _secret_key = access_key_create(user=owner)
    settings.SECRET_KEY = settings.SECRET_KEY + "-rotated"
    with pytest.raises(ServiceError):
        access_key_secret(key=key)


def test_long_term_password_is_swrs_hmac_as_openssl_computes_it() -> None:
    ak, sk = "ABCDEFGHIJ0123456789", "s3cr3tKEYs3cr3tKEYs3cr3tKEYs3cr3tKEY0000"
    # SWR's documented recipe: printf "$AK" | openssl dgst -binary -sha256 -hmac "$SK" | od ...
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", sk],
        input=ak.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    expected = out.split()[-1]
    assert long_term_password(ak, sk) == expected
    assert expected == expected.lower() and len(expected) == 64


def test_backend_accepts_the_long_term_password_of_an_active_key(owner) -> None:  # type: ignore[no-untyped-def]
    key, secret_key = access_key_create(user=owner)
    username = f"{settings.REGION}@{key.access_key}"
    password = long_term_password(key.access_key, secret_key)
    assert authenticate(_realm_request(), username=username, password=password) == owner
    key.refresh_from_db()
    assert key.last_used_at is not None
    # The SK itself is not the docker password, nor is the upper-case form of the key.
    assert authenticate(_realm_request(), username=username, password=secret_key) is None
    assert authenticate(_realm_request(), username=username, password=password.upper()) is None
    access_key_set_active(key=key, active=False)
    assert authenticate(_realm_request(), username=username, password=password) is None
    access_key_set_active(key=key, active=True)
    assert authenticate(_realm_request(), username=username, password=password) == owner
    access_key_delete(key=key)
    assert authenticate(_realm_request(), username=username, password=password) is None


def test_last_used_is_written_at_most_once_a_minute(owner) -> None:  # type: ignore[no-untyped-def]
    key, secret_key = access_key_create(user=owner)
    username = f"{settings.REGION}@{key.access_key}"
    password = long_term_password(key.access_key, secret_key)
    earlier = timezone.now() - dt.timedelta(seconds=30)
    AccessKey.objects.filter(pk=key.pk).update(last_used_at=earlier)
    assert authenticate(_realm_request(), username=username, password=password) == owner
    key.refresh_from_db()
    assert key.last_used_at == earlier
    AccessKey.objects.filter(pk=key.pk).update(last_used_at=earlier - dt.timedelta(minutes=1))
    assert authenticate(_realm_request(), username=username, password=password) == owner
    key.refresh_from_db()
    assert key.last_used_at > earlier


# -- API tokens --------------------------------------------------------------------------------


def test_api_token_is_stored_as_sha256_and_authenticates(owner) -> None:  # type: ignore[no-untyped-def]
    token, text = api_token_create(user=owner, name="ci")
    assert text.startswith("berth_") and len(text) > 40
    assert token.prefix == text[:12]
    assert token.token_hash == hashlib.sha256(text.encode()).hexdigest()
    assert api_token_authenticate(text) == owner
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert api_token_authenticate(text + "x") is None
    assert api_token_authenticate("berth_") is None
    assert api_token_authenticate("") is None
    api_token_revoke(token=token)
    assert api_token_authenticate(text) is None


def test_an_expired_api_token_is_refused(owner) -> None:  # type: ignore[no-untyped-def]
    token, text = api_token_create(
        user=owner, name="short", expires_at=timezone.now() + dt.timedelta(days=1)
    )
    assert api_token_authenticate(text) == owner
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert api_token_authenticate(text) is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_api_token_needs_a_name(owner, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as raised:
        api_token_create(user=owner, name=name)
    assert raised.value.status == 400


def test_api_token_expiry_in_the_past_is_refused(owner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError):
        api_token_create(user=owner, name="x", expires_at=timezone.now() - dt.timedelta(hours=1))


def test_no_secret_is_logged(owner, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    _secret, username, password = login_secret_create(user=owner)
    key, secret_key = access_key_create(user=owner)
    _token, text = api_token_create(user=owner, name="ci")
    authenticate(_realm_request(), username=username, password=password)
    lt = long_term_password(key.access_key, secret_key)
    authenticate(_realm_request(), username=f"{settings.REGION}@{key.access_key}", password=lt)
    api_token_authenticate(text)
    logged = caplog.text
    for value in (password, secret_key, lt, text):
        assert value not in logged


# -- management commands -----------------------------------------------------------------------


def test_create_access_key_json_prints_a_working_pair(owner) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("create_access_key", "--user", "owner", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"access_key", "secret_key"}
    key = AccessKey.objects.get(access_key=data["access_key"], user=owner)
    assert access_key_secret(key=key) == data["secret_key"]
    username = f"{settings.REGION}@{data['access_key']}"
    password = long_term_password(data["access_key"], data["secret_key"])
    assert authenticate(_realm_request(), username=username, password=password) == owner


def test_create_access_key_plain_output_names_the_docker_credentials(owner) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("create_access_key", "--user", "owner", stdout=out)
    key = AccessKey.objects.get(user=owner)
    assert key.access_key in out.getvalue()
    assert f"{settings.REGION}@{key.access_key}" in out.getvalue()
    sk = access_key_secret(key=key)
    assert long_term_password(key.access_key, sk) in out.getvalue()


def test_create_api_token_json_prints_a_working_token(owner) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("create_api_token", "--user", "owner", "--name", "deploy", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"token"}
    assert api_token_authenticate(data["token"]) == owner
    assert ApiToken.objects.get(user=owner).name == "deploy"


@pytest.mark.parametrize("command", ["create_access_key", "create_api_token"])
def test_commands_refuse_an_unknown_user(command: str) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command(command, "--user", "nobody", stdout=io.StringIO())
