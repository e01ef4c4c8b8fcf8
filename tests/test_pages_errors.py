"""What users see when something is refused or fails: an inline error with SWR's code where the
requesting element asked for it, a toast otherwise, an error page without JavaScript, and never
a traceback."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from dashboard.middleware import ServiceErrorMiddleware
from dashboard.registry.errors import RegistryNotFound, RegistryUnavailable
from dashboard.services.errors import FORBIDDEN_ORG, INVALID_ORG_NAME, PREFIX, ServiceError
from tests.index_rows import make_repository
from tests.pages import HTMX

pytestmark = pytest.mark.django_db


def trigger(response) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(response["HX-Trigger"])


def test_htmx_refusal_without_a_target_is_a_toast_and_nothing_swaps(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post("/orgs/", {"name": "Not Valid"}, **HTMX)
    assert response.status_code == 400
    assert response["HX-Reswap"] == "none"
    assert "HX-Retarget" not in response
    toast = trigger(response)["berth:toast"]["value"][0]
    assert toast["level"] == "danger"
    assert toast["code"] == PREFIX + INVALID_ORG_NAME
    assert toast["message"].startswith("Invalid organization name: Only lowercase letters")
    assert f'data-error-code="{PREFIX}{INVALID_ORG_NAME}"' in response.content.decode()


@pytest.mark.parametrize("target", ["body", "#a b", "#x;alert(1)", "", ".cls"])
def test_only_a_plain_element_id_can_be_an_error_target(client, owner, target: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post(
        "/orgs/", {"name": "Not Valid"}, HTTP_X_BERTH_ERROR_TARGET=target, **HTMX
    )
    assert response["HX-Reswap"] == "none"
    assert "HX-Retarget" not in response


def test_htmx_refusal_with_a_target_goes_inline(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post(
        "/orgs/", {"name": "Not Valid"}, HTTP_X_BERTH_ERROR_TARGET="#org-create-error", **HTMX
    )
    assert response["HX-Retarget"] == "#org-create-error"
    assert response["HX-Reswap"] == "innerHTML"
    assert "HX-Trigger" not in response


def test_refusal_without_javascript_is_an_error_page(client, owner, make_org) -> None:  # type: ignore[no-untyped-def]
    organization = make_org("kept", creator=None)
    make_repository(organization, "public", is_public=True)
    client.force_login(owner)
    response = client.post("/orgs/kept/delete/")
    assert response.status_code == 403
    body = response.content.decode()
    assert f"{PREFIX}{FORBIDDEN_ORG}" in body
    assert "You need Manage permission on organization kept." in body
    assert 'class="navbar' in body


def test_htmx_404_is_a_toast(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.get("/repos/nowhere/app/-/edit/", **HTMX)
    assert response.status_code == 404
    assert response["HX-Reswap"] == "none"
    assert trigger(response)["berth:toast"]["value"][0]["code"] == f"{PREFIX}4040083"


def test_page_404_is_the_friendly_page(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.get("/repos/nowhere/app/")
    assert response.status_code == 404
    assert "It does not exist, or you do not have access to it." in response.content.decode()


def test_a_bug_is_a_plain_500_without_a_traceback(client, owner, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(**kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("dashboard.views.pages.overview_for_user", broken)
    client.raise_request_exception = False
    client.force_login(owner)
    response = client.get("/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert "secret internals" not in body and "Traceback" not in body


def test_messages_become_toasts_on_htmx_but_wait_for_the_next_page_on_redirects(  # type: ignore[no-untyped-def]
    client, owner, make_org
) -> None:
    make_org("gone-soon", creator=owner)
    client.force_login(owner)
    created = client.post("/orgs/", {"name": "fresh"}, **HTMX)
    assert trigger(created)["berth:toast"]["value"][0]["message"] == "Organization fresh created."
    # Consumed: the next page has no leftover toast.
    assert "Organization fresh created." not in client.get("/orgs/").content.decode()
    deleted = client.post("/orgs/gone-soon/delete/", **HTMX)
    assert "HX-Trigger" not in deleted
    assert deleted["HX-Redirect"] == "/orgs/"
    assert "Organization gone-soon deleted." in client.get("/orgs/").content.decode()


# -- the middleware on its own ---------------------------------------------------------------


def _request(path: str, *, htmx: bool, target: str = ""):  # type: ignore[no-untyped-def]
    headers = {"HX-Request": "true"} if htmx else {}
    if target:
        headers["X-Berth-Error-Target"] = target
    request = RequestFactory().get(path, headers=headers)
    request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
    request.user = AnonymousUser()
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    return request


def test_registry_errors_escaping_a_view_are_swr_5001038() -> None:
    middleware = ServiceErrorMiddleware(lambda request: HttpResponse())
    error = RegistryUnavailable("The registry at http://x cannot be reached.")
    response = middleware.process_exception(_request("/repos/", htmx=True), error)
    assert response is not None
    assert response.status_code == 503
    toast = trigger(response)["berth:toast"]["value"][0]
    assert toast["code"] == PREFIX + "5001038"
    assert "cannot be reached" in toast["message"]
    not_found = middleware.process_exception(
        _request("/repos/", htmx=False), RegistryNotFound("gone", code="MANIFEST_UNKNOWN")
    )
    assert not_found is not None
    assert not_found.status_code == 404
    assert "[MANIFEST_UNKNOWN]" in not_found.content.decode()


def test_api_paths_get_json_and_unknown_exceptions_pass_through() -> None:
    middleware = ServiceErrorMiddleware(lambda request: HttpResponse())
    response = middleware.process_exception(
        _request("/v2/manage/namespaces", htmx=False), ServiceError("4040058", "No org.", 404)
    )
    assert response is not None
    assert json.loads(response.content) == {
        "error_code": "SVCSTG.SWR.4040058",
        "error_msg": "No org.",
    }
    assert middleware.process_exception(_request("/", htmx=True), ValueError("bug")) is None


def test_pages_and_fragments_are_cached_apart(client, owner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    for headers in ({}, HTMX):
        response = client.get("/repos/", **headers)
        assert "HX-Request" in response["Vary"]
