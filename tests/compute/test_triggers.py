"""Trigger backtest: planted truth recovered exactly, and the bank backtest equal to pandas on the CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cxlab.analyses.triggers import backtest
from cxlab.catalog import load_catalog
from cxlab.compute import triggers as ct
from cxlab.data import connect
from cxlab.runner import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "catalog")


@pytest.mark.parametrize("name", ["salary_no_card", "travel_insurance", "inflow_deposit"])
def test_counts_equal_the_generator_and_the_interval_covers_the_planted_lift(small_demo, small_truth, catalog, name):
    truth = small_truth["triggers"][name]
    b = backtest(connect(small_demo), catalog, name, "2024-04-01", "2025-11-01", model_rows=0)
    assert b.rate_fired.n_treatment + b.rate_other.n_treatment == truth["eligible_rows"]
    assert b.rate_fired.n_treatment == truth["triggered_rows"]
    assert round(b.rate_fired.estimate * truth["triggered_rows"]) == truth["converted_triggered"]
    assert b.diff.ci_low <= truth["expected_lift_abs"] <= b.diff.ci_high
    assert b.lift.ci_low <= truth["expected_lift_rel"] <= b.lift.ci_high


def test_model_sample_is_bounded_seeded_and_reproducible(small_demo, catalog):
    src = connect(small_demo)
    trig = catalog.triggers["salary_no_card"]
    panel = ct.panel(src, trig, ct.monthly_snapshots(src, "2024-04-01", "2025-11-01"))
    a, total = ct.model_sample(src, panel, 5000, seed=3)
    b, _ = ct.model_sample(src, panel, 5000, seed=3)
    assert 4000 < len(a) < 6000 < total
    pd.testing.assert_frame_equal(a, b)
    assert "salary_deposit_max_value_30d" in a.columns


def _bank_pandas(csv: Path, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
    """The bank_prior_success backtest written directly on the CSV with pandas (reconstructed dates)."""
    raw = pd.read_csv(csv, sep=";")
    month = raw.month.map({m: i for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)})
    year = 2008 + (month.diff() < 0).cumsum()
    day = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": raw["day"]}))
    opened = day + pd.Timedelta(hours=12)
    success_at = day - pd.to_timedelta(raw.pdays, unit="D") + pd.Timedelta(hours=9)
    rows = []
    for s in snapshots:
        eligible = ~((raw.y == "yes") & (opened < s))
        fired = (raw.pdays >= 0) & (raw.poutcome == "success") & (success_at < s) & (success_at >= s - pd.Timedelta(days=3650))
        converted = (raw.y == "yes") & (opened > s) & (opened <= s + pd.Timedelta(days=30))
        for f in (False, True):
            m = eligible & (fired == f)
            if m.any():
                rows.append({"snapshot": s, "fired": f, "n": int(m.sum()), "x_sum": int((m & converted).sum())})
    return pd.DataFrame(rows)


@pytest.mark.realdata
def test_bank_adapter_and_backtest_agree_with_pandas_on_the_csv(dataset, tmp_path, catalog):
    from cxlab.data.adapters import import_dataset

    csv = dataset("bank_marketing", "bank-full.csv")
    summary = import_dataset("bank", csv, tmp_path / "bank")
    # SOURCE.md: yes-rate 0.116985 (5,289 of 45,211); poutcome = success 1,511 rows, 978 yes
    assert summary.figures["yes_rate"] == pytest.approx(0.116985, abs=5e-7)
    assert (summary.figures["poutcome_success"], summary.figures["poutcome_success_yes"]) == (1511, 978)
    src = connect(tmp_path / "bank")
    snaps = ct.monthly_snapshots(src, "2008-06-01", "2010-10-01")
    engine = ct.counts(src, ct.panel(src, catalog.triggers["bank_prior_success"], snaps))
    expected = _bank_pandas(csv, [pd.Timestamp(s) for s in snaps])
    got = engine[["snapshot", "fired", "n", "x_sum"]].astype({"fired": bool}).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected.astype({"n": got.n.dtype, "x_sum": got.x_sum.dtype}), check_dtype=False)


def test_notebooks_01_and_02_run_on_the_demo(small_demo, small_truth, tmp_path):
    result = run(["01", "02"], data=small_demo, out=tmp_path, run_id="r", progress=False,
                 params={"model_sample": "5000", "period_start": "2024-04-01"})
    assert result.ok, [nb.error for nb in result.notebooks]
    r02 = json.loads((tmp_path / "r" / "02-trigger-backtest.results.json").read_text())
    truth = small_truth["triggers"]["salary_no_card"]
    assert r02["uplift"]["ci_low"] <= truth["expected_lift_abs"] <= r02["uplift"]["ci_high"]
    assert r02["model"]["auc_model"] > 0.5 and r02["model"]["sample_rows"] <= 6000
    r01 = json.loads((tmp_path / "r" / "01-hypothesis.results.json").read_text())
    assert r01["sample_size"]["treatment"] > 0 and r01["months_needed"] > 0
    html = (tmp_path / "r" / "02-trigger-backtest.html").read_text()
    assert "association" in html
