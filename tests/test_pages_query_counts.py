"""Every page reads the index in a constant number of queries, however many rows it shows."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import Level, Manifest, Organization, Repository, Tag
from tests.index_rows import (
    grant_org,
    grant_repo,
    make_index,
    make_manifest,
    make_repository,
    make_tag,
)

pytestmark = pytest.mark.django_db

#: Session and user, plus the page's own reads; no page needs more.
MAX_QUERIES = 12


@pytest.fixture
def member(make_user):  # type: ignore[no-untyped-def]
    """A non-admin whose access comes from a user grant, a team grant and public images."""
    user = make_user("member")
    user.groups.add(Group.objects.create(name="devs"))
    return user


def populate(owner, member, make_org, size: int) -> None:  # type: ignore[no-untyped-def]
    """`size` organizations, each with `size` repositories of `size` tags (half multi-arch)."""
    devs = Group.objects.get(name="devs")
    for o in range(size):
        organization = make_org(f"org{o}", creator=owner)
        if o % 2:
            grant_org(organization, member, Level.READ)
        else:
            organization.permissions.create(team=devs, level=Level.WRITE)
        for r in range(size):
            repository = make_repository(organization, f"repo{r}/x", is_public=r == 0)
            if r == 1:
                grant_repo(repository, member, Level.MANAGE)
            for t in range(size):
                if t % 2:
                    children = [
                        make_manifest(repository),
                        make_manifest(repository, architecture="arm64"),
                    ]
                    make_tag(repository, f"t{t}", make_index(repository, children))
                else:
                    make_tag(repository, f"t{t}")


PAGES = [
    "/",
    "/orgs/",
    "/orgs/org1/",
    "/repos/",
    "/repos/?q=repo&sort=-tags&category=other&visibility=private&organization=org1",
    "/repos/org1/repo1/x/",
    "/repos/org1/repo1/x/?sort=name&q=t",
    "/repos/org1/repo1/x/-/tags/t1/",
    "/repos/org1/repo1/x/-/tags/t0/",
    "/help/push/",
]


def count(client, url: str, **headers: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    return len(queries)


def counts(client, user, htmx: bool = False) -> dict[str, int]:  # type: ignore[no-untyped-def]
    client.force_login(user)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return {url: count(client, url, **headers) for url in PAGES}


@pytest.mark.parametrize("who", ["member", "owner", "admin"])
def test_page_queries_do_not_grow_with_rows(
    client, owner, member, admin_user, make_org, who
) -> None:  # type: ignore[no-untyped-def]
    user = {"member": member, "owner": owner, "admin": admin_user}[who]
    populate(owner, member, make_org, 2)
    small = counts(client, user)
    # Many more organizations, repositories and tags: 2 -> 6 of each.
    Tag.objects.all().delete()
    Manifest.objects.all().delete()
    Repository.objects.all().delete()
    Organization.objects.all().delete()
    populate(owner, member, make_org, 6)
    large = counts(client, user)
    assert large == small
    assert max(large.values()) <= MAX_QUERIES, large


def test_htmx_partials_are_as_cheap(client, owner, member, make_org) -> None:  # type: ignore[no-untyped-def]
    populate(owner, member, make_org, 3)
    full = counts(client, member)
    partial = counts(client, member, htmx=True)
    for url in PAGES:
        assert partial[url] <= full[url], url


def test_tags_page_of_a_big_repository(
    client, owner, make_org, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    repository = make_repository(make_org("big", creator=owner), "app")
    manifest = make_manifest(repository)
    for i in range(300):
        make_tag(repository, f"v{i:03d}", manifest)
    client.force_login(owner)
    with django_assert_max_num_queries(8):
        response = client.get("/repos/big/app/?sort=-pushed&page=3")
    assert len(response.context["tags_page"].object_list) == 25


def test_first_tags_page_takes_its_total_from_the_counter(client, owner, make_org) -> None:  # type: ignore[no-untyped-def]
    """No COUNT over a big repository's tags for an unfiltered page; a filter counts."""
    repository = make_repository(make_org("big", creator=owner), "app")
    manifest = make_manifest(repository)
    Tag.objects.bulk_create(
        Tag(repository=repository, name=f"v{i:03d}", manifest=manifest) for i in range(300)
    )
    Repository.objects.filter(pk=repository.pk).update(tag_count=300)
    client.force_login(owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/repos/big/app/?sort=-pushed")
    assert not [q for q in queries if "COUNT(" in q["sql"]]
    assert response.context["tags_page"].paginator.num_pages == 12
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/repos/big/app/?sort=-pushed&q=v1")
    assert [q for q in queries if "COUNT(" in q["sql"]]
    assert response.context["tags_page"].paginator.count == 100


def test_tag_page_with_thousands_of_sibling_tags(
    client, owner, make_org, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    """Many tags on one image (CI re-tagging): the page names a few and counts the rest."""
    repository = make_repository(make_org("ci", creator=owner), "app")
    manifest = make_manifest(repository)
    Tag.objects.bulk_create(
        Tag(repository=repository, name=f"build-{i:04d}", manifest=manifest) for i in range(1500)
    )
    client.force_login(owner)
    with django_assert_max_num_queries(10):
        response = client.get("/repos/ci/app/-/tags/build-0007/")
    body = response.content.decode()
    assert body.count('href="/repos/ci/app/-/tags/build-') == 20
    assert "… 1,500 in all" in body
