from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone


class TeamProfile(models.Model):
    """What Berth adds to a team (a Django group): a description and its managers."""

    team = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="profile")
    description = models.CharField(max_length=500, blank=True)
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="managed_team_profiles"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.team.name
