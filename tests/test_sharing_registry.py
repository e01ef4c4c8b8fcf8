"""Sharing against the real registry: a member of the team a private image is shared with pulls
it until the deadline passes; a non-member never can. Expiry is enforced at token time."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from dashboard.models import Repository, Share
from dashboard.registry.client import RegistryClient
from dashboard.registry.errors import RegistryError
from dashboard.registry.images import build_image, push_image
from tests.pages import HTMX
from tests.servers import wait_for


@pytest.mark.registry
def test_a_share_lets_team_members_pull_until_the_deadline(
    worker: object,
    client,
    owner,
    make_user,
    make_org,
    berth_registry_client: RegistryClient,
    user_registry_client: Callable[..., RegistryClient],
) -> None:  # type: ignore[no-untyped-def]
    org = make_org(f"share-{uuid.uuid4().hex[:8]}", creator=owner)
    member = make_user("member")
    make_user("stranger")
    team = Group.objects.create(name=f"partners-{uuid.uuid4().hex[:6]}")
    member.groups.add(team)  # type: ignore[attr-defined]
    path = f"{org.name}/app"
    image = build_image(labels={"c": uuid.uuid4().hex})
    push_image(berth_registry_client, path, image, "v1")
    wait_for(
        lambda: Repository.objects.filter(organization=org, name="app", tag_count=1).exists(),
        timeout=30,
        what="the pushed image indexed",
    )

    # Before any share the image is private to its organization.
    with pytest.raises(RegistryError):
        user_registry_client("member").get_manifest(path, "v1")

    client.force_login(owner)
    day = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    response = client.post(
        f"/repos/{path}/-/sharing/", {"team": team.name, "valid_until": day}, **HTMX
    )
    assert response.status_code == 200
    assert user_registry_client("member").get_manifest(path, "v1").digest == image.digest
    with pytest.raises(RegistryError):
        push_image(user_registry_client("member"), path, build_image(), "v2")  # pull only
    with pytest.raises(RegistryError):
        user_registry_client("stranger").get_manifest(path, "v1")

    # The deadline passes: a new token carries no pull (a fresh client asks for one).
    Share.objects.filter(team=team).update(deadline=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(RegistryError):
        user_registry_client("member").get_manifest(path, "v1")
    assert berth_registry_client.tags(path) == ["v1"]
