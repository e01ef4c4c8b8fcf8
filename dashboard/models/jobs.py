from django.conf import settings
from django.db import models
from django.utils import timezone


class Job(models.Model):
    """A piece of slow work the UI can watch. Tasks update it; pages read it.

    `heartbeat_at` is refreshed while a worker runs the job, so a job whose worker died is
    found (no heartbeat for `BERTH_JOB_STALE_SECONDS`) and marked errored, never left running.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ERRORED = "errored", "Errored"
        CANCELLED = "cancelled", "Cancelled"

    class Kind(models.TextChoices):
        RECONCILE = "reconcile", "Reconcile"
        RETENTION = "retention", "Retention"
        SYNC = "sync", "Image sync"
        TRIGGER_DELIVERY = "trigger_delivery", "Trigger delivery"

    FINISHED = frozenset({Status.SUCCEEDED, Status.FAILED, Status.ERRORED, Status.CANCELLED})

    kind = models.CharField(max_length=40, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    repository = models.ForeignKey(
        "dashboard.Repository", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the job works on, for lists that outlive the repository ("demo/hello", "all").
    target = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    progress_done = models.PositiveBigIntegerField(default=0)
    progress_total = models.PositiveBigIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat"),
            models.Index(fields=["repository", "-created_at"], name="job_repository"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        """Progress in whole percent (0 while the total is unknown)."""
        if not self.progress_total:
            return 100 if self.status == self.Status.SUCCEEDED else 0
        return min(100, int(100 * self.progress_done / self.progress_total))
