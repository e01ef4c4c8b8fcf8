"""In Chromium: sign in with the OpenID Connect provider (oidc-provider-mock, a real provider on
a loopback port), land on Berth as the provider's `preferred_username`, generate a temporary
login command on the account page, and check that the token realm (what `docker login` asks)
accepts it, since such a user has no password of their own."""

from __future__ import annotations

import html
import re

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.test_oidc import PROVIDER_NAME, Enable, Provider, oidc_on, oidc_provider

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib"),
]
__all__ = ["oidc_on", "oidc_provider"]  # fixtures, shared with tests/test_oidc.py


@pytest.mark.django_db(transaction=True)
def test_sign_in_with_the_provider_then_docker_login_with_a_login_command(  # type: ignore[no-untyped-def]
    page: Page, live_server, oidc_on: Enable, oidc_provider: Provider
) -> None:
    base = live_server.url
    oidc_provider.set_claims(
        "sub-kim-42", preferred_username="Kim", email="kim@idp.example", given_name="Kim"
    )
    with oidc_on():
        page.goto(f"{base}/accounts/login/")
        page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
        # The provider's own authorization page.
        expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
        page.get_by_placeholder("sub").fill("sub-kim-42")
        page.get_by_role("button", name="Authorize").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.locator("#user-menu")).to_contain_text("kim")

        page.locator("#user-menu").click()
        page.locator("#account-link").click()
        expect(page.locator("#no-password-hint")).to_be_visible()
        page.get_by_label("Valid for").select_option(index=0)
        page.get_by_role("button", name="Generate").click()
        created = page.locator("#created-login-command")
        expect(created).to_be_visible()
        command = created.locator("input").first.input_value()

    kim = User.objects.get(username="kim")
    assert kim.email == "kim@idp.example" and not kim.has_usable_password()
    match = re.fullmatch(r"docker login -u (\S+) -p (\S+) \S+", html.unescape(command))
    assert match, command
    username, password = match.groups()
    assert username.startswith(f"{settings.REGION}@")
    answer = requests.get(
        f"{base}/service/token",
        params={"service": settings.TOKEN_SERVICE, "account": username},
        auth=(username, password),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["token"]
    refused = requests.get(
        f"{base}/service/token",
        params={"service": settings.TOKEN_SERVICE},
        auth=(username, "not-the-password"),
        timeout=10,
    )
    assert refused.status_code == 401
