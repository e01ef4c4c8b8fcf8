"""Teams: administrators create them, managers run their membership."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from dashboard.models import TeamProfile
from dashboard.services.errors import PREFIX, ServiceError
from dashboard.services.teams import (
    team_create,
    team_delete,
    team_manager_add,
    team_manager_remove,
    team_member_add,
    team_member_remove,
)

pytestmark = pytest.mark.django_db


def _code(exc: pytest.ExceptionInfo[ServiceError]) -> tuple[str, int]:
    return exc.value.code.removeprefix(PREFIX), exc.value.status


def test_administrator_creates_a_team_and_manages_it(admin_user) -> None:  # type: ignore[no-untyped-def]
    team = team_create(name="devs", actor=admin_user, description="Developers")
    profile = TeamProfile.objects.get(team=team)
    assert list(profile.managers.all()) == [admin_user]
    assert profile.description == "Developers"


def test_only_administrators_create_and_delete_teams(admin_user, owner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        team_create(name="devs", actor=owner)
    assert _code(exc) == ("4039002", 403)
    team = team_create(name="devs", actor=admin_user)
    team_manager_add(team=team, user=owner, actor=admin_user)
    with pytest.raises(ServiceError):
        team_delete(team=team, actor=owner)
    team_delete(team=team, actor=admin_user)
    assert not Group.objects.filter(name="devs").exists()


@pytest.mark.parametrize("name", ["", "Devs", "-devs", "de vs", "a" * 65, "dév"])
def test_invalid_team_names(admin_user, name) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        team_create(name=name, actor=admin_user)
    assert _code(exc) == ("4000014", 400)


def test_valid_team_names(admin_user) -> None:  # type: ignore[no-untyped-def]
    for name in ("a", "0ps", "team.a_b-c", "a" * 64):
        team_create(name=name, actor=admin_user)


def test_taken_name_is_409(admin_user) -> None:  # type: ignore[no-untyped-def]
    team_create(name="devs", actor=admin_user)
    with pytest.raises(ServiceError) as exc:
        team_create(name="devs", actor=admin_user)
    assert _code(exc) == ("4000014", 409)


def test_team_manager_adds_and_removes_members(admin_user, owner, reader) -> None:  # type: ignore[no-untyped-def]
    team = team_create(name="devs", actor=admin_user)
    team_manager_add(team=team, user=owner, actor=admin_user)
    team_member_add(team=team, user=reader, actor=owner)
    assert list(team.user_set.all()) == [reader]
    team_member_remove(team=team, user=reader, actor=owner)
    assert not team.user_set.exists()
    team_manager_add(team=team, user=reader, actor=owner)
    team_manager_remove(team=team, user=owner, actor=reader)
    assert set(TeamProfile.objects.get(team=team).managers.all()) == {admin_user, reader}


def test_outsider_and_plain_member_cannot_change_a_team(admin_user, reader, outsider) -> None:  # type: ignore[no-untyped-def]
    team = team_create(name="devs", actor=admin_user)
    team_member_add(team=team, user=reader, actor=admin_user)
    for actor in (outsider, reader):
        for change in (team_member_add, team_member_remove, team_manager_add, team_manager_remove):
            with pytest.raises(ServiceError) as exc:
                change(team=team, user=outsider, actor=actor)
            assert _code(exc) == ("4039002", 403)
    assert list(team.user_set.all()) == [reader]
