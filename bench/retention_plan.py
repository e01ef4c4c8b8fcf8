"""The retention plan of a 10,000-tag repository: how long it takes to build, against reading
the same tag rows from the index (what any plan must read), and its query count at 1,000 and at
10,000 tags (it must not grow).

The index rows are written as the indexer writes them (pairs of tags sharing an image, layers
shared between images): the plan reads only the index, never the registry.

    .venv/bin/python bench/retention_plan.py [--tags 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib

from harness import report, start, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tags", type=int, default=10_000)
    args = parser.parse_args()
    env = start("retention")
    try:
        run(args.tags)
    finally:
        env.stop()


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _fill(repository, count: int, offset: int = 0) -> None:  # type: ignore[no-untyped-def]
    """`count` tags, two per image, each image with a base layer shared by all and two own."""
    from django.utils import timezone

    from dashboard.models import Manifest, Tag

    now = timezone.now()
    base = {"digest": _digest("base layer"), "media_type": "layer", "size": 30_000_000}
    manifests = [
        Manifest(
            repository=repository,
            digest=_digest(f"image {offset + i}"),
            media_type="application/vnd.oci.image.manifest.v1+json",
            size=30_000_000 + 2 * 1_000_000 + 1_000,
            config_digest=_digest(f"config {offset + i}"),
            layers=[
                base,
                {"digest": _digest(f"a {offset + i}"), "media_type": "layer", "size": 1_000_000},
                {"digest": _digest(f"b {offset + i}"), "media_type": "layer", "size": 1_000_000},
            ],
        )
        for i in range((count + 1) // 2)
    ]
    Manifest.objects.bulk_create(manifests, batch_size=2000)
    saved = list(Manifest.objects.filter(repository=repository).order_by("-id")[: len(manifests)])
    tags = [
        Tag(
            repository=repository,
            name=f"t{offset + i:06d}",
            manifest=saved[i // 2],
            pushed_at=now - dt.timedelta(minutes=offset + i),
        )
        for i in range(count)
    ]
    Tag.objects.bulk_create(tags, batch_size=2000)


def run(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard.models import Organization, Repository, Tag
    from dashboard.services.retention import retention_plan, retention_rule_parse

    admin = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass")
    org = Organization.objects.create(name="bench", creator=admin)
    rule = retention_rule_parse(
        template="tag_rule",
        value="100",
        tag_selectors=[
            {"kind": "label", "pattern": "t000500"},
            {"kind": "regexp", "pattern": "^t0001"},
        ],
    )

    def queries(repository: Repository) -> int:
        with CaptureQueriesContext(connection) as captured:
            retention_plan(repository=repository, rule=rule)
        return len(captured)

    small = Repository.objects.create(organization=org, name="small")
    _fill(small, count // 10)
    big = Repository.objects.create(organization=org, name="big")
    _fill(big, count)

    def read_rows() -> None:
        list(
            Tag.objects.filter(repository=big)
            .order_by("-pushed_at", "name")
            .values_list("name", "pushed_at", "manifest_id", "manifest__digest", "manifest__size")
        )

    plan = retention_plan(repository=big, rule=rule)
    print(
        f"{count} tags: {len(plan.deleted)} to delete, {len(plan.kept)} kept, "
        f"{plan.freed_bytes / 1e9:.2f} GB freed"
    )
    reference = timed(read_rows, repeat=10)
    for label, with_bytes in (("preview (with bytes freed)", True), ("run", False)):
        value = timed(
            lambda b=with_bytes: retention_plan(repository=big, rule=rule, with_bytes=b),
            repeat=10,
        )
        report(
            f"retention plan of {count} tags, {label}",
            value * 1000,
            reference * 1000,
            unit="ms",
            target="a figure; the reference reads the same tag rows",
        )
    print(
        f"queries per plan: {queries(small)} at {count // 10} tags, {queries(big)} at {count} tags "
        "(target: the same)"
    )


if __name__ == "__main__":
    main()
