"""The 03 report: behavioural segments sized at a snapshot — which cards apply to the data, the assumed
uplift, and the sizing (assignment by priority, overlaps, reach, base rates, the plan, white space) —
one call, :func:`sizing`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import pandas as pd

from cxlab.analyses.result import Result
from cxlab.catalog.cards import Segment
from cxlab.catalog.load import Catalog
from cxlab.compute import base, overview
from cxlab.compute import segments as sg
from cxlab.data.connect import Source


@dataclass(frozen=True)
class SegmentSizing(Result):
    """The cards sized (``kept``) and those left out because their product line is not in the data
    (``dropped``), the uplift assumed, and the sizing itself (None when no card applies)."""

    snapshot: date
    lines: list[str]
    kept: list[Segment]
    dropped: list[Segment]
    assumed: sg.Uplift
    sizing: sg.Sizing | None
    title: ClassVar[str] = "Segment sizing"

    def facts(self) -> dict[str, Any]:
        s = self.sizing
        out: dict[str, Any] = {"snapshot": self.snapshot.isoformat(), "segments": len(self.kept),
                               "left_out": [x.name for x in self.dropped], "uplift": self.assumed.estimate}
        if s is not None:
            out |= {"clients": s.clients, "assigned": int(s.sizes.assigned.sum()), "unassigned": s.unassigned,
                    "reachable": int(s.reach[s.steps[-1]].sum())}
        return out

    def frames(self) -> dict[str, pd.DataFrame]:
        s = self.sizing
        return {} if s is None else {"sizes": s.sizes, "reach": s.reach, "plan": s.plan}


def sizing(src: Source, catalog: Catalog, segments: Sequence[str] = (), snapshot: date | None = None,
           channel: str = "email", cap_messages: int = 2, cap_days: int = 30, hypothesis: str = "",
           uplift: float = 0.2, uplift_low: float = 0.1, uplift_high: float = 0.3, value_per_contract: float = 0.0,
           history_days: int = 60, folder: str = "catalog") -> SegmentSizing:
    """Size the segment cards ``segments`` (default: every card whose product line is in the data) at
    ``snapshot`` (default: the data's as-of day), with the uplift of card ``hypothesis`` or the given
    relative uplift and range. With no card for the data's product lines the report cannot apply
    (:class:`~cxlab.errors.NotApplicable`), or, when ``segments`` named the cards, it is the caller's error;
    ``folder`` names the catalogue in that message."""
    snap = snapshot or overview.as_of_date(src)
    lines = base.product_lines(src)
    chosen = [catalog.get("segments", name) for name in segments] if segments else list(catalog.segments.values())
    kept, dropped = sg.applicable_or_skip(chosen, lines, bool(segments), folder)
    assumed = sg.Uplift.of(catalog.get("hypotheses", hypothesis) if hypothesis else None, uplift, uplift_low, uplift_high)
    result = sg.size(src, kept, snap, assumed, channel, cap_messages, cap_days, history_days, value_per_contract) if kept else None
    return SegmentSizing(snap, lines, kept, dropped, assumed, result)
