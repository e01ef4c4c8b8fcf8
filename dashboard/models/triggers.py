import re

from django.conf import settings
from django.db import models
from django.utils import timezone


class Trigger(models.Model):
    """SWR's trigger with an HTTP webhook as its action: fires when a matching new tag arrives.

    `trigger_type` `all` (condition `.*`), `tag` (a `;`-separated list of exact tags) or
    `regular` (a regular expression searched anywhere in the tag). The secret signs each delivery
    (HMAC-SHA256); it is kept sealed because it must be recovered to sign. `headers` maps each
    extra header's name to its sealed value: the values often carry credentials, so only the
    names are ever shown. The services (dashboard/services/triggers/) validate all of it.
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
    # SWR's deployment target (a CCE/CCI workload), kept as the API set it and sent in each
    # delivery's payload for the deployment service behind the webhook; empty from the pages.
    app_type = models.CharField(max_length=20, blank=True)
    application = models.CharField(max_length=2000, blank=True)
    cluster_id = models.CharField(max_length=128, blank=True)
    cluster_name = models.CharField(max_length=128, blank=True)
    cluster_ns = models.CharField(max_length=128, blank=True)
    container = models.CharField(max_length=128, blank=True)
    trigger_mode = models.CharField(max_length=10, blank=True)
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

    @property
    def enable(self) -> str:
        """SWR's `enable`: the string "true" or "false"."""
        return "true" if self.enabled else "false"

    @property
    def workload(self) -> dict[str, str]:
        """SWR's deployment target fields (and `action`), as each delivery's payload has them."""
        return {
            "action": self.action,
            "app_type": self.app_type,
            "application": self.application,
            "cluster_id": self.cluster_id,
            "cluster_name": self.cluster_name,
            "cluster_ns": self.cluster_ns,
            "container": self.container,
            "trigger_mode": self.trigger_mode,
        }

    @property
    def header_names(self) -> list[str]:
        return sorted(self.headers, key=str.lower)

    @property
    def condition_tags(self) -> list[str]:
        """The exact tags of a `tag` trigger (empty for the other types)."""
        if self.trigger_type != self.Type.TAG:
            return []
        return [name for name in (part.strip() for part in self.condition.split(";")) if name]

    def matches(self, tag: str) -> bool:
        """Whether a new tag `tag` fires this trigger (enabled or not).

        `all` matches every tag; `tag` exactly one of the listed names (case-sensitive, as
        tags are); `regular` when the expression matches anywhere in the tag (`re.search`, as
        Go's `regexp.MatchString` does; `^` and `$` anchor it), like retention's exceptions.
        """
        if self.trigger_type == self.Type.ALL:
            return True
        if self.trigger_type == self.Type.TAG:
            return tag in self.condition_tags
        if self.trigger_type == self.Type.REGULAR:
            try:
                return re.search(self.condition, tag) is not None
            except re.error:
                return False  # only a row written around the service can hold a bad pattern
        return False


class TriggerDelivery(models.Model):
    """One webhook delivery of a trigger, with every attempt's outcome kept (SWR's history)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"

    FINISHED = frozenset({Status.SUCCESS, Status.FAILED})

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="deliveries")
    # The job that sends it (kind `trigger_delivery`): its retries, cancelling, who asked.
    job = models.ForeignKey(
        "dashboard.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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
    # The last attempt's failure: `WEBHOOK.HTTP_<status>`, `WEBHOOK.TIMEOUT`, ...
    error_code = models.CharField(max_length=60, blank=True)
    error = models.TextField(blank=True)
    # [{"attempt", "at", "status_code", "duration_ms", "error_code", "error"}], one per attempt.
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

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def stalled(self) -> bool:
        """Unfinished although its job ended (cancelled, or stopped on a bug): nothing will
        send it any more."""
        return not self.is_finished and self.job is not None and self.job.is_finished

    @property
    def waiting(self) -> bool:
        """Still to be sent, or being sent."""
        return not self.is_finished and not self.stalled

    @property
    def result(self) -> str:
        """SWR's history `result`: "success" or "failed" once finished, else ""."""
        return self.status if self.is_finished else ""
