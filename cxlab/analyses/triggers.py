"""Trigger backtest: engine counts (``cxlab.compute.triggers``) → rates, lifts with intervals, month by
month, coverage, time to conversion, a covariate-adjusted odds ratio, and a propensity model against the
rule at equal volume. A backtest shows association; only a randomised campaign proves cause."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from cxlab import stats as cs
from cxlab.catalog.cards import Trigger
from cxlab.catalog.load import Catalog
from cxlab.compute import propensity as cp
from cxlab.compute import triggers as ct
from cxlab.compute.base import product_lines
from cxlab.data.connect import Source
from cxlab.errors import CardError, DataError


@dataclass
class Backtest:
    """What the 02 report shows."""

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


def _monthly(counts: pd.DataFrame, alpha: float) -> pd.DataFrame:
    rows = []
    for snap, part in counts.groupby("snapshot"):
        g = part.set_index("fired")
        fired = cs.ProportionStats(int(g.n.get(True, 0)), int(g.x_sum.get(True, 0)))
        other = cs.ProportionStats(int(g.n.get(False, 0)), int(g.x_sum.get(False, 0)))
        row = {"snapshot": snap, "eligible": fired.n + other.n, "fired": fired.n,
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
    X = sm.add_constant(X, has_constant="add")
    y = np.column_stack([cells.x_sum, cells.n - cells.x_sum])
    fit = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    low, high = fit.conf_int(alpha).loc["fired"]
    raw = sm.GLM(y, X[["const", "fired"]], family=sm.families.Binomial()).fit()
    return {"odds_ratio": math.exp(fit.params["fired"]), "ci_low": math.exp(low), "ci_high": math.exp(high),
            "p_value": float(fit.pvalues["fired"]), "unadjusted_odds_ratio": math.exp(raw.params["fired"]),
            "covariates": covariates, "cells": int(len(cells))}


def _clustered(frame: pd.DataFrame, alpha: float) -> cs.Estimate | None:
    """Fired minus not-fired conversion with clients as clusters: each group's rate is a ratio of sums
    over clients (conversions / rows), its variance allows for a client's repeated snapshots."""
    rows = frame.set_index("fired")
    if not {True, False} <= set(rows.index) or (rows.n < 2).any():
        return None
    return cs.ratio_diff(cs.from_row(rows.loc[True], "ratio"), cs.from_row(rows.loc[False], "ratio"), alpha)


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
    diff = cs.proportion_diff(fired, other, alpha=alpha)
    lift = cs.proportion_lift(fired, other, alpha) if fired.successes and other.successes else None
    clustered = _clustered(ct.clusters(src, p), alpha)
    covariates = ct.default_covariates(src) if covariates is None or covariates == [] else covariates
    adjusted = _adjusted(ct.covariate_cells(src, p, covariates), covariates, alpha)
    model = None
    if model_rows > 0:
        sample, total = cp.sample(src, p, model_rows, seed)
        model = cp.compare(sample, total, seed, top_k_share)
    result = Backtest(trigger, snaps, _monthly(counts, alpha), cs.proportion_ci(fired, alpha=alpha),
                      cs.proportion_ci(other, alpha=alpha), diff, lift, clustered,
                      _curves(ct.days_to_convert(src, p), fired.n, other.n, trigger.window_days), adjusted, model)
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
        "model": None if model is None else {k: v for k, v in model.items() if k not in ("calibration", "gains")},
    }
    return result
