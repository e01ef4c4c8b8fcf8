from django.conf import settings
from django.db import models
from django.utils import timezone


class Organization(models.Model):
    """An SWR organization (namespace): the first path segment of every repository."""

    name = models.CharField(max_length=64, unique=True)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
