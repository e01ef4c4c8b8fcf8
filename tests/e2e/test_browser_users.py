"""In Chromium: an administrator creates a user on the Users page (a bad name first, refused in
the form without losing what was typed), the new user signs in with the generated password,
the administrator deactivates them, and their open session and next sign-in both fail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.test_browser_journey import nav, sign_in

pytestmark = [pytest.mark.browser]


def _sign_in_form(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_administrator_creates_then_deactivates_a_user(  # type: ignore[no-untyped-def]
    page: Page,
    new_context: Callable[..., BrowserContext],
    live_server,
    make_user,
    shot: Callable[[Page, str], None],
) -> None:
    base = live_server.url
    make_user("root", superuser=True)
    sign_in(page, base, "root")
    nav(page, "Users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()

    form = page.locator("#user-create")
    form.get_by_label("Username").fill("bad name")
    form.get_by_label("Email").fill("grace@example.com")
    form.get_by_label("Full name").fill("Grace Hopper")
    form.get_by_label("Generate a password instead").check()
    form.get_by_role("button", name="Create user").click()
    expect(page.locator("#user-create-error")).to_contain_text("SVCSTG.SWR.4001067")
    expect(form.get_by_label("Email")).to_have_value("grace@example.com")

    form.get_by_label("Username").fill("grace")
    form.get_by_role("button", name="Create user").click()
    row = page.locator('#user-rows [data-user="grace"]')
    expect(row).to_contain_text("Grace Hopper")
    expect(row).to_contain_text("active")
    expect(page.locator("#toasts")).to_contain_text("User grace created.")
    password = page.locator("#user-created-password input").input_value()
    assert len(password) >= 20
    shot(page, "users")

    # The new user signs in, in a browser of their own.
    theirs = new_context().new_page()
    _sign_in_form(theirs, base, "grace", password)
    expect(theirs.get_by_role("heading", name="Overview")).to_be_visible()

    row.get_by_role("link", name="grace").click()
    expect(page.get_by_role("heading", name="grace")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator("#user-status")).to_have_text("deactivated")
    expect(page.locator("#toasts")).to_contain_text("grace deactivated")
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()
    shot(page, "user-detail")

    # Their open session has ended, and signing in again fails.
    theirs.reload()
    expect(theirs.get_by_role("button", name="Sign in")).to_be_visible()
    _sign_in_form(theirs, base, "grace", password)
    expect(theirs.get_by_role("alert")).to_contain_text("did not match")
    expect(theirs.get_by_role("heading", name="Overview")).to_have_count(0)
