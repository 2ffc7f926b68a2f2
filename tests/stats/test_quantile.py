"""Quantile metrics from value tables: the sample quantile equals numpy's, the bootstrap interval equals
scipy's bootstrap on the rows within Monte Carlo error, and it covers a planted shift of the median."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

import cxlab.stats as cs


def table(values: np.ndarray) -> cs.ValueCounts:
    v, c = np.unique(values, return_counts=True)
    return cs.ValueCounts.of(v, c)


def test_quantile_of_equals_numpy_inverted_cdf():
    rng = np.random.default_rng(31)
    for _ in range(20):
        x = np.round(rng.lognormal(5, 1, rng.integers(10, 2000)))
        for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
            # numpy: np.quantile(x, q, method="inverted_cdf") (Hyndman & Fan type 1)
            assert cs.quantile_of(table(x), q) == np.quantile(x, q, method="inverted_cdf")


def test_value_tables_pool_and_refuse_broken_input():
    a, b = table(np.array([1.0, 2, 2, 5])), table(np.array([2.0, 7]))
    assert (a + b) == table(np.array([1.0, 2, 2, 5, 2, 7]))
    with pytest.raises(ValueError, match="sorted"):
        cs.ValueCounts((2.0, 1.0), (1, 1))
    with pytest.raises(ValueError, match="finite"):
        cs.ValueCounts((1.0, float("nan")), (1, 1))
    with pytest.raises(ValueError, match="at least 10 people"):
        cs.quantile_diff(a, b)


def test_order_statistic_draws_equal_resampling_the_rows():
    from cxlab.stats.quantile import _resampled

    rng = np.random.default_rng(34)
    x = np.round(rng.gamma(2, 30, 800))
    for q in (0.1, 0.5, 0.9):
        ours = _resampled(table(x), q, 4000, np.random.default_rng(5))
        rows = rng.choice(x, (4000, x.size))  # the textbook bootstrap: resample the people
        brute = np.quantile(rows, q, axis=1, method="inverted_cdf")
        assert sps.ks_2samp(ours, brute).pvalue > 0.001, q
        assert ours.mean() == pytest.approx(brute.mean(), abs=3 * brute.std() / np.sqrt(4000) * 1.5)
        assert ours.std() == pytest.approx(brute.std(), rel=0.1)


def test_interval_matches_scipy_bootstrap_on_the_rows():
    rng = np.random.default_rng(32)
    t, c = np.round(rng.gamma(2, 50, 3000) + 8), np.round(rng.gamma(2, 50, 2500))
    ours = cs.quantile_diff(table(t), table(c), 0.5, resamples=4000, seed=1)

    def median_diff(a, b, axis):
        return np.quantile(a, 0.5, axis=axis, method="inverted_cdf") - np.quantile(b, 0.5, axis=axis, method="inverted_cdf")

    # scipy: bootstrap((t, c), median_diff, method="percentile", n_resamples=4000) on the raw rows
    ref = sps.bootstrap((t, c), median_diff, method="percentile", n_resamples=4000, rng=np.random.default_rng(2))
    assert ours.estimate == median_diff(t, c, None)
    se = ref.standard_error
    assert ours.ci_low == pytest.approx(ref.confidence_interval.low, abs=0.5 * se)
    assert ours.ci_high == pytest.approx(ref.confidence_interval.high, abs=0.5 * se)
    assert ours.extra["standard_error"] == pytest.approx(se, rel=0.1)
    assert 0 < ours.p_value < 0.05  # the planted +8 is about 3 standard errors


def test_percentile_bootstrap_covers_a_planted_median_shift():
    rng = np.random.default_rng(33)
    sims, shift = 1000, 10.0
    # lognormal spend: median e^5 ≈ 148.4 before the shift, in both arms; the treatment adds 10 to everyone
    true = shift
    hits = 0
    for _ in range(sims):
        c = np.round(rng.lognormal(5, 0.8, 1500))
        t = np.round(rng.lognormal(5, 0.8, 1500) + shift)
        r = cs.quantile_diff(table(t), table(c), 0.5, resamples=1000, seed=int(rng.integers(1 << 30)))
        hits += r.ci_low <= true <= r.ci_high
    cover = hits / sims
    # binomial tolerance: ±3 standard errors of 95% over 1,000 runs
    assert abs(cover - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / sims), cover
