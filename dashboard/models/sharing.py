import datetime as dt

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone


class Share(models.Model):
    """A private repository shared with a team (SWR's access domain): pull only, until a
    deadline or forever (`deadline` None)."""

    repository = models.ForeignKey(
        "dashboard.Repository", on_delete=models.CASCADE, related_name="shares"
    )
    team = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="shares")
    permit = models.CharField(max_length=10, default="read")
    deadline = models.DateTimeField(null=True, blank=True)
    description = models.CharField(max_length=1000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["repository_id", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "team"], name="share_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.repository_id} → {self.team_id}"

    def is_valid(self, now: dt.datetime | None = None) -> bool:
        """Whether the share still grants pull (SWR's `status`)."""
        return self.deadline is None or self.deadline > (now or timezone.now())
