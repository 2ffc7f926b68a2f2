"""The propensity model's sample: bounded, seeded, with features built in the engine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

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
