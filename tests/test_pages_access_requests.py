"""Access request pages: the button where a user lacks access, /requests/ for deciding and for
one's own requests, the navigation count, and an approved Read request pulling from the real
registry."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from dashboard.models import AccessRequest, Level, OrganizationPermission, Repository
from dashboard.registry.client import RegistryClient
from dashboard.registry.errors import RegistryError
from dashboard.registry.images import build_image, push_image
from dashboard.services.access import repository_level
from dashboard.services.access_requests import access_request_create
from tests.index_rows import make_repository
from tests.pages import HTMX, toasts
from tests.servers import wait_for


@pytest.fixture
def org(owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("reqpage", creator=owner)
    OrganizationPermission.objects.create(organization=organization, user=reader, level=Level.READ)
    return organization


@pytest.fixture
def repo(org):  # type: ignore[no-untyped-def]
    return make_repository(org, "app")


@pytest.mark.django_db
def test_button_on_pages_below_manage_only(client, owner, reader, admin_user, org, repo) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    body = client.get("/orgs/reqpage/").content.decode()
    assert 'id="request-access"' in body and 'name="target" value="reqpage"' in body
    assert '<option value="1">' not in body  # a reader is offered Write and Manage only
    assert '<option value="3">Write' in body
    body = client.get("/repos/reqpage/app/").content.decode()
    assert 'name="target" value="reqpage/app"' in body
    for user in (owner, admin_user):
        client.force_login(user)
        assert 'id="request-access"' not in client.get("/orgs/reqpage/").content.decode()
        assert 'id="request-access"' not in client.get("/repos/reqpage/app/").content.decode()


@pytest.mark.django_db
def test_forbidden_page_offers_the_button(client, reader, org, repo) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    response = client.get("/repos/reqpage/app/-/edit/")  # needs Write
    assert response.status_code == 403
    body = response.content.decode()
    assert 'name="target" value="reqpage/app"' in body and 'value="/requests/"' in body


@pytest.mark.django_db
def test_request_from_a_page_then_manager_approves_in_one_click(  # type: ignore[no-untyped-def]
    client, owner, reader, org, repo
) -> None:
    client.force_login(reader)
    response = client.post(
        "/requests/new/",
        {"target": "reqpage/app", "level": "3", "reason": "to push", "next": "/repos/reqpage/app/"},
        **HTMX,
    )
    assert response.status_code == 204
    assert "Requested Write on reqpage/app" in toasts(response)[0]["message"]
    again = client.post("/requests/new/", {"target": "reqpage/app", "level": "3"}, **HTMX)
    assert again.status_code == 409
    # Without JavaScript: back to the page, never to another site.
    response = client.post(
        "/requests/new/", {"target": "reqpage", "level": "3", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/requests/"
    mine = client.get("/requests/").content.decode()
    assert mine.count('data-status="pending"') == 2 and 'id="request-decisions"' not in mine

    client.force_login(owner)
    page = client.get("/requests/").content.decode()
    assert 'id="pending-decisions"' in page and ">2</span>" in page
    pending = AccessRequest.objects.get(repository=repo)
    response = client.post(f"/requests/{pending.pk}/approve/", **HTMX)
    assert response.status_code == 200
    assert "reader now has Write on reqpage/app" in toasts(response)[0]["message"]
    assert f'id="decide-{pending.pk}"' not in response.content.decode()
    assert repository_level(user=reader, organization=org, repository=repo) == Level.WRITE
    on_org = AccessRequest.objects.get(organization=org)
    response = client.post(f"/requests/{on_org.pk}/deny/", {"note": "not now"}, **HTMX)
    assert response.status_code == 200 and 'id="request-decisions"' not in response.content.decode()

    client.force_login(reader)
    mine = client.get("/requests/").content.decode()
    assert 'data-status="approved"' in mine and 'data-status="denied"' in mine
    assert "not now" in mine


@pytest.mark.django_db
def test_outsider_and_reader_cannot_decide_or_cancel(  # type: ignore[no-untyped-def]
    client, reader, outsider, org, repo
) -> None:
    request = access_request_create(user=outsider, repository=repo, level=1, reason="")
    for user in (reader, outsider):
        client.force_login(user)
        for action in ("approve", "deny"):
            response = client.post(f"/requests/{request.pk}/{action}/", **HTMX)
            assert response.status_code == 403, (user, action)
    client.force_login(reader)
    assert client.post(f"/requests/{request.pk}/cancel/", **HTMX).status_code == 403
    assert client.post("/requests/999999/approve/", **HTMX).status_code == 404
    request.refresh_from_db()
    assert request.status == "pending"
    assert "reqpage/app" not in client.get("/requests/").content.decode()  # not reader's to see
    client.force_login(outsider)
    response = client.post(f"/requests/{request.pk}/cancel/", **HTMX)
    assert response.status_code == 200 and 'data-status="cancelled"' in response.content.decode()
    client.logout()
    assert client.get("/requests/").status_code == 302
    assert client.post("/requests/new/", {"target": "reqpage", "level": "1"}).status_code == 302


@pytest.mark.django_db
def test_unknown_targets_and_levels_are_refused(client, outsider, reader, org, repo) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    for data in (
        {"target": "nope/app", "level": "1"},
        {"target": "reqpage/app", "level": "1"},  # already has Read
        {"target": "reqpage/app", "level": "x"},
    ):
        assert client.post("/requests/new/", data, **HTMX).status_code == 400, data
    assert AccessRequest.objects.count() == 0


def _without_count() -> list[dict[str, Any]]:
    templates: list[dict[str, Any]] = copy.deepcopy(settings.TEMPLATES)
    processors = templates[0]["OPTIONS"]["context_processors"]
    processors.remove("dashboard.context_processors.berth")
    return templates


@pytest.mark.django_db
def test_the_navigation_count_costs_at_most_one_query(  # type: ignore[no-untyped-def]
    client, owner, outsider, make_user, org, repo, django_assert_max_num_queries
) -> None:
    for n in range(3):
        access_request_create(user=make_user(f"asker{n}"), repository=repo, level=1, reason="")
    client.force_login(owner)
    for url in ("/", "/orgs/", "/orgs/reqpage/", "/repos/reqpage/app/", "/requests/"):
        with (
            override_settings(TEMPLATES=_without_count()),
            CaptureQueriesContext(connection) as baseline,
        ):
            assert 'id="pending-decisions"' not in client.get(url).content.decode()
        with django_assert_max_num_queries(len(baseline) + 1):
            body = client.get(url).content.decode()
        assert '<span class="badge rounded-pill text-bg-danger" id="pending-decisions"' in body
        assert 'title="Requests waiting for your decision">3</span>' in body, url
    client.force_login(outsider)
    assert 'id="pending-decisions"' not in client.get("/").content.decode()


# -- with the real registry -------------------------------------------------------------------


@pytest.mark.registry
def test_an_approved_read_request_lets_the_requester_pull_only(
    worker: object,
    client,
    owner,
    make_user,
    make_org,
    berth_registry_client: RegistryClient,
    user_registry_client: Callable[..., RegistryClient],
) -> None:  # type: ignore[no-untyped-def]
    org = make_org(f"req-{uuid.uuid4().hex[:8]}", creator=owner)
    requester = make_user("asker")
    path = f"{org.name}/app"
    image = build_image(labels={"c": uuid.uuid4().hex})
    push_image(berth_registry_client, path, image, "v1")
    wait_for(
        lambda: Repository.objects.filter(organization=org, name="app", tag_count=1).exists(),
        timeout=30,
        what="the pushed image indexed",
    )
    with pytest.raises(RegistryError):
        user_registry_client("asker").get_manifest(path, "v1")

    client.force_login(requester)
    response = client.post(
        "/requests/new/", {"target": path, "level": "1", "reason": "deploy"}, **HTMX
    )
    assert response.status_code == 200
    client.force_login(owner)
    pending = AccessRequest.objects.get(repository__name="app", repository__organization=org)
    assert client.post(f"/requests/{pending.pk}/approve/", **HTMX).status_code == 200

    asker = user_registry_client("asker")
    assert asker.get_manifest(path, "v1").digest == image.digest
    with pytest.raises(RegistryError):
        push_image(asker, path, build_image(labels={"c": uuid.uuid4().hex}), "v2")
    assert berth_registry_client.tags(path) == ["v1"]
