"""Reconcile of many repositories against a bare `_catalog` walk of the same registry.

.venv/bin/python bench/reconcile.py [--repos 5000]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from harness import report, start, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=5000)
    args = parser.parse_args()
    env = start("reconcile")
    try:
        run(env, args.repos)
    finally:
        env.stop()


def run(env, count: int) -> None:  # type: ignore[no-untyped-def]
    from dashboard.models import Organization, Tag
    from dashboard.registry.client import BerthTokenProvider, RegistryClient
    from dashboard.registry.images import build_image, push_image
    from dashboard.services.reconcile import reconcile_run

    Organization.objects.create(name="fleet")
    image = build_image()
    seed = RegistryClient(env.registry.url, token_provider=BerthTokenProvider("bench"))
    push_image(seed, "fleet/seed", image, "v1")
    config_digest, layer_digests = _blob_digests(image)

    def push(chunk: range) -> None:
        client = RegistryClient(env.registry.url, token_provider=BerthTokenProvider("bench"))
        for i in chunk:
            repo = f"fleet/r{i:05d}"
            for digest in [config_digest, *layer_digests]:
                client.mount_blob(repo, digest, source="fleet/seed")
            client.put_manifest(repo, "v1", image.manifest, image.media_type)

    started = time.perf_counter()
    step = (count + 7) // 8
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(push, [range(i, min(i + step, count)) for i in range(0, count, step)]))
    print(f"pushed {count} repositories in {time.perf_counter() - started:.1f} s")

    # Drop what the notifications brought, so reconcile has all the work to do.
    Tag.objects.all().delete()

    walker = RegistryClient(env.registry.url, token_provider=BerthTokenProvider("bench"))
    catalog_time = timed(lambda: sum(1 for _ in walker.catalog()), repeat=3, warmup=1)

    started = time.perf_counter()
    first = reconcile_run()
    cold = time.perf_counter() - started
    print(f"cold reconcile: {first}")
    started = time.perf_counter()
    second = reconcile_run()
    warm = time.perf_counter() - started
    print(f"warm reconcile: {second}")
    assert Tag.objects.count() >= count
    report("cold reconcile / catalog walk", cold, catalog_time, unit="s", target="a figure")
    report("warm reconcile / catalog walk", warm, catalog_time, unit="s", target="a figure")


def _blob_digests(image) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    import json

    manifest = json.loads(image.manifest)
    return manifest["config"]["digest"], [layer["digest"] for layer in manifest["layers"]]


if __name__ == "__main__":
    main()
