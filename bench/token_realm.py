"""The token realm: tokens per second for a user in 50 teams with grants on 200 repositories,
against a superuser (no permission lookups) on the same endpoint, in the same run.

Real HTTP (a requests.Session, one request at a time, TCP_NODELAY) against the in-process
server, with Basic auth and Django's default password hasher (PBKDF2), as production runs, and
3 scopes (`pull,push`) per request among the 200 repositories. Measured with the
credential cache on (BERTH_TOKEN_AUTH_CACHE_SECONDS, default 300) and off (0). Queries per token
request are counted in-process with Django's test Client, for 5 teams/20 repositories and for
50 teams/200 repositories. The per-address rate limit is turned off for the run.

    .venv/bin/python bench/token_realm.py [--requests 300] [--uncached-requests 20]
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import time

from harness import report, start

SCOPES_PER_REQUEST = 3
PASSWORD = "bench-password-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="per persona, cache on")
    parser.add_argument("--uncached-requests", type=int, default=20, help="per persona, cache off")
    args = parser.parse_args()
    os.environ["BERTH_RATE_LIMIT_TOKEN"] = "0"  # one address asks thousands of times a minute
    env = start("token")
    try:
        run(env, args.requests, args.uncached_requests)
    finally:
        env.stop()


def _populate(prefix: str, *, teams: int, orgs: int, repos_per_org: int):  # type: ignore[no-untyped-def]
    """A user in `teams` teams with organization and repository grants on every repository."""
    from django.contrib.auth.models import Group, User

    from dashboard.models import (
        Level,
        Organization,
        OrganizationPermission,
        Repository,
        RepositoryPermission,
    )

    user = User.objects.create_user(f"{prefix}-user", password=PASSWORD)
    org_rows = [Organization.objects.create(name=f"{prefix}-org{i}") for i in range(orgs)]
    repos = [
        Repository.objects.create(organization=org, name=f"app{j}")
        for org in org_rows
        for j in range(repos_per_org)
    ]
    groups = [Group.objects.create(name=f"{prefix}-team{i}") for i in range(teams)]
    user.groups.add(*groups)
    for i, group in enumerate(groups):
        OrganizationPermission.objects.create(
            organization=org_rows[i % orgs], team=group, level=Level.READ
        )
    for k, repo in enumerate(repos):
        RepositoryPermission.objects.create(
            repository=repo, team=groups[k % teams], level=Level.WRITE
        )
    paths = [f"{repo.organization.name}/{repo.name}" for repo in repos]
    return user, paths


def _url(paths: list[str], rng: random.Random, service: str) -> str:
    from urllib.parse import urlencode

    chosen = rng.sample(paths, SCOPES_PER_REQUEST)
    params = [("service", service)] + [("scope", f"repository:{p}:pull,push") for p in chosen]
    return "/service/token?" + urlencode(params)


def _basic(username: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()


def run(env, requests_cached: int, requests_uncached: int) -> None:  # type: ignore[no-untyped-def]
    import jwt
    import requests
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client, override_settings

    print(f"password hasher: {settings.PASSWORD_HASHERS[0]}")
    small_user, small_paths = _populate("s", teams=5, orgs=2, repos_per_org=10)
    big_user, big_paths = _populate("b", teams=50, orgs=10, repos_per_org=20)
    admin = User.objects.create_superuser("bench-admin", "admin@example.com", PASSWORD)
    print(
        f"user {small_user.username}: 5 teams, {len(small_paths)} repositories; "
        f"user {big_user.username}: 50 teams, {len(big_paths)} repositories"
    )
    service = settings.TOKEN_SERVICE

    session = requests.Session()
    # Sanity, outside the timing: the user gets pull and push on the repositories of its grants.
    answer = session.get(
        env.web_url + _url(big_paths, random.Random(1), service),
        headers={"Authorization": _basic(big_user.username)},
        timeout=30,
    )
    answer.raise_for_status()
    claims = jwt.decode(answer.json()["token"], options={"verify_signature": False})
    assert all(entry["actions"] == ["pull", "push"] for entry in claims["access"]), claims

    def rate(username: str, count: int) -> float:
        """Tokens per second over `count` sequential requests (after two warm-up requests)."""
        rng = random.Random(7)
        headers = {"Authorization": _basic(username)}
        urls = [env.web_url + _url(big_paths, rng, service) for _ in range(count + 2)]
        for url in urls[:2]:
            session.get(url, headers=headers, timeout=30).raise_for_status()
        started = time.perf_counter()
        for url in urls[2:]:
            response = session.get(url, headers=headers, timeout=30)
            assert response.status_code == 200, response.text
        return count / (time.perf_counter() - started)

    def queries(username: str, paths: list[str]) -> int:
        """Queries of one token request, after a warm-up request, in-process."""
        client = Client(HTTP_HOST="127.0.0.1")
        rng = random.Random(3)
        client.get(_url(paths, rng, service), headers={"Authorization": _basic(username)})
        counted: list[str] = []

        def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            counted.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(
                _url(paths, rng, service), headers={"Authorization": _basic(username)}
            )
        assert response.status_code == 200
        return len(counted)

    for label, seconds, count in (
        ("cache on", settings.TOKEN_AUTH_CACHE_SECONDS, requests_cached),
        ("cache off", 0, requests_uncached),
    ):
        with override_settings(TOKEN_AUTH_CACHE_SECONDS=seconds):
            print(f"-- credential {label} (BERTH_TOKEN_AUTH_CACHE_SECONDS={seconds})")
            small_q = queries(small_user.username, small_paths)
            big_q = queries(big_user.username, big_paths)
            admin_q = queries(admin.username, big_paths)
            print(
                f"queries per token request ({SCOPES_PER_REQUEST} scopes): "
                f"user 5 teams/20 repos {small_q}, user 50 teams/200 repos {big_q}, "
                f"superuser {admin_q}"
            )
            user_rate = rate(big_user.username, count)
            admin_rate = rate(admin.username, count)
            print(
                f"over HTTP, {count} requests each: user {user_rate:.1f} tokens/s, "
                f"superuser {admin_rate:.1f} tokens/s"
            )
            report(
                f"token realm user/superuser ({label})",
                user_rate,
                admin_rate,
                unit="tokens/s",
                target=">= 0.5",
            )


if __name__ == "__main__":
    main()
