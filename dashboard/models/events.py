from django.db import models
from django.utils import timezone


class RegistryEvent(models.Model):
    """A registry notification, stored once (by event id) and turned into the index later."""

    event_id = models.CharField(max_length=64, unique=True)
    action = models.CharField(max_length=16)
    repository = models.CharField(max_length=256, blank=True)
    digest = models.CharField(max_length=100, blank=True)
    tag = models.CharField(max_length=128, blank=True)
    media_type = models.CharField(max_length=120, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    timestamp = models.DateTimeField()
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["processed_at", "id"], name="event_pending")]

    def __str__(self) -> str:
        return f"{self.action} {self.repository}"
