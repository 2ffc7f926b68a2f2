"""Propensity model against the rule: a bounded, seeded sample with features built in the engine, and the
comparison on a planted signal (the model sees a feature the rule ignores, so it must win)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cxlab.catalog import load_catalog
from cxlab.compute import propensity as cp
from cxlab.compute import triggers as ct
from cxlab.data import connect

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_panel(small_demo):
    src = connect(small_demo)
    trig = load_catalog(ROOT / "catalog").triggers["salary_no_card"]
    return src, ct.panel(src, trig, ct.monthly_snapshots(src, "2024-04-01", "2025-11-01"))


def test_sample_is_bounded_seeded_and_has_engine_features(demo_panel, small_truth):
    src, panel = demo_panel
    a, total = cp.sample(src, panel, 5000, seed=3)
    b, _ = cp.sample(src, panel, 5000, seed=3)
    c, _ = cp.sample(src, panel, 5000, seed=4)
    assert len(a) == 5000 and total == small_truth["triggers"]["salary_no_card"]["eligible_rows"]
    pd.testing.assert_frame_equal(a, b)
    assert set(zip(a.client_id, a.snapshot, strict=True)) != set(zip(c.client_id, c.snapshot, strict=True))
    assert {"salary_deposit_30d", "salary_deposit_max_value_30d", "salary_deposit_days_since", "lines_held",
            "tenure_days", "income_band"} <= set(a.columns)
    assert a.income_band.dtype == "category" and a.salary_deposit_30d.notna().all()
    # the rule is max_events('salary_deposit', 30) >= 3000 AND NOT holds('credit_card'): eligible rows hold no card,
    # so it fires exactly when the 30-day maximum salary reaches 3,000 — the engine features must agree
    assert (a.fired == (a.salary_deposit_max_value_30d.fillna(0) >= 3000)).all()
    assert (a.snapshot.min(), a.snapshot.max()) == (pd.Timestamp("2024-04-01"), pd.Timestamp("2025-11-01"))


def _planted(n: int = 30_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Six monthly snapshots; conversion depends on ``a`` (the rule's signal) and on ``b`` (which the rule
    ignores); the rule fires on a > 1."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-4 + 0.8 * a + 1.2 * b)))
    frame = pd.DataFrame({"client_id": np.arange(n), "snapshot": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 6, n) * 31, unit="D"),
                          "fired": a > 1, "converted": rng.random(n) < p, "days": np.nan, "a": a, "b": b})
    return frame, p


def test_model_beats_a_rule_that_ignores_a_planted_feature():
    frame, p = _planted()
    r = cp.compare(frame, total=len(frame), seed=1)
    test = frame[frame.snapshot >= r["test_from"]]
    assert r["volume"] == r["rule_volume"] == int(test.fired.sum())
    assert r["train_rows"] + r["test_rows"] == len(frame) and r["test_converters"] == int(test.converted.sum())
    oracle = roc_auc_score(test.converted, p[test.index])
    assert r["auc_rule"] < r["auc_model"] <= oracle + 0.01 and r["auc_model"] > oracle - 0.03
    assert r["precision_model"] > r["precision_rule"] == pytest.approx(test.converted[test.fired].mean())
    assert r["lift_rule"] == pytest.approx(r["precision_rule"] / test.converted.mean())
    calib = r["calibration"]
    assert len(calib) == 10 and calib.n.sum() == r["test_rows"]
    assert calib.observed.iloc[-1] > 3 * calib.observed.iloc[0]  # the top decile converts far more than the bottom
    gains = r["gains"]
    assert gains[~gains.rule].reached.iloc[[0, -1]].tolist() == [0.0, 1.0]
    rule = gains[gains.rule].iloc[0]
    assert rule.targeted == pytest.approx(test.fired.mean())


def test_volume_share_and_determinism():
    frame, _ = _planted(seed=2)
    r1 = cp.compare(frame, len(frame), seed=1, top_k_share=0.05)
    r2 = cp.compare(frame, len(frame), seed=1, top_k_share=0.05)
    assert r1["volume"] == round(0.05 * r1["test_rows"]) != r1["rule_volume"]
    assert {k: v for k, v in r1.items() if k not in ("calibration", "gains")} == \
        {k: v for k, v in r2.items() if k not in ("calibration", "gains")}


def test_too_few_snapshots_or_one_outcome_gives_none():
    frame, _ = _planted(n=2000)
    assert cp.compare(frame[frame.snapshot < "2024-03-01"], 2000, 1) is None  # two snapshots
    assert cp.compare(frame.assign(converted=False), 2000, 1) is None
