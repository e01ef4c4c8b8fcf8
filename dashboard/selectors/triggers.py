"""Trigger reads for the Triggers tab and the API: the triggers with their latest deliveries,
one trigger's deliveries page by page, and SWR's trigger histories. Two queries whatever the
number of triggers or deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from dashboard.models import Repository, Trigger, TriggerDelivery

#: Deliveries shown under each trigger on the tab; the trigger's own page lists them all.
RECENT_DELIVERIES = 5
#: Finished deliveries the API lists as each trigger's SWR `trigger_history`.
HISTORY_DELIVERIES = 100


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


def _newest(
    deliveries: QuerySet[TriggerDelivery], trigger_ids: list[int], recent: int
) -> dict[int, list[TriggerDelivery]]:
    """The `recent` newest of `deliveries` of each trigger, newest first (one query)."""
    latest: dict[int, list[TriggerDelivery]] = {pk: [] for pk in trigger_ids}
    if trigger_ids and recent > 0:
        newest_first = [F("created_at").desc(), F("id").desc()]
        ranked = (
            deliveries.filter(trigger__in=trigger_ids)
            .annotate(
                position=Window(RowNumber(), partition_by=[F("trigger_id")], order_by=newest_first)
            )
            .filter(position__lte=recent)
            .order_by("trigger_id", "-created_at", "-id")
        )
        for delivery in ranked:
            latest[delivery.trigger_id].append(delivery)
    return latest


def trigger_rows(*, repository: Repository, recent: int = RECENT_DELIVERIES) -> list[TriggerRow]:
    """The repository's triggers by name, each with its `recent` newest deliveries."""
    triggers = list(Trigger.objects.filter(repository=repository).order_by("name"))
    deliveries = TriggerDelivery.objects.select_related("job")
    latest = _newest(deliveries, [trigger.pk for trigger in triggers], recent)
    return [TriggerRow(trigger=trigger, deliveries=latest[trigger.pk]) for trigger in triggers]


def trigger_histories(
    *, triggers: list[Trigger], recent: int = HISTORY_DELIVERIES
) -> dict[int, list[TriggerDelivery]]:
    """{trigger id: its `recent` newest finished deliveries, newest first}: SWR's
    `trigger_history`, whose results are success or failed. One query whatever the number of
    triggers or deliveries."""
    finished = TriggerDelivery.objects.filter(status__in=TriggerDelivery.FINISHED)
    return _newest(finished, [trigger.pk for trigger in triggers], recent)
