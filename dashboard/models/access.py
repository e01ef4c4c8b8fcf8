from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q


class Level(models.IntegerChoices):
    """SWR permission levels: each includes the ones below it."""

    NONE = 0, "None"
    READ = 1, "Read"
    WRITE = 3, "Write"
    MANAGE = 7, "Manage"


class _Grant(models.Model):
    """A permission for exactly one principal: a user or a team (Django group)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.user or self.team}: {Level(self.level).label}"


class OrganizationPermission(_Grant):
    organization = models.ForeignKey(
        "dashboard.Organization", on_delete=models.CASCADE, related_name="permissions"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="org_perm_user_unique"),
            models.UniqueConstraint(fields=["organization", "team"], name="org_perm_team_unique"),
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True)
                | Q(user__isnull=True, team__isnull=False),
                name="org_perm_one_principal",
            ),
        ]


class RepositoryPermission(_Grant):
    repository = models.ForeignKey(
        "dashboard.Repository", on_delete=models.CASCADE, related_name="permissions"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "user"], name="repo_perm_user_unique"),
            models.UniqueConstraint(fields=["repository", "team"], name="repo_perm_team_unique"),
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True)
                | Q(user__isnull=True, team__isnull=False),
                name="repo_perm_one_principal",
            ),
        ]
