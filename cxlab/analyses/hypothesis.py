"""The hypothesis card measured on the data: baseline, eligible flow, and what a test can detect."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlab import stats as cs
from cxlab.analyses.triggers import Backtest, backtest
from cxlab.catalog.cards import Hypothesis, Metric, Trigger
from cxlab.catalog.load import Catalog
from cxlab.data.connect import Source

#: Test lengths (months) for which the MDE table is shown.
MONTHS = (1, 2, 3, 6)


@dataclass
class Plan:
    """What the 01 report shows."""

    hypothesis: Hypothesis
    trigger: Trigger
    metrics: dict[str, Metric]
    backtest: Backtest
    baseline: float
    per_month: float
    expected_abs: float
    n_treatment: int
    n_control: int
    months_needed: float
    mde_table: pd.DataFrame
    curve: pd.DataFrame

    def headline(self) -> dict:
        return {"hypothesis": self.hypothesis.id, "status": self.hypothesis.status, "baseline": self.baseline,
                "eligible_per_month": self.per_month, "expected_uplift_abs": self.expected_abs,
                "sample_size": {"treatment": self.n_treatment, "control": self.n_control},
                "months_needed": self.months_needed, "missing_checks": self.hypothesis.missing_checks(),
                "mde_by_months": self.mde_table.to_dict(orient="records")}


def plan(src: Source, catalog: Catalog, hypothesis_id: str, months_of_history: int = 6) -> Plan:
    """Baseline = the conversion of clients the trigger fires for, over the last ``months_of_history``
    snapshots (without any communication: the control group's expected rate); flow = fired per month."""
    h = catalog.get("hypotheses", hypothesis_id)
    trigger = catalog.get("triggers", h.trigger)
    names = [h.metrics.primary, *h.metrics.secondary, *h.metrics.guardrails]
    metrics = {n: catalog.get("metrics", n) for n in names}
    full = backtest(src, catalog, trigger.name, model_rows=0)
    recent = full.snapshots[-months_of_history:]
    b = backtest(src, catalog, trigger.name, str(recent[0]), str(recent[-1]), model_rows=0)
    baseline, per_month = b.rate_fired.estimate, float(b.monthly.fired.mean())
    e = h.expected_effect
    expected = (e.absolute if e.absolute is not None else e.relative * baseline) * (1 if e.sign == "+" else -1)
    ratio = cs.ratio_from_share(h.treatment_share)
    alternative = "two-sided"
    nt, nc = cs.sample_size_proportions(baseline, expected, ratio, h.alpha, h.power, alternative)
    months_needed = (nt + nc) / per_month if per_month else math.inf
    rows = []
    for m in MONTHS:
        total = per_month * m
        n_t = total * h.treatment_share
        rows.append({"months": m, "people": int(total), "treatment": int(n_t), "control": int(total - n_t),
                     "mde": cs.mde_proportions(baseline, n_t, ratio, h.alpha, h.power, alternative) if n_t > 1 else math.nan})
    grid = np.linspace(abs(expected) * 0.4, abs(expected) * 2.5, 12) * (1 if expected >= 0 else -1)
    curve = pd.DataFrame([{"mde": g, "n_treatment": cs.sample_size_proportions(baseline, g, ratio, h.alpha, h.power)[0]}
                          for g in grid if 0 < baseline + g < 1])
    return Plan(h, trigger, metrics, b, baseline, per_month, expected, nt, nc, months_needed, pd.DataFrame(rows), curve)
