"""In Chromium: the API page, reached from the navigation, shows the SWR API's reference from
vendored Swagger UI (no network beyond Berth), and "Try it out" runs as the signed-in user
(session and CSRF): creating an organization works, reading it back shows it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from dashboard.models import Organization
from tests.e2e.test_browser_journey import nav, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_api_page_documents_and_tries_the_api(  # type: ignore[no-untyped-def]
    page: Page, live_server, make_user, shot: Callable[..., None]
) -> None:
    make_user("dana")
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    sign_in(page, live_server.url, "dana")
    nav(page, "API")
    expect(page.get_by_role("heading", name="SWR-compatible API")).to_be_visible()
    operation = page.locator("#operations-namespaces-CreateNamespace")
    expect(operation).to_be_visible(timeout=15_000)
    shot(page, "api", full_page=False)

    name = f"tried-{uuid.uuid4().hex[:6]}"
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("textarea.body-param__text").fill(f'{{"namespace": "{name}"}}')
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status")
    expect(status).to_contain_text("201")
    assert Organization.objects.filter(name=name, creator__username="dana").exists()
    assert outside == []
