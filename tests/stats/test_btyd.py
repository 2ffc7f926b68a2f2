"""Buy-till-you-die models against published values on the CDNOW sample, and against planted parameters.

References (the 2,357-customer CDNOW sample, 39-week calibration, times in weeks):

- BG/NBD (r, α, a, b) = (0.243, 4.414, 0.793, 2.426), LL = −9582.4: Fader, Hardie & Lee (2005), Marketing
  Science 24(2), §4; the same values in lifetimes 0.11 ``tests/test_estimation.py``
  (``TestBetaGeoFitter.test_params_out_is_close_to_Hardie_paper``, decimal=3) with the conditional
  expectation 1.226 for x=2, t_x=30.43, T=38.86, t=39 ("Hardie excel sheet"), E[X(t)] at
  t = 0.1429 … 78 and P(X(t)=n) from R BTYD (``test_probability_of_n_purchases_up_to_time_same_as_R_BTYD``).
- modified BG/NBD (0.525, 6.183, 0.891, 1.614): lifetimes ``test_params_out_is_close_to_BTYDplus``.
- Pareto/NBD (0.553, 10.578, 0.606, 11.669), LL = −9595.0: FHL (2005) §4; lifetimes
  ``TestParetoNBDFitter.test_params_out_is_close_to_Hardie_paper``; P(alive) 0.9979 for x=26, t_x=30.86,
  T=31 at R BTYD's (0.5534, 10.5802, 0.6061, 11.6562) and E[Y(52)] = 25.46 (BTYD walkthrough, p. 8).
- Gamma-Gamma (p, q, v) = (6.25, 3.74, 15.44) and E[Z | x, m̄] of the first ten customers
  (24.65, 18.91, 35.17, …) from Hardie's note 025 spreadsheet, as lifetimes ``TestGammaGammaFitter``.

Search: the ``code`` corpus, "lifetimes test ModifiedBetaGeoFitter … cdnow" → lifetimes' test_estimation.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlab.stats import btyd


@pytest.fixture(scope="module")
def cdnow(dataset) -> pd.DataFrame:
    return pd.read_csv(dataset("cdnow", "cdnow_customers_summary_with_transactions.csv"))


@pytest.fixture(scope="module")
def cells(cdnow) -> btyd.Cells:
    g = cdnow.groupby(["x", "t_x", "T"]).size().reset_index(name="n")
    return btyd.Cells.of(g.x, g.t_x, g["T"], g.n)


@pytest.fixture(scope="module")
def fits(cells) -> dict[str, btyd.Fit]:
    return {m: btyd.fit(m, cells) for m in btyd.MODELS}


@pytest.mark.realdata
def test_bgnbd_matches_fader_hardie_lee_2005(fits, cells):
    f = fits["bgnbd"]
    np.testing.assert_array_almost_equal(f.values, (0.243, 4.414, 0.793, 2.426), decimal=3)
    assert f.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert f.clients == 2357 and len(cells.x) < 1100  # 1,016 distinct (x, t_x, T): the fit reads counts
    assert btyd.conditional_expected_purchases(f, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=1e-3)
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    np.testing.assert_array_almost_equal(btyd.expected_purchases(f, times),
                                         [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576], decimal=3)
    assert all(0 < s < 1 for s in f.se.values())


@pytest.mark.realdata
def test_modified_bgnbd_matches_btydplus(fits):
    f = fits["mbgnbd"]
    np.testing.assert_array_almost_equal(f.values, (0.525, 6.183, 0.891, 1.614), decimal=3)
    assert btyd.conditional_expected_purchases(f, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=0.05)
    # lifetimes checks E[X(t)] against the BG/NBD's values with rtol 0.05
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    np.testing.assert_allclose(btyd.expected_purchases(f, times), [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576], rtol=0.05)
    # dropout at the first purchase: a one-time buyer is not alive by construction
    assert btyd.p_alive(f, 0, 0, 38.86) < 0.5
    assert not btyd.no_repeat_flag(f, [0]).any()


@pytest.mark.realdata
def test_pareto_nbd_matches_published_values(fits):
    f = fits["pareto_nbd"]
    np.testing.assert_array_almost_equal(f.values, (0.553, 10.578, 0.606, 11.669), decimal=2)
    assert abs(f.params["r"] - 0.553) < 1e-3 and abs(f.params["alpha"] - 10.578) < 2e-3
    assert f.log_likelihood == pytest.approx(-9595.0, abs=0.05)
    r_btyd = btyd.Fit("pareto_nbd", dict(r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562), 0.0, 0)
    assert btyd.p_alive(r_btyd, 26.0, 30.86, 31.0) == pytest.approx(0.9979, abs=1e-3)
    assert btyd.conditional_expected_purchases(f, 52, 26.0, 30.86, 31.0) == pytest.approx(25.46, abs=0.01)
    expected = [0.0, 0.05077821, 0.09916088, 0.14542507, 0.18979930, 0.23247466, 0.27361274, 0.31335159,
                0.35181024, 0.38909211]  # R BTYD pnbd.Expectation, as lifetimes' test (atol 0.01)
    np.testing.assert_allclose(btyd.expected_purchases(f, np.arange(10)), expected, atol=0.01)


@pytest.mark.realdata
def test_gamma_gamma_matches_hardie_note_025(cdnow):
    rep = cdnow[cdnow.x > 0]
    gg = btyd.fit_gamma_gamma(rep.x, rep.zbar)
    np.testing.assert_array_almost_equal((gg.p, gg.q, gg.v), (6.25, 3.74, 15.44), decimal=2)
    assert gg.clients == 946
    published = btyd.GammaGamma(6.25, 3.74, 15.44, 0.0, 0)
    head = cdnow.head(10)
    np.testing.assert_allclose(btyd.expected_spend(published, head.x, head.zbar),
                               [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17], atol=0.1)
    with pytest.raises(ValueError, match="repeat clients"):
        btyd.fit_gamma_gamma(cdnow.x, cdnow.zbar)


@pytest.mark.realdata
def test_independence_check_from_sums_equals_scipy(cdnow):
    from scipy import stats as sps

    rep = cdnow[cdnow.x > 0]
    x, m = rep.x.to_numpy(float), rep.zbar.to_numpy(float)
    c = btyd.spend_frequency_correlation(len(x), x.sum(), (x * x).sum(), m.sum(), (m * m).sum(), (x * m).sum())
    ref = sps.pearsonr(x, m)
    ci = ref.confidence_interval(0.95)
    assert c.r == pytest.approx(ref.statistic, abs=1e-12)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert c.independent  # FHL (2005, JMR) report a weak correlation (0.11) on CDNOW


def test_bgnbd_pmf_matches_r_btyd():
    f = btyd.Fit("bgnbd", dict(r=0.243, alpha=4.414, a=0.793, b=2.426), 0.0, 0)
    assert btyd.frequency_pmf(f, 2, 10)[10] == pytest.approx(1.07869e-07, abs=1e-11)
    assert btyd.frequency_pmf(f, 39, 0)[0] == pytest.approx(0.5737864, abs=1e-7)
    np.testing.assert_array_almost_equal(btyd.frequency_pmf(f, 30, 20)[11:], [
        0.0019995214, 0.0015170236, 0.0011633150, 0.0009003148, 0.0007023638,
        0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.0002222260], decimal=9)


@pytest.mark.parametrize("model, params", [("bgnbd", (0.243, 4.414, 0.793, 2.426)), ("mbgnbd", (0.525, 6.183, 0.891, 1.614)),
                                           ("pareto_nbd", (0.553, 10.578, 0.606, 11.669))])
def test_pmf_sums_to_one_and_its_mean_is_the_expectation(model, params):
    f = btyd.Fit(model, dict(zip(btyd.MODELS[model], params, strict=True)), 0.0, 0)
    for t in (1.0, 39.0, 78.0):
        pmf = btyd.frequency_pmf(f, t, 400)
        assert pmf.min() >= -1e-12 and pmf.sum() == pytest.approx(1.0, abs=1e-6)
        assert (np.arange(401) * pmf).sum() == pytest.approx(float(btyd.expected_purchases(f, t)), rel=1e-5)
        # a client just acquired: the conditional expectation at x = t_x = T = 0 is the unconditional one
        if model != "pareto_nbd":
            assert btyd.conditional_expected_purchases(f, t, 0, 0, 0) == pytest.approx(float(btyd.expected_purchases(f, t)), rel=1e-9)


@pytest.mark.parametrize("model, params", [("bgnbd", (0.243, 4.414, 0.793, 2.426)), ("pareto_nbd", (0.553, 10.578, 0.606, 11.669))])
def test_no_purchase_probability_is_the_likelihood_ratio(model, params):
    f = btyd.Fit(model, dict(zip(btyd.MODELS[model], params, strict=True)), 0.0, 0)
    x, tx, T, t = np.array([0, 2, 5]), np.array([0, 30.43, 20.0]), np.array([38.86, 38.86, 38.0]), 26.0
    p0 = btyd.p_no_purchase(f, t, x, tx, T)
    assert ((0 < p0) & (p0 < 1)).all()
    if model == "bgnbd":  # the closed form: dead, or alive and no purchase: 1 − P + P ((α+T)/(α+T+t))^(r+x)
        r, alpha = params[:2]
        pa = btyd.p_alive(f, x, tx, T)
        np.testing.assert_allclose(p0, 1 - pa + pa * ((alpha + T) / (alpha + T + t)) ** (r + x), rtol=1e-12)
        assert btyd.no_repeat_flag(f, x).tolist() == [True, False, False]
        assert btyd.p_alive(f, 0, 0, 100.0) == 1.0


def _simulate(model: str, params, T: np.ndarray, seed: int) -> btyd.Cells:
    """Purchases of clients with ages ``T`` drawn from the model (its generative story, FHL 2005 §2)."""
    rng = np.random.default_rng(seed)
    n = len(T)
    r, alpha, c, d = params
    lam = rng.gamma(r, 1 / alpha, n)
    x, tx = np.zeros(n), np.zeros(n)
    if model == "pareto_nbd":
        death = rng.exponential(1 / rng.gamma(c, 1 / d, n))
    else:
        p = rng.beta(c, d, n)
    for i in range(n):
        t, end = 0.0, T[i]
        if model == "pareto_nbd":
            end = min(end, death[i])
        elif model == "mbgnbd" and rng.random() < p[i]:
            continue
        while True:
            t += rng.exponential(1 / lam[i])
            if t > end:
                break
            x[i] += 1
            tx[i] = t
            if model != "pareto_nbd" and rng.random() < p[i]:
                break
    g = pd.DataFrame({"x": x, "t_x": tx, "T": T}).groupby(["x", "t_x", "T"]).size().reset_index(name="n")
    return btyd.Cells.of(g.x, g.t_x, g["T"], g.n)


@pytest.mark.parametrize("model, params", [("bgnbd", (0.8, 5.0, 0.6, 2.5)), ("mbgnbd", (0.8, 5.0, 0.6, 2.5)),
                                           ("pareto_nbd", (0.8, 5.0, 0.7, 12.0))])
def test_fit_recovers_planted_parameters(model, params):
    T = np.round(np.random.default_rng(1).uniform(30, 60, 6000), 0)
    cells = _simulate(model, params, T, seed=5)
    f = btyd.fit(model, cells)
    for name, planted in zip(btyd.MODELS[model], params, strict=True):
        # within 3 standard errors of the planted value (a wrong likelihood lands far outside)
        assert abs(f.params[name] - planted) < 3 * f.se[name] + 1e-9, (name, f.params[name], planted, f.se[name])
    pt = btyd.period_transactions(f, cells, upto=5)
    assert pt["expected"].sum() == pytest.approx(cells.clients, rel=1e-6)
    chi2 = ((pt["observed"] - pt["expected"]) ** 2 / pt["expected"]).sum()
    assert chi2 < 20  # 6 bins, 4 parameters: a correct model fits the counts it was fitted on


def test_clv_discounts_expected_purchases():
    f = btyd.Fit("bgnbd", dict(r=0.243, alpha=4.414, a=0.793, b=2.426), 0.0, 0)
    undiscounted = btyd.clv(f, 10.0, 2, 30.43, 38.86, horizon=52, step=52 / 12, discount=0.0)
    assert undiscounted == pytest.approx(10 * float(btyd.conditional_expected_purchases(f, 52, 2, 30.43, 38.86)), rel=1e-12)
    assert btyd.clv(f, 10.0, 2, 30.43, 38.86, horizon=52, step=52 / 12, discount=0.01) < undiscounted
    with pytest.raises(ValueError, match="step"):
        btyd.clv(f, 10.0, 2, 30.43, 38.86, horizon=1, step=2, discount=0.0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="t_x"):
        btyd.Cells.of([1], [5.0], [3.0])
    with pytest.raises(ValueError, match="model must be"):
        btyd.fit("nbd", btyd.Cells.of([1], [1.0], [3.0]))
    with pytest.raises(ValueError, match="no client has a repeat"):
        btyd.fit("bgnbd", btyd.Cells.of([0, 0], [0.0, 0.0], [3.0, 4.0]))


@pytest.mark.realdata
def test_large_data_fits_without_the_polish_agree(cells, fits, monkeypatch):
    # above POLISH_MAX_CELLS only L-BFGS-B runs (a million cells would take minutes of Nelder-Mead)
    monkeypatch.setattr(btyd, "POLISH_MAX_CELLS", 0)
    for model in ("bgnbd", "mbgnbd"):
        quick = btyd.fit(model, cells)
        np.testing.assert_allclose(quick.values, fits[model].values, rtol=2e-3)
        assert quick.log_likelihood == pytest.approx(fits[model].log_likelihood, abs=1e-3)


@pytest.mark.realdata
def test_fits_on_blocks_of_cells_are_the_same_numbers(cells, fits, monkeypatch):
    # the likelihood is evaluated block by block into one buffer and summed whole (bounded memory on
    # millions of cells): with blocks of 100 cells the fits are bit for bit those of one block
    monkeypatch.setattr(btyd, "BLOCK_CELLS", 100)
    for model in ("bgnbd", "pareto_nbd"):
        assert btyd.fit(model, cells) == fits[model]
