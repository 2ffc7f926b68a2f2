"""A propensity model against the trigger's rule: does scoring clients beat the simple rule?

A gradient-boosting model is trained on the earlier snapshots of the engine's sample
(:func:`cxlab.compute.propensity.sample`) and tested on the later ones, against the rule at equal volume.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from cxlab.compute.propensity import NOT_FEATURES

#: Share of the snapshots (the earliest) the model is trained on; it is tested on the rest.
TRAIN_SHARE = 2 / 3


def compare(frame: pd.DataFrame, total: int, seed: int, top_k_share: float = 0.0, bins: int = 10) -> dict[str, Any] | None:
    """Train on the earlier snapshots of the sample, test on the later ones, and compare with the rule.

    The volume ``k`` is the number of test rows the rule fires for (``top_k_share = 0``) or that share of
    the test rows. Returns AUC of the score and of the rule, conversion among the model's top ``k`` and
    among the rule's fired rows, both as lift over the test base rate, a calibration table by score
    decile and cumulative gains; ``None`` when fewer than three snapshots or one outcome only.
    """
    snaps = sorted(frame.snapshot.unique())
    if len(snaps) < 3:
        return None
    cut = snaps[int(len(snaps) * TRAIN_SHARE)]
    train, test = frame[frame.snapshot < cut], frame[frame.snapshot >= cut]
    if train.converted.nunique() < 2 or test.converted.nunique() < 2:
        return None
    features = [c for c in frame.columns if c not in NOT_FEATURES and train[c].nunique() > 1]  # constants teach nothing
    clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.06, min_samples_leaf=40,
                                         categorical_features="from_dtype", random_state=seed)
    clf.fit(train[features], train.converted.astype(int))
    score = clf.predict_proba(test[features])[:, 1]
    y = test.converted.to_numpy().astype(int)
    fired = test.fired.to_numpy().astype(bool)
    k = int(round(top_k_share * len(test))) if top_k_share > 0 else int(fired.sum())
    order = np.argsort(-score, kind="stable")
    base = float(y.mean())
    precision_model = float(y[order[:k]].mean()) if k else math.nan
    precision_rule = float(y[fired].mean()) if fired.any() else math.nan
    low, high = _volume_diff_ci(y, order[:k], fired, seed) if k and fired.any() else (math.nan, math.nan)
    return {
        "difference": precision_model - precision_rule, "difference_low": low, "difference_high": high,
        "auc_model": float(roc_auc_score(y, score)), "auc_rule": float(roc_auc_score(y, fired)),
        "volume": k, "rule_volume": int(fired.sum()), "base_rate": base,
        "precision_model": precision_model, "precision_rule": precision_rule,
        "lift_model": precision_model / base, "lift_rule": precision_rule / base,
        "train_rows": int(len(train)), "test_rows": int(len(test)), "test_converters": int(y.sum()), "sample_rows": int(len(frame)),
        "population_rows": int(total), "test_from": pd.Timestamp(cut).date().isoformat(), "features": len(features),
        "calibration": _calibration(score, y, bins), "gains": _gains(score, y, fired),
    }


def _volume_diff_ci(y: np.ndarray, top: np.ndarray, fired: np.ndarray, seed: int, reps: int = 1000,
                    alpha: float = 0.05) -> tuple[float, float]:
    """Percentile interval of (conversion among the model's top rows − among the rule's rows) over test
    rows resampled with Poisson(1) weights: the score and the sets are fixed (trained before the test
    period), so the interval is the test sample's noise; the two sets may share rows, which a paired
    resampling keeps (Hanley & MacGibbon 2006, "Creating non-parametric bootstrap samples using Poisson
    frequencies")."""
    in_top = np.zeros(len(y), bool)
    in_top[top] = True
    rng = np.random.default_rng(seed)
    diffs = []
    for start in range(0, reps, 100):  # chunks bound the memory: 100 × test rows weights at a time
        w = rng.poisson(1.0, (min(100, reps - start), len(y))).astype(float)
        m = (w[:, in_top] @ y[in_top]) / np.maximum(w[:, in_top].sum(1), 1e-12)
        r = (w[:, fired] @ y[fired]) / np.maximum(w[:, fired].sum(1), 1e-12)
        diffs.append(m - r)
    d = np.concatenate(diffs)
    return float(np.quantile(d, alpha / 2)), float(np.quantile(d, 1 - alpha / 2))


def _calibration(score: np.ndarray, y: np.ndarray, bins: int) -> pd.DataFrame:
    """Mean predicted and observed conversion per score decile (equal-count bins; ties broken by order)."""
    rank = pd.Series(score).rank(method="first")
    frame = pd.DataFrame({"bin": pd.qcut(rank, bins, labels=False) + 1, "predicted": score, "observed": y})
    return frame.groupby("bin").agg(n=("observed", "size"), predicted=("predicted", "mean"),
                                    observed=("observed", "mean")).reset_index()


def _gains(score: np.ndarray, y: np.ndarray, fired: np.ndarray, points: int = 50) -> pd.DataFrame:
    """Share of converters reached against the share of clients targeted: the model at each volume and
    the rule at its own (a single point, flagged ``rule``)."""
    converters = max(int(y.sum()), 1)
    hits = np.concatenate([[0], np.cumsum(y[np.argsort(-score, kind="stable")])])
    share = np.linspace(0, 1, points + 1)
    idx = np.round(share * len(y)).astype(int)
    curve = pd.DataFrame({"targeted": share, "reached": hits[idx] / converters, "rule": False})
    rule = pd.DataFrame({"targeted": [fired.mean()], "reached": [y[fired].sum() / converters], "rule": [True]})
    return pd.concat([curve, rule], ignore_index=True)
