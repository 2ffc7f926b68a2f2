"""A propensity model against the trigger's rule: does scoring clients beat the simple rule?

Features are built in the engine for a bounded, seeded sample of eligible (client, snapshot) rows —
event counts in the 30/90/365 days before the snapshot, the largest value in the last 30 days and the
days since the last event of each frequent type, product lines held, tenure and the client's own
attributes. Only that sample (``size`` rows, stated in the report) comes into pandas. A gradient-boosting
model is trained on the earlier snapshots and tested on the later ones, against the rule at equal volume.
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from cxlab.compute import keys
from cxlab.data.connect import Source

#: Event types (the most frequent ones) whose counts and recency feed the model.
MAX_EVENT_TYPES = 10
#: Client text attributes with more distinct values than this are left out (identifiers, free text).
MAX_CATEGORIES = 30
#: Columns of the sample that are not features.
NOT_FEATURES = ("client_id", "snapshot", "fired", "converted", "days")
#: Share of the snapshots (the earliest) the model is trained on; it is tested on the rest.
TRAIN_SHARE = 2 / 3


def sample(src: Source, panel: ibis.Table, size: int, seed: int) -> tuple[pd.DataFrame, int]:
    """At most ``size`` (client, snapshot) rows of ``panel`` with their features, and the panel's size.

    The rows are the ``size`` smallest keys of (client, snapshot, seed) (:func:`cxlab.compute.keys.key`):
    deterministic for a seed and the same on every engine, an unbiased sample across snapshots and clients.
    """
    total = int(src.con.execute(panel.count()))
    rows = panel.mutate(cx_key=keys.key(panel.client_id, panel.snapshot.date(), str(seed)))
    rows = rows.order_by(["cx_key", "client_id", "snapshot"]).limit(size).drop("cx_key")
    rows = src.cache(rows)  # the features join it three times: draw the sample once
    features = _with_features(src, rows)
    text = [name for name, dtype in features.schema().items() if dtype.is_string()]
    frame = src.con.execute(features.order_by(["snapshot", "client_id"]))
    frame["snapshot"] = pd.to_datetime(frame.snapshot)
    frame[text] = frame[text].astype("category")
    return frame, total


def _with_features(src: Source, rows: ibis.Table) -> ibis.Table:
    """``rows`` (client_id, snapshot, …) with the model's features, as an engine expression."""
    e = src.table("events")
    types = src.con.execute(e.group_by("event_type").aggregate(n=e.count())
                            .order_by([ibis.desc("n"), "event_type"]).limit(MAX_EVENT_TYPES)).event_type.tolist()
    keys = rows.select("client_id", "snapshot")
    j = e.filter(e.event_type.isin(types)).join(keys, "client_id")
    ts = j.ts.cast("timestamp")
    j = j.filter(ts < j.snapshot)
    age = (j.snapshot.epoch_seconds() - ts.epoch_seconds()) / 86_400
    value = j.value.cast("float64") if "value" in j.columns else None
    feats: dict[str, ibis.Value] = {}
    counts = []
    for t in types:
        is_t = j.event_type == t
        for days in (30, 90, 365):
            counts.append(f"{t}_{days}d")
            feats[counts[-1]] = (is_t & (age <= days)).sum()
        if value is not None:
            feats[f"{t}_max_value_30d"] = ibis.ifelse(is_t & (age <= 30), value, ibis.null("float64")).max()
        feats[f"{t}_days_since"] = ibis.ifelse(is_t, age, ibis.null("float64")).min()
    out = rows.left_join(j.group_by(["client_id", "snapshot"]).aggregate(**feats), ["client_id", "snapshot"])
    out = out.drop("client_id_right", "snapshot_right")
    out = out.mutate(**{f: out[f].fill_null(0) for f in counts})  # no event in the window: zero
    h = src.table("holdings").join(src.table("products"), "product_id").join(keys, "client_id")
    open_ = h.opened_at.cast("timestamp") < h.snapshot
    if "closed_at" in h.columns:
        open_ &= h.closed_at.isnull() | (h.closed_at.cast("timestamp") >= h.snapshot)
    h = h.filter(open_)
    lines = h.group_by(["client_id", "snapshot"]).aggregate(lines_held=h.product_line.nunique())
    out = out.left_join(lines, ["client_id", "snapshot"]).drop("client_id_right", "snapshot_right")
    out = out.mutate(lines_held=out.lines_held.fill_null(0))
    out = out.join(_client_attributes(src), "client_id")
    if "joined_at" in out.columns:
        tenure = (out.snapshot.epoch_seconds() - out.joined_at.cast("timestamp").epoch_seconds()) / 86_400
        out = out.mutate(tenure_days=tenure).drop("joined_at")
    return out


def _client_attributes(src: Source) -> ibis.Table:
    """client_id, joined_at and the client columns a model can use: numbers, flags and text with few values."""
    c = src.table("clients")
    keep = ["client_id", *(["joined_at"] if "joined_at" in c.columns else [])]
    for name, dtype in c.schema().items():
        if name in keep:
            continue
        if dtype.is_numeric() or dtype.is_boolean():
            keep.append(name)
        elif dtype.is_string() and src.con.execute(c[name].nunique()) <= MAX_CATEGORIES:
            keep.append(name)
    out = c.select(*keep)
    # flags as 0 / 1: PostgreSQL casts a boolean to int4 only
    return out.mutate(**{n: out[n].cast("int32") for n in keep if c.schema()[n].is_boolean()})


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
