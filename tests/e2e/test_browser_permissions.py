"""In Chromium: a manager grants Write through the organization's form and the grantee pushes;
lowering the grant to Read stops the push; revoking (after confirming) stops the pull. An
administrator creates a team and adds a member on the team page."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from dashboard.registry.client import RegistryClient
from dashboard.registry.errors import RegistryError
from dashboard.registry.images import build_image, push_image
from tests.e2e.test_browser_journey import nav, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.registry]


def test_grant_change_and_revoke_in_the_browser(  # type: ignore[no-untyped-def]
    page: Page,
    live_server,
    worker: object,
    make_user,
    make_org,
    user_registry_client: Callable[..., RegistryClient],
) -> None:
    base = live_server.url
    alice = make_user("alice")
    make_user("bob")
    org = make_org(f"perm-{uuid.uuid4().hex[:6]}", creator=alice)
    path = f"{org.name}/app"

    sign_in(page, base, "alice")
    page.goto(f"{base}/orgs/{org.name}/")
    grant = page.locator("#permission-grant")
    grant.get_by_label("User or team").select_option("user:bob")
    grant.get_by_label("Permission").select_option("3")
    grant.get_by_role("button", name="Grant").click()
    row = page.locator('[data-grant="user:bob"]')
    expect(row).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("bob now has Write.")

    push_image(user_registry_client("bob"), path, build_image(labels={"c": uuid.uuid4().hex}), "v1")

    row.get_by_label("Permission").select_option("1")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#toasts")).to_contain_text("bob now has Read.")
    bob = user_registry_client("bob")
    with pytest.raises(RegistryError):
        push_image(bob, path, build_image(labels={"c": uuid.uuid4().hex}), "v2")
    bob.get_manifest(path, "v1")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('[data-grant="user:bob"]').get_by_role("button", name="Revoke").click()
    expect(page.locator('[data-grant="user:bob"]')).to_have_count(0)
    with pytest.raises(RegistryError):
        user_registry_client("bob").get_manifest(path, "v1")

    # The repository page loads its own permissions section.
    page.goto(f"{base}/repos/{path}/")
    expect(page.locator("#permission-grant")).to_be_visible()


def test_administrator_creates_a_team_and_adds_a_member(  # type: ignore[no-untyped-def]
    page: Page, live_server, make_user
) -> None:
    make_user("root", superuser=True)
    make_user("carol")
    sign_in(page, live_server.url, "root")
    nav(page, "Teams")
    page.get_by_label("Name").fill("Bad Team")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator("#team-create-error")).to_contain_text("SVCSTG.SWR.4000014")
    page.get_by_label("Name").fill("platform")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="platform")).to_be_visible()
    page.locator("#team-members-add").get_by_label("User name").fill("carol")
    page.locator("#team-members-add").get_by_role("button", name="Add").click()
    expect(page.locator('#team-members [data-user="carol"]')).to_be_visible()
