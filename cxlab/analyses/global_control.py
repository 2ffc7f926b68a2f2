"""What all communications together add: the base outside the global control against the control.

One entry, :func:`global_control`. The comparison is by assignment (intention to treat): the control was
drawn at random and held out of every campaign, so the difference in contracts, value and re-purchase per
person between the rest of the base and the control is the programme's effect on an average client
outside it — whether or not that client was actually contacted. Leakage (control clients who were sent
something) dilutes it towards zero and is counted by campaign; the control's size says what effect it can
detect; its share of the base and of new clients month by month says whether it still represents the
base; a seeded rotation keeps it random while nobody is held out for ever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import pandas as pd

from cxlab import stats as cs
from cxlab.analyses.result import Result
from cxlab.compute import global_control as gcc
from cxlab.compute import overview
from cxlab.data.connect import Source
from cxlab.errors import DataError, NotApplicable, ParameterError

#: Standardised difference above which the control no longer looks like the base in a month (and beyond
#: what noise alone reaches, 1.96 √(1/n_control + 1/n_outside)).
DRIFT_SMD = 0.1
#: Fewest buyers of a line in each group for its difference to be tested.
MIN_BUYERS = 5


@dataclass(frozen=True)
class Effect:
    """Per person outside the control minus per person in it, with its interval, and the total it makes
    over everyone outside (the incremental contracts, value or buyers of the programme)."""

    metric: str
    control: float
    outside: float
    difference: cs.Estimate
    incremental: float
    incremental_low: float
    incremental_high: float
    mde: float


@dataclass(frozen=True)
class GlobalControlResult(Result):
    """What :func:`global_control` found."""

    title: ClassVar[str] = "Global control"

    start: date
    end: date
    sizes: pd.DataFrame
    effects: tuple[Effect, ...]
    by_line: pd.DataFrame
    leakage: pd.DataFrame
    leaked_clients: int
    drift: pd.DataFrame
    joiners: pd.DataFrame
    rotation: pd.DataFrame
    release_share: float
    alpha: float
    power: float

    def effect(self, metric: str) -> Effect:
        return next(e for e in self.effects if e.metric == metric)

    @property
    def effects_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"metric": e.metric, "control": e.control, "outside": e.outside,
                              "difference": e.difference.estimate, "ci_low": e.difference.ci_low,
                              "ci_high": e.difference.ci_high, "p_value": e.difference.p_value,
                              "incremental": e.incremental, "incremental_low": e.incremental_low,
                              "incremental_high": e.incremental_high, "mde": e.mde} for e in self.effects])

    def facts(self) -> dict:
        s = self.sizes.set_index("group")
        n_c, n_o = int(s.n.get("control", 0)), int(s.n.get("outside", 0))
        drifting = self.drift[self.drift.drifting] if len(self.drift) else self.drift
        return {"start": self.start, "end": self.end, "control": n_c, "outside": n_o,
                "control_share": n_c / (n_c + n_o) if n_c + n_o else math.nan,
                "outside_contacted": int(s.contacted.get("outside", 0)),
                "leaked_clients": self.leaked_clients, "leaked_share": self.leaked_clients / n_c if n_c else math.nan,
                "leaking_campaigns": len(self.leakage), "drifting_months": len(drifting),
                **{f"{e.metric}_difference": e.difference.estimate for e in self.effects},
                **{f"{e.metric}_incremental": e.incremental for e in self.effects}}


def _mean_effect(metric: str, row_c, row_o, ssum: str, ssq: str, alpha: float, power: float) -> Effect:
    c = cs.SampleMeanStats(int(row_c.n), float(row_c[ssum]), float(row_c[ssq]))
    o = cs.SampleMeanStats(int(row_o.n), float(row_o[ssum]), float(row_o[ssq]))
    d = cs.mean_diff(o, c, alpha=alpha)
    sd = math.sqrt(c.variance) if c.variance > 0 else math.sqrt(o.variance)
    try:
        mde = cs.mde_means(sd, o.n, ratio=c.n / o.n, alpha=alpha, power=power) if sd > 0 and o.n > 2 else math.nan
    except ValueError:  # a control too small for the power equation to have a solution
        mde = math.nan
    return Effect(metric, c.mean, o.mean, d, d.estimate * o.n, d.ci_low * o.n, d.ci_high * o.n, mde)


def _rate_effect(metric: str, row_c, row_o, col: str, alpha: float, power: float) -> Effect:
    c = cs.ProportionStats(int(row_c.n), int(row_c[col]))
    o = cs.ProportionStats(int(row_o.n), int(row_o[col]))
    d = cs.proportion_diff(o, c, alpha=alpha)
    base = c.mean if 0 < c.mean < 1 else o.mean
    mde = cs.mde_proportions(base, o.n, ratio=c.n / o.n, alpha=alpha, power=power) if 0 < base < 1 and o.n > 1 else math.nan
    return Effect(metric, c.mean, o.mean, d, d.estimate * o.n, d.ci_low * o.n, d.ci_high * o.n, mde)


def _smd(frame: pd.DataFrame, s: str, sq: str) -> pd.Series:
    n = frame.n.astype(float)
    mean = frame[s] / n
    var = (frame[sq] - frame[s] ** 2 / n) / (n - 1).clip(lower=1)
    return mean, var


def _drift(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for month, g in frame.groupby("month", sort=True):
        g = g.set_index("group")
        if not {"control", "outside"} <= set(g.index):
            continue
        m, v = _smd(g, "x_sum", "x_sum_sq")
        pooled = math.sqrt((v["control"] + v["outside"]) / 2)
        n_c, n_o = int(g.n["control"]), int(g.n["outside"])
        smd = (m["control"] - m["outside"]) / pooled if pooled > 0 else 0.0
        noise = 1.96 * math.sqrt(1 / max(n_c, 1) + 1 / max(n_o, 1))
        rows.append({"month": month, "control": n_c, "outside": n_o, "control_share": n_c / (n_c + n_o),
                     "contracts_control": m["control"], "contracts_outside": m["outside"], "smd": smd, "noise": noise,
                     "drifting": abs(smd) > max(DRIFT_SMD, noise)})
    return pd.DataFrame(rows)


def global_control(src: Source, start: date | None = None, end: date | None = None, months: int = 12,
                   release_share: float = 0.25, seed: str = "rotation", alpha: float = 0.05,
                   power: float = 0.8) -> GlobalControlResult:
    """All communications against the global control group over ``[start, end)`` (default: the ``months``
    months before the data's as-of date).

    Effects per person (outside − control, Welch for means, Newcombe for rates; intention to treat):
    contracts opened, their value, buyers (a contract opened) and re-buyers (contracts on two or more days);
    per product line the contracts per person. ``mde`` is the smallest difference the two groups' sizes
    detect at ``alpha`` with ``power``. Leakage by campaign; month-by-month representativeness; a seeded
    rotation releasing ``release_share`` of the control.
    """
    if not 0 < release_share < 1:
        raise ParameterError(f"release_share must be between 0 and 1, got {release_share}")
    if not gcc.has_control(src):
        raise NotApplicable("clients has no column 'global_control': the data holds no global control group to compare with")
    as_of = overview.as_of_date(src)
    end = end or as_of
    start = start or (pd.Timestamp(end) - pd.DateOffset(months=months)).date()
    if start >= end:
        raise ParameterError(f"start {start} must be before end {end}")
    sums = gcc.outcome_sums(src, start, end).set_index("group")
    if not {"control", "outside"} <= set(sums.index) or int(sums.n.get("control", 0)) < 2:
        raise DataError(f"clients: fewer than 2 clients existing at {start} are in the global control group; "
                        "there is nothing to compare with")
    c, o = sums.loc["control"], sums.loc["outside"]
    effects = (_mean_effect("contracts", c, o, "contracts_sum", "contracts_sq", alpha, power),
               _mean_effect("value", c, o, "value_sum", "value_sq", alpha, power),
               _rate_effect("buyers", c, o, "buyers", alpha, power),
               _rate_effect("rebuyers", c, o, "rebuyers", alpha, power))
    rows = []
    lines = gcc.line_sums(src, start, end)
    for line, g in lines.groupby("product_line", sort=True):
        g = g.set_index("group")
        if not {"control", "outside"} <= set(g.index):
            continue
        ctl, out = g.loc["control"], g.loc["outside"]
        row = {"product_line": line, "control": ctl.x_sum / ctl.n, "outside": out.x_sum / out.n,
               "difference": out.x_sum / out.n - ctl.x_sum / ctl.n, "ci_low": math.nan, "ci_high": math.nan,
               "p_value": math.nan, "incremental": (out.x_sum / out.n - ctl.x_sum / ctl.n) * out.n,
               "buyers_control": int(ctl.buyers), "buyers_outside": int(out.buyers)}
        # too few buyers in a group (a control with none makes Welch's variance that of one group alone):
        # the difference is shown, untested
        if min(int(ctl.buyers), int(out.buyers)) >= MIN_BUYERS:
            e = _mean_effect(line, ctl, out, "x_sum", "x_sum_sq", alpha, power)
            row |= {"ci_low": e.difference.ci_low, "ci_high": e.difference.ci_high, "p_value": e.difference.p_value}
        rows.append(row)
    by_line = pd.DataFrame(rows)
    if len(by_line):
        tested = by_line.p_value.notna()
        by_line["p_holm"] = math.nan
        if tested.any():
            by_line.loc[tested, "p_holm"] = cs.adjust_pvalues(by_line.p_value[tested].to_numpy(), method="holm")
    sizes = gcc.contacted(src, start, end)
    drift_months = max(2, min(24, int(round((pd.Timestamp(end) - pd.Timestamp(start)).days / 30.4))))
    return GlobalControlResult(
        start, end, sizes, effects, by_line, gcc.leakage(src, start, end), gcc.leaked_clients(src, start, end),
        _drift(gcc.drift(src, end, drift_months)), gcc.joiners(src, end, drift_months),
        gcc.rotation(src, end, release_share, seed), release_share, alpha, power)


__all__ = ["DRIFT_SMD", "Effect", "GlobalControlResult", "global_control"]
