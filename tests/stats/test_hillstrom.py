"""The Hillstrom e-mail test (real data): per-arm figures from SOURCE.md and Welch against scipy on the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import cxlab.stats as cs

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def rows(dataset) -> pd.DataFrame:
    return pd.read_csv(dataset("hillstrom", "hillstrom.csv"))


def arm(rows: pd.DataFrame, name: str, col: str) -> cs.SampleMeanStats:
    x = rows.loc[rows.segment == name, col].to_numpy(float)
    return cs.SampleMeanStats(len(x), x.sum(), (x**2).sum())


def test_per_arm_spend_matches_source_md(rows):
    # SOURCE.md, "Figures computed here": spend / customer
    assert arm(rows, "Mens E-Mail", "spend").mean == pytest.approx(1.422617, abs=5e-7)
    assert arm(rows, "Womens E-Mail", "spend").mean == pytest.approx(1.077202, abs=5e-7)
    assert arm(rows, "No E-Mail", "spend").mean == pytest.approx(0.652789, abs=5e-7)


def test_mens_vs_no_email_welch_matches_scipy_on_rows(rows):
    t = rows.loc[rows.segment == "Mens E-Mail", "spend"].to_numpy(float)
    c = rows.loc[rows.segment == "No E-Mail", "spend"].to_numpy(float)
    ref = sps.ttest_ind(t, c, equal_var=False)
    ci = ref.confidence_interval(0.95)
    res = cs.mean_diff(arm(rows, "Mens E-Mail", "spend"), arm(rows, "No E-Mail", "spend"))
    assert res.estimate == pytest.approx(1.422617 - 0.652789, abs=1e-6)
    assert (res.ci_low, res.ci_high, res.p_value) == pytest.approx((ci.low, ci.high, ref.pvalue), rel=1e-6)


def test_three_arm_split_shows_no_sample_ratio_mismatch(rows):
    counts = rows.segment.value_counts().to_dict()
    res = cs.srm_check(counts, {k: 1 / 3 for k in counts})
    assert res.p_value == pytest.approx(0.904, abs=5e-4) and not res.flagged
    assert np.isclose(sum(counts.values()), 64_000)
