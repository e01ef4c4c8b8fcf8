"""In Chromium: a manager shares a private image with a team until a date, a member finds it
under Images → "Shared with me" and loses pull once the date has passed; a user asks for Read
on /requests/, the manager approves with one click and the requester pulls but cannot push."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from dashboard.models import Share, Tag
from dashboard.registry.client import RegistryClient
from dashboard.registry.errors import RegistryAuthError
from dashboard.registry.images import build_image, push_image
from tests.e2e.test_browser_journey import nav, sign_in
from tests.servers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.registry]


def _push_private(client: RegistryClient, path: str) -> None:
    """Push one tag to `path` and wait until the worker has indexed it."""
    org, _, name = path.partition("/")
    push_image(client, path, build_image(labels={"c": uuid.uuid4().hex}), "v1")
    wait_for(
        lambda: Tag.objects.filter(
            repository__organization__name=org, repository__name=name, name="v1"
        ).exists(),
        timeout=60,
        what="the worker to index the pushed tag",
    )


def test_share_with_a_team_until_a_date_then_expire(  # type: ignore[no-untyped-def]
    page: Page,
    new_context: Callable[..., BrowserContext],
    live_server,
    worker: object,
    make_user,
    make_org,
    user_registry_client: Callable[..., RegistryClient],
) -> None:
    base = live_server.url
    alice = make_user("alice")
    dave = make_user("dave")
    team = Group.objects.create(name=f"readers-{uuid.uuid4().hex[:6]}")
    dave.groups.add(team)
    org = make_org(f"share-{uuid.uuid4().hex[:6]}", creator=alice)
    path = f"{org.name}/app"
    _push_private(user_registry_client("alice"), path)
    with pytest.raises(RegistryAuthError):
        user_registry_client("dave").get_manifest(path, "v1")

    # The manager shares it with the team until a week from today.
    until = timezone.localdate() + dt.timedelta(days=7)
    sign_in(page, base, "alice")
    page.goto(f"{base}/repos/{path}/")
    form = page.locator("#share-create")
    form.get_by_label("Team").select_option(team.name)
    form.get_by_label("Valid until").fill(until.isoformat())
    form.get_by_label("Description").fill("for the release")
    form.get_by_role("button", name="Share").click()
    row = page.locator(f'#share-rows [data-share="{team.name}"]')
    expect(row).to_have_attribute("data-status", "valid")
    expect(row).to_contain_text(until.isoformat())
    expect(page.locator("#toasts")).to_contain_text(
        f"Shared with team {team.name} until {until.isoformat()}."
    )

    # A member of the team finds it under "Shared with me" and pulls it.
    member = new_context().new_page()
    sign_in(member, base, "dave")
    nav(member, "Images")
    member.get_by_role("link", name="Shared with me").click()
    expect(member).to_have_url(f"{base}/repos/?shared=with-me")
    shared = member.locator(f'#shared-rows [data-shared="{path}"]')
    expect(shared).to_have_attribute("data-status", "valid")
    expect(shared).to_contain_text(team.name)
    expect(shared).to_contain_text(until.isoformat())
    expect(shared).to_contain_text("for the release")
    expect(shared.get_by_role("link", name=path)).to_be_visible()
    user_registry_client("dave").get_manifest(path, "v1")

    # Once the deadline has passed the share shows as expired and pull is refused.
    Share.objects.filter(repository__organization=org, team=team).update(
        deadline=timezone.now() - dt.timedelta(days=1)
    )
    member.reload()
    expect(shared).to_have_attribute("data-status", "expired")
    expect(shared).to_contain_text("Expired")
    expect(shared.get_by_role("link", name=path)).to_have_count(0)
    with pytest.raises(RegistryAuthError):
        user_registry_client("dave").get_manifest(path, "v1")
    page.reload()
    expect(page.locator(f'#share-rows [data-share="{team.name}"]')).to_have_attribute(
        "data-status", "expired"
    )


def test_request_read_and_approve_with_one_click(  # type: ignore[no-untyped-def]
    page: Page,
    new_context: Callable[..., BrowserContext],
    live_server,
    worker: object,
    make_user,
    make_org,
    user_registry_client: Callable[..., RegistryClient],
) -> None:
    base = live_server.url
    alice = make_user("alice")
    make_user("erin")
    org = make_org(f"req-{uuid.uuid4().hex[:6]}", creator=alice)
    path = f"{org.name}/app"
    _push_private(user_registry_client("alice"), path)
    with pytest.raises(RegistryAuthError):
        user_registry_client("erin").get_manifest(path, "v1")

    # The requester asks for Read on the image, with a reason.
    sign_in(page, base, "erin")
    nav(page, "Requests")
    form = page.locator("#request-new")
    form.get_by_label("Organization or image").fill(path)
    form.get_by_label("Level").select_option("Read")
    form.get_by_label("Reason").fill("need it for the nightly tests")
    form.get_by_role("button", name="Request access").click()
    expect(page.locator("#toasts")).to_contain_text(f"Requested Read on {path}")
    mine = page.locator("#request-mine tbody tr").filter(has_text=path)
    expect(mine.locator("[data-status]")).to_have_attribute("data-status", "pending")

    # The manager sees the count in the navigation and approves with one click.
    manager = new_context().new_page()
    sign_in(manager, base, "alice")
    expect(manager.locator("#pending-decisions")).to_have_text("1")
    manager.locator("#nav-requests").click()  # its name includes the count
    decision = manager.locator("#request-decisions tbody tr").filter(has_text=path)
    expect(decision).to_contain_text("erin")
    expect(decision).to_contain_text("need it for the nightly tests")
    decision.get_by_role("button", name="Approve").click()
    expect(manager.locator("#toasts")).to_contain_text(f"erin now has Read on {path}.")
    expect(manager.locator("#request-decisions")).to_have_count(0)
    manager.reload()
    expect(manager.locator("#pending-decisions")).to_have_count(0)

    # The requester now pulls, and still cannot push.
    erin = user_registry_client("erin")
    erin.get_manifest(path, "v1")
    with pytest.raises(RegistryAuthError):
        push_image(erin, path, build_image(labels={"c": uuid.uuid4().hex}), "v2")
    page.reload()
    expect(mine.locator("[data-status]")).to_have_attribute("data-status", "approved")
