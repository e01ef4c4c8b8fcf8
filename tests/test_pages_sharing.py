"""The Sharing section of the repository page, and the "Shared with me" / "Shared by me" lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.models import Level, Share
from dashboard.services.errors import PREFIX
from tests.index_rows import grant_org, make_repository
from tests.pages import HTMX, toasts

ERRORS_INLINE = {**HTMX, "HTTP_X_BERTH_ERROR_TARGET": "#share-error"}
URL = "/repos/pages-share/app/-/sharing/"


@pytest.fixture
def repo(owner, reader, make_org):  # type: ignore[no-untyped-def]
    organization = make_org("pages-share", creator=owner)
    grant_org(organization, reader, Level.READ)
    return make_repository(organization, "app")


@pytest.fixture
def team(outsider):  # type: ignore[no-untyped-def]
    group = Group.objects.create(name="friends")
    outsider.groups.add(group)
    return group


def _error_code(response) -> str:  # type: ignore[no-untyped-def]
    body = response.content.decode()
    return body.split('data-error-code="', 1)[1].split('"', 1)[0].removeprefix(PREFIX)


def _share(repo, team, days: int | None = 30, **kwargs):  # type: ignore[no-untyped-def]
    deadline = None if days is None else timezone.now() + dt.timedelta(days=days)
    return Share.objects.create(repository=repo, team=team, deadline=deadline, **kwargs)


@pytest.mark.django_db
def test_outsider_gets_404(client, outsider, repo, team) -> None:  # type: ignore[no-untyped-def]
    client.force_login(outsider)
    assert client.get(URL, **HTMX).status_code == 404
    response = client.post(URL, {"team": "friends", "forever": "on"}, **HTMX)
    assert response.status_code == 404
    assert not Share.objects.exists()


@pytest.mark.django_db
def test_the_repository_page_loads_the_section(client, reader, repo) -> None:  # type: ignore[no-untyped-def]
    client.force_login(reader)
    body = client.get("/repos/pages-share/app/").content.decode()
    assert f'hx-get="{URL}"' in body


@pytest.mark.django_db
def test_reader_sees_the_list_without_forms(client, reader, owner, repo, team) -> None:  # type: ignore[no-untyped-def]
    _share(repo, team, description="for the Q3 release")
    expired = Group.objects.create(name="old-friends")
    Share.objects.create(
        repository=repo, team=expired, deadline=timezone.now() - dt.timedelta(days=1)
    )
    client.force_login(reader)
    body = client.get(URL, **HTMX).content.decode()
    assert body.lstrip().startswith('<section id="sharing"')
    assert 'data-share="friends" data-status="valid"' in body
    assert 'data-share="old-friends" data-status="expired"' in body
    assert "for the Q3 release" in body and "Pull" in body
    assert 'id="share-create"' not in body and "/delete/" not in body
    response = client.post(URL, {"team": "nobody", "forever": "on"}, **ERRORS_INLINE)
    assert response.status_code == 403 and _error_code(response) == "4037018"
    share = Share.objects.get(team=team)
    response = client.post(f"{URL}{share.pk}/delete/", **ERRORS_INLINE)
    assert response.status_code == 403
    assert Share.objects.filter(pk=share.pk).exists()


@pytest.mark.django_db
def test_manager_shares_edits_and_deletes(client, owner, outsider, repo, team) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    body = client.get(URL, **HTMX).content.decode()
    assert 'id="share-create"' in body and '<option value="friends">' in body
    day = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    response = client.post(
        URL, {"team": "friends", "valid_until": day, "description": "demo"}, **HTMX
    )
    assert response.status_code == 200
    assert toasts(response)[0]["message"] == f"Shared with team friends until {day}."
    share = Share.objects.get(team=team)
    assert share.created_by == owner and share.description == "demo"
    assert timezone.localtime(share.deadline).date() > timezone.localdate()
    body = response.content.decode()
    assert 'data-share="friends" data-status="valid"' in body
    assert '<option value="friends">' not in body  # shared already: changed in its row

    response = client.post(f"{URL}{share.pk}/", {"forever": "on", "description": "always"}, **HTMX)
    assert response.status_code == 200 and "Permanently valid" in response.content.decode()
    share.refresh_from_db()
    assert share.deadline is None and share.description == "always"

    response = client.post(f"{URL}{share.pk}/delete/", **HTMX)
    assert response.status_code == 200
    assert toasts(response)[0]["message"] == "No longer shared with team friends."
    assert not Share.objects.exists()


@pytest.mark.django_db
def test_manager_form_refusals(client, owner, repo, team) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    cases = [
        ({"team": "friends"}, "4000014"),  # neither a date nor forever
        ({"team": "friends", "valid_until": past}, "4000014"),
        ({"team": "nobody", "forever": "on"}, "4000014"),
        ({"team": "friends", "forever": "on", "description": "x" * 1001}, "4131012"),
    ]
    for data, code in cases:
        response = client.post(URL, data, **ERRORS_INLINE)
        assert _error_code(response) == code, data
    _share(repo, team)
    response = client.post(URL, {"team": "friends", "forever": "on"}, **ERRORS_INLINE)
    assert response.status_code == 409 and _error_code(response) == "4090089"
    public = make_repository(repo.organization, "open", is_public=True)
    body = client.get(f"/repos/pages-share/{public.name}/-/sharing/", **HTMX).content.decode()
    assert 'id="share-create"' not in body and "Public images are not shared" in body
    assert Share.objects.count() == 1


@pytest.mark.django_db
def test_without_javascript_a_post_redirects_back(client, owner, repo, team) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    response = client.post(URL, {"team": "friends", "forever": "on"})
    assert response.status_code == 302 and response["Location"] == "/repos/pages-share/app/"
    assert client.get(URL).status_code == 200  # the section as a page


@pytest.mark.django_db
def test_shared_with_me_and_by_me(client, owner, outsider, repo, team) -> None:  # type: ignore[no-untyped-def]
    _share(repo, team, created_by=owner)
    other = make_repository(repo.organization, "gone")
    _share(other, team, days=-1, created_by=owner)
    client.force_login(outsider)
    body = client.get("/repos/?shared=with-me").content.decode()
    assert 'data-shared="pages-share/app" data-status="valid"' in body
    assert 'data-shared="pages-share/gone" data-status="expired"' in body
    assert "data-shared" not in client.get("/repos/?shared=by-me").content.decode()
    # The plain list shows what the valid share lets the member pull, not the expired one.
    body = client.get("/repos/").content.decode()
    assert "pages-share/app" in body and "pages-share/gone" not in body
    client.force_login(owner)
    body = client.get("/repos/?shared=by-me").content.decode()
    assert 'data-shared="pages-share/app" data-status="valid"' in body
    assert 'data-shared="pages-share/gone" data-status="expired"' in body


@pytest.mark.django_db
def test_query_counts_do_not_grow_with_shares(client, owner, outsider, repo, team) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)

    def count(url: str, user) -> int:  # type: ignore[no-untyped-def]
        client.force_login(user)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, **HTMX).status_code == 200
        return len(ctx.captured_queries)

    _share(repo, team, created_by=owner)
    urls = [(URL, owner), ("/repos/?shared=with-me", outsider), ("/repos/?shared=by-me", owner)]
    before = [count(url, user) for url, user in urls]
    for i in range(10):
        group = Group.objects.create(name=f"more-{i}")
        outsider.groups.add(group)
        _share(repo, group, created_by=owner)
        _share(make_repository(repo.organization, f"more-{i}"), group, created_by=owner)
    assert [count(url, user) for url, user in urls] == before
