from django.conf import settings
from django.db import models
from django.utils import timezone


class RetentionPolicy(models.Model):
    """SWR's image retention policy: one per repository, one rule, algorithm `or`.

    `date_rule` keeps tags pushed within `value` days (1-365); `tag_rule` keeps the `value` most
    recently pushed tags (1-1000). Tags matched by `tag_selectors` are never deleted:
    `[{"kind": "label", "pattern": "<exact tag>"} | {"kind": "regexp", "pattern": "<regex>"}]`.
    The template cannot change after creation.
    """

    class Template(models.TextChoices):
        DATE_RULE = "date_rule", "Number of days"
        TAG_RULE = "tag_rule", "Number of tags"

    repository = models.OneToOneField(
        "dashboard.Repository", on_delete=models.CASCADE, related_name="retention_policy"
    )
    algorithm = models.CharField(max_length=10, default="or")
    template = models.CharField(max_length=20, choices=Template.choices)
    value = models.PositiveIntegerField()
    tag_selectors = models.JSONField(default=list, blank=True)
    scope = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The outcome of the last run, kept where the page shows it.
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_job = models.ForeignKey(
        "dashboard.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_deleted = models.PositiveIntegerField(default=0)
    last_error_code = models.CharField(max_length=60, blank=True)
    last_error_message = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"{self.template}={self.value} on {self.repository_id}"


class RetentionLog(models.Model):
    """One tag a retention run deleted (SWR's retention history), kept after the policy goes."""

    retention_id = models.PositiveBigIntegerField()
    repository = models.ForeignKey(
        "dashboard.Repository",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retention_logs",
    )
    namespace = models.CharField(max_length=64)
    repo = models.CharField(max_length=128)
    tag = models.CharField(max_length=128)
    digest = models.CharField(max_length=100, blank=True)
    # The rule as SWR records it: a JSON string {"template", "params", "tag_selectors"}.
    rule_type = models.TextField()
    job = models.ForeignKey(
        "dashboard.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["repository", "-created_at"], name="retention_log_repo")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.repo}:{self.tag}"
