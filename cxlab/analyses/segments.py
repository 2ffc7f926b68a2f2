"""The 03 report: behavioural segments sized at a snapshot — which cards apply to the data, the assumed
uplift, the engine's counts (assignment by priority, overlaps, reach, base rates, white space:
:mod:`cxlab.compute.segments`) and the campaign plan built on them — one call, :func:`sizing`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import pandas as pd

from cxlab.analyses.result import Result
from cxlab.catalog.cards import Hypothesis, Segment
from cxlab.catalog.load import Catalog
from cxlab.compute import base, overview
from cxlab.compute import segments as sg
from cxlab.data.connect import Source
from cxlab.errors import DataError


@dataclass(frozen=True)
class Uplift:
    """The uplift a campaign is assumed to add: relative (× base rate) or absolute (+ share), with a range."""

    kind: str
    estimate: float
    low: float
    high: float
    source: str

    def __post_init__(self) -> None:
        if self.kind not in ("relative", "absolute"):
            raise ValueError(f"uplift kind must be relative or absolute, got {self.kind!r}")
        if not self.low <= self.estimate <= self.high:
            raise ValueError(f"the uplift range must hold its estimate: {self.low} <= {self.estimate} <= {self.high}")

    @classmethod
    def of(cls, hypothesis: Hypothesis | None, uplift: float, low: float, high: float) -> Uplift:
        """From a hypothesis card's expected effect (range: half to one and a half times it), or from the
        parameters (a relative uplift and its range)."""
        if hypothesis is None:
            return cls("relative", uplift, low, high, "parameters")
        e = hypothesis.expected_effect
        # the card holds exactly one of the two (ExpectedEffect's validator)
        kind, size = ("relative", e.relative) if e.relative is not None else ("absolute", float(e.absolute or 0.0))
        size = size if e.sign == "+" else -size
        return cls(kind, size, min(0.5 * size, 1.5 * size), max(0.5 * size, 1.5 * size), f"hypothesis {hypothesis.id}")

    def contracts(self, reach: int, rate: float) -> float:
        """Incremental contracts among ``reach`` people converting at ``rate`` without the campaign."""
        return reach * (rate * self.estimate if self.kind == "relative" else self.estimate)


def confidence(x_sum: int, estimate: float, low: float, high: float) -> str:
    """How far the expected incremental contracts can be trusted, from the *whole* range ``low … high``
    (the base rate's interval and the uplift's assumed range together): ``high`` when the range's
    half-width is under half the estimate, ``medium`` under the estimate itself, else ``low`` (also with
    no conversions at all or no estimate)."""
    if not x_sum or not estimate or math.isnan(estimate):
        return "low"
    half = (high - low) / 2 / abs(estimate)
    return "high" if half < 0.5 else "medium" if half < 1.0 else "low"


def plan(reach: pd.DataFrame, rates: pd.DataFrame, uplift: Uplift, values: dict[str, float]) -> pd.DataFrame:
    """The prioritisation table: per segment, reachable people, base rate and interval, expected
    incremental contracts and value with their ranges, and a confidence label — best value first.

    Range: low = low base rate × low uplift, high = high base rate × high uplift (relative); for an
    absolute uplift only the uplift's range applies.
    """
    rows = []
    for (_, r), (_, b) in zip(reach.iterrows(), rates.iterrows(), strict=True):
        n = int(r["not_holding"])
        rel = uplift.kind == "relative"
        value = values.get(b.product_line, math.nan)
        contracts = uplift.contracts(n, b.rate)
        low = n * (b.ci_low * uplift.low if rel else uplift.low)
        high = n * (b.ci_high * uplift.high if rel else uplift.high)
        rows.append({"segment": r.segment, "product_line": b.product_line, "reach": n, "base_rate": b.rate,
                     "rate_low": b.ci_low, "rate_high": b.ci_high, "contracts": contracts, "contracts_low": low,
                     "contracts_high": high, "value_per_contract": value, "value": contracts * value,
                     "value_low": low * value, "value_high": high * value,
                     "confidence": confidence(int(b.x_sum), contracts, low, high)})
    out = pd.DataFrame(rows)
    key = "value" if out.value.notna().any() else "contracts"
    return out.sort_values([key, "reach"], ascending=False, na_position="last", ignore_index=True)


@dataclass
class Sizing:
    """Everything the 03 report shows about a set of segments at a snapshot: the engine's counts
    (:mod:`cxlab.compute.segments`), the uplift assumed and the plan built on them."""

    segments: list[Segment]
    snapshot: date
    history_start: date
    filters: sg.Filters
    uplift: Uplift
    sizes: pd.DataFrame
    overlap: pd.DataFrame
    flow: pd.DataFrame
    reach: pd.DataFrame
    rates: pd.DataFrame
    plan: pd.DataFrame
    white_space: pd.DataFrame
    clients: int
    unassigned: int

    @property
    def steps(self) -> list[str]:
        """The waterfall steps this data supports, in order."""
        return [s for s in sg.STEPS if s not in self.filters.skipped()]

    def cards(self, lang: str = "en") -> pd.DataFrame:
        """The segment cards in assignment order, as written (titles in ``lang`` where the card has them)."""
        return pd.DataFrame([{"priority": s.priority, "segment": s.name, "title": s.in_lang("title", lang), "rule": s.rule,
                              "product_line": s.product_line, "owner": s.owner} for s in self.segments])

    def titles(self, lang: str) -> list[str]:
        """The segments' titles in ``lang``, in assignment order (the order of :attr:`sizes`)."""
        return [s.in_lang("title", lang) for s in self.segments]


@dataclass(frozen=True)
class SegmentSizing(Result):
    """The cards sized (``kept``) and those left out because their product line is not in the data
    (``dropped``), the uplift assumed, and the sizing itself (None when no card applies)."""

    snapshot: date
    lines: list[str]
    kept: list[Segment]
    dropped: list[Segment]
    assumed: Uplift
    sizing: Sizing | None
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
    assumed = Uplift.of(catalog.get("hypotheses", hypothesis) if hypothesis else None, uplift, uplift_low, uplift_high)
    result = size(src, kept, snap, assumed, channel, cap_messages, cap_days, history_days, value_per_contract) if kept else None
    return SegmentSizing(snap, lines, kept, dropped, assumed, result)


def size(src: Source, segments: Sequence[Segment], snapshot: date, uplift: Uplift, channel: str = "email",
         cap_messages: int = 2, cap_days: int = 30, history_days: int = 60, value_per_contract: float = 0.0,
         alpha: float = 0.05) -> Sizing:
    """Size ``segments`` at ``snapshot``: the engine's assignment, overlaps, reach, base rates and white
    space of each segment (product lines held at the snapshot), and the campaign plan on them."""
    if not src.has("holdings") or not src.has("products"):
        raise DataError("segment sizing needs the holdings and products tables")
    segs = sg.ordered(segments)
    filters = sg.Filters.of(src)
    f = sg.flags(src, segs, snapshot, channel, cap_messages, cap_days)
    counts = sg.tally(src, f, segs, filters)
    over, flow = sg.overlap(counts, segs)
    table = sg.sizes(over, flow, segs)
    reach = sg.waterfall(counts, segs)
    rates, s0 = sg.base_rates(src, segs, snapshot, history_days, alpha, filters.holding)
    lines = sorted({s.product_line for s in segs})
    values = {line: value_per_contract for line in lines} if value_per_contract > 0 else sg.line_values(src, lines)
    n_clients = sg.clients(counts)
    ws = sg.white_space(src, f, segs, snapshot)
    return Sizing(segs, snapshot, s0, filters, uplift, table, over, flow, reach, rates, plan(reach, rates, uplift, values),
                  ws, n_clients, n_clients - int(table.assigned.sum()))
