"""The account pages: login commands, access keys, API tokens; each user sees only their own."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.utils import timezone

from dashboard.models import AccessKey, ApiToken, LoginSecret
from dashboard.services.credentials import (
    access_key_create,
    access_key_secret,
    api_token_authenticate,
    api_token_create,
    login_secret_create,
    long_term_password,
)

pytestmark = pytest.mark.django_db

PAGES = ["/account/login-commands/", "/account/access-keys/", "/account/api-tokens/"]


def _realm() -> HttpRequest:
    return RequestFactory().get("/service/token")


@pytest.mark.parametrize("url", ["/account/", *PAGES])
def test_anonymous_is_sent_to_sign_in(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_with_csrf_forms_and_no_cache(client: Client, owner, url: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    forms = re.findall(r"<form[^>]*>.*?</form>", body, re.S)
    posts = [f for f in forms if 'method="post"' in f]
    assert posts and all('name="csrfmiddlewaretoken"' in f for f in posts)
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert 'id="account-link"' in body


def test_every_account_form_refuses_a_post_without_csrf(owner) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    for url in PAGES:
        assert client.post(url, {"validity": "900", "name": "x"}).status_code == 403
    assert not LoginSecret.objects.exists() and not ApiToken.objects.exists()
    assert not AccessKey.objects.exists()


def test_account_redirects_to_login_commands(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.get("/account/")
    assert response.status_code == 302 and response["Location"] == "/account/login-commands/"


# -- login commands ------------------------------------------------------------------------------


def test_generate_shows_the_command_once_and_it_logs_in(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post("/account/login-commands/", {"validity": "3600"})
    assert response.status_code == 200
    secret = LoginSecret.objects.get(user=owner)
    assert secret.expires_at - secret.created_at == dt.timedelta(hours=1)
    body = html.unescape(response.content.decode())
    match = re.search(
        rf"docker login -u ({re.escape(settings.REGION)}@{secret.key_id}) -p (\S+) "
        rf"{re.escape(settings.REGISTRY_HOST)}",
        body,
    )
    assert match, body
    username, password = match.groups()
    assert f"podman login --tls-verify=false -u {username} -p {password}" in body or (
        f"podman login -u {username} -p {password}" in body
    )
    assert f"--user {username}:{password}" in body  # containerd
    assert authenticate(_realm(), username=username, password=password) == owner
    # Listed afterwards, without the password.
    listed = client.get("/account/login-commands/").content.decode()
    assert f'data-login-secret="{secret.pk}"' in listed
    assert password not in listed


def test_a_validity_outside_the_choices_is_refused(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    for value in ["60", "172800", "abc"]:
        response = client.post("/account/login-commands/", {"validity": value})
        assert response.status_code == 422
    assert not LoginSecret.objects.exists()


def test_revoke_own_login_secret_and_not_anothers(client: Client, owner, outsider) -> None:  # type: ignore[no-untyped-def]
    mine, username, password = login_secret_create(user=owner)
    theirs, their_user, their_password = login_secret_create(user=outsider)
    client.force_login(owner)
    listed = client.get("/account/login-commands/").content.decode()
    assert f'data-login-secret="{theirs.pk}"' not in listed
    assert client.post(f"/account/login-commands/{theirs.pk}/revoke/").status_code == 404
    assert authenticate(_realm(), username=their_user, password=their_password) == outsider
    assert client.get(f"/account/login-commands/{mine.pk}/revoke/").status_code == 405
    response = client.post(f"/account/login-commands/{mine.pk}/revoke/", follow=True)
    assert response.status_code == 200
    assert "revoked" in response.content.decode()
    assert authenticate(_realm(), username=username, password=password) is None
    assert f'data-login-secret="{mine.pk}"' not in response.content.decode()


def test_expired_login_secrets_are_not_listed(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    secret, _u, _p = login_secret_create(user=owner)
    LoginSecret.objects.filter(pk=secret.pk).update(expires_at=timezone.now() - dt.timedelta(1))
    client.force_login(owner)
    assert 'id="no-login-secrets"' in client.get("/account/login-commands/").content.decode()


# -- access keys ---------------------------------------------------------------------------------


def test_create_access_key_shows_the_sk_once_with_csv_and_long_term_command(
    client: Client, owner
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post("/account/access-keys/", {"description": "ci"})
    assert response.status_code == 200
    key = AccessKey.objects.get(user=owner)
    secret_key = access_key_secret(key=key)
    body = html.unescape(response.content.decode())
    assert secret_key in body
    csv_url = re.search(r'href="(data:text/csv[^"]*)" download="credentials.csv"', body)
    assert csv_url
    csv_text = unquote(csv_url.group(1).split(",", 1)[1])
    assert csv_text.splitlines() == [
        "User Name,Access Key Id,Secret Access Key",
        f"owner,{key.access_key},{secret_key}",
    ]
    username = f"{settings.REGION}@{key.access_key}"
    password = long_term_password(key.access_key, secret_key)
    assert f"docker login -u {username} -p {password} {settings.REGISTRY_HOST}" in body
    listed = client.get("/account/access-keys/").content.decode()
    assert key.access_key in listed
    assert secret_key not in listed and password not in listed


def test_disable_enable_and_delete_own_access_key(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    key, secret_key = access_key_create(user=owner)
    username = f"{settings.REGION}@{key.access_key}"
    password = long_term_password(key.access_key, secret_key)
    client.force_login(owner)
    client.post(f"/account/access-keys/{key.pk}/active/", {"active": "false"})
    key.refresh_from_db()
    assert not key.is_active
    assert authenticate(_realm(), username=username, password=password) is None
    client.post(f"/account/access-keys/{key.pk}/active/", {"active": "true"})
    key.refresh_from_db()
    assert key.is_active
    response = client.post(f"/account/access-keys/{key.pk}/delete/")
    assert response.status_code == 302
    assert not AccessKey.objects.filter(pk=key.pk).exists()
    assert authenticate(_realm(), username=username, password=password) is None


def test_another_users_access_key_is_404(client: Client, owner, outsider) -> None:  # type: ignore[no-untyped-def]
    theirs, _sk = access_key_create(user=outsider)
    client.force_login(owner)
    assert theirs.access_key not in client.get("/account/access-keys/").content.decode()
    assert (
        client.post(f"/account/access-keys/{theirs.pk}/active/", {"active": "false"}).status_code
        == 404
    )
    assert client.post(f"/account/access-keys/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


# -- API tokens ----------------------------------------------------------------------------------


def test_create_api_token_shows_it_once(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    tomorrow = (timezone.now() + dt.timedelta(days=1)).date()
    response = client.post(
        "/account/api-tokens/", {"name": "deploy", "expires_on": tomorrow.isoformat()}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=owner)
    text = re.search(r"berth_[A-Za-z0-9_-]+", response.content.decode())
    assert text and api_token_authenticate(text.group(0)) == owner
    assert token.name == "deploy"
    assert token.expires_at == dt.datetime.combine(
        tomorrow + dt.timedelta(days=1), dt.time.min, dt.UTC
    )
    listed = client.get("/account/api-tokens/").content.decode()
    assert token.prefix in listed and text.group(0) not in listed


def test_api_token_form_errors(client: Client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    yesterday = (timezone.now() - dt.timedelta(days=1)).date().isoformat()
    assert client.post("/account/api-tokens/", {"name": ""}).status_code == 422
    response = client.post("/account/api-tokens/", {"name": "x", "expires_on": yesterday})
    assert response.status_code == 422
    assert "today or a later day" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_own_api_token_and_not_anothers(client: Client, owner, outsider) -> None:  # type: ignore[no-untyped-def]
    mine, my_text = api_token_create(user=owner, name="mine")
    theirs, their_text = api_token_create(user=outsider, name="theirs")
    client.force_login(owner)
    assert theirs.prefix not in client.get("/account/api-tokens/").content.decode()
    assert client.post(f"/account/api-tokens/{theirs.pk}/revoke/").status_code == 404
    assert api_token_authenticate(their_text) == outsider
    assert client.post(f"/account/api-tokens/{mine.pk}/revoke/").status_code == 302
    assert api_token_authenticate(my_text) is None
