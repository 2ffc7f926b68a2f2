"""Reference values: published tables, R, and statsmodels / scipy computed on the raw rows.

Each pinned value carries the command that produced it. Tolerances: 1e-9 where the reference is the same
formula computed on rows; 5e-5 where the reference is a published table rounded to 4 decimals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep

import cxlab.stats as cs
from cxlab.stats.sufficient import ProportionStats, RatioStats, RegressionAdjustedStats, SampleMeanStats


def mean_stats(x: np.ndarray) -> SampleMeanStats:
    return SampleMeanStats(len(x), float(x.sum()), float((x**2).sum()))


def cuped_stats(y: np.ndarray, x: np.ndarray) -> RegressionAdjustedStats:
    return RegressionAdjustedStats(len(y), y.sum(), (y**2).sum(), x.sum(), (x**2).sum(), (x * y).sum())


@pytest.mark.parametrize(
    ("xt", "nt", "xc", "nc", "low", "high"),
    # Newcombe (1998), Stat Med 17:873, Table II, method 10 (hybrid score): 56/70 − 48/80 and 9/10 − 3/10.
    [(56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090)],
)
def test_newcombe_matches_the_published_table(xt, nt, xc, nc, low, high):
    res = cs.proportion_diff(ProportionStats(nt, xt), ProportionStats(nc, xc), method="newcombe")
    assert res.ci_low == pytest.approx(low, abs=5e-5) and res.ci_high == pytest.approx(high, abs=5e-5)


def test_wilson_matches_r_prop_test():
    # R: prop.test(81, 263, correct = FALSE)$conf.int  →  0.2552885 0.3662096
    res = cs.proportion_ci(ProportionStats(263, 81), method="wilson")
    assert (res.ci_low, res.ci_high) == pytest.approx((0.2552885, 0.3662096), abs=1e-6)


def test_agresti_coull_matches_its_formula():
    # Agresti & Coull (1998): p̃ = (x + z²/2) / (n + z²), p̃ ± z·sqrt(p̃(1−p̃)/(n + z²)); computed here with numpy.
    z = sps.norm.ppf(0.975)
    n, x = 263, 81
    pt = (x + z**2 / 2) / (n + z**2)
    half = z * np.sqrt(pt * (1 - pt) / (n + z**2))
    res = cs.proportion_ci(ProportionStats(n, x), method="agresti_coull")
    assert (res.ci_low, res.ci_high) == pytest.approx((pt - half, pt + half), abs=1e-9)


def test_z_test_p_value_matches_pearson_chi_square():
    # R: prop.test(c(60, 40), c(1000, 1000), correct = FALSE)$p.value; computed with scipy on the 2x2 table.
    p = sps.chi2_contingency([[60, 940], [40, 960]], correction=False)[1]
    assert cs.proportion_diff(ProportionStats(1000, 60), ProportionStats(1000, 40)).p_value == pytest.approx(p, abs=1e-9)


def test_relative_lift_matches_statsmodels_log_ratio_interval():
    # statsmodels: confint_proportions_2indep(60, 1000, 40, 1000, compare="ratio", method="log")
    low, high = confint_proportions_2indep(60, 1000, 40, 1000, compare="ratio", method="log")
    res = cs.proportion_lift(ProportionStats(1000, 60), ProportionStats(1000, 40))
    assert res.estimate == pytest.approx(0.5) and (res.ci_low + 1, res.ci_high + 1) == pytest.approx((low, high), abs=1e-9)


def test_fisher_exact_matches_scipy():
    # python -c "from scipy import stats; print(stats.fisher_exact([[3, 7], [9, 1]]).pvalue)" → 0.019766611097880443
    res = cs.fisher_exact(ProportionStats(10, 3), ProportionStats(10, 9))
    assert res.p_value == pytest.approx(0.019766611097880443, abs=1e-12)
    assert res.ci_low < res.estimate < res.ci_high


def test_welch_matches_scipy_on_rows():
    rng = np.random.default_rng(1)
    t, c = rng.lognormal(3, 1, 800), rng.lognormal(2.9, 1.2, 500)
    ref = sps.ttest_ind(t, c, equal_var=False)
    ci = ref.confidence_interval(0.95)
    res = cs.mean_diff(mean_stats(t), mean_stats(c))
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    one = cs.mean_diff(mean_stats(t), mean_stats(c), alternative="larger")
    assert one.p_value == pytest.approx(sps.ttest_ind(t, c, equal_var=False, alternative="greater").pvalue, rel=1e-9)


def test_ratio_delta_variance_equals_the_linearised_rows():
    # Deng et al. (2018): Var(m̄/d̄) ≈ Var(m − R·d) / (n·d̄²), computed on the rows with numpy.
    rng = np.random.default_rng(2)
    d = rng.poisson(3, 2000) + 1.0
    m = d * rng.gamma(2.0, 50.0, 2000)
    s = RatioStats(len(m), m.sum(), (m**2).sum(), d.sum(), (d**2).sum(), (m * d).sum())
    r = m.sum() / d.sum()
    assert s.variance_of_ratio() == pytest.approx(np.var(m - r * d, ddof=1) / (len(m) * d.mean() ** 2), rel=1e-9)


def test_cuped_point_estimate_equals_ols_and_se_is_close_to_robust_ols():
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.normal(100, 20, n)
    treat = rng.random(n) < 0.5
    y = 0.8 * x + rng.normal(0, 10, n) + 3.0 * treat
    res = cs.cuped_diff(cuped_stats(y[treat], x[treat]), cuped_stats(y[~treat], x[~treat]))
    # statsmodels: OLS(y, [1, treat, x − x̄]).fit(cov_type="HC1")
    X = sm.add_constant(np.column_stack([treat.astype(float), x - x.mean()]))
    ols = sm.OLS(y, X).fit(cov_type="HC1")
    assert res.estimate == pytest.approx(ols.params[1], abs=1e-9)
    # θ is estimated, not known: the per-group formula and HC1 differ by O(1/n), well under 1 %.
    assert res.extra["se"] == pytest.approx(ols.bse[1], rel=0.01)


def test_did_matches_ols_with_interaction_and_hc2():
    rng = np.random.default_rng(4)
    cells = {(g, t): rng.normal(10 + 2 * g + 1.5 * t + 0.7 * g * t, 3 + g + t, 300 + 50 * g) for g in (0, 1) for t in (0, 1)}
    res = cs.did(mean_stats(cells[1, 0]), mean_stats(cells[1, 1]), mean_stats(cells[0, 0]), mean_stats(cells[0, 1]))
    y = np.concatenate(list(cells.values()))
    g = np.concatenate([np.full(len(v), k[0]) for k, v in cells.items()])
    t = np.concatenate([np.full(len(v), k[1]) for k, v in cells.items()])
    # statsmodels: OLS(y, [1, g, t, g·t]).fit(cov_type="HC2") — in a saturated model HC2 is Σ s²/n per cell.
    ols = sm.OLS(y, np.column_stack([np.ones_like(y), g, t, g * t])).fit(cov_type="HC2")
    assert res.estimate == pytest.approx(ols.params[3], abs=1e-9)
    assert res.extra["se"] == pytest.approx(ols.bse[3], rel=1e-9)


def test_power_agrees_with_statsmodels_and_round_trips():
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    # statsmodels: NormalIndPower().solve_power(proportion_effectsize(0.12, 0.10), power=0.8, alpha=0.05, ratio=1)
    n1 = NormalIndPower().solve_power(proportion_effectsize(0.12, 0.10), power=0.8, alpha=0.05, ratio=1)
    assert n1 == pytest.approx(3834.595739884031, rel=1e-9)  # printed by the command above
    nt, nc = cs.sample_size_proportions(0.10, 0.02, ratio=1.0)
    assert (nt, nc) == (3835, 3835)
    mde = cs.mde_proportions(0.10, 3835, ratio=1.0)
    assert cs.power_proportions(0.10, mde, 3835) == pytest.approx(0.8, abs=1e-6)
    assert mde == pytest.approx(0.02, abs=1e-4)
    nt, nc = cs.sample_size_proportions(0.04, 0.01, ratio=cs.ratio_from_share(0.8))
    assert nc == pytest.approx(nt / 4, abs=1)
    assert cs.power_proportions(0.04, 0.01, nt, ratio=0.25) >= 0.8
    d_mde = cs.mde_means(sd=50.0, n_treatment=1000)
    assert cs.power_means(d_mde, 50.0, 1000) == pytest.approx(0.8, abs=1e-6)
    assert cs.sample_size_means(d_mde, 50.0)[0] == pytest.approx(1000, abs=1)


def test_multiple_testing_matches_hand_computed_holm_and_bh():
    # Holm: sorted 0.005·4, 0.01·3, 0.03·2, max(0.04·1, previous); R p.adjust(c(.01,.04,.03,.005), "holm")
    assert cs.adjust_pvalues([0.01, 0.04, 0.03, 0.005], "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: R p.adjust(c(.01,.04,.03,.005), "BH") → 0.02 0.04 0.04 0.02
    assert cs.adjust_pvalues([0.01, 0.04, 0.03, 0.005], "fdr_bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_srm_matches_scipy_chisquare():
    # scipy.stats.chisquare([5000, 5210], [5105, 5105]).pvalue → 0.0377…
    res = cs.srm_check({"a": 5000, "b": 5210}, {"a": 0.5, "b": 0.5})
    assert res.p_value == pytest.approx(sps.chisquare([5000, 5210], [5105, 5105]).pvalue, abs=1e-12)
    assert not res.flagged


def test_bootstrap_percentile_of_a_mean_is_close_to_the_t_interval():
    x = np.random.default_rng(5).normal(10, 2, 400)
    res = cs.bootstrap_ci([x], np.mean, method="percentile", n_resamples=4000, seed=1)
    t = sps.ttest_1samp(x, 0).confidence_interval()
    # Monte Carlo error of 4,000 resamples on the bounds is about 0.01 here.
    assert (res.ci_low, res.ci_high) == pytest.approx((t.low, t.high), abs=0.03)
    assert cs.bootstrap_ci([x], np.median, seed=7) == cs.bootstrap_ci([x], np.median, seed=7)


def _qini_rows(score, treat, y):
    """scikit-uplift's qini_curve definition on rows, written out with numpy (one point per person)."""
    order = np.argsort(-score, kind="stable")
    t, yy = treat[order], y[order]
    nt, nc = np.cumsum(t), np.cumsum(1 - t)
    yt, yc = np.cumsum(yy * t), np.cumsum(yy * (1 - t))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(nc > 0, yt - yc * nt / nc, yt)


def test_qini_curve_on_one_person_bins_equals_the_row_definition():
    rng = np.random.default_rng(6)
    n = 3000
    score, treat = rng.random(n), (rng.random(n) < 0.5).astype(float)
    y = (rng.random(n) < 0.05 + 0.3 * score * treat).astype(float)
    order = np.argsort(-score, kind="stable")
    bins = cs.ScoreBins(treat[order], (y * treat)[order], 1 - treat[order], (y * (1 - treat))[order])
    _, q = cs.qini_curve(bins)
    assert q[1:] == pytest.approx(_qini_rows(score, treat, y), abs=1e-12)
    assert cs.qini_coefficient(bins) > 0.01
    noise = np.argsort(rng.random(n))  # a score unrelated to uplift: area near zero
    random_bins = cs.ScoreBins(treat[noise], (y * treat)[noise], 1 - treat[noise], (y * (1 - treat))[noise])
    assert abs(cs.qini_coefficient(random_bins)) < cs.qini_coefficient(bins)


def test_uplift_at_k_by_hand():
    bins = cs.ScoreBins(np.array([10, 10]), np.array([5, 1]), np.array([10, 10]), np.array([1, 1]))
    assert cs.uplift_at_k(bins, 0.5) == pytest.approx(0.5 - 0.1)
    assert cs.uplift_by_bin(bins)["uplift"] == pytest.approx([0.4, 0.0])


def test_chance_to_beat_matches_the_closed_form():
    from scipy.special import betaln

    # Miller (2015), "Formulas for Bayesian A/B testing": P(p_t > p_c) for Beta(a_t, b_t), Beta(a_c, b_c).
    at, bt, ac, bc = 1 + 60, 1 + 940, 1 + 40, 1 + 960
    i = np.arange(at)
    closed = np.sum(np.exp(betaln(ac + i, bc + bt) - np.log(bt + i) - betaln(1 + i, bt) - betaln(ac, bc)))
    res = cs.bayes_proportions(ProportionStats(1000, 60), ProportionStats(1000, 40), draws=400_000, seed=3)
    assert res.chance_to_beat == pytest.approx(closed, abs=0.002)


def test_sufficient_statistics_match_numpy_and_pool_by_addition():
    rng = np.random.default_rng(8)
    a, b = rng.normal(5, 2, 100), rng.normal(6, 3, 50)
    assert mean_stats(a).variance == pytest.approx(np.var(a, ddof=1), rel=1e-12)
    assert (mean_stats(a) + mean_stats(b)).variance == pytest.approx(np.var(np.concatenate([a, b]), ddof=1), rel=1e-12)
    x = rng.normal(0, 1, 100)
    assert cuped_stats(a, x).covariance == pytest.approx(np.cov(a, x)[0, 1], rel=1e-12)
    assert cs.from_row(pd.Series({"n": 100, "x_sum": a.sum(), "x_sum_sq": (a**2).sum()}), "mean") == mean_stats(a)
