from django.conf import settings
from django.db import models
from django.utils import timezone


class Trigger(models.Model):
    """SWR's trigger with an HTTP webhook as its action: fires when a matching new tag arrives.

    `trigger_type` `all` (condition `.*`), `tag` (a `;`-separated list of exact tags) or
    `regular` (a regular expression). The secret signs each delivery (HMAC-SHA256); it is kept
    encrypted because it must be recovered to sign.
    """

    class Type(models.TextChoices):
        ALL = "all", "All tags"
        TAG = "tag", "Specific tags"
        REGULAR = "regular", "Regular expression"

    class PayloadFormat(models.TextChoices):
        BERTH = "berth", "Berth JSON"
        CLOUDEVENTS = "cloudevents", "CloudEvents 1.0 (structured JSON)"

    repository = models.ForeignKey(
        "dashboard.Repository", on_delete=models.CASCADE, related_name="triggers"
    )
    name = models.CharField(max_length=64)
    trigger_type = models.CharField(max_length=10, choices=Type.choices, default=Type.ALL)
    condition = models.CharField(max_length=2000, default=".*")
    enabled = models.BooleanField(default=True)
    action = models.CharField(max_length=20, default="webhook")
    url = models.URLField(max_length=2000)
    secret_encrypted = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    payload_format = models.CharField(
        max_length=20, choices=PayloadFormat.choices, default=PayloadFormat.BERTH
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    creator_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["repository_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="trigger_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class TriggerDelivery(models.Model):
    """One webhook delivery of a trigger, with every attempt's outcome kept (SWR's history)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20, default="push")  # push | test
    # Deduplicates at-least-once notifications: one delivery per trigger and push.
    event_key = models.CharField(max_length=200, blank=True)
    tag = models.CharField(max_length=128, blank=True)
    digest = models.CharField(max_length=100, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # [{"at", "status_code", "duration_ms", "error"}], one entry per attempt.
    attempt_log = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "event_key"],
                condition=~models.Q(event_key=""),
                name="trigger_delivery_unique_event",
            ),
        ]
        indexes = [models.Index(fields=["trigger", "-created_at"], name="trigger_delivery_recent")]

    def __str__(self) -> str:
        return f"{self.trigger_id} {self.event} {self.tag} ({self.status})"
