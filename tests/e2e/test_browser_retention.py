"""In Chromium: a repository manager writes a retention policy ("keep the 2 most recent, never
`latest` or anything matching `^release-`"), previews exactly which tags would go and which
siblings are safe, saves it, watches the first run finish, and reads its retention logs."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from dashboard.models import Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from tests.e2e.test_browser_journey import sign_in
from tests.servers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.registry]


def test_preview_save_and_watch_a_retention_policy(  # type: ignore[no-untyped-def]
    page: Page,
    live_server,
    worker: object,
    make_user,
    make_org,
    berth_registry_client: RegistryClient,
    shot: Callable[[Page, str], None],
) -> None:
    base = live_server.url
    carol = make_user("carol")
    org = make_org(f"ret-{uuid.uuid4().hex[:6]}", creator=carol)
    path = f"{org.name}/app"
    shared = build_image(labels={"c": uuid.uuid4().hex})
    pushes = [
        ("release-1", build_image(labels={"c": uuid.uuid4().hex})),
        ("v1", shared),
        ("v2", build_image(labels={"c": uuid.uuid4().hex})),
        ("latest", shared),
        ("v3", build_image(labels={"c": uuid.uuid4().hex})),
        ("v4", build_image(labels={"c": uuid.uuid4().hex})),
    ]
    for tag, image in pushes:
        push_image(berth_registry_client, path, image, tag)
        wait_for(
            Tag.objects.filter(repository__name="app", name=tag, manifest__digest=image.digest)
            .filter(repository__organization=org)
            .exists,
            timeout=30,
            what=f"the index to show {tag}",
        )

    sign_in(page, base, "carol")
    page.goto(f"{base}/repos/{path}/")
    page.locator("#repository-tabs").get_by_role("link", name="Retention").click()
    expect(page.locator("#no-policy")).to_be_visible()

    page.get_by_label("Policy type").select_option("tag_rule")
    page.get_by_label("Count limit").fill("2")
    page.get_by_label("Tags never deleted").fill("latest")
    page.get_by_label("Regular expressions never deleted").fill("^release-")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#retention-preview")
    expect(preview).to_contain_text("2 of 6 tags would be deleted")
    deleted = page.locator('#retention-deleted [data-plan="delete"]')
    expect(deleted).to_have_count(2)
    expect(page.locator('[data-plan-tag="v2"][data-plan="delete"]')).to_be_visible()
    expect(page.locator('[data-plan-tag="v1"][data-plan="delete"]')).to_contain_text("latest")
    expect(page.locator("#retention-siblings")).to_contain_text("latest")
    shot(page, "retention-preview")

    page.get_by_role("button", name="Save and run").click()
    expect(page.locator("#toasts")).to_contain_text("Retention policy saved")
    expect(page.locator("#retention-rule")).to_contain_text("Keep the 2 most recently pushed tags")
    card = page.locator("#retention-last-run [data-job-status]")
    expect(card).to_have_attribute("data-job-status", "succeeded", timeout=30_000)
    expect(card).to_contain_text("Deleted 2 tags.")

    page.reload()
    logs = page.locator("#retention-logs [data-log-tag]")
    expect(logs).to_have_count(2)
    assert sorted(berth_registry_client.tags(path)) == ["latest", "release-1", "v3", "v4"]
    shot(page, "retention")
