"""`manage.py seed_demo` pushes real images; the index fills from the registry's events."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from dashboard.models import Manifest, Tag
from tests.servers import wait_for

pytestmark = pytest.mark.registry


def test_seed_demo_fills_the_index_through_events(worker, running_registry, make_user) -> None:
    admin = make_user("admin", superuser=True)
    call_command("seed_demo", owner=admin.username)

    wait_for(
        lambda: Tag.objects.filter(repository__organization__name="demo").count() == 4,
        timeout=30,
        what="the four demo tags in the index",
    )
    hello = Tag.objects.select_related("manifest").filter(repository__name="hello")
    assert {t.name for t in hello} == {"1.0", "latest"}
    assert len({t.manifest_id for t in hello}) == 1, "1.0 and latest share one digest"
    assert all(t.pushed_by == "admin" for t in hello)
    multi = Tag.objects.select_related("manifest").get(repository__name="multiarch")
    assert multi.manifest.media_type == "application/vnd.oci.image.index.v1+json"
    assert {(p["os"], p["architecture"]) for p in multi.manifest.platforms} == {
        ("linux", "amd64"),
        ("linux", "arm64"),
    }
    legacy = Tag.objects.select_related("manifest").get(repository__name="legacy-app")
    assert legacy.manifest.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert legacy.manifest.size > 0 and legacy.manifest.created is not None

    # Running it again changes nothing.
    call_command("seed_demo", owner=admin.username)
    assert Manifest.objects.filter(repository__organization__name="demo", tags__isnull=False)
