"""In Chromium: a manager adds a trigger on the Triggers tab, sends a test delivery and watches
it succeed, sees a push of a new matching tag delivered, fixes a refused form without retyping,
disables the trigger and deletes it through the confirmation dialog."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from dashboard.models import Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, push_image
from tests.e2e.test_browser_journey import sign_in
from tests.servers import wait_for
from tests.test_triggers import Listener

pytestmark = [pytest.mark.browser, pytest.mark.registry]


@pytest.fixture
def listener() -> Iterator[Listener]:
    target = Listener()
    yield target
    target.close()


def _push(client: RegistryClient, path: str, tag: str) -> None:
    org, _, name = path.partition("/")
    push_image(client, path, build_image(labels={"c": uuid.uuid4().hex}), tag)
    wait_for(
        lambda: Tag.objects.filter(
            repository__organization__name=org, repository__name=name, name=tag
        ).exists(),
        timeout=60,
        what=f"the worker to index {tag}",
    )


def test_add_test_watch_disable_and_delete_a_trigger(  # type: ignore[no-untyped-def]
    page: Page,
    live_server,
    worker: object,
    make_user,
    make_org,
    user_registry_client: Callable[..., RegistryClient],
    listener: Listener,
    shot: Callable[[Page, str], None],
) -> None:
    base = live_server.url
    org = make_org(f"hooks-{uuid.uuid4().hex[:6]}", creator=make_user("alice"))
    path = f"{org.name}/app"
    client = user_registry_client("alice")
    _push(client, path, "v1")

    sign_in(page, base, "alice")
    page.goto(f"{base}/repos/{path}/")
    page.locator("#repository-tabs").get_by_role("link", name="Triggers").click()
    expect(page).to_have_url(f"{base}/repos/{path}/-/triggers/")
    expect(page.locator("#no-triggers")).to_be_visible()

    form = page.locator("#trigger-create")
    form.get_by_label("Name").fill("deploy")
    form.get_by_label("Condition").select_option("regular")
    form.get_by_label("Tags or expression").fill("release-(")
    form.get_by_label("URL").fill(listener.url)
    form.get_by_label("Secret (optional)").fill("s3cret")
    form.get_by_role("button", name="Add trigger").click()
    # Refused inline with its code; what was typed stays.
    error = page.locator("#trigger-create-error .berth-error")
    expect(error).to_contain_text("SVCSTG.SWR.4000014")
    expect(error).to_contain_text("Not a valid regular expression")
    expect(form.get_by_label("URL")).to_have_value(listener.url)
    form.get_by_label("Tags or expression").fill("release-.*")
    form.get_by_role("button", name="Add trigger").click()
    card = page.locator('[data-trigger="deploy"]')
    expect(card).to_have_attribute("data-enabled", "true")
    expect(page.locator("#toasts")).to_contain_text("Trigger deploy added.")
    expect(card).not_to_contain_text("s3cret")

    card.get_by_role("button", name="Send test delivery").click()
    row = page.locator('[data-trigger="deploy"] tr[data-delivery]').first
    expect(row).to_have_attribute("data-status", "success", timeout=20_000)
    expect(row).to_contain_text("test")
    assert listener.received[0].json["tag"] == "v1"
    shot(page, "triggers-tab")

    _push(client, path, "release-1")
    wait_for(lambda: len(listener.received) == 2, timeout=30, what="the push's delivery")
    page.reload()
    expect(page.locator('[data-trigger="deploy"] tr[data-delivery]').first).to_contain_text(
        "release-1"
    )

    card.get_by_role("button", name="Disable").click()
    expect(page.locator('[data-trigger="deploy"]')).to_have_attribute("data-enabled", "false")

    page.locator('[data-trigger="deploy"]').get_by_role("link", name="Delete").click()
    dialog = page.locator("#berth-modal")
    expect(dialog).to_contain_text("Delete trigger deploy?")
    dialog.get_by_role("button", name="Delete trigger").click()
    expect(page.locator("#no-triggers")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("Trigger deploy deleted.")
