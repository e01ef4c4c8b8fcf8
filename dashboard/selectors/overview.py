"""The overview's figures: the page's counts, and the SWR API's overview and daily reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    BigIntegerField,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from dashboard.models import RepositoryUsage, Tag
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


def downflow_for_user(*, user: AnyUser) -> int:
    """Estimated bytes ever pulled from the repositories `user` can see: each pull the token
    realm counted (`num_download`) as one average image of its repository (bytes stored /
    distinct tagged manifests, as now). One query."""
    images = (
        Tag.objects.filter(repository=OuterRef("pk"))
        .values("repository")
        .annotate(n=Count("manifest", distinct=True))
        .values("n")
    )
    totals = (
        repositories_visible_to(user=user)
        .annotate(images=Subquery(images))
        .filter(images__gt=0)
        .aggregate(
            bytes=Sum(
                ExpressionWrapper(
                    F("size") / F("images") * F("num_download"), output_field=BigIntegerField()
                )
            )
        )
    )
    return int(totals["bytes"] or 0)


#: SWR's report resource types: bytes stored, and estimated bytes pulled, per day.
REPORT_TYPES = ("store", "downflow")


def usage_report_for_user(
    *, user: AnyUser, resource_type: str, days: int
) -> list[tuple[dt.date, int]]:
    """(UTC day, bytes) for the last `days` days that have measurements (services/stats.py),
    oldest first, over the repositories `user` can see: `store` sums what they stored, and
    `downflow` their pulls times their average image size. One query."""
    per_row = F("size") if resource_type == "store" else F("pulls") * F("image_size")
    value = Sum(ExpressionWrapper(per_row, output_field=BigIntegerField()))
    since = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=days - 1)
    rows = (
        RepositoryUsage.objects.filter(
            repository__in=repositories_visible_to(user=user).values("pk"), date__gte=since
        )
        .values("date")
        .annotate(value=value)
        .order_by("date")
        .values_list("date", "value")
    )
    return [(day, int(total or 0)) for day, total in rows]
