"""The SWR API's two big lists through the real HTTP server with an API token:
`GET /v2/manage/repos?limit=100` over 10,000 repositories and `GET .../tags?limit=100` over a
repository with 5,000 tags (and their v3 marker forms, first page and deep page).

Each latency is the median of HTTP requests to Berth's web server in this process, reported as
a ratio against the same rows read by the ORM alone in the same run (the database's share of
the work: the count, the page with its joins, and the page's tag names). Queries per request are
counted at a small and a large total, with page sizes 10 and 100, and must be the same.

The caller is an ordinary user (organization grants and a team), not a superuser, so the
permission filter is part of every list. Index rows are bulk-created as the indexer writes them
(repositories with their counters, manifests with their text, tags).

    .venv/bin/python bench/api_lists.py [--repos 10000] [--tags 5000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from typing import Any

from harness import report, start, timed

SMALL_REPOS = 150
SMALL_TAGS = 150
ORGS = 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=10_000)
    parser.add_argument("--tags", type=int, default=5_000)
    args = parser.parse_args()
    env = start("api-lists")
    try:
        run(env, repos=args.repos, tags=args.tags)
    finally:
        env.stop()


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _manifest(repository_id: int, seed: str) -> Any:
    """A Manifest row as the indexer writes one for a small image."""
    from dashboard.models import Manifest

    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _digest(seed)}
    config_digest = _digest(seed + "-config")
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": 600,
            },
            "layers": [{**layer, "size": 3_000_000}],
        },
        indent=3,
    )
    return Manifest(
        repository_id=repository_id,
        digest=_digest(raw),
        media_type="application/vnd.oci.image.manifest.v1+json",
        manifest_size=len(raw),
        size=3_000_600,
        config_digest=config_digest,
        created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        os="linux",
        architecture="amd64",
        layers=[{"digest": layer["digest"], "media_type": layer["mediaType"], "size": 3_000_000}],
        raw=raw,
        config={"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/usr/bin"]}},
    )


def _repositories(orgs: list[Any], start_index: int, count: int, now: dt.datetime) -> None:
    """`count` repositories spread over `orgs`, each with one image tagged `v1` and `latest`."""
    from dashboard.models import Manifest, Repository, Tag

    rows = [
        Repository(
            organization=orgs[i % len(orgs)],
            name=f"app-{i:05d}",
            category="app_server",
            description=f"Service {i}",
            created_at=now - dt.timedelta(days=1),
            updated_at=now - dt.timedelta(seconds=i),
            tag_count=2,
            size=3_000_600,
        )
        for i in range(start_index, start_index + count)
    ]
    created = Repository.objects.bulk_create(rows, batch_size=500)
    ids = {r.name: r.pk for r in created}  # SQLite and PostgreSQL return the ids
    manifests = Manifest.objects.bulk_create(
        [_manifest(ids[r.name], r.name) for r in rows], batch_size=500
    )
    by_repo = {m.repository_id: m for m in manifests}
    Tag.objects.bulk_create(
        [
            Tag(
                repository_id=ids[r.name],
                name=name,
                manifest=by_repo[ids[r.name]],
                pushed_at=r.updated_at,
                pushed_by="bench",
            )
            for r in rows
            for name in ("v1", "latest")
        ],
        batch_size=1000,
    )


def _tagged_repository(org: Any, name: str, count: int, now: dt.datetime) -> Any:
    """A repository with `count` tags, each on its own image, counters as the indexer keeps."""
    from dashboard.models import Manifest, Repository, Tag

    repository = Repository.objects.create(organization=org, name=name, updated_at=now)
    manifests = Manifest.objects.bulk_create(
        [_manifest(repository.pk, f"{name}-{i}") for i in range(count)], batch_size=500
    )
    Tag.objects.bulk_create(
        [
            Tag(
                repository=repository,
                name=f"t{i:05d}",
                manifest=manifest,
                pushed_at=now - dt.timedelta(seconds=count - i),
                pushed_by="bench",
            )
            for i, manifest in enumerate(manifests)
        ],
        batch_size=1000,
    )
    Repository.objects.filter(pk=repository.pk).update(tag_count=count, size=count * 3_000_600)
    return repository


def run(env: Any, *, repos: int, tags: int) -> None:
    import requests
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from dashboard.models import Level, Organization, OrganizationPermission, Repository, Tag
    from dashboard.services.credentials import api_token_create

    now = timezone.now()
    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-pass")
    user.groups.add(Group.objects.create(name="bench-team"))
    orgs = [Organization.objects.create(name=f"org{i}") for i in range(ORGS)]
    OrganizationPermission.objects.bulk_create(
        OrganizationPermission(organization=o, user=user, level=Level.READ) for o in orgs
    )
    _, token = api_token_create(user=user, name="bench")
    headers = {"X-Auth-Token": token}
    in_process = Client(HTTP_HOST="127.0.0.1", headers=headers)

    def path_tags(repository: Any) -> str:
        return f"/v2/manage/namespaces/{repository.organization.name}/repos/{repository.name}/tags"

    def path_v3_tags(repository: Any) -> str:
        return "/v3" + path_tags(repository)[3:]

    def queries(path: str, query: str) -> int:
        in_process.get(path, QUERY_STRING=query)  # warm (the token's first use is recorded)
        with CaptureQueriesContext(connection) as captured:
            response = in_process.get(path, QUERY_STRING=query)
        assert response.status_code == 200, response.content[:300]
        return len(captured)

    def v3_deep(path: str, query: str, pages: int) -> str:
        """The marker `pages` pages into a v3 list."""
        marker = ""
        for _ in range(pages):
            body = in_process.get(path, QUERY_STRING=query + marker).json()
            marker = f"&marker={body['nextMarker']}"
        return marker

    def count_all(tagged: Any) -> dict[str, int]:
        counts = {}
        for size in (10, 100):
            counts[f"v2 repos limit={size}"] = queries("/v2/manage/repos", f"offset=0&limit={size}")
            counts[f"v2 tags limit={size}"] = queries(path_tags(tagged), f"offset=0&limit={size}")
            counts[f"v3 repos limit={size}"] = queries(
                "/v3/manage/repos",
                f"limit={size}" + v3_deep("/v3/manage/repos", f"limit={size}", 1),
            )
            counts[f"v3 tags limit={size}"] = queries(
                path_v3_tags(tagged),
                f"limit={size}" + v3_deep(path_v3_tags(tagged), f"limit={size}", 1),
            )
        return counts

    # Small totals first.
    small_tagged = _tagged_repository(orgs[0], "small-tags", SMALL_TAGS, now)
    _repositories(orgs, 0, SMALL_REPOS - 1, now)
    small = count_all(small_tagged)

    # Then the large ones.
    big = _tagged_repository(orgs[1], "big-tags", tags, now)
    _repositories(orgs, SMALL_REPOS - 1, repos - SMALL_REPOS - 1, now)
    total_repos, big_tags = Repository.objects.count(), Tag.objects.filter(repository=big).count()
    print(f"{total_repos} repositories, {big_tags} tags in {big.full_name}")
    assert (total_repos, big_tags) == (repos, tags)
    large = count_all(big)
    print("queries per request (small total / large total):")
    for name, count in small.items():
        print(f"  {name}: {count} / {large[name]}")
    assert small == large, (small, large)
    for kind in ("v2 repos", "v2 tags", "v3 repos", "v3 tags"):
        assert small[f"{kind} limit=10"] == small[f"{kind} limit=100"], kind
    print("queries per request are the same at both totals and both page sizes")

    # Latency over HTTP, against the ORM reading the same rows.
    session = requests.Session()
    session.headers.update(headers)

    def http(path: str, query: str) -> Any:
        def call() -> None:
            response = session.get(f"{env.web_url}{path}?{query}", timeout=30)
            assert response.status_code == 200, response.text[:300]

        return call

    def orm_repos() -> None:
        qs = Repository.objects.select_related("organization").order_by(
            "-updated_at", "organization__name", "name"
        )
        qs.count()
        page = list(qs[:100])
        list(Tag.objects.filter(repository__in=page).values_list("repository_id", "name"))

    def orm_tags() -> None:
        qs = Tag.objects.filter(repository=big).select_related("manifest").order_by("-pushed_at")
        qs.count()
        list(qs[:100])

    first_repos = http("/v2/manage/repos", "offset=0&limit=100")
    assert len(session.get(f"{env.web_url}/v2/manage/repos?limit=100", timeout=30).json()) == 100
    repos_time = timed(first_repos, repeat=30)
    repos_ref = timed(orm_repos, repeat=30)
    report(
        f"GET /v2/manage/repos?limit=100 over {repos:,} repositories / ORM alone",
        repos_time * 1000,
        repos_ref * 1000,
        unit="ms",
        target="informational: HTTP, auth, permissions and JSON on top of the rows",
    )
    deep_repos = timed(http("/v2/manage/repos", f"offset={repos - 100}&limit=100"), repeat=30)
    print(f"  last page (offset {repos - 100}): {deep_repos * 1000:.1f} ms")

    tags_time = timed(http(path_tags(big), "offset=0&limit=100"), repeat=30)
    tags_ref = timed(orm_tags, repeat=30)
    report(
        f"GET .../tags?limit=100 over {tags:,} tags / ORM alone",
        tags_time * 1000,
        tags_ref * 1000,
        unit="ms",
        target="informational: HTTP, auth, permissions and JSON on top of the rows",
    )
    deep_tags = timed(http(path_tags(big), f"offset={tags - 100}&limit=100"), repeat=30)
    print(f"  last page (offset {tags - 100}): {deep_tags * 1000:.1f} ms")

    v3_pages = (repos // 100) - 1
    v3_repos_first = timed(http("/v3/manage/repos", "limit=100"), repeat=30)
    marker = v3_deep("/v3/manage/repos", "limit=100", v3_pages)
    v3_repos_deep = timed(http("/v3/manage/repos", "limit=100" + marker), repeat=30)
    print(
        f"GET /v3/manage/repos?limit=100: first page {v3_repos_first * 1000:.1f} ms, "
        f"page {v3_pages + 1} (by marker) {v3_repos_deep * 1000:.1f} ms"
    )
    tag_pages = (tags // 100) - 1
    v3_tags_first = timed(http(path_v3_tags(big), "limit=100"), repeat=30)
    marker = v3_deep(path_v3_tags(big), "limit=100", tag_pages)
    v3_tags_deep = timed(http(path_v3_tags(big), "limit=100" + marker), repeat=30)
    print(
        f"GET /v3/.../tags?limit=100: first page {v3_tags_first * 1000:.1f} ms, "
        f"page {tag_pages + 1} (by marker) {v3_tags_deep * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
