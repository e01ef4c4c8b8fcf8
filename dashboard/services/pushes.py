"""What happens after the index learns of pushed tags: triggers, automatic sync, retention.

The indexer calls `pushes_dispatch` once per batch, after its transaction commits, with every
tag a push created or moved. Each domain gets the pushes and decides for itself (triggers fire
for new tags only; sync copies what rules made before the push ask for; retention schedules a
debounced run). A failure in one never stops the others, nor the index.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TagPush:
    """A tag the registry reported pushed: created (`is_new`) or pointed at another manifest."""

    repository_id: int
    tag: str
    digest: str
    pushed_at: dt.datetime
    pushed_by: str
    is_new: bool


def pushes_dispatch(*, pushes: list[TagPush]) -> None:
    """Hand the pushes to triggers, sync and retention (each enqueues its own jobs)."""
    if not pushes:
        return
    from dashboard.services.retention import retention_after_pushes
    from dashboard.services.sync import sync_auto_for_pushes
    from dashboard.services.triggers import triggers_fire_for_pushes

    for name, react in (
        ("triggers", triggers_fire_for_pushes),
        ("sync", sync_auto_for_pushes),
        ("retention", retention_after_pushes),
    ):
        try:
            react(pushes=pushes)
        except Exception:
            logger.exception("%s could not react to %d pushes", name, len(pushes))
