"""Trigger reads for the Triggers tab: the triggers with their latest deliveries, and one
trigger's deliveries page by page. Two queries whatever the number of triggers or deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from dashboard.models import Repository, Trigger, TriggerDelivery

#: Deliveries shown under each trigger on the tab; the trigger's own page lists them all.
RECENT_DELIVERIES = 5


@dataclass(frozen=True)
class TriggerRow:
    trigger: Trigger
    deliveries: list[TriggerDelivery]

    @property
    def waiting(self) -> bool:
        """Whether a shown delivery is still to be sent (the tab then polls for its outcome)."""
        return any(delivery.waiting for delivery in self.deliveries)


def trigger_deliveries(*, trigger: Trigger) -> QuerySet[TriggerDelivery]:
    """The trigger's deliveries, newest first, with their jobs."""
    return (
        TriggerDelivery.objects.filter(trigger=trigger)
        .select_related("job")
        .order_by("-created_at", "-id")
    )


def trigger_rows(*, repository: Repository, recent: int = RECENT_DELIVERIES) -> list[TriggerRow]:
    """The repository's triggers by name, each with its `recent` newest deliveries."""
    triggers = list(Trigger.objects.filter(repository=repository).order_by("name"))
    latest: dict[int, list[TriggerDelivery]] = {trigger.pk: [] for trigger in triggers}
    if triggers and recent > 0:
        newest_first = [F("created_at").desc(), F("id").desc()]
        deliveries = (
            TriggerDelivery.objects.filter(trigger__in=list(latest))
            .select_related("job")
            .annotate(
                position=Window(RowNumber(), partition_by=[F("trigger_id")], order_by=newest_first)
            )
            .filter(position__lte=recent)
            .order_by("trigger_id", "-created_at", "-id")
        )
        for delivery in deliveries:
            latest[delivery.trigger_id].append(delivery)
    return [TriggerRow(trigger=trigger, deliveries=latest[trigger.pk]) for trigger in triggers]
