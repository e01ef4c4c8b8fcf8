"""Sync reads for pages: remote registries, a repository's rules, records and running batches."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from dashboard.models import Job, RemoteRegistry, Repository, SyncJob, SyncRule, Tag

#: Tags offered as checkboxes in the manual sync form (more can be typed).
RECENT_TAGS = 50
#: Running batches shown on the Sync tab.
ACTIVE_BATCHES = 5


def remote_registry_list() -> QuerySet[RemoteRegistry]:
    """Every remote registry with how many rules target it, by name."""
    return RemoteRegistry.objects.annotate(rule_count=Count("rules")).order_by("name")


def sync_rule_list(*, repository: Repository) -> QuerySet[SyncRule]:
    """The repository's sync targets, by registry and organization."""
    return (
        SyncRule.objects.filter(repository=repository)
        .select_related("remote", "created_by")
        .order_by("remote__name", "remote_namespace")
    )


def sync_record_list(
    *, repository: Repository, status: str = "", oldest_first: bool = False
) -> QuerySet[SyncJob]:
    """The repository's sync records, newest first (or oldest first); `status` narrows them
    when it is one of SWR's sync statuses."""
    order = ("created_at", "id") if oldest_first else ("-created_at", "-id")
    records = SyncJob.objects.filter(repository=repository).order_by(*order)
    if status in SyncJob.Status.values:
        records = records.filter(status=status)
    return records


def sync_batches_active(*, repository: Repository) -> list[Job]:
    """The repository's unfinished sync jobs (newest first), each with `.records` loaded."""
    jobs = list(
        Job.objects.filter(repository=repository, kind=Job.Kind.SYNC)
        .exclude(status__in=Job.FINISHED)
        .order_by("-created_at", "-id")[:ACTIVE_BATCHES]
    )
    return [sync_batch_with_records(job=job) for job in jobs]


def sync_batch_with_records(*, job: Job) -> Job:
    """`job` with its records in `.records` (in the order they were asked for)."""
    job.records = list(SyncJob.objects.filter(job=job).order_by("pk"))  # type: ignore[attr-defined]
    return job


def sync_recent_tags(*, repository: Repository) -> list[str]:
    """The names of the repository's most recently pushed tags, for the manual sync form."""
    return list(
        Tag.objects.filter(repository=repository)
        .order_by("-pushed_at", "name")
        .values_list("name", flat=True)[:RECENT_TAGS]
    )
