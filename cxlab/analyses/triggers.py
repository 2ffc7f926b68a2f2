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
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from cxlab import stats as cs
from cxlab.catalog.cards import Trigger
from cxlab.catalog.load import Catalog
from cxlab.compute import triggers as ct
from cxlab.data.connect import Source


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
               "coverage": fired.n / (fired.n + other.n) if fired.n + other.n else math.nan,
               "rate_fired": fired.mean if fired.n else math.nan, "rate_other": other.mean if other.n else math.nan,
               "uplift": math.nan, "ci_low": math.nan, "ci_high": math.nan}
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


def _model(sample: pd.DataFrame, total: int, seed: int, bins: int = 10) -> dict[str, Any] | None:
    """Train on the earlier snapshots, test on the later ones; compare with the rule at equal volume."""
    snaps = sorted(sample.snapshot.unique())
    if len(snaps) < 3:
        return None
    cut = snaps[int(len(snaps) * 2 / 3)]
    features = [c for c in sample.columns if c not in ("client_id", "snapshot", "fired", "converted", "days")]
    train, test = sample[sample.snapshot < cut], sample[sample.snapshot >= cut]
    if train.converted.nunique() < 2 or test.converted.nunique() < 2:
        return None
    clf = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, random_state=seed)
    clf.fit(train[features], train.converted)
    score = clf.predict_proba(test[features])[:, 1]
    y = test.converted.to_numpy().astype(int)
    fired = test.fired.to_numpy()
    k = int(fired.sum())
    base = y.mean()
    top = np.argsort(-score, kind="stable")[:k] if k else np.array([], int)
    precision_model = y[top].mean() if k else math.nan
    precision_rule = y[fired].mean() if k else math.nan
    order = pd.qcut(pd.Series(score).rank(method="first"), bins, labels=False)
    calib = pd.DataFrame({"bin": order + 1, "predicted": score, "observed": y}).groupby("bin").mean().reset_index()
    return {"auc_model": float(roc_auc_score(y, score)), "auc_rule": float(roc_auc_score(y, fired)),
            "volume": k, "precision_model": float(precision_model), "precision_rule": float(precision_rule),
            "lift_model": float(precision_model / base), "lift_rule": float(precision_rule / base), "base_rate": float(base),
            "train_rows": int(len(train)), "test_rows": int(len(test)), "sample_rows": int(len(sample)),
            "population_rows": int(total), "test_from": pd.Timestamp(cut).date().isoformat(), "features": len(features),
            "calibration": calib}


def backtest(src: Source, catalog: Catalog, trigger_name: str, period_start: str = "", period_end: str = "",
             covariates: list[str] | None = None, model_rows: int = 50_000, seed: int = 1, alpha: float = 0.05) -> Backtest:
    """Backtest ``trigger_name`` at monthly snapshots over the period (defaults from the data)."""
    trigger = catalog.get("triggers", trigger_name)
    snaps = ct.monthly_snapshots(src, period_start, period_end, trigger.snapshot_day, trigger.window_days)
    p = ct.panel(src, trigger, snaps)
    counts = ct.counts(src, p)
    pooled = counts.groupby("fired")[["n", "x_sum"]].sum()
    fired = cs.ProportionStats(int(pooled.n.get(True, 0)), int(pooled.x_sum.get(True, 0)))
    other = cs.ProportionStats(int(pooled.n.get(False, 0)), int(pooled.x_sum.get(False, 0)))
    diff = cs.proportion_diff(fired, other, alpha=alpha)
    lift = cs.proportion_lift(fired, other, alpha) if fired.successes and other.successes else None
    covariates = ct.default_covariates(src) if covariates is None or covariates == [] else covariates
    adjusted = _adjusted(ct.covariate_cells(src, p, covariates), covariates, alpha)
    model = None
    if model_rows > 0:
        sample, total = ct.model_sample(src, p, model_rows, seed)
        model = _model(sample, total, seed)
    result = Backtest(trigger, snaps, _monthly(counts, alpha), cs.proportion_ci(fired, alpha=alpha),
                      cs.proportion_ci(other, alpha=alpha), diff, lift,
                      _curves(ct.days_to_convert(src, p), fired.n, other.n, trigger.window_days), adjusted, model)
    result.headline = {
        "trigger": trigger.name, "target_line": trigger.target_line, "window_days": trigger.window_days,
        "snapshots": [str(s) for s in snaps], "eligible_rows": fired.n + other.n, "fired_rows": fired.n,
        "rate_fired": result.rate_fired.to_dict(), "rate_not_fired": result.rate_other.to_dict(),
        "uplift": diff.to_dict(), "lift": None if lift is None else lift.to_dict(),
        "fired_per_month_mean": float(result.monthly.fired.mean()),
        "months_with_significant_uplift": int((result.monthly.ci_low > 0).sum()),
        "adjusted": None if adjusted is None else {k: v for k, v in adjusted.items()},
        "model": None if model is None else {k: v for k, v in model.items() if k != "calibration"},
    }
    return result
