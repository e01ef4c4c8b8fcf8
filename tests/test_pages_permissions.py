"""Who may do what on every protected page, for the outsider and the read-only member, with and
without htmx: 404 where they cannot see, 403 where they see but may not act, and nothing
changes either way."""

from __future__ import annotations

import pytest

from dashboard.models import Job, Level, Organization, Repository, Tag
from tests.index_rows import grant_org, make_manifest, make_repository, make_tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(owner, reader, make_org):  # type: ignore[no-untyped-def]
    """A private organization with an image; the reader holds Read on the organization."""
    organization = make_org("team", creator=owner)
    grant_org(organization, reader, Level.READ)
    repository = make_repository(organization, "app", description="original")
    manifest = make_manifest(repository, seed="only")
    make_tag(repository, "v1", manifest)
    make_tag(repository, "v2", manifest)
    return {"digest": manifest.digest}


def snapshot() -> tuple:
    repository = Repository.objects.get(name="app")
    return (
        Organization.objects.count(),
        repository.is_public,
        repository.category,
        repository.description,
        sorted(Tag.objects.values_list("name", flat=True)),
        Job.objects.count(),
    )


def reads(digest: str) -> list[str]:
    return [
        "/orgs/team/",
        "/repos/team/app/",
        "/repos/team/app/-/tags/v1/",
        f"/repos/team/app/-/manifests/{digest}/",
    ]


def actions(digest: str) -> list[tuple[str, dict]]:
    """Every change a page offers, as (url, POST data); GET on the same URL is the form or the
    confirmation, with the same permission."""
    return [
        ("/orgs/team/delete/", {}),
        ("/repos/team/app/-/edit/", {"is_public": "true", "category": "linux", "description": "x"}),
        ("/repos/team/app/-/delete/", {}),
        ("/repos/team/app/-/delete-tags/", {"tag": ["v1"]}),
        (f"/repos/team/app/-/manifests/{digest}/delete/", {}),
    ]


@pytest.mark.parametrize("htmx", [False, True])
def test_outsider_cannot_see_anything_private(client, outsider, world, htmx: bool) -> None:  # type: ignore[no-untyped-def]
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    client.force_login(outsider)
    before = snapshot()
    for url in reads(world["digest"]):
        assert client.get(url, **headers).status_code == 404, url
    for url, data in actions(world["digest"]):
        assert client.get(url, **headers).status_code == 404, url
        assert client.post(url, data, **headers).status_code == 404, url
    assert client.post("/repos/-/reconcile/", **headers).status_code == 403
    assert snapshot() == before
    assert b"team/app" not in client.get("/repos/").content
    assert b'data-organization="team"' not in client.get("/orgs/").content


@pytest.mark.parametrize("htmx", [False, True])
def test_reader_can_read_but_change_nothing(client, reader, world, htmx: bool) -> None:  # type: ignore[no-untyped-def]
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    client.force_login(reader)
    before = snapshot()
    for url in reads(world["digest"]):
        assert client.get(url).status_code == 200, url
    for url, data in actions(world["digest"]):
        assert client.get(url, **headers).status_code == 403, url
        assert client.post(url, data, **headers).status_code == 403, url
    assert client.post("/repos/-/reconcile/", **headers).status_code == 403
    assert snapshot() == before


def test_reader_cannot_create_beyond_quota_or_with_bad_names_either(
    client, reader, world, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ORG_QUOTA = 0
    client.force_login(reader)
    assert client.post("/orgs/", {"name": "mine"}, HTTP_HX_REQUEST="true").status_code == 400
    assert not Organization.objects.filter(name="mine").exists()


def test_anonymous_is_sent_to_sign_in_for_every_page_and_action(client, world) -> None:  # type: ignore[no-untyped-def]
    before = snapshot()
    for url in [*reads(world["digest"]), "/", "/orgs/", "/repos/", "/help/push/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    for url, data in [
        *actions(world["digest"]),
        ("/repos/-/reconcile/", {}),
        ("/orgs/", {"name": "x"}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert snapshot() == before


def test_posts_need_the_csrf_token(owner, world) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post("/orgs/", {"name": "csrf-less"}).status_code == 403
    assert strict.post("/repos/team/app/-/delete-tags/", {"tag": ["v1"]}).status_code == 403
    assert not Organization.objects.filter(name="csrf-less").exists()
    assert Tag.objects.filter(name="v1").exists()
