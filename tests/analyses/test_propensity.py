"""The propensity model against the rule, on a planted signal (the model sees a feature the rule ignores,
so it must win)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cxlab.analyses import propensity as cp


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
