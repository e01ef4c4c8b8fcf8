from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dashboard.models.access import Level


class AccessRequest(models.Model):
    """A user's self-service request for a level on one organization or one repository."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        CANCELLED = "cancelled", "Cancelled"

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests"
    )
    organization = models.ForeignKey(
        "dashboard.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_requests",
    )
    repository = models.ForeignKey(
        "dashboard.Repository",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_requests",
    )
    level = models.PositiveSmallIntegerField(
        choices=[(Level.READ, "Read"), (Level.WRITE, "Write"), (Level.MANAGE, "Manage")]
    )
    reason = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(organization__isnull=False, repository__isnull=True)
                | Q(organization__isnull=True, repository__isnull=False),
                name="access_request_one_target",
            ),
            models.UniqueConstraint(
                fields=["requester", "organization"],
                condition=Q(status="pending", organization__isnull=False),
                name="access_request_one_pending_org",
            ),
            models.UniqueConstraint(
                fields=["requester", "repository"],
                condition=Q(status="pending", repository__isnull=False),
                name="access_request_one_pending_repo",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.requester_id} → {self.target_name}: {self.level} ({self.status})"

    @property
    def target_name(self) -> str:
        """`org` or `org/repo` (needs the target loaded, with the repository's organization)."""
        if self.repository is not None:
            return self.repository.full_name
        return self.organization.name if self.organization is not None else ""
