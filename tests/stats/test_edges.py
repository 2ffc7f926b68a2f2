"""Degenerate inputs get a clear ValueError naming the argument; properties hold for any counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cxlab.stats as cs
from cxlab.stats.sufficient import ProportionStats, SampleMeanStats


def test_zero_and_all_conversions_still_give_intervals():
    zero = cs.proportion_ci(ProportionStats(50, 0))
    assert zero.ci_low == 0 and 0 < zero.ci_high < 0.1
    full = cs.proportion_ci(ProportionStats(50, 50))
    assert full.ci_high == pytest.approx(1) and 0.9 < full.ci_low < 1
    d = cs.proportion_diff(ProportionStats(50, 0), ProportionStats(60, 0))
    assert d.estimate == 0 and d.ci_low < 0 < d.ci_high and d.p_value == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ProportionStats(10, 11), "successes .11. cannot exceed n .10."),
        (lambda: ProportionStats(-1, 0), "n must be at least 0"),
        (lambda: SampleMeanStats(10, math.nan, 1.0), "sum is missing .NaN."),
        (lambda: SampleMeanStats(10, 1.0, math.inf), "sum_squares is infinite"),
        (lambda: cs.proportion_ci(ProportionStats(0, 0)), "group has n=0"),
        (lambda: cs.mean_diff(SampleMeanStats(1, 1.0, 1.0), SampleMeanStats(5, 5.0, 6.0)), "treatment has n=1"),
        (lambda: cs.proportion_lift(ProportionStats(10, 2), ProportionStats(10, 0)), "control has no successes"),
        (lambda: cs.mean_diff(SampleMeanStats(3, 3.0, 3.0), SampleMeanStats(3, 3.0, 3.0)), "zero variance"),
        (lambda: cs.proportion_diff(ProportionStats(10, 1), ProportionStats(10, 1), method="exact"), "method must be one of newcombe, wald"),
        (lambda: cs.proportion_ci(ProportionStats(10, 1), alpha=1.5), "alpha must be between 0 and 1"),
        (lambda: cs.srm_check({"a": 10, "x": 5}, {"a": 0.5, "b": 0.5}), "observed but not planned"),
        (lambda: cs.srm_check({"a": 10}, {"a": 0.6, "b": 0.6}), "sum to 1"),
        (lambda: cs.adjust_pvalues([0.1, math.nan]), "finite"),
        (lambda: cs.sample_size_proportions(0.0, 0.01), "baseline must be a rate"),
        (lambda: cs.from_row({"n": 5}, "mean"), "no column 'x_sum'"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_unequal_allocation_and_a_zero_traffic_arm():
    res = cs.srm_check({"control": 2000, "email": 8000}, {"control": 0.2, "email": 0.8})
    assert not res.flagged
    broken = cs.srm_check({"control": 2000, "email": 0, "offer": 8000}, {"control": 0.2, "email": 0.4, "offer": 0.4})
    assert broken.flagged and broken.zero_arms == ("email",)
    skewed = cs.srm_check({"control": 2300, "email": 7700}, {"control": 0.2, "email": 0.8})
    assert skewed.flagged and skewed.p_value < 0.001


counts = st.integers(min_value=1, max_value=5000)


@settings(max_examples=60, deadline=None)
@given(counts, st.floats(0, 1), counts, st.floats(0, 1))
def test_intervals_contain_the_estimate_and_swapping_arms_flips_the_sign(nt, ft, nc, fc):
    t, c = ProportionStats(nt, int(ft * nt)), ProportionStats(nc, int(fc * nc))
    for method in ("newcombe", "wald"):
        d = cs.proportion_diff(t, c, method=method)
        assert d.ci_low - 1e-12 <= d.estimate <= d.ci_high + 1e-12
        r = cs.proportion_diff(c, t, method=method)
        assert r.estimate == pytest.approx(-d.estimate)
        assert (r.ci_low, r.ci_high) == pytest.approx((-d.ci_high, -d.ci_low), abs=1e-9)
    one = cs.proportion_ci(t)
    assert one.ci_low - 1e-12 <= one.estimate <= one.ci_high + 1e-12


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=30), st.sampled_from(["holm", "fdr_bh", "bonferroni"]))
def test_adjusted_p_values_are_at_least_raw_and_keep_their_order(pvalues, method):
    raw = np.array(pvalues)
    adj = cs.adjust_pvalues(raw, method)
    assert np.all(adj >= raw - 1e-15) and np.all(adj <= 1)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4), min_size=3, max_size=50), st.lists(st.floats(-1e4, 1e4), min_size=3, max_size=50))
def test_welch_interval_contains_the_difference_and_flips(a, b):
    sa = SampleMeanStats(len(a), float(np.sum(a)), float(np.sum(np.square(a))))
    sb = SampleMeanStats(len(b), float(np.sum(b)), float(np.sum(np.square(b))))
    if sa.variance <= 1e-6 and sb.variance <= 1e-6:
        return
    d, r = cs.mean_diff(sa, sb), cs.mean_diff(sb, sa)
    assert d.ci_low <= d.estimate <= d.ci_high
    assert r.estimate == pytest.approx(-d.estimate, abs=1e-6)


def test_srm_practical_deviation_on_a_huge_population():
    # 5,010,000 vs 4,990,000 planned 50/50: p ≈ 2.5e-10, but the gap is only 0.2% of an arm
    observed = {"control": 5_010_000, "treatment": 4_990_000}
    assert cs.srm_check(observed, {"control": 0.5, "treatment": 0.5}).flagged
    res = cs.srm_check(observed, {"control": 0.5, "treatment": 0.5}, min_relative_deviation=0.01)
    assert res.p_value < 1e-9 and res.deviation == pytest.approx(0.002) and not res.flagged
    broken = cs.srm_check({"control": 5_300_000, "treatment": 4_700_000}, {"control": 0.5, "treatment": 0.5},
                          min_relative_deviation=0.01)
    assert broken.flagged and broken.deviation == pytest.approx(0.06)
