from django.conf import settings
from django.db import models
from django.utils import timezone


class RemoteRegistry(models.Model):
    """Another registry images are synchronized to: SWR's "region", registered by admins.

    Credentials are used for whatever challenge the remote answers (Basic, or a Bearer token
    from its realm); the password is kept encrypted because it must be sent.
    """

    name = models.CharField(max_length=64, unique=True)
    url = models.URLField(max_length=500)
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.TextField(blank=True)
    verify_tls = models.BooleanField(default=True)
    description = models.CharField(max_length=1000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The last "test connection": when, whether it worked, and what the remote said.
    checked_at = models.DateTimeField(null=True, blank=True)
    check_ok = models.BooleanField(null=True, blank=True)
    check_message = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "remote registries"

    def __str__(self) -> str:
        return self.name


class SyncRule(models.Model):
    """A repository's sync target: a remote registry and organization there (SWR's sync_repo).

    With `sync_auto`, tags pushed after the rule exists are copied; `override` lets a copy
    replace a different image under the same tag in the target.
    """

    repository = models.ForeignKey(
        "dashboard.Repository", on_delete=models.CASCADE, related_name="sync_rules"
    )
    remote = models.ForeignKey(RemoteRegistry, on_delete=models.CASCADE, related_name="rules")
    remote_namespace = models.CharField(max_length=64)
    sync_auto = models.BooleanField(default=False)
    override = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["repository_id", "remote__name", "remote_namespace"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "remote", "remote_namespace"], name="sync_rule_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.repository_id} → {self.remote_id}/{self.remote_namespace}"


class SyncJob(models.Model):
    """The copy of one tag to one target, with SWR's sync statuses (a record per tag)."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        TIMEOUT = "timeout", "Timeout"
        CANCEL = "cancel", "Cancelled"
        EXISTED = "existed", "Existed"

    FINISHED = frozenset(
        {Status.SUCCESS, Status.FAILED, Status.TIMEOUT, Status.CANCEL, Status.EXISTED}
    )

    repository = models.ForeignKey(
        "dashboard.Repository",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sync_jobs",
    )
    namespace = models.CharField(max_length=64)
    repo_name = models.CharField(max_length=128)
    tag = models.CharField(max_length=128)
    # The digest copied (what the tag pointed at when the copy started).
    digest = models.CharField(max_length=100, blank=True)
    remote = models.ForeignKey(
        RemoteRegistry, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    remote_region_id = models.CharField(max_length=64)
    remote_namespace = models.CharField(max_length=64)
    override = models.BooleanField(default=False)
    # The rule that fired it (automatic sync), or None for a manual sync.
    rule = models.ForeignKey(
        SyncRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    # The batch this copy belongs to: its Job carries the overall progress bar.
    job = models.ForeignKey(
        "dashboard.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_jobs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    bytes_total = models.PositiveBigIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    blobs_total = models.PositiveIntegerField(default=0)
    blobs_done = models.PositiveIntegerField(default=0)
    blobs_skipped = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    operator_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["repository", "-created_at"], name="sync_job_repo"),
            models.Index(fields=["status"], name="sync_job_status"),
        ]

    def __str__(self) -> str:
        target = f"{self.remote_region_id}/{self.remote_namespace}"
        return f"{self.namespace}/{self.repo_name}:{self.tag} → {target} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status in (self.Status.SUCCESS, self.Status.EXISTED):
            return 100
        if not self.bytes_total:
            return 0
        return min(100, int(100 * self.bytes_done / self.bytes_total))
