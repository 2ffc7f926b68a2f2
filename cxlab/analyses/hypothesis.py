"""The hypothesis card measured on the data: baseline, the flow of new eligible people, and what a
test of the planned split can detect in how long."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cxlab import stats as cs
from cxlab.analyses.result import Result
from cxlab.analyses.trigger_card import check_target_line, snapshots
from cxlab.catalog.cards import Hypothesis, Metric, Trigger
from cxlab.catalog.load import Catalog
from cxlab.compute import hypothesis as ch
from cxlab.compute import triggers as ct
from cxlab.data.connect import Source
from cxlab.errors import DataError
from cxlab.metrics import kind

#: Test lengths (months) of the table of detectable effects.
MONTHS = (1, 2, 3, 6, 12)
#: Weeks in a month, to say durations in weeks.
WEEKS_PER_MONTH = 52 / 12


@dataclass(frozen=True)
class Plan(Result):
    """What the 01 report shows."""

    title: ClassVar[str] = "Hypothesis plan"

    hypothesis: Hypothesis
    trigger: Trigger
    metrics: dict[str, Metric]
    flow: pd.DataFrame
    baseline: cs.Estimate
    stock: int
    new_per_month: float
    expected_abs: float
    n_treatment: int
    n_control: int
    months_needed: float
    mde_table: pd.DataFrame
    size_curve: pd.DataFrame
    mde_curve: pd.DataFrame
    power_table: pd.DataFrame

    @property
    def weeks_needed(self) -> float:
        return self.months_needed * WEEKS_PER_MONTH

    def headline(self) -> dict[str, Any]:
        return {"hypothesis": self.hypothesis.id, "trigger": self.trigger.name, "status": self.hypothesis.status,
                "snapshots": [d.date().isoformat() for d in self.flow.snapshot],
                "baseline": self.baseline.to_dict(), "fired_per_month": float(self.flow.n.mean()),
                "stock": self.stock, "new_per_month": self.new_per_month, "expected_uplift_abs": self.expected_abs,
                "sample_size": {"treatment": self.n_treatment, "control": self.n_control},
                "months_needed": self.months_needed, "weeks_needed": self.weeks_needed,
                "missing_checks": self.hypothesis.missing_checks(), "mde_by_months": self.mde_table,
                "other_metrics_mde": self.power_table}


def plan(src: Source, catalog: Catalog, hypothesis_id: str, months_of_history: int = 6) -> Plan:
    """Measure ``hypothesis_id`` on the last ``months_of_history`` monthly snapshots the data covers.

    Baseline: the conversion of the clients the trigger (and the card's population rule) fires for,
    without any campaign — the rate the control group should show. Flow: as if a test had started at
    the first of those snapshots, the clients fired then (the stock) and those fired for the first time
    at each later snapshot. A person enters a test once, so the test's size after ``m`` monthly waves is
    stock + new × (m − 1). The first months' arrivals include clients who fired before the window and
    return; new per month is therefore the mean of the later half of the arrivals, the steadier rate.
    """
    if months_of_history < 2:
        raise ValueError(f"months_of_history must be at least 2 (a stock and one month of arrivals), got {months_of_history}")
    h = catalog.get("hypotheses", hypothesis_id)
    trigger = catalog.get("triggers", h.trigger)
    metrics = catalog.metrics_for(h.metrics.names)
    check_target_line(src, catalog, trigger)
    snaps = snapshots(src, catalog, trigger)[-months_of_history:]
    panel = ct.panel(src, trigger, snaps, h.population or "")
    flow = ch.flow(src, panel)
    if flow.empty or flow.n.sum() == 0:
        raise DataError(f"hypothesis '{h.id}': its trigger '{trigger.name}' fires for nobody at the {len(snaps)} monthly "
                        f"snapshots {snaps[0]} … {snaps[-1]}, so there is no baseline to plan from. Pass another "
                        "-p hypothesis=NAME, or more history with -p months_of_history=N")
    baseline = cs.proportion_ci(cs.ProportionStats(int(flow.n.sum()), int(flow.x_sum.sum())), alpha=h.alpha)
    arrivals = flow.new.iloc[1:]
    stock, new = int(flow.new.iloc[0]), float(arrivals.iloc[len(arrivals) // 2:].mean()) if len(arrivals) else 0.0
    p0 = baseline.estimate
    e = h.expected_effect
    expected = (e.absolute if e.absolute is not None else e.relative * p0) * (1 if e.sign == "+" else -1)
    ratio = cs.ratio_from_share(h.treatment_share)
    nt, nc = cs.sample_size_proportions(p0, expected, ratio, h.alpha, h.power)
    needed = nt + nc
    months = 1.0 if needed <= stock else (1 + (needed - stock) / new if new > 0 else math.inf)
    grid = np.linspace(abs(expected) * 0.4, abs(expected) * 2.5, 12) * (1 if expected >= 0 else -1)
    size_curve = pd.DataFrame([{"uplift": g, "n_treatment": cs.sample_size_proportions(p0, g, ratio, h.alpha, h.power)[0]}
                               for g in grid if 0 < p0 + g < 1])
    horizon = max(12.0, min(math.ceil(months * 1.25), 36)) if math.isfinite(months) else 12.0
    mde_curve = _mde_by_months(h, p0, expected, stock, new, np.arange(1, horizon + 1))
    table = _mde_by_months(h, p0, expected, stock, new, np.array(MONTHS))
    others = [n for n in [*h.metrics.secondary, *h.metrics.guardrails] if kind(metrics[n]).plannable]
    powers = _other_metrics(src, panel, h, [metrics[n] for n in others], metrics, nt, ratio)
    return Plan(h, trigger, metrics, flow, baseline, stock, new, expected, nt, nc, months, table, size_curve, mde_curve, powers)


def _other_metrics(src: Source, panel: Any, h: Hypothesis, chosen: list[Metric], metrics: dict[str, Metric],
                   n_treatment: int, ratio: float) -> pd.DataFrame:
    """Per secondary metric and guardrail: its level and spread on the fired clients, and the smallest
    change a test of the size the primary needs detects — plainly, and with CUPED on the pre-period
    (the variance it removes, ρ², measured on the same clients). Ratio metrics use the delta method's
    per-person spread; proportions the binomial one."""
    rows = []
    history = ch.history(src, panel, chosen, metrics)
    for m in chosen:
        s = history[m.name].iloc[0]
        # people with the outcome (a proportion, or a count per person): what a small-cell rule judges
        counted = m.type == "proportion" or (m.type == "mean" and m.aggregate in ("any", "count"))
        row: dict[str, Any] = {"metric": m.name, "type": m.type, "people": int(s["n"]),
                               "x_sum": int(s["x_sum"]) if counted and "x_sum" in s and pd.notna(s["x_sum"]) else None}
        try:
            level, sd, rho2, mde, cuped = kind(m).plan(s, n_treatment, ratio, h.alpha, h.power)
        except ValueError:  # nobody varies, or no denominator: nothing to plan on
            level = sd = rho2 = mde = cuped = math.nan
        rows.append(row | {"level": level, "sd": sd, "rho2": rho2, "mde": mde, "mde_rel": mde / level if level else math.nan,
                           "mde_cuped": cuped, "mde_cuped_rel": cuped / level if level else math.nan})
    return pd.DataFrame(rows, columns=["metric", "type", "people", "x_sum", "level", "sd", "rho2", "mde", "mde_rel", "mde_cuped", "mde_cuped_rel"])


def _mde_by_months(h: Hypothesis, baseline: float, expected: float, stock: int, new: float,
                   months: np.ndarray) -> pd.DataFrame:
    """People enrolled in ``months`` monthly waves (stock + new × (m − 1)), their split, and the uplift
    (signed like the expected effect) the test detects with the card's alpha and power."""
    ratio = cs.ratio_from_share(h.treatment_share)
    rows = []
    for m in months:
        people = stock + new * (int(m) - 1)
        n_t = int(people * h.treatment_share)
        mde = cs.mde_proportions(baseline, n_t, ratio, h.alpha, h.power) if n_t * ratio > 1 else math.nan
        rows.append({"months": int(m), "people": int(people), "treatment": n_t, "control": int(people) - n_t,
                     "mde": -mde if expected < 0 else mde})
    return pd.DataFrame(rows)
