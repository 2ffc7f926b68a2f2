"""01 challenges its own plan: what in the plan a manager should not take at face value, each with what
would fix it.

- a guardrail the planned test cannot watch: its detectable change at the planned size is wider than the
  margin the card tolerates (harm inside the margin would pass unseen) — fix: CUPED when it brings the
  detectable change inside the margin, else a 50/50 split, a longer test or a wider margin;
- an expected effect far from the measured baseline: the card's effect would more than double the rate
  the trigger's clients show today (or take it below zero or above one) — re-check the card;
- a test that needs more than 12 months — with how long a 50/50 split would take, and the other levers
  (a larger expected effect, a broader trigger, a longer conversion window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cxlab import stats as cs
from cxlab.analyses.hypothesis import Plan

#: A test longer than this many months is flagged.
LONG_MONTHS = 12
#: An expected effect above this multiple of the measured baseline (relative lift) is flagged.
FAR_FROM_BASELINE = 1.0


@dataclass(frozen=True)
class Challenge:
    """One flag on the plan: ``kind`` (guardrail_unpowered, guardrail_cuped, effect_far, too_long) and its figures."""

    kind: str
    facts: dict[str, Any] = field(default_factory=dict)


def months_for(p: Plan, treatment_share: float) -> float:
    """Months of monthly waves (stock, then new per month) a test of the card's effect needs at ``treatment_share``."""
    h = p.hypothesis
    nt, nc = cs.sample_size_proportions(p.baseline.estimate, p.expected_abs, cs.ratio_from_share(treatment_share),
                                        h.alpha, h.power)
    needed = nt + nc
    if needed <= p.stock:
        return 1.0
    return 1 + (needed - p.stock) / p.new_per_month if p.new_per_month > 0 else math.inf


def challenge(p: Plan) -> list[Challenge]:
    """The flags on plan ``p``, in the order a reader should see them (empty when the plan holds)."""
    out: list[Challenge] = []
    h = p.hypothesis
    rows = {r.metric: r for r in p.power_table.itertuples()} if len(p.power_table) else {}
    for name in h.metrics.guardrails:
        m, r = p.metrics[name], rows.get(name)
        if r is None or m.margin is None or not math.isfinite(r.mde_rel):
            continue
        if r.mde_rel > m.margin:
            cuped = r.mde_cuped_rel if math.isfinite(r.mde_cuped_rel) else math.nan
            kind = "guardrail_cuped" if cuped <= m.margin else "guardrail_unpowered"
            out.append(Challenge(kind, {"metric": name, "mde_rel": float(r.mde_rel), "mde_cuped_rel": float(cuped),
                                        "margin": float(m.margin)}))
    base = p.baseline.estimate
    target = base + p.expected_abs
    rel = p.expected_abs / base if base > 0 else math.inf
    if not 0 < target < 1 or abs(rel) > FAR_FROM_BASELINE:
        out.append(Challenge("effect_far", {"baseline": float(base), "expected_abs": float(p.expected_abs),
                                            "relative": float(rel), "target": float(target)}))
    if p.months_needed > LONG_MONTHS:
        even = months_for(p, 0.5) if 0 < target < 1 else math.inf
        out.append(Challenge("too_long", {"months": float(p.months_needed), "months_50_50": float(even),
                                          "share": float(h.treatment_share), "window": p.trigger.window_days,
                                          "long": LONG_MONTHS}))
    return out
