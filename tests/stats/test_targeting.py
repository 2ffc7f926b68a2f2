"""cxlab.stats.targeting against scikit-uplift on identical scores, and against planted uplift.

Reference: scikit-uplift 0.5.1 (``pip install scikit-uplift==0.5.1`` into the test venv; it is not a
dependency of cxlab). The values compared are computed by sklift in the test itself, on the same arrays:
``sklift.metrics.qini_auc_score(y, score, t)``, ``uplift_auc_score``, ``uplift_at_k(..., strategy, k)``,
``uplift_by_percentile(..., bins=10, std=True)``, ``qini_curve``, ``uplift_curve``. When sklift is not
installed, the same figures are pinned below as literals (printed by the command in ``_pinned``'s comment).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cxlab.stats import targeting as tg


def _data(seed: int = 1, n: int = 3000):
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    t = (rng.random(n) < 0.4).astype(int)
    y = (rng.random(n) < 0.05 + 0.1 * x * t).astype(int)
    scores = {"noisy": x + rng.normal(0, 0.3, n), "ties": np.round(x, 1), "random": rng.random(n),
              "reversed": -x}
    return y, t, scores


def _sklift():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import sklift.metrics as m
        return m
    except ImportError:
        return None


# python -c "import numpy as np; from tests.stats.test_targeting import _data; import sklift.metrics as m;
#   y,t,s=_data(); [print(k, repr(m.qini_auc_score(y,v,t)), repr(m.uplift_auc_score(y,v,t)),
#   repr(m.uplift_at_k(y,v,t,'overall',k=0.3)), repr(m.uplift_at_k(y,v,t,'by_group',k=0.3))) for k,v in s.items()]"
PINNED = {
    "noisy": (0.12351311328024674, 0.02953626068508744, 0.09438454719742728, 0.09214155607598229),
}


@pytest.mark.parametrize("name", ["noisy", "ties", "random", "reversed"])
def test_scores_equal_scikit_uplift(name):
    y, t, scores = _data()
    s = scores[name]
    m = _sklift()
    if m is None:
        if name not in PINNED:
            pytest.skip("scikit-uplift is not installed; only the pinned literal case runs")
        ref = PINNED[name]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = (m.qini_auc_score(y, s, t), m.uplift_auc_score(y, s, t), m.uplift_at_k(y, s, t, "overall", k=0.3),
                   m.uplift_at_k(y, s, t, "by_group", k=0.3))
    got = (tg.qini_auc_score(y, t, s), tg.uplift_auc_score(y, t, s), tg.uplift_at_k(y, t, s, 0.3).estimate,
           tg.uplift_at_k(y, t, s, 0.3, "by_group").estimate)
    assert got == pytest.approx(ref, abs=1e-9)
    if name == "noisy":
        assert got == pytest.approx(PINNED["noisy"], abs=1e-9)  # the literal stays equal to sklift's


@pytest.mark.parametrize("name", ["noisy", "ties"])
def test_curves_and_percentiles_equal_scikit_uplift(name):
    m = _sklift()
    if m is None:
        pytest.skip("scikit-uplift is not installed")
    y, t, scores = _data()
    s = scores[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qx, qv = m.qini_curve(y, s, t)
        ux, uv = m.uplift_curve(y, s, t)
        table = m.uplift_by_percentile(y, s, t, bins=10, std=True)
    x, v = tg.qini_points(y, t, s)
    np.testing.assert_allclose(x, qx, atol=1e-9)
    np.testing.assert_allclose(v, qv, atol=1e-9)
    x, v = tg.uplift_points(y, t, s)
    np.testing.assert_allclose(x, ux, atol=1e-9)
    np.testing.assert_allclose(v, uv, atol=1e-9)
    ours = tg.uplift_by_percentile(y, t, s, bins=10)
    for col in ("n_treatment", "n_control", "uplift", "std_treatment", "std_control", "std_uplift"):
        np.testing.assert_allclose(ours[col], table[col.replace("rate_", "response_rate_")].to_numpy(), atol=1e-9)


def test_uplift_at_k_takes_int_k_n_people():
    # 10 people, k = 0.35 → int(3.5) = 3 people: scores 9, 8, 7 (treated, control, treated)
    y = np.array([1, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    t = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    s = np.arange(10)[::-1].astype(float)
    e = tg.uplift_at_k(y, t, s, 0.35)
    assert (e.n_treatment, e.n_control) == (2, 1)
    assert e.estimate == pytest.approx(0.5 - 0.0)
    assert e.ci_low < e.estimate < e.ci_high


def test_perfect_and_random_scores():
    y, t, scores = _data(seed=3, n=4000)
    perfect = y * t - y * (1 - t)  # sklift's perfect qini ordering scores exactly 1
    assert tg.qini_auc_score(y, t, perfect) == pytest.approx(1.0)
    b = tg.qini_band(y, t, scores["random"], seed=1)
    assert b.qini.ci_low < 0 < b.qini.ci_high and not b.better_than_random
    good = tg.qini_band(y, t, scores["noisy"], seed=1)
    assert good.better_than_random and good.p_shuffled < 0.05
    assert good.qini.estimate > good.random_high
    assert tg.qini_band(y, t, scores["reversed"], seed=1).worse_than_random


def test_band_is_seeded_and_curves_end_at_the_total_uplift():
    y, t, scores = _data()
    a, b = tg.qini_band(y, t, scores["noisy"], seed=4), tg.qini_band(y, t, scores["noisy"], seed=4)
    assert a.qini == b.qini and a.random_high == b.random_high
    total = y[t == 1].mean() - y[t == 0].mean()
    assert a.uplift_curve[-1] == pytest.approx(total)
    assert np.all(a.uplift_low <= a.uplift_curve + 1e-12) and np.all(a.uplift_curve <= a.uplift_high + 1e-12)


def test_calibration_slope_recovers_a_planted_scale():
    # predictions = half the true uplift → observed uplift moves twice as fast: slope ≈ 2; exact truth → 1
    rng = np.random.default_rng(5)
    n = 200_000
    x = rng.random(n)
    tau = 0.1 * x - 0.02
    t = (rng.random(n) < 0.5).astype(int)
    y = (rng.random(n) < 0.2 + t * tau).astype(int)
    exact = tg.calibration(y, t, tau)
    assert exact.slope.ci_low < 1 < exact.slope.ci_high
    assert tg.calibration(y, t, tau / 2).slope.estimate == pytest.approx(2 * exact.slope.estimate, rel=1e-9)
    assert exact.mean_effect.estimate == pytest.approx(tau.mean(), abs=0.003)
    noise = tg.calibration(y, t, rng.random(n))
    assert noise.slope.ci_low < 0 < noise.slope.ci_high


def test_calibration_slope_equals_statsmodels_ols():
    import statsmodels.api as sm

    rng = np.random.default_rng(8)
    n = 5000
    t = (rng.random(n) < 0.3).astype(int)
    pred = rng.normal(0, 1, n)
    y = (rng.random(n) < 0.2 + 0.05 * t * (pred > 0)).astype(int)
    X = np.column_stack([np.ones(n), t - t.mean(), (t - t.mean()) * (pred - pred.mean())])
    fit = sm.OLS(y, X).fit(cov_type="HC1")
    cal = tg.calibration(y, t, pred)
    assert cal.slope.estimate == pytest.approx(fit.params[2], abs=1e-12)
    assert (cal.slope.ci_low, cal.slope.ci_high) == pytest.approx(tuple(fit.conf_int()[2]), abs=1e-12)


def test_profit_curve_by_hand_and_best_share():
    # uplift 0.2 in the first half (by score), −0.1 in the second: contacting the first half is best
    n = 4000
    s = np.linspace(1, 0, n)
    t = np.tile([1, 0], n // 2)
    first = np.arange(n) < n // 2
    rng = np.random.default_rng(2)
    y = np.where(t == 1, rng.random(n) < np.where(first, 0.3, 0.0), rng.random(n) < 0.1).astype(int)
    p = tg.profit_curve(y, t, s, cost_per_contact=1.0, value_per_conversion=20.0, draws=200, seed=1, points=10)
    assert p.best_share.estimate == pytest.approx(0.5)
    assert p.best_share.ci_low <= 0.5 <= p.best_share.ci_high
    # at share 0.5: incremental = (ȳ_t − ȳ_c) in the top half × people contacted; profit = 20·inc − 1·2000
    top = first
    inc = (y[top & (t == 1)].mean() - y[top & (t == 0)].mean()) * top.sum()
    assert p.incremental[5] == pytest.approx(inc)
    assert p.profit[5] == pytest.approx(20 * inc - 2000)
    assert p.profit[0] == 0


def test_group_uplift_and_bad_input():
    y = np.array([1, 0, 0, 1, 1, 0, 1, 0])
    t = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    g = tg.group_uplift(y, t, np.array([1, 1, 1, 1, 0, 0, 0, 0], bool))
    assert g["share"].estimate == 0.5 and g["uplift"].estimate == pytest.approx(0.5 - 0.5)
    with pytest.raises(ValueError, match="0/1"):
        tg.qini_auc_score(np.array([0, 2]), np.array([0, 1]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="both treated and control"):
        tg.qini_auc_score(np.array([0, 1]), np.array([1, 1]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="share"):
        tg.uplift_at_k(y, t, np.arange(8.0), 1.0)


# --- simulations ------------------------------------------------------------------------------------

SIM_P, SIM_N, SIM_MU0 = 0.5, 2000, 0.10


def _tau(x):
    return 0.12 * x - 0.02


def _true_qini(seed: int = 123, m: int = 4_000_000) -> float:
    """The normalised qini coefficient's large-sample value for score x + N(0, 0.3²): with expected
    outcomes in place of draws, the qini curve per person is p · G(u), G(u) = E[τ · 1{top u}], and the
    perfect curve passes (p·m₁, p·m₁), (1 − (1−p)·m₀, p·m₁), (1, p·G(1))."""
    rng = np.random.default_rng(seed)
    x = rng.random(m)
    s = x + rng.normal(0, 0.3, m)
    tt = _tau(x)[np.argsort(-s)]
    G = np.concatenate([[0], np.cumsum(tt)]) / m
    area = np.trapezoid(G, np.linspace(0, 1, m + 1))
    yt, yc, end = SIM_P * (SIM_MU0 + tt.mean()), (1 - SIM_P) * SIM_MU0, SIM_P * G[-1]
    perfect = 0.5 * yt * yt + yt * (1 - yc - yt) + 0.5 * yc * (yt + end)
    return (SIM_P * area - end / 2) / (perfect - end / 2)


@pytest.mark.slow
def test_qini_band_coverage_over_500_simulations():
    truth = _true_qini()
    rng = np.random.default_rng(2026)
    cover = cover_zero = 0
    sims = 500
    for i in range(sims):
        x = rng.random(SIM_N)
        s = x + rng.normal(0, 0.3, SIM_N)
        t = (rng.random(SIM_N) < SIM_P).astype(float)
        y = (rng.random(SIM_N) < SIM_MU0 + t * _tau(x)).astype(float)
        b = tg.qini_band(y, t, s, draws=300, shuffles=10, seed=i, points=10)
        cover += b.qini.ci_low <= truth <= b.qini.ci_high
        r = tg.qini_band(y, t, rng.random(SIM_N), draws=300, shuffles=10, seed=i, points=10)
        cover_zero += r.qini.ci_low <= 0 <= r.qini.ci_high
    # measured with (B + 1)·q percentile ends: 94.8% and 94.2% (seed 2026; numpy's default ends gave 94.4% and
    # 93.4%, by construction about 94.4% at B = 300: see cxlab/stats/targeting.py). The bar for the
    # random score is 95%; 500 simulations estimate a coverage with binomial SE √(0.95·0.05/500) = 0.97 pp,
    # so the bar is 95% less one SE (a calibrated band falls below it for about 1 seed in 6, the old ends'
    # 94.4% for about 2 in 5).
    assert 0.93 <= cover / sims <= 0.97, cover / sims
    assert cover_zero / sims >= 0.95 - 0.0097, cover_zero / sims


def test_percentile_ends_hold_alpha_over_two_in_each_tail():
    # B draws exchangeable with the estimate: the (B + 1)·q-th ordered draws cover it with probability exactly
    # 1 − α (Davison & Hinkley 1997, §4.2.1: P(T ≤ T*_(k)) = k / (B + 1)); at B = 39, α = 0.05 they are the
    # smallest and largest draw, 1 − 2/40 = 0.95; numpy's default ends (1 + (B − 1)·q) cover about 1 − 2·1.95/40 ≈ 0.90
    rng = np.random.default_rng(3)
    reps, draws = 40_000, 39
    x = rng.normal(size=(reps, draws + 1))
    lo, hi = tg._ends(x[:, 1:], 0.05, axis=1)
    assert np.array_equal(lo, x[:, 1:].min(axis=1)) and np.array_equal(hi, x[:, 1:].max(axis=1))
    cover = np.mean((lo <= x[:, 0]) & (x[:, 0] <= hi))
    assert abs(cover - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps), cover
    d_lo, d_hi = np.percentile(x[:, 1:], [2.5, 97.5], axis=1)
    assert np.mean((d_lo <= x[:, 0]) & (x[:, 0] <= d_hi)) < 0.94  # the default is narrower: why the ends are type 6


def test_binned_normalised_qini_equals_the_person_level_one():
    # 04's coefficient from score bins: with one person per bin it is sklift's qini_auc_score exactly
    from cxlab.stats import ScoreBins, qini_normalised

    y, t, scores = _data()
    s = scores["noisy"]
    order = np.argsort(s, kind="mergesort")[::-1]
    bins = ScoreBins(t[order], (y * t)[order], 1 - t[order], (y * (1 - t))[order])
    assert qini_normalised(bins) == pytest.approx(tg.qini_auc_score(y, t, s), abs=1e-12)
    assert qini_normalised(bins) == pytest.approx(PINNED["noisy"][0], abs=1e-9)


def test_a_bin_without_control_people_has_no_rate_instead_of_raising():
    """A tiny arm leaves some score bins with no control person (07 on a 5-person arm raised ZeroDivisionError):
    that bin's control rate, spreads and interval are missing, the others are computed."""
    from cxlab.stats.targeting import uplift_by_percentile

    y = np.array([1, 0, 1, 0, 1, 0, 0, 1, 0, 0])
    t = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0])  # the three control people score lowest
    score = np.arange(10, 0, -1, dtype=float)
    got = uplift_by_percentile(y, t, score, bins=2)
    assert list(got["n_control"]) == [0, 3]
    assert np.isnan(got["rate_control"][0]) and np.isnan(got["std_control"][0]) and np.isnan(got["ci_low"][0])
    assert got["rate_control"][1] == pytest.approx(1 / 3) and got["rate_treatment"][1] == 0.0  # y of 5..9: t [0, 0], c [1, 0, 0]
