from django.conf import settings
from django.db import models
from django.utils import timezone


class Category(models.TextChoices):
    """SWR's repository categories, with the console's labels."""

    APP_SERVER = "app_server", "Application server"
    LINUX = "linux", "Linux"
    WINDOWS = "windows", "Windows"
    ARM = "arm", "Arm"
    FRAMEWORK_APP = "framework_app", "Framework & Application"
    DATABASE = "database", "Database"
    LANG = "lang", "Language"
    OTHER = "other", "Others"


class Repository(models.Model):
    """An image repository: `<organization>/<name>` in the registry. `name` may contain `/`."""

    organization = models.ForeignKey(
        "dashboard.Organization", on_delete=models.PROTECT, related_name="repositories"
    )
    name = models.CharField(max_length=128)
    is_public = models.BooleanField(default=False)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    description = models.TextField(blank=True, max_length=30000)
    # Who created it through the API (SWR's creator_id/creator_name); None when a push did.
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Counters kept by the index service so that list pages need no aggregation.
    tag_count = models.PositiveIntegerField(default=0)
    size = models.BigIntegerField(default=0)
    num_download = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="repository_unique"),
        ]
        indexes = [models.Index(fields=["-updated_at"], name="repository_updated")]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        """The repository's path in the registry."""
        return f"{self.organization.name}/{self.name}"


class Manifest(models.Model):
    """What the index knows of one manifest digest: immutable, so fetched once."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="manifests")
    digest = models.CharField(max_length=100)
    media_type = models.CharField(max_length=120)
    manifest_size = models.PositiveIntegerField(default=0)
    # Image size: config + layers (compressed). For an index, the sum of its platforms.
    size = models.BigIntegerField(default=0)
    config_digest = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    os = models.CharField(max_length=40, blank=True)
    architecture = models.CharField(max_length=40, blank=True)
    variant = models.CharField(max_length=40, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    # [{"digest", "media_type", "size", "os", "architecture", "variant"}] for an index.
    platforms = models.JSONField(default=list, blank=True)
    # [{"digest", "media_type", "size"}] for an image manifest.
    layers = models.JSONField(default=list, blank=True)
    raw = models.TextField(blank=True)
    config = models.JSONField(null=True, blank=True)
    indexed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "digest"], name="manifest_unique"),
        ]

    def __str__(self) -> str:
        return self.digest

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES


INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)


class Tag(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    manifest = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="tags")
    pushed_at = models.DateTimeField(default=timezone.now)
    pushed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="tag_unique")]
        indexes = [
            models.Index(fields=["repository", "-pushed_at"], name="tag_pushed"),
        ]

    def __str__(self) -> str:
        return self.name
