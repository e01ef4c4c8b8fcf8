"""Usage history for SWR's daily reports (SWR-SPEC.md §1.12, §2.11): what each repository
stores and how much is pulled from it, one row per repository and UTC day.

Berth keeps no history of sizes otherwise, so beat calls `usage_snapshot` hourly:

- `size`: the repository's bytes (its distinct tagged manifests, `Repository.size`) at the
  day's last measurement;
- `pulls`: the `downloadImage` audit traces of that day. The token realm writes one for each
  token that lets pull a repository without push (dashboard/services/audit.py), which is how
  Berth sees pulls at all: the registry sends no pull events;
- `image_size`: the repository's bytes divided by its distinct tagged manifests at the
  measurement. A token names a repository, not a tag, so a pull is counted as one average
  image of the repository: downflow = pulls x image_size is an estimate, not a byte count (a
  client that finds layers it already has moves fewer; a multi-arch pull moves one platform).

Each run rewrites today's rows and recounts yesterday's pulls (the traces after yesterday's
last run), so re-running converges. Rows older than HISTORY_DAYS go. A day without any run has
no rows; a repository deleted since takes its rows with it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from dashboard.models import AuditEvent, Repository, RepositoryUsage, Tag

#: Days of history kept (and reported).
HISTORY_DAYS = 30
_BATCH = 500


def _utc_day(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def _pulls(day: dt.date) -> dict[str, int]:
    """`org/repo` → pulls counted on `day` (UTC). One query."""
    start, end = _utc_day(day)
    rows = (
        AuditEvent.objects.filter(action="downloadImage", created_at__gte=start, created_at__lt=end)
        .values("resource_name")
        .annotate(n=Count("id"))
        .values_list("resource_name", "n")
    )
    return dict(rows)


def usage_snapshot(*, now: dt.datetime | None = None) -> int:
    """Measure every repository for today (UTC), recount yesterday's pulls, drop rows older
    than HISTORY_DAYS. Returns how many rows of today were written. A fixed number of queries,
    plus one per 500 repositories and per 500 rows of yesterday whose pulls changed."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    yesterday = today - dt.timedelta(days=1)
    images = dict(
        Tag.objects.values("repository")
        .annotate(n=Count("manifest", distinct=True))
        .values_list("repository", "n")
    )
    repositories = Repository.objects.values_list("pk", "organization__name", "name", "size")
    pulled_today, pulled_yesterday = _pulls(today), _pulls(yesterday)
    names: dict[int, str] = {}
    rows = []
    for pk, organization, name, size in repositories:
        full_name = names[pk] = f"{organization}/{name}"
        count = images.get(pk, 0)
        rows.append(
            RepositoryUsage(
                repository_id=pk,
                date=today,
                size=size,
                pulls=pulled_today.get(full_name, 0),
                image_size=size // count if count else 0,
                measured_at=now,
            )
        )
    with transaction.atomic():
        RepositoryUsage.objects.bulk_create(
            rows,
            batch_size=_BATCH,
            update_conflicts=True,
            unique_fields=["repository", "date"],
            update_fields=["size", "pulls", "image_size", "measured_at"],
        )
        recounted = []
        for row in RepositoryUsage.objects.filter(date=yesterday).only("repository", "pulls"):
            pulls = pulled_yesterday.get(names.get(row.repository_id, ""), 0)
            if pulls != row.pulls:
                row.pulls = pulls
                recounted.append(row)
        RepositoryUsage.objects.bulk_update(recounted, ["pulls"], batch_size=_BATCH)
        RepositoryUsage.objects.filter(date__lt=today - dt.timedelta(days=HISTORY_DAYS)).delete()
    return len(rows)
