"""The image list and the repository page: filters, sorting, paging, the tags table, editing
attributes, and who sees which buttons."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dashboard.models import Category, Job, Level, Repository
from dashboard.services.errors import DESCRIPTION_TOO_LONG, FORBIDDEN, FORBIDDEN_IMAGE, PREFIX
from tests.index_rows import (
    grant_org,
    grant_repo,
    make_index,
    make_manifest,
    make_repository,
    make_tag,
)
from tests.pages import HTMX, toasts

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.full_name for r in response.context["page"].object_list]


@pytest.fixture
def writer(make_user):  # type: ignore[no-untyped-def]
    return make_user("writer")


@pytest.fixture
def team(owner, reader, writer, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("team", creator=owner)
    grant_org(organization, reader, Level.READ)
    grant_org(organization, writer, Level.WRITE)
    return organization


@pytest.fixture
def catalog(team, owner, make_org):  # type: ignore[no-untyped-def]
    """Five repositories in two organizations with distinct names, dates, tag counts."""
    other = make_org("other", creator=owner)
    now = timezone.now()
    return [
        make_repository(team, "api", category=Category.APP_SERVER, tag_count=3,
                        updated_at=now - dt.timedelta(days=1)),
        make_repository(team, "web/frontend", is_public=True, category=Category.LANG,
                        tag_count=10, updated_at=now - dt.timedelta(days=3)),
        make_repository(team, "db", category=Category.DATABASE, tag_count=1,
                        updated_at=now),
        make_repository(other, "api-gateway", tag_count=5, updated_at=now - dt.timedelta(days=2)),
        make_repository(other, "public-tools", is_public=True, tag_count=0,
                        updated_at=now - dt.timedelta(days=4)),
    ]  # fmt: skip


def test_list_sorted_by_update_time_by_default(client, owner, catalog) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert names(client.get("/repos/")) == BY_UPDATE


BY_UPDATE = ["team/db", "team/api", "other/api-gateway", "team/web/frontend", "other/public-tools"]
BY_NAME = ["other/api-gateway", "other/public-tools", "team/api", "team/db", "team/web/frontend"]
BY_TAGS = ["team/web/frontend", "other/api-gateway", "team/api", "team/db", "other/public-tools"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", BY_NAME),
        ("-name", BY_NAME[::-1]),
        ("-tags", BY_TAGS),
        ("updated", BY_UPDATE[::-1]),
        ("bogus", BY_UPDATE),
    ],
)
def test_list_sorts(client, owner, catalog, sort: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert names(client.get("/repos/", {"sort": sort})) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "API"}, ["team/api", "other/api-gateway"]),
        ({"q": "front"}, ["team/web/frontend"]),
        ({"organization": "other"}, ["other/api-gateway", "other/public-tools"]),
        ({"category": "database"}, ["team/db"]),
        ({"visibility": "public"}, ["team/web/frontend", "other/public-tools"]),
        ({"visibility": "private", "organization": "team"}, ["team/db", "team/api"]),
        ({"q": "api", "organization": "team"}, ["team/api"]),
        ({"category": "nonsense"}, BY_UPDATE),
    ],
)
def test_list_filters(client, owner, catalog, params, expected) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert names(client.get("/repos/", params)) == expected


def test_list_shows_only_what_the_user_can_see(client, reader, outsider, catalog) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    assert sorted(names(client.get("/repos/"))) == [
        "other/public-tools",
        "team/api",
        "team/db",
        "team/web/frontend",
    ]
    client.force_login(outsider)
    assert sorted(names(client.get("/repos/"))) == ["other/public-tools", "team/web/frontend"]


def test_repository_grant_alone_shows_that_repository(client, outsider, catalog) -> None:  # type: ignore[no-untyped-def]
    grant_repo(catalog[2], outsider, Level.READ)
    client.force_login(outsider)
    assert "team/db" in names(client.get("/repos/"))
    assert client.get("/repos/team/db/").status_code == 200
    assert client.get("/repos/team/api/").status_code == 404


def test_list_pages_by_25_and_htmx_gets_only_the_table(client, owner, team) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        make_repository(team, f"r{i:02d}")
    client.force_login(owner)
    first = client.get("/repos/", {"sort": "name"})
    assert len(first.context["page"].object_list) == 25
    body = first.content.decode()
    assert 'href="?page=2&amp;sort=name"' in body
    assert 'hx-get="?page=2&amp;sort=name"' in body
    second = client.get("/repos/", {"sort": "name", "page": "2"}, **HTMX)
    assert names(second) == [f"team/r{i:02d}" for i in range(25, 30)]
    partial = second.content.decode()
    assert partial.lstrip().startswith('<div id="repo-table">')
    assert "<nav class" not in partial and "<html" not in partial
    assert "team/r29" in partial
    # Out-of-range and malformed page numbers fall back instead of failing.
    assert client.get("/repos/", {"page": "99"}).status_code == 200
    assert client.get("/repos/", {"page": "x"}).status_code == 200


def test_only_superusers_see_and_use_reconcile(client, owner, admin_user, catalog) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert 'id="reconcile-now"' not in client.get("/repos/").content.decode()
    response = client.post("/repos/-/reconcile/", **HTMX)
    assert response.status_code == 403
    assert toasts(response)[0]["code"] == PREFIX + FORBIDDEN
    assert not Job.objects.exists()

    client.force_login(admin_user)
    assert 'id="reconcile-now"' in client.get("/repos/").content.decode()
    response = client.post("/repos/-/reconcile/", **HTMX)
    assert response.status_code == 200
    job = Job.objects.get()
    assert job.created_by == admin_user
    # The job's card polls itself until the crawl ends.
    assert f'id="job-{job.pk}"' in response.content.decode()
    assert f'hx-get="/jobs/{job.pk}/"' in response.content.decode()
    assert toasts(response) == [
        {
            "level": "info",
            "message": f"Reconcile started (job #{job.pk}); the index updates as it runs.",
            "code": "",
        }
    ]


# -- one repository ------------------------------------------------------------------------------


@pytest.fixture
def app(team):  # type: ignore[no-untyped-def]
    repository = make_repository(team, "tools/app", description="The app.\nSecond line.")
    now = timezone.now()
    amd = make_manifest(repository, size=5000, seed="amd")
    arm = make_manifest(repository, size=4000, architecture="arm64", variant="v8", seed="arm")
    multi = make_index(repository, [amd, arm])
    make_tag(repository, "1.0", amd, pushed_at=now - dt.timedelta(hours=3), pushed_by="writer")
    make_tag(repository, "latest", amd, pushed_at=now - dt.timedelta(hours=1))
    make_tag(repository, "multi", multi, pushed_at=now - dt.timedelta(hours=2))
    repository.refresh_from_db()
    return repository


def tag_names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.name for t in response.context["tags_page"].object_list]


def test_repository_page_shows_attributes_and_tags(client, reader, app, settings) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    response = client.get("/repos/team/tools/app/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'value="{settings.REGISTRY_HOST}/team/tools/app"' in body
    assert "Private" in body and "Others" in body
    assert "The app.\nSecond line." in body
    assert 'data-field="tag-count">3<' in body
    assert app.size == 14000  # the two tagged manifests: 5000 + the index's 9000
    assert 'data-field="size">13.7\xa0KB<' in body
    assert tag_names(response) == ["latest", "multi", "1.0"]
    amd_digest = app.manifests.get(architecture="amd64").digest
    assert f'<code title="{amd_digest}">{amd_digest[7:19]}</code>' in body
    assert "linux/amd64" in body and "linux/arm64/v8" in body
    assert "by writer" in body
    assert f"docker pull {settings.REGISTRY_HOST}/team/tools/app:latest" in body


def test_reader_sees_no_edit_or_delete_controls(client, reader, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    body = client.get("/repos/team/tools/app/").content.decode()
    for control in (
        'id="repository-edit"',
        'id="repository-delete"',
        "data-tag-check",
        "data-delete-tag",
        'id="bulk-delete"',
    ):
        assert control not in body


def test_writer_may_edit_but_not_delete(client, writer, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(writer)
    body = client.get("/repos/team/tools/app/").content.decode()
    assert 'id="repository-edit"' in body
    assert 'id="repository-delete"' not in body
    assert "data-tag-check" not in body


def test_manager_gets_bulk_select_and_delete(client, owner, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    body = client.get("/repos/team/tools/app/").content.decode()
    assert body.count("data-tag-check") == 3
    assert 'id="bulk-delete"' in body
    assert 'data-delete-tag="latest"' in body
    assert 'id="repository-delete"' in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["latest", "multi", "1.0"]),
        ({"sort": "-pushed"}, ["latest", "multi", "1.0"]),
        ({"sort": "pushed"}, ["1.0", "multi", "latest"]),
        ({"sort": "name"}, ["1.0", "latest", "multi"]),
        ({"sort": "-name"}, ["multi", "latest", "1.0"]),
        ({"q": "l"}, ["latest", "multi"]),
        ({"q": "LAT"}, ["latest"]),
        ({"q": "nope"}, []),
    ],
)
def test_tags_sort_and_filter(client, reader, app, params, expected) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    assert tag_names(client.get("/repos/team/tools/app/", params)) == expected


def test_tags_page_by_25_and_htmx_gets_only_the_table(client, reader, app) -> None:  # type: ignore[no-untyped-def]
    manifest = app.manifests.first()
    for i in range(30):
        make_tag(app, f"t{i:02d}", manifest)
    client.force_login(reader)
    first = client.get("/repos/team/tools/app/", {"sort": "name"})
    assert len(first.context["tags_page"].object_list) == 25
    second = client.get("/repos/team/tools/app/", {"sort": "name", "page": "2"}, **HTMX)
    body = second.content.decode()
    assert body.lstrip().startswith('<div id="tags">')
    assert tag_names(second) == [f"t{i:02d}" for i in range(22, 30)]
    assert 'href="?page=1&amp;sort=name"' in body


def test_a_changed_tag_shows_its_new_values(client, owner, app) -> None:  # type: ignore[no-untyped-def]
    """Re-pointed to another image and re-pushed by someone else: the row says so at once."""
    client.force_login(owner)
    before = client.get("/repos/team/tools/app/").content.decode()
    old_digest = app.manifests.get(architecture="amd64").digest
    assert f'<code title="{old_digest}">' in before
    newer = make_manifest(app, size=7 * 1024 * 1024, architecture="s390x", seed="newer")
    app.tags.filter(name="1.0").update(
        manifest=newer, pushed_at=timezone.now(), pushed_by="someone-else"
    )
    body = client.get("/repos/team/tools/app/").content.decode()
    row = body[body.index('<tr data-tag="1.0">') :]
    row = row[: row.index("</tr>")]
    assert f'<code title="{newer.digest}">{newer.digest[7:19]}</code>' in row
    assert "7.0\xa0MB" in row and "linux/s390x" in row
    assert "by someone-else" in row and "by writer" not in row
    assert "now" in row  # pushed just now, no longer 3 hours ago
    assert old_digest not in row


def test_rows_escape_what_they_show(client, owner, app) -> None:  # type: ignore[no-untyped-def]
    app.tags.filter(name="latest").update(pushed_by='<b>"x"</b>')
    client.force_login(owner)
    body = client.get("/repos/team/tools/app/").content.decode()
    assert "by &lt;b&gt;&quot;x&quot;&lt;/b&gt;" in body
    assert "by <b>" not in body


def test_reader_after_manager_sees_no_delete_controls(client, owner, reader, app) -> None:  # type: ignore[no-untyped-def]
    """The same rows for a manager and then a reader: the reader never gets the manager's."""
    client.force_login(owner)
    assert 'data-delete-tag="latest"' in client.get("/repos/team/tools/app/").content.decode()
    client.force_login(reader)
    body = client.get("/repos/team/tools/app/").content.decode()
    assert 'data-tag="latest"' in body
    assert "data-delete-tag" not in body and "data-tag-check" not in body


def test_tag_pages_follow_the_index_when_the_counter_lags(client, reader, app) -> None:  # type: ignore[no-untyped-def]
    """The repository's tag counter gives the page count; when it disagrees with the tags,
    the page still lists them (counted exactly)."""
    manifest = app.manifests.first()
    for i in range(57):
        make_tag(app, f"t{i:02d}", manifest)
    client.force_login(reader)
    assert Repository.objects.get(pk=app.pk).tag_count == 60
    page = client.get("/repos/team/tools/app/", {"sort": "name"}).context["tags_page"]
    assert (page.paginator.count, page.paginator.num_pages) == (60, 3)
    # Counter ahead of the index: tags went away before the counter followed.
    Repository.objects.filter(pk=app.pk).update(tag_count=500)
    page = client.get("/repos/team/tools/app/", {"sort": "name", "page": "3"}).context["tags_page"]
    assert (page.number, page.paginator.count) == (3, 60)
    assert [t.name for t in page.object_list] == [f"t{i:02d}" for i in range(47, 57)]
    # Counter behind: the last page by the counter is counted again and the rest is reachable.
    Repository.objects.filter(pk=app.pk).update(tag_count=30)
    page = client.get("/repos/team/tools/app/", {"sort": "name", "page": "2"}).context["tags_page"]
    assert (page.paginator.count, page.paginator.num_pages) == (60, 3)
    page = client.get("/repos/team/tools/app/", {"sort": "name", "page": "9"}).context["tags_page"]
    assert page.number == 3 and len(page.object_list) == 10
    # A filter always counts the matching tags.
    Repository.objects.filter(pk=app.pk).update(tag_count=60)
    page = client.get("/repos/team/tools/app/", {"q": "t1"}).context["tags_page"]
    assert page.paginator.count == 10


def test_outsider_gets_404_for_a_private_repository(client, outsider, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(outsider)
    for url in (
        "/repos/team/tools/app/",
        "/repos/team/tools/app/-/edit/",
        "/repos/team/tools/app/-/delete/",
        "/repos/team/tools/app/-/tags/latest/",
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            "/repos/team/tools/app/-/edit/", {"is_public": "true", "category": "linux"}
        ).status_code
        == 404
    )
    app.refresh_from_db()
    assert not app.is_public


def test_public_repository_is_readable_but_not_editable_by_outsiders(client, outsider, app) -> None:  # type: ignore[no-untyped-def]
    Repository.objects.filter(pk=app.pk).update(is_public=True)
    client.force_login(outsider)
    assert client.get("/repos/team/tools/app/").status_code == 200
    response = client.post(
        "/repos/team/tools/app/-/edit/", {"is_public": "false", "category": "linux"}, **HTMX
    )
    assert response.status_code == 403
    assert toasts(response)[0]["code"] == PREFIX + FORBIDDEN_IMAGE
    app.refresh_from_db()
    assert app.is_public


def test_unknown_repository_is_404(client, owner, team) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert client.get("/repos/team/missing/").status_code == 404
    assert client.get("/repos/nope/app/").status_code == 404


# -- editing attributes --------------------------------------------------------------------------


def test_writer_edits_attributes_with_htmx(client, writer, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(writer)
    form = client.get("/repos/team/tools/app/-/edit/", **HTMX)
    assert form.status_code == 200
    assert 'id="repository-edit-form"' in form.content.decode()
    assert "<html" not in form.content.decode()
    response = client.post(
        "/repos/team/tools/app/-/edit/",
        {"is_public": "true", "category": "linux", "description": "Now public."},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="repo-summary"')
    assert "Public" in body and "Linux" in body and "Now public." in body
    assert toasts(response)[0]["message"] == "Saved the attributes of team/tools/app."
    app.refresh_from_db()
    assert (app.is_public, app.category, app.description) == (True, "linux", "Now public.")


def test_edit_without_javascript_redirects(client, writer, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(writer)
    assert client.get("/repos/team/tools/app/-/edit/").status_code == 200
    response = client.post(
        "/repos/team/tools/app/-/edit/",
        {"is_public": "false", "category": "arm", "description": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == "/repos/team/tools/app/"
    app.refresh_from_db()
    assert (app.category, app.description) == ("arm", "")


def test_edit_refuses_a_description_over_30000_characters(client, writer, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(writer)
    response = client.post(
        "/repos/team/tools/app/-/edit/",
        {"is_public": "false", "category": "other", "description": "x" * 30001},
        HTTP_X_BERTH_ERROR_TARGET="#repository-edit-error",
        **HTMX,
    )
    assert response.status_code == 413
    assert response["HX-Retarget"] == "#repository-edit-error"
    assert PREFIX + DESCRIPTION_TOO_LONG in response.content.decode()
    app.refresh_from_db()
    assert app.description == "The app.\nSecond line."


def test_edit_with_an_unknown_category_is_422_and_stays_in_the_dialog(client, writer, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(writer)
    response = client.post(
        "/repos/team/tools/app/-/edit/", {"is_public": "maybe", "category": "toys"}, **HTMX
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#berth-modal-content"
    assert 'id="repository-edit-form"' in response.content.decode()
    app.refresh_from_db()
    assert app.category == "other"


@pytest.mark.parametrize("htmx", [True, False])
def test_reader_cannot_edit(client, reader, app, htmx: bool) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    headers = HTMX if htmx else {}
    assert client.get("/repos/team/tools/app/-/edit/", **headers).status_code == 403
    response = client.post(
        "/repos/team/tools/app/-/edit/",
        {"is_public": "true", "category": "linux", "description": "hijacked"},
        **headers,
    )
    assert response.status_code == 403
    app.refresh_from_db()
    assert (app.is_public, app.description) == (False, "The app.\nSecond line.")


@pytest.mark.parametrize("htmx", [True, False])
def test_reader_and_writer_cannot_delete_the_repository(client, reader, writer, app, htmx) -> None:  # type: ignore[no-untyped-def]
    headers = HTMX if htmx else {}
    for user in (reader, writer):
        client.force_login(user)
        assert client.get("/repos/team/tools/app/-/delete/", **headers).status_code == 403
        assert client.post("/repos/team/tools/app/-/delete/", **headers).status_code == 403
    assert Repository.objects.filter(pk=app.pk).exists()


def test_repository_delete_confirmation_names_the_tag_count(client, owner, app) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    body = client.get("/repos/team/tools/app/-/delete/", **HTMX).content.decode()
    assert "Delete repository team/tools/app?" in body
    assert "All 3 tags" in body


def test_repository_page_links_lead_to_its_actions(client, owner, make_org) -> None:  # type: ignore[no-untyped-def]
    from django.urls import reverse

    from tests.index_rows import make_repository

    repository = make_repository(make_org("links", creator=owner), "tools/app")
    client.force_login(owner)
    body = client.get("/repos/links/tools/app/").content.decode()
    args = ["links", "tools/app"]
    for name in ("repository-edit", "repository-delete", "tag-delete", "repository-detail"):
        assert f'href="{reverse(f"dashboard:{name}", args=args)}"' in body or (
            f'action="{reverse(f"dashboard:{name}", args=args)}"' in body
        ), name
    assert repository.full_name == "links/tools/app"
