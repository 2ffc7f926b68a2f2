"""Trigger backtest: engine counts (``cxlab.compute.triggers``) → rates, lifts with intervals, month by
month, coverage, time to conversion, a covariate-adjusted odds ratio, and a propensity model against the
rule at equal volume. A backtest shows association; only a randomised campaign proves cause."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.tools import add_constant

from cxlab import stats as cs
from cxlab.analyses.propensity import compare
from cxlab.analyses.result import Result
from cxlab.analyses.trigger_card import check_target_line, snapshots
from cxlab.catalog.cards import Trigger
from cxlab.catalog.load import Catalog
from cxlab.compute import propensity as cp
from cxlab.compute import triggers as ct
from cxlab.data.connect import Source
from cxlab.errors import DataError


@dataclass
class Backtest(Result):
    """What the 02 report shows."""

    title: ClassVar[str] = "Trigger backtest"

    trigger: Trigger
    snapshots: list
    monthly: pd.DataFrame
    rate_fired: cs.Estimate
    rate_other: cs.Estimate
    diff: cs.Estimate
    lift: cs.Estimate | None
    diff_clustered: cs.Estimate | None
    curves: pd.DataFrame
    adjusted: dict[str, Any] | None
    model: dict[str, Any] | None
    headline: dict[str, Any] = field(default_factory=dict)
    volume_falls: pd.DataFrame = field(default_factory=pd.DataFrame)
    contaminated: pd.DataFrame = field(default_factory=pd.DataFrame)


#: A month whose fired count is below this share of the median of the months before it is a fall.
FALL_SHARE = 0.5
#: A campaign reaching fired and other rows at shares this far apart (in the conversion window) contaminates the month.
CONTAMINATION_GAP = 0.10


def volume_falls(monthly: pd.DataFrame, share: float = FALL_SHARE, min_median: float = 20) -> pd.DataFrame:
    """Months whose fired count fell below ``share`` of the median of the earlier months (when that median
    is at least ``min_median`` rows): ``snapshot, fired, median_before, ratio``."""
    rows = []
    fired = monthly.fired.to_numpy(dtype=float)
    for i in range(1, len(fired)):
        med = float(np.median(fired[:i]))
        if med >= min_median and fired[i] < share * med:
            rows.append({"snapshot": monthly.snapshot.iloc[i], "fired": int(fired[i]), "median_before": med,
                         "ratio": fired[i] / med})
    return pd.DataFrame(rows, columns=["snapshot", "fired", "median_before", "ratio"])


def contamination(contacts: pd.DataFrame, gap: float = CONTAMINATION_GAP) -> pd.DataFrame:
    """Months where a campaign reached the fired and the other rows at shares more than ``gap`` apart within
    the conversion window — their comparison then measures the campaign too: ``snapshot, campaign_id,
    share_fired, share_other``."""
    if contacts.empty:
        return pd.DataFrame(columns=["snapshot", "campaign_id", "share_fired", "share_other"])
    c = contacts.assign(share=contacts.contacted / contacts.n)
    wide = c.pivot_table(index=["snapshot", "campaign_id"], columns="fired", values="share", fill_value=0.0)
    wide = wide.reindex(columns=[True, False], fill_value=0.0)
    wide.columns = ["share_fired", "share_other"]
    out = wide[(wide.share_fired - wide.share_other).abs() > gap].reset_index()
    return out.sort_values(["snapshot", "campaign_id"], ignore_index=True)


def _monthly(counts: pd.DataFrame, alpha: float) -> pd.DataFrame:
    rows = []
    for snap, part in counts.groupby("snapshot"):
        g = part.set_index("fired")
        fired = cs.ProportionStats(int(g.n.get(True, 0)), int(g.x_sum.get(True, 0)))
        other = cs.ProportionStats(int(g.n.get(False, 0)), int(g.x_sum.get(False, 0)))
        row = {"snapshot": snap, "eligible": fired.n + other.n, "fired": fired.n, "not_fired": other.n,
               "converted_fired": fired.successes, "converted_other": other.successes,
               "coverage": fired.n / (fired.n + other.n) if fired.n + other.n else math.nan}
        for name, group in (("fired", fired), ("other", other)):
            ci = cs.proportion_ci(group, alpha=alpha) if group.n else None
            row |= {f"rate_{name}": ci.estimate if ci else math.nan, f"rate_{name}_low": ci.ci_low if ci else math.nan,
                    f"rate_{name}_high": ci.ci_high if ci else math.nan}
        row |= {"uplift": math.nan, "ci_low": math.nan, "ci_high": math.nan}
        if fired.n and other.n:
            d = cs.proportion_diff(fired, other, alpha=alpha)
            row |= {"uplift": d.estimate, "ci_low": d.ci_low, "ci_high": d.ci_high}
        rows.append(row)
    return pd.DataFrame(rows)


def _curves(days: pd.DataFrame, n_fired: int, n_other: int, window: int) -> pd.DataFrame:
    """Cumulative share of eligible (client, snapshot) rows converted by day d after the snapshot."""
    grid = pd.DataFrame({"days": np.arange(1, window + 1)})
    out = []
    for fired, n in ((True, n_fired), (False, n_other)):
        part = days[days.fired == fired].set_index("days").converted.reindex(grid.days, fill_value=0)
        out.append(pd.DataFrame({"days": grid.days, "fired": fired, "cumulative_rate": part.cumsum().to_numpy() / max(n, 1)}))
    return pd.concat(out, ignore_index=True)


def _adjusted(cells: pd.DataFrame, covariates: list[str], alpha: float) -> dict[str, Any] | None:
    """Odds ratio of converting for fired vs not, adjusted for ``covariates`` (binomial GLM on cells)."""
    if cells.empty or cells.fired.nunique() < 2:
        return None
    X = pd.get_dummies(cells[covariates], drop_first=True, dtype=float) if covariates else pd.DataFrame(index=cells.index)
    X.insert(0, "fired", cells.fired.astype(float))
    X = add_constant(X, has_constant="add")
    y = np.column_stack([cells.x_sum, cells.n - cells.x_sum])
    fit = GLM(y, X, family=Binomial()).fit()
    low, high = fit.conf_int(alpha).loc["fired"]
    raw = GLM(y, X[["const", "fired"]], family=Binomial()).fit()
    return {"odds_ratio": math.exp(fit.params["fired"]), "ci_low": math.exp(low), "ci_high": math.exp(high),
            "p_value": cs.floor_p(float(fit.pvalues["fired"])), "unadjusted_odds_ratio": math.exp(raw.params["fired"]),
            "covariates": covariates, "cells": int(len(cells))}


def _clustered(frame: pd.DataFrame, alpha: float) -> cs.Estimate | None:
    """Fired minus not-fired conversion with clients as clusters: each group's rate is a ratio of sums
    over clients (conversions / rows), its variance allows for a client's repeated snapshots."""
    rows = frame.set_index("fired")
    if not {True, False} <= set(rows.index) or (rows.n < 2).any():
        return None
    return cs.ratio_diff(cs.from_row(rows.loc[True], "ratio"), cs.from_row(rows.loc[False], "ratio"), alpha)


def backtest(src: Source, catalog: Catalog, trigger_name: str, period_start: str = "", period_end: str = "",
             covariates: list[str] | None = None, model_rows: int = 50_000, seed: int = 1, alpha: float = 0.05,
             top_k_share: float = 0.0) -> Backtest:
    """Backtest ``trigger_name`` at monthly snapshots over the period (defaults from the data).

    ``model_rows`` bounds the propensity model's sample (0 skips the model); ``top_k_share`` sets the
    volume the model is compared at (0: as many as the rule fires for).
    """
    trigger = catalog.get("triggers", trigger_name)
    check_target_line(src, catalog, trigger)
    snaps = snapshots(src, catalog, trigger, period_start, period_end)
    p = src.cache(ct.panel(src, trigger, snaps))  # six queries read the panel: its rules and joins run once
    counts = ct.counts(src, p)
    pooled = counts.groupby("fired")[["n", "x_sum"]].sum()
    fired = cs.ProportionStats(int(pooled.n.get(True, 0)), int(pooled.x_sum.get(True, 0)))
    other = cs.ProportionStats(int(pooled.n.get(False, 0)), int(pooled.x_sum.get(False, 0)))
    if fired.n == 0 or other.n == 0:
        who = "nobody" if fired.n == 0 else "every eligible client"
        raise DataError(f"trigger '{trigger.name}' fires for {who} at the {len(snaps)} monthly snapshots {snaps[0]} … "
                        f"{snaps[-1]}, so there is nothing to compare. Pass another -p trigger=NAME, or another period "
                        "with -p period_start=YYYY-MM-DD -p period_end=YYYY-MM-DD")
    diff = cs.proportion_diff(fired, other, alpha=alpha)
    lift = cs.proportion_lift(fired, other, alpha) if fired.successes and other.successes else None
    clustered = _clustered(ct.clusters(src, p), alpha)
    covariates = ct.default_covariates(src) if covariates is None or covariates == [] else covariates
    adjusted = _adjusted(ct.covariate_cells(src, p, covariates), covariates, alpha)
    model = None
    if model_rows > 0:
        sample, total = cp.sample(src, p, model_rows, seed)
        model = compare(sample, total, seed, top_k_share)
    result = Backtest(trigger, snaps, _monthly(counts, alpha), cs.proportion_ci(fired, alpha=alpha),
                      cs.proportion_ci(other, alpha=alpha), diff, lift, clustered,
                      _curves(ct.days_to_convert(src, p), fired.n, other.n, trigger.window_days), adjusted, model)
    result.volume_falls = volume_falls(result.monthly)
    result.contaminated = contamination(ct.contacted(src, p, trigger.window_days))
    result.headline = {
        "trigger": trigger.name, "target_line": trigger.target_line, "window_days": trigger.window_days,
        "snapshots": [str(s) for s in snaps], "eligible_rows": fired.n + other.n, "fired_rows": fired.n,
        "rate_fired": result.rate_fired.to_dict(), "rate_not_fired": result.rate_other.to_dict(),
        "uplift": diff.to_dict(), "lift": None if lift is None else lift.to_dict(),
        "uplift_clustered": None if clustered is None else clustered.to_dict(),
        "fired_per_month_mean": float(result.monthly.fired.mean()),
        "months_with_significant_uplift": int((result.monthly.ci_low > 0).sum()),
        "monthly_uplift": result.monthly[["snapshot", "uplift", "ci_low", "ci_high"]],
        "adjusted": adjusted,
        "volume_falls": result.volume_falls, "contaminated_months": result.contaminated,
        "model": None if model is None else {k: v for k, v in model.items() if k not in ("calibration", "gains")},
    }
    return result
