"""Granting, changing and revoking permissions: who may, on what, and what SWR answers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from dashboard.models import Level, OrganizationPermission, RepositoryPermission
from dashboard.selectors.permissions import grants_for_organization, grants_for_repository
from dashboard.services.access import organization_level, repository_level
from dashboard.services.errors import PREFIX, ServiceError
from dashboard.services.permissions import (
    organization_grant,
    organization_grant_update,
    organization_revoke,
    repository_grant,
    repository_grant_update,
    repository_revoke,
)
from tests.index_rows import grant_org, grant_repo, make_repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(owner, make_org):  # type: ignore[no-untyped-def]
    return make_org("perm-org", creator=owner)


@pytest.fixture
def repo(org):  # type: ignore[no-untyped-def]
    return make_repository(org, "app")


def _code(exc: pytest.ExceptionInfo[ServiceError]) -> tuple[str, int]:
    return exc.value.code.removeprefix(PREFIX), exc.value.status


def test_manager_grants_a_user_and_a_team(org, owner, reader) -> None:  # type: ignore[no-untyped-def]
    team = Group.objects.create(name="devs")
    organization_grant(organization=org, actor=owner, user=reader, level=Level.WRITE)
    organization_grant(organization=org, actor=owner, team=team, level=Level.READ)
    assert organization_level(user=reader, organization=org) == Level.WRITE
    assert [(g.user, g.team, g.level) for g in grants_for_organization(organization=org)] == [
        (owner, None, Level.MANAGE),
        (reader, None, Level.WRITE),
        (None, team, Level.READ),
    ]


def test_team_grant_reaches_its_members(org, owner, outsider) -> None:  # type: ignore[no-untyped-def]
    team = Group.objects.create(name="devs")
    outsider.groups.add(team)
    organization_grant(organization=org, actor=owner, team=team, level=Level.READ)
    assert organization_level(user=outsider, organization=org) == Level.READ


def test_nobody_grants_to_themselves(org, owner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        organization_grant_update(organization=org, actor=owner, user=owner, level=Level.READ)
    assert _code(exc) == ("4039002", 403)
    with pytest.raises(ServiceError) as exc:
        organization_revoke(organization=org, actor=owner, user=owner)
    assert _code(exc) == ("4039002", 403)


def test_non_manager_cannot_grant_on_an_organization(org, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.WRITE)
    with pytest.raises(ServiceError) as exc:
        organization_grant(organization=org, actor=reader, user=outsider, level=Level.READ)
    assert _code(exc) == ("4039002", 403)
    assert not OrganizationPermission.objects.filter(user=outsider).exists()


@pytest.mark.parametrize("level", [0, 2, 4, 8, "3"])
def test_invalid_levels_are_refused(org, repo, owner, reader, level) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        organization_grant(organization=org, actor=owner, user=reader, level=level)
    assert _code(exc) == ("4001065", 400)
    with pytest.raises(ServiceError) as exc:
        repository_grant(repository=repo, actor=owner, user=reader, level=level)
    assert _code(exc) == ("4001066", 400)


def test_duplicates_are_409(org, repo, owner, reader) -> None:  # type: ignore[no-untyped-def]
    organization_grant(organization=org, actor=owner, user=reader, level=Level.READ)
    with pytest.raises(ServiceError) as exc:
        organization_grant(organization=org, actor=owner, user=reader, level=Level.WRITE)
    assert _code(exc) == ("4090076", 409)
    repository_grant(repository=repo, actor=owner, user=reader, level=Level.READ)
    with pytest.raises(ServiceError) as exc:
        repository_grant(repository=repo, actor=owner, user=reader, level=Level.READ)
    assert _code(exc) == ("4090089", 409)


def test_changing_or_revoking_an_unknown_grant_is_404(org, repo, owner, reader) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        organization_revoke(organization=org, actor=owner, user=reader)
    assert _code(exc) == ("4040078", 404)
    with pytest.raises(ServiceError) as exc:
        organization_grant_update(organization=org, actor=owner, user=reader, level=Level.READ)
    assert _code(exc) == ("4040078", 404)
    with pytest.raises(ServiceError) as exc:
        repository_revoke(repository=repo, actor=owner, user=reader)
    assert _code(exc) == ("4040091", 404)


def test_exactly_one_principal(org, owner, reader) -> None:  # type: ignore[no-untyped-def]
    team = Group.objects.create(name="devs")
    for kwargs in ({}, {"user": reader, "team": team}):
        with pytest.raises(ServiceError) as exc:
            organization_grant(organization=org, actor=owner, level=Level.READ, **kwargs)
        assert _code(exc) == ("4000014", 400)


def test_administrators_are_not_granted_nor_listed(org, owner, admin_user, make_org) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        organization_grant(organization=org, actor=owner, user=admin_user, level=Level.READ)
    assert _code(exc) == ("4001067", 400)
    own = make_org("admins-org", creator=admin_user)
    assert list(grants_for_organization(organization=own)) == []


def test_the_last_manage_grant_stays(org, owner, reader, admin_user) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        organization_revoke(organization=org, actor=admin_user, user=owner)
    assert _code(exc) == ("4039002", 403)
    with pytest.raises(ServiceError):
        organization_grant_update(organization=org, actor=admin_user, user=owner, level=Level.READ)
    # With a second manager the creator's grant can change, by someone else.
    organization_grant(organization=org, actor=owner, user=reader, level=Level.MANAGE)
    organization_grant_update(organization=org, actor=reader, user=owner, level=Level.WRITE)
    assert organization_level(user=owner, organization=org) == Level.WRITE
    organization_revoke(organization=org, actor=admin_user, user=owner)
    assert organization_level(user=owner, organization=org) == Level.NONE


def test_org_writer_grants_on_a_repository_but_not_manage(org, repo, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.WRITE)
    repository_grant(repository=repo, actor=reader, user=outsider, level=Level.WRITE)
    assert repository_level(user=outsider, organization=org, repository=repo) == Level.WRITE
    with pytest.raises(ServiceError) as exc:
        repository_grant_update(repository=repo, actor=reader, user=outsider, level=Level.MANAGE)
    assert _code(exc) == ("4039002", 403)
    repository_grant_update(repository=repo, actor=reader, user=outsider, level=Level.READ)
    repository_revoke(repository=repo, actor=reader, user=outsider)
    assert not RepositoryPermission.objects.filter(repository=repo).exists()


def test_org_writer_cannot_touch_a_repository_manage_grant(
    org, repo, owner, reader, outsider
) -> None:  # type: ignore[no-untyped-def]
    grant_org(org, reader, Level.WRITE)
    repository_grant(repository=repo, actor=owner, user=outsider, level=Level.MANAGE)
    with pytest.raises(ServiceError) as exc:
        repository_revoke(repository=repo, actor=reader, user=outsider)
    assert _code(exc) == ("4039002", 403)


def test_repository_manager_grants_on_that_repository_only(org, repo, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    grant_repo(repo, reader, Level.MANAGE)
    repository_grant(repository=repo, actor=reader, user=outsider, level=Level.MANAGE)
    other = make_repository(org, "other")
    with pytest.raises(ServiceError) as exc:
        repository_grant(repository=other, actor=reader, user=outsider, level=Level.READ)
    assert _code(exc) == ("4039002", 403)
    with pytest.raises(ServiceError):
        organization_grant(organization=org, actor=reader, user=outsider, level=Level.READ)


def test_repository_reader_and_writer_cannot_grant(org, repo, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    grant_repo(repo, reader, Level.WRITE)
    grant_org(org, outsider, Level.READ)
    for actor in (reader, outsider):
        with pytest.raises(ServiceError) as exc:
            repository_grant(repository=repo, actor=actor, user=actor, level=Level.READ)
        assert _code(exc) == ("4039002", 403)


def test_repository_grants_list(org, repo, owner, reader) -> None:  # type: ignore[no-untyped-def]
    team = Group.objects.create(name="devs")
    repository_grant(repository=repo, actor=owner, team=team, level=Level.READ)
    repository_grant(repository=repo, actor=owner, user=reader, level=Level.WRITE)
    assert [(g.user, g.team, g.level) for g in grants_for_repository(repository=repo)] == [
        (reader, None, Level.WRITE),
        (None, team, Level.READ),
    ]
