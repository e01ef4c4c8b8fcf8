"""In Chromium: an administrator registers a remote registry on the Registries page and tests
the connection; a repository manager copies a tag from the repository's Sync tab and watches the
job's progress bar reach the end; the tag is then in the target registry, byte for byte.

Everything is real: the live server, Berth's registry and its notifications, the worker, and a
target docker-registry with htpasswd Basic auth.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import pytest
from django.test import override_settings
from playwright.sync_api import Page, expect

from dashboard.models import RemoteRegistry, Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from tests.e2e.test_browser_journey import nav, sign_in
from tests.servers import wait_for
from tests.sync_targets import Target, basic_target, blob_sha256

pytestmark = [pytest.mark.browser, pytest.mark.registry]

__all__ = ["basic_target"]


def test_administrator_registers_a_remote_registry_and_tests_it(  # type: ignore[no-untyped-def]
    page: Page, live_server, make_user, basic_target: Target, shot: Callable[[Page, str], None]
) -> None:
    make_user("root", superuser=True)
    sign_in(page, live_server.url, "root")
    nav(page, "Registries")
    form = page.locator("#registry-create")
    form.get_by_label("Name (region id)").fill("Mirror West")
    form.get_by_label("URL").fill(basic_target.url)
    form.get_by_role("button", name="Add registry").click()
    expect(page.locator("#registry-error")).to_contain_text("SVCSTG.SWR.4000014")

    form.get_by_label("Name (region id)").fill("mirror-west")
    form.get_by_label("User name").fill(basic_target.username)
    form.get_by_label("Password").fill("not-the-password")
    form.get_by_role("button", name="Add registry").click()
    row = page.locator('[data-remote="mirror-west"]')
    expect(row).to_be_visible()
    row.get_by_role("button", name="Test connection").click()
    expect(row.locator("[data-check-message]")).to_contain_text("authentication required")
    expect(page.locator("#toasts")).to_contain_text("authentication required")

    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Password")).to_have_value("")  # never sent back
    page.get_by_label("Password").fill(basic_target.password)
    page.get_by_role("button", name="Save").click()
    row = page.locator('[data-remote="mirror-west"]')
    row.get_by_role("button", name="Test connection").click()
    expect(row.locator('[data-check="ok"]')).to_contain_text("Basic sign-in as mirror")
    shot(page, "registries")
    assert RemoteRegistry.objects.get(name="mirror-west").check_ok is True


@override_settings(SYNC_CHUNK_BYTES=256 * 1024)
def test_manager_syncs_a_tag_and_watches_the_progress_bar_reach_the_end(  # type: ignore[no-untyped-def]
    page: Page,
    live_server,
    worker: object,
    make_user,
    make_org,
    admin_user,
    berth_registry_client: RegistryClient,
    basic_target: Target,
    shot: Callable[[Page, str], None],
) -> None:
    from dashboard.services.sync import remote_registry_create

    alice = make_user("alice")
    org = make_org(f"sync-{uuid.uuid4().hex[:6]}", creator=alice)
    image = build_image(files={"data.bin": os.urandom(8 * 1024 * 1024)}, labels={"run": org.name})
    push_image(berth_registry_client, f"{org.name}/app", image, "1.0")
    wait_for(
        lambda: Tag.objects.filter(repository__organization=org, name="1.0").exists(),
        timeout=60,
        what="the worker to index the pushed tag",
    )
    remote_registry_create(
        name="mirror-east",
        url=basic_target.url,
        username=basic_target.username,
        password=basic_target.password,
        actor=admin_user,
    )
    target_ns = f"copy{uuid.uuid4().hex[:6]}"

    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/repos/{org.name}/app/")
    page.locator("#repository-tabs").get_by_role("link", name="Sync").click()
    expect(page.get_by_role("heading", name="Synchronize now")).to_be_visible()
    form = page.locator("#sync-images")
    form.get_by_label("1.0").check()
    form.get_by_label("Target registry").select_option("mirror-east")
    form.get_by_label("Target organization").fill(target_ns)
    form.get_by_role("button", name="Synchronize").click()

    card = page.locator("#sync-batches [data-job]").first
    expect(card).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text(f"Copying 1 tag(s) to mirror-east/{target_ns}")
    expect(card).to_have_attribute("data-job-status", "succeeded", timeout=60_000)
    bar = card.locator("[data-job-progress]")
    total = int(bar.get_attribute("aria-valuemax") or 0)
    assert total == sum(len(blob) for blob in image.blobs.values())
    expect(bar).to_have_attribute("aria-valuenow", str(total))
    expect(bar).to_contain_text("100%")
    expect(card.locator('[data-tag="1.0"] [data-sync-status]')).to_have_text("Success")
    # The records table below was brought up to date when the card stopped polling.
    expect(page.locator('#sync-records [data-tag="1.0"]')).to_have_attribute(
        "data-status", "success"
    )
    shot(page, "sync")

    client = basic_target.client()
    digest, _, _ = client.get_manifest(f"{target_ns}/app", "1.0")
    assert digest == image.digest
    for blob_digest in image.blobs:
        assert blob_sha256(client, f"{target_ns}/app", blob_digest) == blob_digest
