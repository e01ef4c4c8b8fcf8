"""Index rows for page tests that do not need the registry: repositories, manifests and tags
written straight into the database, shaped as the index service writes them."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from typing import Any

from django.utils import timezone

from dashboard.models import (
    Level,
    Manifest,
    Organization,
    OrganizationPermission,
    Repository,
    RepositoryPermission,
    Tag,
)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_counter = itertools.count(1)


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def make_repository(
    organization: Organization,
    name: str,
    *,
    is_public: bool = False,
    category: str = "other",
    description: str = "",
    tag_count: int = 0,
    size: int = 0,
    updated_at: dt.datetime | None = None,
) -> Repository:
    return Repository.objects.create(
        organization=organization,
        name=name,
        is_public=is_public,
        category=category,
        description=description,
        tag_count=tag_count,
        size=size,
        updated_at=updated_at or timezone.now(),
    )


def make_manifest(
    repository: Repository,
    *,
    seed: str | None = None,
    size: int = 2048,
    os: str = "linux",
    architecture: str = "amd64",
    variant: str = "",
    created: dt.datetime | None = None,
    labels: dict[str, str] | None = None,
    env: list[str] | None = None,
    with_details: bool = True,
) -> Manifest:
    """An image manifest; with its raw text and config unless `with_details` is False."""
    seed = seed or f"m{next(_counter)}"
    layer = {
        "digest": digest_of(seed + "-layer"),
        "media_type": "application/vnd.oci.image.layer.v1.tar+gzip",
        "size": size - 300,
    }
    config_digest = digest_of(seed + "-config")
    raw = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": 300,
        },
        "layers": [
            {"mediaType": layer["media_type"], "digest": layer["digest"], "size": layer["size"]}
        ],
    }
    config = {
        "architecture": architecture,
        "os": os,
        "created": "2026-01-01T00:00:00Z",
        "config": {"Env": env or ["PATH=/usr/bin"], "Labels": labels or {}, "Cmd": ["/bin/sh"]},
        "history": [
            {"created": "2026-01-01T00:00:00Z", "created_by": f"/bin/sh -c #(nop) ADD {seed}"}
        ],
    }
    text = json.dumps(raw, indent=3)
    return Manifest.objects.create(
        repository=repository,
        digest=digest_of(text),
        media_type=OCI_MANIFEST,
        manifest_size=len(text),
        size=size,
        config_digest=config_digest,
        created=created or dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        os=os,
        architecture=architecture,
        variant=variant,
        labels=labels or {},
        layers=[layer],
        raw=text if with_details else "",
        config=config if with_details else None,
    )


def make_index(repository: Repository, children: list[Manifest]) -> Manifest:
    """A multi-arch index over `children` (already indexed manifests of the repository)."""
    raw = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": child.digest,
                "size": child.manifest_size,
                "platform": {"os": child.os, "architecture": child.architecture}
                | ({"variant": child.variant} if child.variant else {}),
            }
            for child in children
        ],
    }
    text = json.dumps(raw, indent=3)
    return Manifest.objects.create(
        repository=repository,
        digest=digest_of(text),
        media_type=OCI_INDEX,
        manifest_size=len(text),
        size=sum(child.size for child in children),
        platforms=[
            {
                "digest": child.digest,
                "media_type": OCI_MANIFEST,
                "size": child.size,
                "os": child.os,
                "architecture": child.architecture,
                "variant": child.variant,
            }
            for child in children
        ],
        raw=text,
    )


def make_tag(
    repository: Repository,
    name: str,
    manifest: Manifest | None = None,
    *,
    pushed_at: dt.datetime | None = None,
    pushed_by: str = "owner",
) -> Tag:
    """A tag (and a manifest for it when none is given); the repository's counters follow."""
    manifest = manifest or make_manifest(repository)
    tag = Tag.objects.create(
        repository=repository,
        name=name,
        manifest=manifest,
        pushed_at=pushed_at or timezone.now(),
        pushed_by=pushed_by,
    )
    refresh_counters(repository)
    return tag


def refresh_counters(repository: Repository) -> None:
    tags = Tag.objects.filter(repository=repository).select_related("manifest")
    repository.tag_count = tags.count()
    repository.size = sum({t.manifest.digest: t.manifest.size for t in tags}.values())
    repository.save(update_fields=["tag_count", "size"])


def grant_org(organization: Organization, user: Any, level: int) -> OrganizationPermission:
    return OrganizationPermission.objects.create(organization=organization, user=user, level=level)


def grant_repo(repository: Repository, user: Any, level: int) -> RepositoryPermission:
    return RepositoryPermission.objects.create(repository=repository, user=user, level=level)


__all__ = ["Level"]
