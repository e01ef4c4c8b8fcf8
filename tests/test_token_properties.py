"""Property: whatever users, grants, shares and scope strings, no token carries a denied action.

Random worlds (a user who may be a superuser, teams, organization and repository grants to the
user or their teams, shares valid, expired or forever, public repositories) and random scope
strings (malformed, repeated, `*`, the catalog, unknown types, odd names) go through the real
realm; every access entry in the signed token is checked against `repository_level` and
`actions_for_level`, and against a level computed here from the generated rows.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools

import jwt
import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dashboard.models import (
    Level,
    Organization,
    OrganizationPermission,
    Repository,
    RepositoryPermission,
    Share,
)
from dashboard.registry.tokens import Scope
from dashboard.services.access import actions_for_level, repository_level_by_path
from tests.conftest import PASSWORD

_counter = itertools.count()
LEVELS = st.sampled_from([Level.READ, Level.WRITE, Level.MANAGE])
#: Principal: the user (-1) or one of up to three teams (0..2).
PRINCIPAL = st.integers(min_value=-1, max_value=2)
REPO_NAMES = ("app", "lib", "deep/name")
SHARE_STATES = st.sampled_from(["valid", "expired", "forever"])

world = st.fixed_dictionaries(
    {
        "anonymous": st.booleans(),
        "anonymous_pull": st.booleans(),
        "superuser": st.booleans(),
        "teams": st.integers(min_value=0, max_value=3),
        "org_grants": st.lists(st.tuples(PRINCIPAL, LEVELS), max_size=3),
        "repo_grants": st.lists(
            st.tuples(PRINCIPAL, st.sampled_from(REPO_NAMES), LEVELS), max_size=3
        ),
        "shares": st.lists(
            st.tuples(st.integers(0, 2), st.sampled_from(REPO_NAMES), SHARE_STATES), max_size=3
        ),
        "public": st.lists(st.booleans(), min_size=len(REPO_NAMES), max_size=len(REPO_NAMES)),
    }
)

# Names are templates: {org} becomes the example's organization, {missing} one that does not
# exist. Odd names must be dropped, never answered with a 500.
NAMES = st.one_of(
    st.sampled_from(
        [
            "{org}/app",
            "{org}/lib",
            "{org}/deep/name",
            "{org}/not-pushed",
            "{missing}/app",
            "{org}",
            "catalog",
            "{org}/UPPER",
            "{org}//x",
            "{org}/../x",
            "{org}/caf\u00e9",
            "{org}/a:b",
            "{org}/" + "x" * 300,
            "",
        ]
    ),
    st.text(max_size=20),
)
TYPES = st.sampled_from(
    ["repository", "repository", "repository", "registry", "plugin", "repository(plugin)", "Repo"]
)
ACTIONS = st.lists(
    st.sampled_from(["pull", "push", "delete", "*", "fly", "", " pull", "PULL"]), max_size=4
).map(",".join)
GOOD_NAMES = st.sampled_from(
    ["{org}/app", "{org}/lib", "{org}/deep/name", "{org}/not-pushed", "{missing}/app"]
)
GOOD_ACTIONS = st.lists(st.sampled_from(["pull", "push", "delete", "*"]), min_size=1).map(",".join)
# Mostly well-formed repository scopes (those are where a wrong grant would matter), the rest
# anything at all.
SCOPE = st.one_of(
    st.builds(lambda n, a: f"repository:{n}:{a}", GOOD_NAMES, GOOD_ACTIONS),
    st.builds(lambda n, a: f"repository:{n}:{a}", GOOD_NAMES, GOOD_ACTIONS),
    st.builds(lambda n, a: f"repository:{n}:{a}", GOOD_NAMES, GOOD_ACTIONS),
    st.builds(lambda t, n, a: f"{t}:{n}:{a}", TYPES, NAMES, ACTIONS),
    st.just("registry:catalog:*"),
    st.text(max_size=30),
)
# Each query parameter holds one scope or several separated by spaces; scopes may repeat.
SCOPE_PARAMS = st.lists(st.lists(SCOPE, min_size=1, max_size=3).map(" ".join), max_size=6)


def _expected_level(data: dict, user_teams: set[int], repo: str | None) -> int:
    """The level the generated rows should give, computed without the permission function."""
    if data["anonymous"]:
        public = repo is not None and data["public"][REPO_NAMES.index(repo)]
        return Level.READ if public and data["anonymous_pull"] else Level.NONE
    if data["superuser"]:
        return Level.MANAGE

    def mine(principal: int) -> bool:
        return principal == -1 or principal in user_teams

    level = max((lv for p, lv in data["org_grants"] if mine(p)), default=Level.NONE)
    if repo is None:
        return level
    level = max([level, *(lv for p, r, lv in data["repo_grants"] if r == repo and mine(p))])
    if any(t in user_teams and r == repo and s != "expired" for t, r, s in data["shares"]):
        level = max(level, Level.READ)
    if data["public"][REPO_NAMES.index(repo)]:
        level = max(level, Level.READ)
    return level


def _build(data: dict) -> tuple[User | AnonymousUser, str, str, set[int]]:
    """Fresh rows with unique names; return the user, the org name, its username, team ids."""
    n = f"{next(_counter)}x{timezone.now().microsecond}"
    creator = User.objects.create_user(f"pc{n}", password=PASSWORD)
    org = Organization.objects.create(name=f"prop{n}", creator=creator)
    OrganizationPermission.objects.create(organization=org, user=creator, level=Level.MANAGE)
    repos = {
        name: Repository.objects.create(organization=org, name=name, is_public=public)
        for name, public in zip(REPO_NAMES, data["public"], strict=True)
    }
    username = f"pu{n}"
    user = User.objects.create_user(username, password=PASSWORD, is_superuser=data["superuser"])
    teams = [Group.objects.create(name=f"pt{n}-{i}") for i in range(3)]
    member_of = set(range(data["teams"]))
    for i in member_of:
        user.groups.add(teams[i])

    def principal(p: int) -> dict:
        return {"user": user} if p == -1 else {"team": teams[p]}

    for p, level in data["org_grants"]:
        OrganizationPermission.objects.update_or_create(
            organization=org, **principal(p), defaults={"level": level}
        )
    for p, repo, level in data["repo_grants"]:
        RepositoryPermission.objects.update_or_create(
            repository=repos[repo], **principal(p), defaults={"level": level}
        )
    now = timezone.now()
    for t, repo, state in data["shares"]:
        deadline = {
            "valid": now + dt.timedelta(days=1),
            "expired": now - dt.timedelta(seconds=1),
            "forever": None,
        }[state]
        Share.objects.update_or_create(
            repository=repos[repo], team=teams[t], defaults={"deadline": deadline}
        )
    team_ids = [t.pk for t in teams]
    # Re-read the grants actually stored (update_or_create keeps the last per principal).
    data["org_grants"] = [
        (-1 if g.user_id == user.pk else team_ids.index(g.team_id or 0), g.level)
        for g in OrganizationPermission.objects.filter(organization=org).exclude(user=creator)
    ]
    data["repo_grants"] = [
        (
            -1 if g.user_id == user.pk else team_ids.index(g.team_id or 0),
            g.repository.name,
            g.level,
        )
        for g in RepositoryPermission.objects.filter(repository__organization=org)
    ]
    data["shares"] = [
        (
            team_ids.index(s.team_id),
            s.repository.name,
            "forever" if s.deadline is None else ("valid" if s.is_valid() else "expired"),
        )
        for s in Share.objects.filter(repository__organization=org)
    ]
    who: User | AnonymousUser = AnonymousUser() if data["anonymous"] else user
    return who, org.name, username, member_of


def _repo_in_org(path: str, org: str) -> str | None:
    """The generated repository name when `path` is one of the example's indexed repos."""
    prefix = f"{org}/"
    name = path.removeprefix(prefix) if path.startswith(prefix) else None
    return name if name in REPO_NAMES else None


@pytest.mark.django_db
@hsettings(
    max_examples=150,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=world, params=SCOPE_PARAMS)
def test_no_token_carries_an_action_the_permission_function_denies(
    client: Client, settings, data: dict, params: list[str]
) -> None:
    settings.RATE_LIMIT_TOKEN = 0
    settings.ANONYMOUS_PULL = data["anonymous_pull"]
    user, org, username, member_of = _build(data)
    missing = f"missing{next(_counter)}"
    params = [p.replace("{org}", org).replace("{missing}", missing) for p in params]
    query: dict = {"service": settings.TOKEN_SERVICE}
    if params:
        query["scope"] = params
    headers = {} if data["anonymous"] else {"Authorization": _basic(username)}
    response = client.get("/service/token", query, headers=headers)
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})

    requested: dict[tuple[str, str], set[str]] = {}
    for text in " ".join(params).split():
        scope = Scope.parse(text)
        if scope is not None:
            requested.setdefault((scope.type, scope.name), set()).update(scope.actions)
    superuser = data["superuser"] and not data["anonymous"]
    seen: set[tuple[str, str]] = set()
    for entry in claims["access"]:
        key = (entry["type"], entry["name"])
        got = set(entry["actions"])
        assert key not in seen, f"{key} listed twice"
        seen.add(key)
        assert key in requested, f"{key} was never asked for"
        if "*" not in requested[key]:
            assert got <= requested[key], (key, got, requested[key])
        if key == ("registry", "catalog"):
            assert got <= ({"*"} if superuser else set()), (key, got)
            continue
        if entry["type"] != "repository":
            assert got == set(), (key, got)
            continue
        level, org_exists = repository_level_by_path(user=user, path=entry["name"])
        allowed = actions_for_level(level)
        if superuser and not org_exists:
            allowed = {"pull", "delete"}  # admin clean-up outside any organization; no push
        assert got <= allowed, (key, got, allowed)
        assert "push" not in got or org_exists, (key, got)
        in_org = entry["name"] == org or entry["name"].startswith(f"{org}/")
        if in_org and "/" in entry["name"]:
            # The permission function agrees with the rows this example created.
            expected = _expected_level(data, member_of, _repo_in_org(entry["name"], org))
            assert level == expected, (key, level, expected, data)
            want = actions_for_level(expected)
            assert got == (want if "*" in requested[key] else want & requested[key]), (
                key,
                got,
                want,
            )


def _basic(username: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
