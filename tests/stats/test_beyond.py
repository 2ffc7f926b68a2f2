"""The retrospective's methods beyond the usual: CUPED within has-history strata, gatekeeping for a
primary metric, and power for ratio and CUPED-adjusted metrics — each against an outside reference and
against planted effects in seeded simulations (binomial tolerance: ±3 standard errors)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import statsmodels.api as sm

import cxlab.stats as cs
from cxlab.stats.sufficient import RatioStats, RegressionAdjustedStats

SIMS = 1000


def cuped_stats(y: np.ndarray, x: np.ndarray) -> RegressionAdjustedStats:
    return RegressionAdjustedStats(len(y), y.sum(), (y**2).sum(), x.sum(), (x**2).sum(), (x * y).sum())


def new_and_old(rng: np.random.Generator, n: int, effect: float, new_share: float = 0.3):
    """Spend after the send and before it: old clients' spend follows their history; new clients have no
    history (pre = 0) but spend like a typical old client, far above the old clients' line at pre = 0."""
    new = rng.random(n) < new_share
    treat = rng.random(n) < 0.5
    pre = np.where(new, 0.0, rng.gamma(4, 25, n))
    y = np.where(new, rng.normal(110, 30, n), 20 + 0.9 * pre + rng.normal(0, 30, n)) + effect * treat
    return y, pre, treat, new


def strata(y, pre, treat, new):
    return {name: (cuped_stats(y[s & treat], pre[s & treat]), cuped_stats(y[s & ~treat], pre[s & ~treat]))
            for name, s in (("history", ~new), ("new", new))}


def test_stratified_cuped_equals_ols_within_each_stratum():
    y, pre, treat, new = new_and_old(np.random.default_rng(21), 6000, 5.0)
    res = cs.cuped_stratified(strata(y, pre, treat, new))
    # statsmodels: OLS(y, [1, treat, pre − mean(pre)]) within the "history" stratum; OLS(y, [1, treat]) for "new"
    old = ~new
    X = sm.add_constant(np.column_stack([treat[old].astype(float), pre[old] - pre[old].mean()]))
    b_old = sm.OLS(y[old], X).fit().params[1]
    b_new = sm.OLS(y[new], sm.add_constant(treat[new].astype(float))).fit().params[1]
    per = res.strata
    assert per["history"]["estimate"] == pytest.approx(b_old, abs=1e-9)
    assert per["new"]["estimate"] == pytest.approx(b_new, abs=1e-9) and per["new"]["theta"] == 0.0
    w_old = old.sum() / len(y)
    assert res.estimate == pytest.approx(w_old * b_old + (1 - w_old) * b_new, abs=1e-9)
    assert per["history"]["variance_reduction"] > 0.5 and per["new"]["variance_reduction"] == 0.0


def test_stratified_cuped_covers_and_beats_one_slope_for_everybody():
    rng = np.random.default_rng(22)
    effect, n = 5.0, 3000
    strat, pooled, raw = [], [], []
    for _ in range(SIMS):
        y, pre, treat, new = new_and_old(rng, n, effect)
        strat.append(cs.cuped_stratified(strata(y, pre, treat, new)))
        pooled.append(cs.cuped_diff(cuped_stats(y[treat], pre[treat]), cuped_stats(y[~treat], pre[~treat])))
        raw.append(y[treat].mean() - y[~treat].mean())
    cover = np.mean([r.ci_low <= effect <= r.ci_high for r in strat])
    assert abs(cover - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / SIMS), cover
    # the new clients' zeros bend a single slope; within strata the estimate varies less
    sd_strat, sd_pooled, sd_raw = (np.std(v) for v in ([r.estimate for r in strat], [r.estimate for r in pooled], raw))
    assert sd_strat < 0.95 * sd_pooled < sd_raw
    # the reported variance reduction is what the simulation shows (within 0.05)
    assert np.mean([r.extra["variance_reduction"] for r in strat]) == pytest.approx(1 - (sd_strat / sd_raw) ** 2, abs=0.05)


def test_fixed_sequence_and_gatekeeper_by_hand():
    # fixed sequence: running maximum in the stated order
    assert cs.fixed_sequence([0.01, 0.04, 0.03, 0.20]) == pytest.approx([0.01, 0.04, 0.04, 0.20])
    # gatekeeper: R p.adjust(c(.01, .04, .02), "holm") → 0.03 0.04 0.04; then at least the primary's 0.03
    primary, rest = cs.gatekeeper(0.03, [0.01, 0.04, 0.02])
    assert primary == 0.03 and rest == pytest.approx([0.03, 0.04, 0.04])
    # a primary that fails closes the gate for every secondary
    assert (cs.gatekeeper(0.2, [0.001, 0.002])[1] >= 0.2).all()


def test_holm_and_bh_equal_statsmodels_row_by_row():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(26)
    p = rng.random((30, 6)) ** 3  # skewed towards small values, with ties of order by chance
    p[0] = [0.01, 0.01, 0.2, 0.2, 1.0, 0.0]  # exact ties, a 1 and a 0
    for method in ("holm", "fdr_bh", "bonferroni"):
        ours = cs.adjust_pvalues(p, method)
        ref = np.array([multipletests(row, method=method)[1] for row in p])
        assert ours == pytest.approx(ref, abs=1e-12), method


def test_gatekeeper_controls_the_family_error_and_keeps_the_primarys_power():
    rng = np.random.default_rng(23)
    alpha, sims = 0.05, 20_000
    # global null: four independent uniform p-values, primary first
    p = rng.random((sims, 4))
    first, rest = cs.gatekeeper(p[:, 0], p[:, 1:])
    fwer = np.mean((first < alpha) | (rest < alpha).any(axis=1))
    assert fwer <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / sims), fwer
    # ungated Holm-free reading of the secondaries would not control it: the check can fail
    assert np.mean((p < alpha).any(axis=1)) > 0.18
    # a real primary effect (z shifted by 2.8 ≈ 80% power) with null secondaries: the gate keeps the
    # primary's power; Holm over all four metrics costs it
    p_primary = 2 * scipy.stats.norm.sf(np.abs(rng.normal(2.8, 1, sims)))
    gate = np.mean(cs.gatekeeper(p_primary, p[:, 1:])[0] < alpha)
    holm = np.mean(cs.adjust_pvalues(np.column_stack([p_primary, p[:, 1:]]), "holm")[:, 0] < alpha)
    assert gate == pytest.approx(0.80, abs=0.02) and holm < gate - 0.1


def test_ratio_sd_equals_the_linearised_rows():
    rng = np.random.default_rng(24)
    d = rng.poisson(3, 5000) + 1.0
    m = d * rng.gamma(2, 20, 5000)
    s = RatioStats(5000, m.sum(), (m**2).sum(), d.sum(), (d**2).sum(), (m * d).sum())
    r = m.sum() / d.sum()
    # numpy: np.std((m − R·d) / mean(d), ddof=1)
    assert cs.ratio_sd(s) == pytest.approx(np.std((m - r * d) / d.mean(), ddof=1), rel=1e-9)


def test_planned_sample_sizes_deliver_the_planned_power():
    rng = np.random.default_rng(25)
    tol = 3 * np.sqrt(0.8 * 0.2 / SIMS)
    # ratio metric: revenue per order, unit = client; plan from one history sample, test on fresh ones
    def clients(n, uplift=0.0):
        d = rng.poisson(2, (SIMS, n)) + 1.0
        return rng.gamma(2, 10 * (1 + uplift), (SIMS, n)) * d, d
    m, d = clients(4000)
    history = RatioStats(4000, m[0].sum(), (m[0] ** 2).sum(), d[0].sum(), (d[0] ** 2).sum(), (m[0] * d[0]).sum())
    mde = 0.1 * history.ratio
    nt, nc = cs.sample_size_ratio(mde, history)
    (mt, dt), (mc, dc) = clients(nt, 0.1), clients(nc)
    mk = lambda a, b: RatioStats(a.size, a.sum(), (a**2).sum(), b.sum(), (b**2).sum(), (a * b).sum())  # noqa: E731
    hits = np.mean([cs.ratio_diff(mk(a, b), mk(c, e)).ci_low > 0 for a, b, c, e in zip(mt, dt, mc, dc, strict=True)])
    assert hits == pytest.approx(0.8, abs=tol + 0.01)
    # CUPED: ρ = 0.6 removes 36% of the variance, so fewer people reach the same power
    rho, sd, mde = 0.6, 10.0, 1.5
    nt, nc = cs.sample_size_cuped(mde, sd, rho**2)
    assert nt < 0.66 * cs.sample_size_means(mde, sd)[0]
    x = rng.normal(0, 1, (SIMS, 2, nt))
    y = sd * (rho * x + np.sqrt(1 - rho**2) * rng.normal(0, 1, (SIMS, 2, nt)))
    y[:, 0] += mde
    hits = np.mean([cs.cuped_diff(cuped_stats(a, b), cuped_stats(c, e)).ci_low > 0
                    for a, b, c, e in zip(y[:, 0], x[:, 0], y[:, 1], x[:, 1], strict=True)])
    assert hits == pytest.approx(0.8, abs=tol + 0.01)


def test_capped_means_hold_alpha_on_heavy_tails_and_narrow_the_interval():
    """Capping per-person spend at the pooled 99th percentile (as the engine does: percentile_cont =
    numpy's linear percentile) keeps Welch's false-positive rate at α under the null and narrows it."""
    rng = np.random.default_rng(27)
    sims, n, alpha = 1000, 2000, 0.05
    false_pos, width_raw, width_capped = 0, [], []
    for _ in range(sims):
        y = rng.lognormal(4, 1.6, (2, n))  # heavy right tail: a few people spend a hundred times the median
        cap = np.percentile(y, 99)
        raw = cs.mean_diff(*(cs.SampleMeanStats(n, a.sum(), (a**2).sum()) for a in y), alpha)
        capped = np.minimum(y, cap)
        res = cs.mean_diff(*(cs.SampleMeanStats(n, a.sum(), (a**2).sum()) for a in capped), alpha)
        false_pos += res.p_value < alpha
        width_raw.append(raw.ci_high - raw.ci_low)
        width_capped.append(res.ci_high - res.ci_low)
    rate = false_pos / sims
    assert abs(rate - alpha) <= 3 * np.sqrt(alpha * (1 - alpha) / sims), rate
    assert np.median(np.array(width_capped) / np.array(width_raw)) < 0.8
