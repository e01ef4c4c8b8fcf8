"""`manage.py reconcile`: repair the index from the registry and print what changed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dashboard.services.reconcile import reconcile_run


class Command(BaseCommand):
    help = "Walk the registry's catalog and tags and bring Berth's index in line with them."

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile_run()
        self.stdout.write(f"repositories seen:  {report.repositories_seen}")
        self.stdout.write(f"tags added:         {report.tags_added}")
        self.stdout.write(f"tags changed:       {report.tags_changed}")
        self.stdout.write(f"tags removed:       {report.tags_removed}")
        self.stdout.write(f"manifests indexed:  {report.manifests_indexed}")
        for error in report.errors:
            self.stderr.write(f"error: {error}")
        if not report.complete:
            raise CommandError(
                f"Reconcile incomplete ({report.errors_total} errors); "
                "what could not be listed was left as it is."
            )
        self.stdout.write(self.style.SUCCESS("Reconcile complete."))
