"""The journey a user takes, in Debian's Chromium: sign in, create an organization, (the test
pushes an image into it through the registry), browse organization → repository → tag, copy a
pull command (with and without the clipboard API), delete one of two sibling tags.

Everything is real: the live Berth server, the registry using its token realm and sending it
notifications, the Celery worker building the index. Screenshots of the main pages go to the
test's temporary directory, or to docs/screenshots/ for the README when BERTH_SCREENSHOTS=1.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from dashboard.models import Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.images import build_image, build_index, push_image
from tests.conftest import PASSWORD
from tests.servers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.registry]

CLIPBOARD = ["clipboard-read", "clipboard-write"]


def nav(page: Page, name: str) -> None:
    page.locator("#berth-nav").get_by_role("link", name=name, exact=True).click()


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


@pytest.mark.browser_context_args(permissions=CLIPBOARD)
def test_sign_in_create_push_browse_copy_delete(  # type: ignore[no-untyped-def]
    page: Page,
    new_context: Callable[..., BrowserContext],
    live_server,
    worker: object,
    make_user,
    user_registry_client: Callable[..., RegistryClient],
    berth_registry_client: RegistryClient,
    settings,
    shot: Callable[[Page, str], None],
) -> None:
    base = live_server.url
    make_user("alice")
    org = f"team-{uuid.uuid4().hex[:6]}"

    # Sign in and create an organization through the form.
    sign_in(page, base, "alice")
    nav(page, "Organizations")
    page.get_by_label("Create an organization").fill("Bad Name")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#org-create-error")).to_contain_text("SVCSTG.SWR.4001028")
    page.get_by_label("Create an organization").fill(org)
    page.get_by_role("button", name="Create").click()
    expect(page.locator(f'[data-organization="{org}"]')).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text(f"Organization {org} created.")
    expect(page.locator("#org-create-error")).to_be_empty()

    # The test pushes into it as alice, through the registry and Berth's token realm.
    client = user_registry_client("alice")
    image = build_image(
        labels={"org.opencontainers.image.title": "app", "run": org},
        env=["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello"],
        layers=2,
    )
    for tag in ("1.0", "latest"):
        push_image(client, f"{org}/app", image, tag)
    multi = build_index(
        [
            build_image(architecture="amd64", labels={"run": org}),
            build_image(architecture="arm64", variant="v8", labels={"run": org}),
        ]
    )
    push_image(client, f"{org}/tools/multi", multi, "2.0")
    wait_for(
        lambda: Tag.objects.filter(repository__organization__name=org).count() == 3,
        timeout=60,
        what="the worker to index the pushed tags",
    )

    # Browse: overview → organizations → organization → repository → tag.
    nav(page, "Overview")
    expect(page.locator("#recent-pushes")).to_contain_text(f"{org}/app:latest")
    shot(page, "overview")
    nav(page, "Organizations")
    expect(page.locator(f'[data-organization="{org}"]')).to_contain_text("Manage")
    shot(page, "organizations")
    nav(page, "Images")
    expect(page.locator("#repository-rows tbody tr")).to_have_count(2)
    page.get_by_label("Name").fill("multi")
    expect(page.locator("#repository-rows tbody tr")).to_have_count(1)
    expect(page).to_have_url(f"{base}/repos/?q=multi&sort=-updated")
    page.get_by_label("Name").fill("")
    expect(page.locator("#repository-rows tbody tr")).to_have_count(2)
    shot(page, "images")
    nav(page, "Organizations")
    page.get_by_role("link", name=org, exact=True).click()
    expect(page.get_by_role("heading", name=org)).to_be_visible()
    page.get_by_role("link", name="app", exact=True).click()
    expect(page.locator("#pull-address input")).to_have_value(f"{settings.REGISTRY_HOST}/{org}/app")
    rows = page.locator("#tag-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator('[data-tag="latest"]')).to_contain_text(image.digest[7:19])
    shot(page, "repository")
    page.get_by_role("link", name="1.0", exact=True).click()
    expect(page.locator("#manifest-digest")).to_have_text(image.digest)
    expect(page.locator("#environment")).to_contain_text("GREETING=hello")
    expect(page.locator("#layer-rows tbody tr")).to_have_count(2)
    shot(page, "tag")

    # Copy the pull command with the clipboard API (localhost is a secure context).
    pull = f"docker pull {settings.REGISTRY_HOST}/{org}/app:1.0"
    button = page.locator(f'#pull-commands button[data-copy="{pull}"]')
    button.click()
    expect(button).to_have_attribute("data-copied", "clipboard")
    assert page.evaluate("navigator.clipboard.readText()") == pull
    expect(page.locator("#toasts")).to_contain_text(f"Copied: {pull}")

    # And on a page without the clipboard API, as on a plain-HTTP intranet host.
    plain = new_context()  # with the clipboard permissions of the marker
    plain.add_init_script(
        "window.__realClipboard = navigator.clipboard;"
        "Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"
    )
    other = plain.new_page()
    sign_in(other, base, "alice")
    other.goto(f"{base}/repos/{org}/app/-/tags/1.0/")
    assert other.evaluate("typeof navigator.clipboard") == "undefined"
    podman = next(
        text
        for text in other.locator("#pull-commands button[data-copy]").evaluate_all(
            "buttons => buttons.map(b => b.dataset.copy)"
        )
        if text.startswith("podman pull")
    )
    fallback = other.locator(f'#pull-commands button[data-copy="{podman}"]')
    fallback.click()
    expect(fallback).to_have_attribute("data-copied", "fallback")
    assert other.evaluate("window.__realClipboard.readText()") == podman

    # Delete one of the two sibling tags through the table; only that one goes.
    page.goto(f"{base}/repos/{org}/app/")
    page.get_by_label("Select 1.0").check()
    expect(page.locator("#bulk-delete [data-selected-count]")).to_have_text("1")
    page.locator("#bulk-delete").click()
    dialog = page.locator("#berth-modal")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-items")).to_have_text("1.0")
    page.wait_for_function(  # the fade-in has finished
        "(() => { const m = document.querySelector('#berth-modal');"
        " return getComputedStyle(m).opacity === '1'"
        " && getComputedStyle(m.querySelector('.modal-dialog')).transform === 'none'; })()"
    )
    shot(page, "delete-tags")
    dialog.get_by_role("button", name="Delete 1 tag").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text(f"Deleted 1 tag of {org}/app: 1.0.")
    # The index first (the worker also sees the registry's events of this delete), then the page.
    wait_for(
        lambda: (
            set(
                Tag.objects.filter(
                    repository__organization__name=org, repository__name="app"
                ).values_list("name", flat=True)
            )
            == {"latest"}
        ),
        what="the index to hold only the sibling tag",
    )
    expect(rows).to_have_count(1)
    expect(page.locator('[data-tag="latest"]')).to_be_visible()
    expect(page.locator('[data-field="tag-count"]')).to_have_text("1")
    assert berth_registry_client.tags(f"{org}/app") == ["latest"]
    assert berth_registry_client.head_manifest(f"{org}/app", "latest").digest == image.digest

    # Edit the attributes in the dialog; the summary updates in place.
    page.locator("#repository-edit").click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("Public").check()
    dialog.get_by_label("Category").select_option("linux")
    dialog.get_by_label("Description").fill("The journey's image.")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#repo-summary")).to_contain_text("Public")
    expect(page.locator('#repo-summary [data-field="category"]')).to_have_text("Linux")
    expect(page.locator('#repo-summary [data-field="description"]')).to_have_text(
        "The journey's image."
    )

    # The multi-arch image: the index page drills down to a platform.
    page.goto(f"{base}/repos/{org}/tools/multi/-/tags/2.0/")
    page.get_by_role("link", name="linux/arm64/v8").click()
    expect(page.locator('[data-field="platform"]')).to_have_text("linux/arm64/v8")

    # A refusal shows its SWR code where the action was asked for: here the tag vanished
    # from the index between the confirmation and the click.
    page.goto(f"{base}/repos/{org}/tools/multi/")
    page.locator('[data-delete-tag="2.0"]').click()
    expect(dialog.locator("#confirm-items")).to_have_text("2.0")
    Tag.objects.filter(repository__organization__name=org, name="2.0").delete()
    dialog.get_by_role("button", name="Delete 1 tag").click()
    expect(dialog.locator("#confirm-error")).to_contain_text("SVCSTG.SWR.4041056")
    expect(dialog).to_be_visible()

    # A refusal with nowhere to go inline is a toast, and the page stays as it was.
    page.goto(f"{base}/repos/")
    page.evaluate("htmx.ajax('POST', '/repos/-/reconcile/', {target: '#main', swap: 'innerHTML'})")
    expect(page.locator("#toasts")).to_contain_text("Only administrators can reconcile")
    expect(page.locator("#toasts")).to_contain_text("SVCSTG.SWR.4039002")
    expect(page.get_by_role("heading", name="Images")).to_be_visible()
