from django.db import models


class RepositoryUsage(models.Model):
    """One repository's usage on one UTC day, for SWR's daily reports: the bytes it stored at
    the day's last measurement, the pulls the token realm counted that day, and the average size
    of its images then (a pull's estimated bytes)."""

    repository = models.ForeignKey(
        "dashboard.Repository", on_delete=models.CASCADE, related_name="usage"
    )
    date = models.DateField()
    # Bytes of the distinct tagged manifests (Repository.size) when measured.
    size = models.BigIntegerField(default=0)
    # `downloadImage` traces of that day (tokens that let pull without push).
    pulls = models.PositiveIntegerField(default=0)
    # size / distinct tagged manifests when measured: what one pull is counted as.
    image_size = models.BigIntegerField(default=0)
    measured_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "date"], name="usage_unique"),
        ]
        indexes = [models.Index(fields=["date"], name="usage_date")]

    def __str__(self) -> str:
        return f"{self.repository_id} {self.date}"
