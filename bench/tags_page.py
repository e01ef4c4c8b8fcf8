"""A repository with 5,000 tags: Berth's first tags page against the registry's own tags/list.

Also measures how fast one worker turns the registry's real push events into index rows.

    .venv/bin/python bench/tags_page.py [--tags 5000]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from harness import report, start, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tags", type=int, default=5000)
    args = parser.parse_args()
    env = start("tags")
    try:
        run(env, args.tags)
    finally:
        env.stop()


def run(env, count: int) -> None:  # type: ignore[no-untyped-def]
    import requests
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from dashboard.models import Level, Organization, OrganizationPermission, RegistryEvent, Tag
    from dashboard.registry.client import BerthTokenProvider, RegistryClient
    from dashboard.registry.images import build_image, push_image
    from dashboard.registry.tokens import issue_token, repository_scope
    from dashboard.services.index import events_index_pending

    admin = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass")
    org = Organization.objects.create(name="bench", creator=admin)
    OrganizationPermission.objects.create(organization=org, user=admin, level=Level.MANAGE)

    base = build_image()
    seed = RegistryClient(env.registry.url, token_provider=BerthTokenProvider("bench"))
    push_image(seed, "bench/big", base, "seed")

    def push(chunk: range) -> None:
        client = RegistryClient(env.registry.url, token_provider=BerthTokenProvider("bench"))
        for i in chunk:
            image = build_image(annotation=f"tag {i}")
            image.blobs = {}  # config and layer are already in the repository
            client.put_manifest("bench/big", f"t{i:05d}", image.manifest, image.media_type)

    started = time.perf_counter()
    step = (count + 7) // 8
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(push, [range(i, min(i + step, count)) for i in range(0, count, step)]))
    print(f"pushed {count} tags in {time.perf_counter() - started:.1f} s")

    # The registry delivers its events one by one; wait until all have arrived.
    deadline = time.monotonic() + 300
    while RegistryEvent.objects.count() < count + 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    events = RegistryEvent.objects.count()
    print(f"{events} events received")

    # One worker: turn every event into index rows.
    head_client = RegistryClient(env.registry.url, token_provider=BerthTokenProvider("bench"))
    reference_head = timed(lambda: head_client.head_manifest("bench/big", "t00000"), repeat=200)
    started = time.perf_counter()
    processed = 0
    while True:
        done = events_index_pending()
        if not done:
            break
        processed += done
    elapsed = time.perf_counter() - started
    rate = processed / elapsed if elapsed else 0.0
    print(
        f"worker indexed {processed} events in {elapsed:.2f} s: {rate:.0f} events/s "
        f"(target >= 200/s); one HEAD manifest takes {reference_head * 1000:.2f} ms"
    )
    assert Tag.objects.filter(repository__name="big").count() == count + 1

    # The first tags page, sorted by pushed time, against the registry's own tags/list.
    web = Client(HTTP_HOST="127.0.0.1")
    web.force_login(admin)
    url = "/repos/bench/big/?sort=-pushed"
    assert web.get(url).status_code == 200
    queries: list[str] = []

    def counted(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        web.get(url)
    page_time = timed(lambda: web.get(url), repeat=30)
    token = issue_token(subject="bench", access=[repository_scope("bench/big", "pull")]).token
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    tags_url = f"{env.registry.url}/v2/bench/big/tags/list"
    assert len(session.get(tags_url, timeout=30).json()["tags"]) == count + 1
    list_time = timed(lambda: session.get(tags_url, timeout=30), repeat=30)
    print(f"tags page: {len(queries)} queries")
    report(
        "first tags page / registry tags/list",
        page_time * 1000,
        list_time * 1000,
        unit="ms",
        target="<= 1.0",
    )


if __name__ == "__main__":
    main()
