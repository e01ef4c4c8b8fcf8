import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Triggers: each delivery knows the job that sends it and keeps its last error's code."""

    dependencies = [
        ("dashboard", "0005_jobs_retention_sync_triggers"),
    ]

    operations = [
        migrations.AddField(
            model_name="triggerdelivery",
            name="error_code",
            field=models.CharField(blank=True, max_length=60),
        ),
        migrations.AddField(
            model_name="triggerdelivery",
            name="job",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="dashboard.job",
            ),
        ),
    ]
