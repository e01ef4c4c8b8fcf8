"""Sharing service: SWR's rules and codes, and what a share gives through the permission
function."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.models import AuditEvent, Level, Share
from dashboard.registry.tokens import Scope
from dashboard.services.access import (
    organizations_visible_to,
    repositories_visible_to,
    repository_level,
    token_access_for,
)
from dashboard.services.errors import PREFIX, ServiceError
from dashboard.services.sharing import (
    SHARES_MAX,
    share_create,
    share_delete,
    share_update,
    shared_by_user,
    shared_with_user,
    shares_for_repository,
)
from tests.index_rows import grant_org, grant_repo, make_repository


@pytest.fixture
def repo(owner, make_org):  # type: ignore[no-untyped-def]
    return make_repository(make_org("share-org", creator=owner), "app")


@pytest.fixture
def team(outsider):  # type: ignore[no-untyped-def]
    group = Group.objects.create(name="recipients")
    outsider.groups.add(group)
    return group


def _later(days: int = 30) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def _code(excinfo: pytest.ExceptionInfo[ServiceError]) -> tuple[str, int]:
    return excinfo.value.code.removeprefix(PREFIX), excinfo.value.status


def _level(user, repo) -> int:  # type: ignore[no-untyped-def]
    return repository_level(user=user, organization=repo.organization, repository=repo)


@pytest.mark.django_db
def test_manager_shares_until_a_date_and_the_team_pulls(owner, outsider, repo, team) -> None:  # type: ignore[no-untyped-def]
    assert _level(outsider, repo) == Level.NONE
    share = share_create(
        repository=repo, team=team, deadline=_later(), description="Q3 release", actor=owner
    )
    assert share.permit == "read" and share.created_by == owner
    outsider = type(outsider).objects.get(pk=outsider.pk)  # the team ids are cached per object
    assert _level(outsider, repo) == Level.READ
    assert list(repositories_visible_to(user=outsider)) == [repo]
    assert list(organizations_visible_to(user=outsider)) == [repo.organization]
    granted = token_access_for(
        user=outsider, scopes=[Scope("repository", repo.full_name, ("pull", "push", "delete"))]
    )
    assert granted[0].actions == ("pull",)


@pytest.mark.django_db
def test_an_expired_share_gives_nothing_but_stays_listed(owner, outsider, repo, team) -> None:  # type: ignore[no-untyped-def]
    share = share_create(repository=repo, team=team, deadline=_later(), actor=owner)
    Share.objects.filter(pk=share.pk).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    assert _level(outsider, repo) == Level.NONE
    assert list(repositories_visible_to(user=outsider)) == []
    assert list(organizations_visible_to(user=outsider)) == []
    granted = token_access_for(
        user=outsider, scopes=[Scope("repository", repo.full_name, ("pull",))]
    )
    assert granted[0].actions == ()
    [row] = shared_with_user(user=outsider)
    assert row.share == share and row.valid is False
    [row] = shared_by_user(user=owner)
    assert row.share == share and row.valid is False
    assert [r.valid for r in shares_for_repository(repository=repo)] == [False]


@pytest.mark.django_db
def test_forever_and_non_members(owner, outsider, reader, repo, team) -> None:  # type: ignore[no-untyped-def]
    share_create(repository=repo, team=team, deadline=None, actor=owner)
    assert _level(outsider, repo) == Level.READ
    assert _level(reader, repo) == Level.NONE  # not in the team
    assert [r.valid for r in shared_with_user(user=outsider)] == [True]
    assert shared_with_user(user=reader) == []


@pytest.mark.django_db
def test_a_share_never_lowers_a_higher_level(owner, outsider, repo, team) -> None:  # type: ignore[no-untyped-def]
    grant_repo(repo, outsider, Level.WRITE)
    share_create(repository=repo, team=team, deadline=None, actor=owner)
    assert _level(outsider, repo) == Level.WRITE


@pytest.mark.django_db
def test_only_manage_holders_share(owner, outsider, reader, repo, team) -> None:  # type: ignore[no-untyped-def]
    grant_org(repo.organization, reader, Level.WRITE)
    with pytest.raises(ServiceError) as excinfo:
        share_create(repository=repo, team=team, deadline=None, actor=reader)
    assert _code(excinfo) == ("4037018", 403)
    share_create(repository=repo, team=team, deadline=None, actor=owner)
    for call in (
        lambda: share_update(repository=repo, team=team, deadline=None, actor=reader),
        lambda: share_delete(repository=repo, team=team, actor=reader),
        lambda: share_delete(repository=repo, team=team, actor=outsider),
    ):
        with pytest.raises(ServiceError) as excinfo:
            call()
        assert _code(excinfo) == ("4037018", 403)
    assert Share.objects.count() == 1


@pytest.mark.django_db
def test_rules_and_codes(owner, repo, team, make_org) -> None:  # type: ignore[no-untyped-def]
    public = make_repository(repo.organization, "public-app", is_public=True)
    cases = [
        (dict(repository=public, deadline=None), ("4000014", 400)),
        (dict(repository=repo, deadline=timezone.now()), ("4000014", 400)),
        (dict(repository=repo, deadline=None, description="x" * 1001), ("4131012", 413)),
        (dict(repository=repo, deadline=None, permit="write"), ("4000014", 400)),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ServiceError) as excinfo:
            share_create(team=team, actor=owner, **kwargs)  # type: ignore[arg-type]
        assert _code(excinfo) == expected, kwargs
    with pytest.raises(ServiceError) as excinfo:
        share_create(repository=public, team=team, deadline=None, actor=owner)
    assert "public" in excinfo.value.message
    assert Share.objects.count() == 0
    share_create(repository=repo, team=team, deadline=None, actor=owner, description="x" * 1000)
    with pytest.raises(ServiceError) as excinfo:
        share_create(repository=repo, team=team, deadline=_later(), actor=owner)
    assert _code(excinfo) == ("4090089", 409)


@pytest.mark.django_db
def test_update_and_delete(owner, outsider, repo, team) -> None:  # type: ignore[no-untyped-def]
    other = Group.objects.create(name="nobody-shared")
    with pytest.raises(ServiceError) as excinfo:
        share_update(repository=repo, team=other, deadline=None, actor=owner)
    assert _code(excinfo) == ("4040091", 404)
    share_create(repository=repo, team=team, deadline=None, actor=owner)
    deadline = _later(90)
    share = share_update(
        repository=repo, team=team, deadline=deadline, description="until Q4", actor=owner
    )
    share.refresh_from_db()
    assert share.deadline == deadline and share.description == "until Q4"
    with pytest.raises(ServiceError) as excinfo:
        share_update(repository=repo, team=team, deadline=timezone.now(), actor=owner)
    assert _code(excinfo) == ("4000014", 400)
    share_delete(repository=repo, team=team, actor=owner)
    assert _level(outsider, repo) == Level.NONE
    with pytest.raises(ServiceError) as excinfo:
        share_delete(repository=repo, team=team, actor=owner)
    assert _code(excinfo) == ("4040091", 404)


@pytest.mark.django_db
def test_at_most_500_shares(owner, repo, team) -> None:  # type: ignore[no-untyped-def]
    teams = Group.objects.bulk_create(Group(name=f"bulk-{i}") for i in range(SHARES_MAX))
    Share.objects.bulk_create(Share(repository=repo, team=t) for t in teams)
    with pytest.raises(ServiceError) as excinfo:
        share_create(repository=repo, team=team, deadline=None, actor=owner)
    assert _code(excinfo) == ("4000014", 400)
    assert "500" in excinfo.value.message
    Share.objects.filter(team=teams[0]).delete()
    share_create(repository=repo, team=team, deadline=None, actor=owner)
    assert Share.objects.filter(repository=repo).count() == SHARES_MAX


@pytest.mark.django_db
def test_queries_do_not_grow_with_shares_or_teams(owner, outsider, repo, make_org) -> None:  # type: ignore[no-untyped-def]
    def count() -> int:
        user = type(outsider).objects.get(pk=outsider.pk)
        with CaptureQueriesContext(connection) as ctx:
            _level(user, repo)
            list(repositories_visible_to(user=user))
            token_access_for(user=user, scopes=[Scope("repository", repo.full_name, ("pull",))])
        return len(ctx.captured_queries)

    first = Group.objects.create(name="t-0")
    outsider.groups.add(first)
    share_create(repository=repo, team=first, deadline=None, actor=owner)
    before = count()
    teams = Group.objects.bulk_create(Group(name=f"t-{i}") for i in range(1, 30))
    outsider.groups.add(*teams)
    for i, t in enumerate(teams):
        other = make_repository(repo.organization, f"other-{i}")
        share_create(repository=other, team=t, deadline=_later(), actor=owner)
    assert count() == before


@pytest.mark.django_db
def test_share_changes_are_audited(owner, repo, team) -> None:  # type: ignore[no-untyped-def]
    share_create(repository=repo, team=team, deadline=None, actor=owner)
    share_update(repository=repo, team=team, deadline=_later(), actor=owner)
    share_delete(repository=repo, team=team, actor=owner)
    events = AuditEvent.objects.filter(resource_type="reposhare").order_by("pk")
    assert [e.action for e in events] == ["createRepoShare", "updateRepoShare", "deleteRepoShare"]
    assert {e.resource_name for e in events} == {"share-org/app:recipients"}
    assert all(e.actor == owner and e.organization == "share-org" for e in events)
