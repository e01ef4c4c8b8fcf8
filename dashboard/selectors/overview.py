"""The overview page's figures."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet, Sum

from dashboard.models import Tag
from dashboard.services.access import (
    AnyUser,
    organizations_visible_to,
    repositories_visible_to,
)


@dataclass(frozen=True)
class Overview:
    organizations: int
    repositories: int
    tags: int
    storage: int


def overview_for_user(*, user: AnyUser) -> Overview:
    """Counts of what `user` can see: organizations, repositories, tags, bytes stored.

    Two queries."""
    totals = repositories_visible_to(user=user).aggregate(
        repositories=Count("pk"), tags=Sum("tag_count"), storage=Sum("size")
    )
    return Overview(
        organizations=organizations_visible_to(user=user).count(),
        repositories=totals["repositories"] or 0,
        tags=totals["tags"] or 0,
        storage=totals["storage"] or 0,
    )


def recent_pushes(*, user: AnyUser, limit: int = 10) -> QuerySet[Tag]:
    """The latest tag pushes in repositories `user` can see. One query."""
    return (
        Tag.objects.filter(repository__in=repositories_visible_to(user=user))
        .select_related("repository__organization", "manifest")
        .defer("manifest__raw", "manifest__config")
        .order_by("-pushed_at")[:limit]
    )
