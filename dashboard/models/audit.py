from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One audited action (SWR's CTS trace). Rows are appended, never edited."""

    class Result(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    # SWR's trace name, e.g. createUserNamespace, deleteImageTag, uploadManifest.
    action = models.CharField(max_length=64, db_index=True)
    resource_type = models.CharField(max_length=40)
    resource_name = models.CharField(max_length=300, blank=True)
    organization = models.CharField(max_length=64, blank=True, db_index=True)
    result = models.CharField(max_length=10, choices=Result.choices, default=Result.SUCCESS)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.resource_name} ({self.result})"
