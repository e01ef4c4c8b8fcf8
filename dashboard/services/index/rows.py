"""Repositories and tags in the index, and the counters list pages read.

Every tag write keeps the newest state: an older push never overwrites a newer tag
(`tag_set`), and a delete removes a tag only when it was pushed at or before the delete
(`tag_forget(before=...)`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Sum

from dashboard.models import Category, Manifest, Organization, Repository, Tag

# -- repositories ----------------------------------------------------------------------------------


def split_repository_path(path: str) -> tuple[str, str] | None:
    """(organization, name) of a registry path; None when it cannot be a Berth repository."""
    org, sep, name = path.partition("/")
    if not sep or not org or not name or len(org) > 64 or len(name) > 128:
        return None
    return org, name


def repository_get_or_create_for_path(*, path: str) -> Repository | None:
    """The Repository for registry path `org/name`, created (private, `other`) on first push.

    An organization missing from the index (content pushed with an admin token) is created with
    no creator. Returns None for paths without an organization part.
    """
    return repositories_get_or_create_for_paths([path]).get(path)


def repositories_get_or_create_for_paths(paths: Iterable[str]) -> dict[str, Repository]:
    """`repository_get_or_create_for_path` for many paths at once, in a few queries."""
    paths = set(paths)
    found = repositories_by_path(paths)
    missing = {
        p: parts for p in set(paths) - set(found) if (parts := split_repository_path(p)) is not None
    }
    if not missing:
        return found
    org_names = {org for org, _ in missing.values()}
    Organization.objects.bulk_create(
        [Organization(name=name) for name in org_names], ignore_conflicts=True
    )
    orgs = {o.name: o for o in Organization.objects.filter(name__in=org_names)}
    Repository.objects.bulk_create(
        [
            Repository(organization=orgs[org], name=name, is_public=False, category=Category.OTHER)
            for org, name in missing.values()
        ],
        ignore_conflicts=True,
    )
    return {**found, **repositories_by_path(missing)}


def repositories_by_path(paths: Iterable[str]) -> dict[str, Repository]:
    """Existing repositories for registry paths, in one query."""
    wanted = {p: parts for p in set(paths) if (parts := split_repository_path(p)) is not None}
    if not wanted:
        return {}
    orgs = {org for org, _ in wanted.values()}
    names = {name for _, name in wanted.values()}
    found = Repository.objects.select_related("organization").filter(
        organization__name__in=orgs, name__in=names
    )
    by_path = {repo.full_name: repo for repo in found}
    return {path: by_path[path] for path in wanted if path in by_path}


def repository_refresh_counters(*, repositories: Iterable[Repository]) -> None:
    """Recompute tag_count, size (distinct tagged manifests) and updated_at (latest push).

    Three queries whatever the number of repositories, plus one update per repository whose
    counters changed.
    """
    repos = {repo.pk: repo for repo in repositories}
    if not repos:
        return
    tag_stats = {
        row["repository_id"]: (row["n"], row["last"])
        for row in Tag.objects.filter(repository_id__in=repos)
        .values("repository_id")
        .annotate(n=Count("id"), last=Max("pushed_at"))
        .order_by()
    }
    sizes = dict(
        Manifest.objects.filter(repository_id__in=repos)
        .filter(Exists(Tag.objects.filter(manifest_id=OuterRef("pk"))))
        .values("repository_id")
        .annotate(total=Sum("size"))
        .order_by()
        .values_list("repository_id", "total")
    )
    stored = Repository.objects.filter(pk__in=repos).values_list(
        "pk", "tag_count", "size", "updated_at"
    )
    for pk, tag_count, size, updated_at in stored:
        count, last = tag_stats.get(pk, (0, None))
        fresh = {"tag_count": count, "size": int(sizes.get(pk) or 0)}
        if last is not None:
            fresh["updated_at"] = last  # without tags, the last change time stays
        current = {"tag_count": tag_count, "size": size, "updated_at": updated_at}
        for name, value in fresh.items():
            setattr(repos[pk], name, value)
        if any(current[name] != value for name, value in fresh.items()):
            Repository.objects.filter(pk=pk).update(**fresh)


# -- tags ------------------------------------------------------------------------------------------


def tag_push_verdict(
    *,
    current_manifest_id: int,
    current_pushed_at: dt.datetime,
    current_pushed_by: str,
    manifest_id: int,
    pushed_at: dt.datetime,
) -> str:
    """How a tag at `current_*` takes a push of `manifest_id` at `pushed_at`.

    "set": the push is as new or newer; "adopt": the same manifest seen earlier by its real push
    (reconcile only knew when it saw it); "keep": the push is older than what the index holds.
    """
    if pushed_at >= current_pushed_at:
        return "set"
    if current_manifest_id == manifest_id and not current_pushed_by:
        return "adopt"
    return "keep"


def tag_set(
    *,
    repository: Repository,
    name: str,
    manifest: Manifest,
    pushed_at: dt.datetime,
    pushed_by: str,
) -> Tag:
    """Point tag `name` at `manifest` unless the index already holds a newer state of it.

    Returns the tag as it is afterwards (unchanged when the given push is older).
    """
    with transaction.atomic():
        tag = Tag.objects.select_for_update().filter(repository=repository, name=name).first()
        if tag is None:
            try:
                with transaction.atomic():
                    return Tag.objects.create(
                        repository=repository,
                        name=name,
                        manifest=manifest,
                        pushed_at=pushed_at,
                        pushed_by=pushed_by,
                    )
            except IntegrityError:
                tag = Tag.objects.select_for_update().get(repository=repository, name=name)
        verdict = tag_push_verdict(
            current_manifest_id=tag.manifest_id,
            current_pushed_at=tag.pushed_at,
            current_pushed_by=tag.pushed_by,
            manifest_id=manifest.pk,
            pushed_at=pushed_at,
        )
        if verdict != "keep":
            tag.manifest = manifest
            tag.pushed_at = pushed_at
            tag.pushed_by = pushed_by
            tag.save(update_fields=["manifest", "pushed_at", "pushed_by"])
        return tag


def tag_forget(
    *,
    repository: Repository,
    names: Iterable[str],
    before: dt.datetime | None = None,
    refresh: bool = True,
) -> int:
    """Remove tags from the index; with `before`, only those pushed at or before it.

    Refreshes the repository's counters unless `refresh` is False (the caller does it for many
    repositories at once). Returns how many tags were removed.
    """
    qs = Tag.objects.filter(repository=repository, name__in=list(names))
    if before is not None:
        qs = qs.filter(pushed_at__lte=before)
    removed, _ = qs.delete()
    if removed and refresh:
        repository_refresh_counters(repositories=[repository])
    return removed


def manifest_forget(*, repository: Repository, digest: str) -> bool:
    """Remove a deleted manifest and every tag on it from the index (the registry removes them
    together). Refreshes the repository's counters. Returns whether anything was removed."""
    with transaction.atomic():
        manifest = Manifest.objects.filter(repository=repository, digest=digest).first()
        if manifest is None:
            return False
        Tag.objects.filter(manifest=manifest).delete()
        manifest.delete()
    repository_refresh_counters(repositories=[repository])
    return True
