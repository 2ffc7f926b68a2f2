"""A trigger card against the data: its target line exists and the data covers its window. Kept apart from
the backtest so that the runner's checks before a run (and the 01 plan) need no statistics or models."""

from __future__ import annotations

from cxlab.catalog.cards import Trigger
from cxlab.catalog.load import Catalog
from cxlab.compute import triggers as ct
from cxlab.compute.base import product_lines
from cxlab.data.connect import Source
from cxlab.errors import CardError, DataError


def check_target_line(src: Source, catalog: Catalog, trigger: Trigger) -> None:
    """CardError (with the card's file, line and field) when the trigger's target line is not in the data."""
    lines = product_lines(src)
    if trigger.target_line not in lines:
        raise CardError(f"{catalog.where('triggers', trigger.name, 'target_line')}: product line "
                        f"'{trigger.target_line}' is not in the data (its lines: {', '.join(map(str, lines[:12]))})")


def snapshots(src: Source, catalog: Catalog, trigger: Trigger, period_start: str = "", period_end: str = "") -> list:
    """The trigger's monthly snapshots; a window the data cannot cover is a CardError at the card's field."""
    try:
        return ct.monthly_snapshots(src, period_start, period_end, trigger.snapshot_day, trigger.window_days)
    except DataError as e:
        raise CardError(f"{catalog.where('triggers', trigger.name, 'window_days')}: {e}") from None
