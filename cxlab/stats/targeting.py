"""Evaluating an uplift score on held-out people: one value per person (outcome ``y`` 0/1, treated flag
``t`` 0/1, ``score`` = predicted uplift).

The curves and scores follow scikit-uplift (``sklift.metrics``, version 0.5.1) exactly: people are sorted by
score from the highest (``mergesort`` reversed), the curves are evaluated at the last person of each run
of equal scores and start at (0, 0).

- uplift curve at a cut: (Ȳ_t − Ȳ_c) · N over everyone above it (0 for an empty group);
- qini curve at a cut: Y_t − Y_c · N_t / N_c (Radcliffe 2007);
- qini and uplift coefficients (sklift's ``qini_auc_score``, ``uplift_auc_score``): the area between the
  curve and the random line divided by the same area of the perfect curve — 1 is a perfect ranking,
  0 is random, negative is worse than random;
- uplift@k: treated rate − control rate among the first ``int(k · N)`` people (``strategy='overall'``) or
  the first ``int(k · N_t)`` treated and ``int(k · N_c)`` control people (``'by_group'``).

Bands (not in sklift) come from a Poisson bootstrap of people, vectorised over draws: each draw weighs
every person by a Poisson(1) count, the score order stays. A shuffled-score check permutes the scores
among people: what a score unrelated to the people would show, with the same data. Percentile ends are
the (B + 1)·q-th ordered draws (Davison & Hinkley 1997, *Bootstrap Methods and their Application*, §5.2 and
§4.2.1; Hyndman & Fan 1996's type 6): with B draws exchangeable with the estimate, each tail then holds α/2
exactly, where numpy's default (type 7, 1 + (B − 1)·q) sits inside it — 2.82% per tail at B = 300, a
nominal 95% band covering 94.4%.

References: Radcliffe, N. (2007), "Using control groups to target on predicted lift"; Gutierrez & Gérardy
(2017), "Causal inference and uplift modelling: a review of the literature", PMLR 67; scikit-uplift,
https://www.uplift-modeling.com/en/latest/api/metrics/; Chernozhukov, Demirer, Duflo & Fernández-Val
(2018), "Generic machine learning inference on heterogeneous treatment effects" (best linear predictor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps
from statsmodels.regression.linear_model import OLS

from cxlab.stats.proportion import proportion_ci, proportion_diff
from cxlab.stats.results import Estimate, check_alpha
from cxlab.stats.sufficient import ProportionStats


def _check(y: np.ndarray, t: np.ndarray, score: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
    arrays = (y, t) if score is None else (y, t, np.asarray(score, dtype=float))
    if len({a.shape for a in arrays}) != 1 or y.ndim != 1 or y.size == 0:
        raise ValueError("y, t and score must be 1-d arrays of one non-zero length")
    for name, a in (("y", y), ("t", t)):
        if not np.isin(a, (0.0, 1.0)).all():
            raise ValueError(f"{name} must be 0/1 (a binary outcome and a treated flag), got values {np.unique(a)[:5]}")
    if t.sum() == 0 or t.sum() == t.size:
        raise ValueError("both treated and control people are needed to evaluate uplift")
    if score is not None and not np.isfinite(arrays[-1]).all():
        raise ValueError("score has NaN or infinite values")
    return arrays


def _order(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sklift's order (highest score first; among equal scores, the later row first) and the index of the
    last person of each run of equal scores in it."""
    order = np.argsort(score, kind="mergesort")[::-1]
    s = score[order]
    return order, np.r_[np.flatnonzero(np.diff(s)), s.size - 1]


def _cum(y: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cumulative weighted people and conversions of treated and control along the last axis."""
    nt = np.cumsum(w * t, axis=-1)
    yt = np.cumsum(w * t * y, axis=-1)
    n = np.cumsum(w, axis=-1)
    yc = np.cumsum(w * (1 - t) * y, axis=-1)
    return n, nt, yt, n - nt, yc


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype=float), where=b != 0)


def _qini_values(nt: np.ndarray, yt: np.ndarray, nc: np.ndarray, yc: np.ndarray) -> np.ndarray:
    return yt - yc * _safe_div(nt, nc)


def _uplift_values(n: np.ndarray, nt: np.ndarray, yt: np.ndarray, nc: np.ndarray, yc: np.ndarray) -> np.ndarray:
    return (_safe_div(yt, nt) - _safe_div(yc, nc)) * n


def _start(x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zeros = np.zeros(x.shape[:-1] + (1,))
    return np.concatenate([zeros, x], axis=-1), np.concatenate([zeros, v], axis=-1)


def qini_points(y: np.ndarray, t: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The qini curve: (people targeted, Y_t − Y_c · N_t / N_c) at every distinct score, from (0, 0).
    Equal to ``sklift.metrics.qini_curve``."""
    y, t, score = _check(y, t, score)
    order, cut = _order(score)
    n, nt, yt, nc, yc = (a[cut] for a in _cum(y[order], t[order], np.ones_like(y)))
    return _start(n, _qini_values(nt, yt, nc, yc))


def uplift_points(y: np.ndarray, t: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The uplift curve: (people targeted, (Ȳ_t − Ȳ_c) · people) at every distinct score, from (0, 0).
    Equal to ``sklift.metrics.uplift_curve``."""
    y, t, score = _check(y, t, score)
    order, cut = _order(score)
    n, nt, yt, nc, yc = (a[cut] for a in _cum(y[order], t[order], np.ones_like(y)))
    return _start(n, _uplift_values(n, nt, yt, nc, yc))


def _trapezoid(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.sum((x[..., 1:] - x[..., :-1]) * (v[..., 1:] + v[..., :-1]), axis=-1) / 2


def _perfect_qini_area(n: np.ndarray, nt: np.ndarray, yt: np.ndarray, nc: np.ndarray, yc: np.ndarray) -> np.ndarray:
    """Area under sklift's perfect qini curve (``negative_effect=True``), from the totals alone: treated
    converters first, then everyone who did not convert, then control converters."""
    end = yt - yc * _safe_div(nt, nc)
    x = np.stack([np.zeros_like(n), yt, n - yc, n], axis=-1)
    v = np.stack([np.zeros_like(n), yt, yt, end], axis=-1)
    return _trapezoid(x, v)


def _perfect_uplift_area(cells: np.ndarray) -> np.ndarray:
    """Area under sklift's perfect uplift curve from the four cells (treated converters, control
    non-converters, control converters, treated non-converters) on the last axis: its order is treated
    converters, control non-converters, then control converters before treated non-converters when there
    are more of them (else the reverse)."""
    tr, cn, cr, tn = (cells[..., i] for i in range(4))
    first = cr > tn
    # people added per group, as (treated, treated converters, control, control converters)
    groups = [(tr, tr, 0 * tr, 0 * tr), (0 * cn, 0 * cn, cn, 0 * cn),
              (np.where(first, 0, tn), 0 * tn, np.where(first, cr, 0), np.where(first, cr, 0)),
              (np.where(first, tn, 0), 0 * tn, np.where(first, 0, cr), np.where(first, 0, cr))]
    nt = np.cumsum(np.stack([g[0] for g in groups], axis=-1), axis=-1)
    yt = np.cumsum(np.stack([g[1] for g in groups], axis=-1), axis=-1)
    nc = np.cumsum(np.stack([g[2] for g in groups], axis=-1), axis=-1)
    yc = np.cumsum(np.stack([g[3] for g in groups], axis=-1), axis=-1)
    x, v = _start(nt + nc, _uplift_values(nt + nc, nt, yt, nc, yc))
    return _trapezoid(x, v)


def _coefficients(y: np.ndarray, t: np.ndarray, w: np.ndarray, cut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Qini and uplift coefficients for people already in score order, weighted by ``w`` (…, N)."""
    n, nt, yt, nc, yc = (a[..., cut] for a in _cum(y, t, w))
    x, q = _start(n, _qini_values(nt, yt, nc, yc))
    _, u = _start(n, _uplift_values(n, nt, yt, nc, yc))
    tot = [a[..., -1] for a in (n, nt, yt, nc, yc)]
    base_q = tot[0] * q[..., -1] / 2
    qini = (_trapezoid(x, q) - base_q) / (_perfect_qini_area(*tot) - base_q)
    cells = np.stack([tot[2], (tot[3] - tot[4]), tot[4], (tot[1] - tot[2])], axis=-1)
    base_u = tot[0] * u[..., -1] / 2
    up = (_trapezoid(x, u) - base_u) / (_perfect_uplift_area(cells) - base_u)
    return qini, up


def qini_auc_score(y: np.ndarray, t: np.ndarray, score: np.ndarray) -> float:
    """Qini coefficient normalised as scikit-uplift normalises it (``qini_auc_score``,
    ``negative_effect=True``): (area of the qini curve − area of the random line) / (the same for the
    perfect curve). 1 ranks perfectly, 0 is random."""
    y, t, score = _check(y, t, score)
    order, cut = _order(score)
    return float(_coefficients(y[order], t[order], np.ones_like(y), cut)[0])


def uplift_auc_score(y: np.ndarray, t: np.ndarray, score: np.ndarray) -> float:
    """Area under the uplift curve normalised as scikit-uplift's ``uplift_auc_score``: (area − random
    line's) / (perfect curve's − random line's)."""
    y, t, score = _check(y, t, score)
    order, cut = _order(score)
    return float(_coefficients(y[order], t[order], np.ones_like(y), cut)[1])


def uplift_at_k(y: np.ndarray, t: np.ndarray, score: np.ndarray, k: float, strategy: str = "overall",
                alpha: float = 0.05) -> Estimate:
    """Treated − control conversion among the top ``k`` (a share in (0, 1)) by score, as scikit-uplift's
    ``uplift_at_k``: ``overall`` takes the first ``int(k · N)`` people, ``by_group`` the first
    ``int(k · N_t)`` treated and ``int(k · N_c)`` control people. Interval: Newcombe's hybrid score."""
    y, t, score = _check(y, t, score)
    if not 0 < k < 1:
        raise ValueError(f"k must be a share in (0, 1), got {k}")
    if strategy not in ("overall", "by_group"):
        raise ValueError(f"strategy must be 'overall' or 'by_group', got {strategy!r}")
    order = np.argsort(score, kind="mergesort")[::-1]
    ys, ts = y[order], t[order]
    if strategy == "overall":
        top = slice(0, int(len(y) * k))
        yt, yc = ys[top][ts[top] == 1], ys[top][ts[top] == 0]
    else:
        yt = ys[ts == 1][: int((t == 1).sum() * k)]
        yc = ys[ts == 0][: int((t == 0).sum() * k)]
    if yt.size == 0 or yc.size == 0:
        raise ValueError(f"the top {k:.0%} by score holds no treated or no control people")
    est = proportion_diff(ProportionStats(int(yt.size), int(yt.sum())), ProportionStats(int(yc.size), int(yc.sum())), alpha=alpha)
    return Estimate(est.estimate, est.ci_low, est.ci_high, f"uplift at top {k:.0%} ({strategy}, Newcombe)", alpha,
                    est.p_value, int(yt.size), int(yc.size))


def uplift_by_percentile(y: np.ndarray, t: np.ndarray, score: np.ndarray, bins: int = 10,
                         alpha: float = 0.05) -> dict[str, np.ndarray]:
    """Per score bin (highest first; ``np.array_split`` of the sorted people, as scikit-uplift's
    ``uplift_by_percentile(strategy='overall')``): treated and control people, their rates, the uplift,
    sklift's standard errors √(p(1−p)/n) and Newcombe intervals of the uplift."""
    y, t, score = _check(y, t, score)
    if not isinstance(bins, int) or not 0 < bins < len(y):
        raise ValueError(f"bins must be a whole number between 1 and the number of people − 1, got {bins}")
    order = np.argsort(score, kind="mergesort")[::-1]
    parts = zip(np.array_split(y[order], bins), np.array_split(t[order], bins), np.array_split(score[order], bins), strict=True)
    rows: dict[str, list[float]] = {k: [] for k in ("n_treatment", "n_control", "rate_treatment", "rate_control",
                                                    "uplift", "std_treatment", "std_control", "std_uplift",
                                                    "ci_low", "ci_high", "score_mean")}
    for yy, tt, ss in parts:
        a, b = yy[tt == 1], yy[tt == 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            rt, rc = (a.mean() if a.size else np.nan), (b.mean() if b.size else np.nan)
            # an arm absent from a bin has no rate and no spread (a Python float over 0 would raise)
            vt = rt * (1 - rt) / a.size if a.size else np.nan
            vc = rc * (1 - rc) / b.size if b.size else np.nan
        if a.size and b.size:
            d = proportion_diff(ProportionStats(int(a.size), int(a.sum())), ProportionStats(int(b.size), int(b.sum())), alpha=alpha)
            low, high = d.ci_low, d.ci_high
        else:
            low = high = np.nan
        for key, value in (("n_treatment", a.size), ("n_control", b.size), ("rate_treatment", rt), ("rate_control", rc),
                           ("uplift", rt - rc), ("std_treatment", np.sqrt(vt)), ("std_control", np.sqrt(vc)),
                           ("std_uplift", np.sqrt(vt + vc)), ("ci_low", low), ("ci_high", high),
                           ("score_mean", ss.mean())):
            rows[key].append(value)
    out = {k: np.asarray(v, dtype=float) for k, v in rows.items()}
    out["bin"] = np.arange(1, bins + 1)
    return out


# --- bands ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QiniBand:
    """A score's qini and uplift coefficients with bootstrap intervals, the curves on a grid of shares
    targeted with pointwise bands, and the shuffled-score check.

    ``share`` — shares of people targeted (0 … 1); ``uplift_curve`` — incremental conversions per person
    of the base when targeting that share ((Ȳ_t − Ȳ_c) · share), ``uplift_low`` / ``uplift_high`` its band;
    ``qini_curve`` — the qini curve per person (Y_t − Y_c · N_t / N_c) / N with ``qini_low`` / ``qini_high``;
    ``random_low`` / ``random_high`` — the band of the qini coefficient of shuffled scores, and
    ``p_shuffled`` the share of shuffles with a coefficient at least the observed one.
    """

    qini: Estimate
    uplift_auc: Estimate
    share: np.ndarray
    uplift_curve: np.ndarray
    uplift_low: np.ndarray
    uplift_high: np.ndarray
    qini_curve: np.ndarray
    qini_low: np.ndarray
    qini_high: np.ndarray
    random_low: float
    random_high: float
    p_shuffled: float
    draws: int
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def better_than_random(self) -> bool:
        """The shuffled-score check rejects "unrelated to the people" at ``alpha``: fewer than α of the
        shuffled scores reach the score's qini coefficient (a permutation test, exact under that null)."""
        return self.p_shuffled < self.qini.alpha and self.qini.estimate > 0

    @property
    def worse_than_random(self) -> bool:
        return self.qini.ci_high < 0


def _ends(draws: np.ndarray, alpha: float, axis: int | None = None) -> np.ndarray:
    """The α/2 and 1 − α/2 percentile ends of bootstrap or permutation ``draws`` (NaNs left out), each the
    (B + 1)·q-th ordered draw (type 6): see the module's note."""
    return np.nanpercentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=axis, method="weibull")


def _poisson_weights(rng: np.random.Generator, draws: int, n: int) -> np.ndarray:
    return rng.poisson(1.0, (draws, n)).astype(float)


def _grid_curves(y: np.ndarray, t: np.ndarray, w: np.ndarray, cut: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Uplift and qini curves per person of the base at the shares ``grid``, by linear interpolation
    between evaluated cuts (weighted draws on the first axis)."""
    n, nt, yt, nc, yc = (a[..., cut] for a in _cum(y, t, w))
    total = n[..., -1:]
    x, q = _start(n / total, _qini_values(nt, yt, nc, yc) / total)
    _, u = _start(n / total, _uplift_values(n, nt, yt, nc, yc) / total)
    x2, q2, u2 = np.atleast_2d(x), np.atleast_2d(q), np.atleast_2d(u)
    uq = np.array([np.interp(grid, xi, ui) for xi, ui in zip(x2, u2, strict=True)])
    qq = np.array([np.interp(grid, xi, qi) for xi, qi in zip(x2, q2, strict=True)])
    return uq, qq


def qini_band(y: np.ndarray, t: np.ndarray, score: np.ndarray, alpha: float = 0.05, draws: int = 400,
              shuffles: int = 200, seed: int = 0, points: int = 50) -> QiniBand:
    """The qini and uplift coefficients of ``score`` with percentile intervals from ``draws`` Poisson-
    bootstrap draws of people, the curves with pointwise bands, and ``shuffles`` shuffled scores.

    The shuffled check answers "is the score better than one unrelated to the people?": its band is the
    central 1 − α of the coefficient for random orders of the same people, and its p-value the share of
    shuffles at least as good as the score (with the +1 correction of a permutation test).
    """
    check_alpha(alpha)
    y, t, score = _check(y, t, score)
    rng = np.random.default_rng(seed)
    order, cut = _order(score)
    ys, ts = y[order], t[order]
    ones = np.ones_like(ys)
    q0, u0 = _coefficients(ys, ts, ones, cut)
    grid = np.linspace(0, 1, points + 1)
    uc, qc = (a[0] for a in _grid_curves(ys, ts, ones, cut, grid))
    qs, us, ub, qb = [], [], [], []
    for start in range(0, draws, 100):  # chunks keep memory at 100 × N
        w = _poisson_weights(rng, min(100, draws - start), len(ys))
        qq, uu = _coefficients(ys, ts, w, cut)
        a, b = _grid_curves(ys, ts, w, cut, grid)
        qs.append(qq)
        us.append(uu)
        ub.append(a)
        qb.append(b)
    qs_, us_ = np.concatenate(qs), np.concatenate(us)
    ub_, qb_ = np.concatenate(ub), np.concatenate(qb)
    shuffled = shuffled_qini(y, t, shuffles, seed + 1)
    qint, uint, rint = _ends(qs_, alpha), _ends(us_, alpha), _ends(shuffled, alpha)
    p = (1 + np.sum(shuffled >= q0)) / (1 + shuffles)
    u_low, u_high = _ends(ub_, alpha, axis=0)
    q_low, q_high = _ends(qb_, alpha, axis=0)
    return QiniBand(
        Estimate(float(q0), float(qint[0]), float(qint[1]), "qini coefficient (sklift), Poisson bootstrap", alpha),
        Estimate(float(u0), float(uint[0]), float(uint[1]), "uplift AUC (sklift), Poisson bootstrap", alpha),
        grid, uc, u_low, u_high, qc, q_low, q_high,
        float(rint[0]), float(rint[1]), float(p), draws, {"shuffles": shuffles, "people": int(len(y))})


def shuffled_qini(y: np.ndarray, t: np.ndarray, shuffles: int = 200, seed: int = 0) -> np.ndarray:
    """Qini coefficients of ``shuffles`` random orders of the people (a score unrelated to them)."""
    y, t = _check(y, t)
    rng = np.random.default_rng(seed)
    out = []
    cut = np.arange(len(y))  # continuous random scores: every person is a cut
    for start in range(0, shuffles, 50):
        m = min(50, shuffles - start)
        perm = np.argsort(rng.random((m, len(y))), axis=1)
        out.append(_coefficients(y[perm], t[perm], np.ones((m, len(y))), cut)[0])
    return np.concatenate(out)


# --- calibration, profit, groups --------------------------------------------------------------------

@dataclass(frozen=True)
class Calibration:
    """Predicted vs observed uplift per bin of predicted uplift, and the calibration slope.

    ``slope``: the coefficient β₂ of the best linear predictor y = α + β₁ (t − p) + β₂ (t − p)(τ̂ − τ̄) + ε
    (Chernozhukov et al. 2018), OLS with HC1 errors: 1 when the predictions are calibrated, 0 when they
    carry no information about the uplift. ``mean_effect`` is β₁ (the average uplift)."""

    bins: dict[str, np.ndarray]
    slope: Estimate
    mean_effect: Estimate


def calibration(y: np.ndarray, t: np.ndarray, predicted: np.ndarray, bins: int = 10, alpha: float = 0.05) -> Calibration:
    """Observed uplift by bin of predicted uplift (Newcombe intervals) and the calibration slope."""
    check_alpha(alpha)
    y, t, predicted = _check(y, t, predicted)
    table = uplift_by_percentile(y, t, predicted, bins, alpha)
    p = t.mean()
    centred = predicted - predicted.mean()
    X = np.column_stack([np.ones_like(y), t - p, (t - p) * centred])
    fit = OLS(y, X).fit(cov_type="HC1")
    ci = fit.conf_int(alpha)
    z = sps.norm.ppf(1 - alpha / 2)
    slope = Estimate(float(fit.params[2]), float(ci[2, 0]), float(ci[2, 1]), "BLP calibration slope (OLS, HC1)",
                     alpha, float(fit.pvalues[2]), int(t.sum()), int((1 - t).sum()),
                     {"se": float(fit.bse[2]), "z_vs_1": float((fit.params[2] - 1) / fit.bse[2]), "z": float(z)})
    mean = Estimate(float(fit.params[1]), float(ci[1, 0]), float(ci[1, 1]), "BLP average uplift (OLS, HC1)", alpha,
                    float(fit.pvalues[1]), int(t.sum()), int((1 - t).sum()))
    return Calibration(table, slope, mean)


@dataclass(frozen=True)
class ProfitCurve:
    """Profit of contacting the top share by predicted uplift: per share, people contacted, incremental
    conversions (estimated on the held-out people, scaled to ``base`` people), value, cost, profit with a
    bootstrap band; the best share with its interval (where the bootstrap draws put their best share)."""

    share: np.ndarray
    contacted: np.ndarray
    incremental: np.ndarray
    profit: np.ndarray
    profit_low: np.ndarray
    profit_high: np.ndarray
    best_share: Estimate
    best_profit: Estimate
    cost_per_contact: float
    value_per_conversion: float


def profit_curve(y: np.ndarray, t: np.ndarray, predicted: np.ndarray, cost_per_contact: float,
                 value_per_conversion: float, base: int | None = None, alpha: float = 0.05, draws: int = 400,
                 seed: int = 0, points: int = 20) -> ProfitCurve:
    """Profit = value × incremental conversions − cost × contacts when the top share of ``base`` people
    (default: the people given) is contacted, at ``points`` + 1 shares 0 … 1; incremental conversions at a
    share are (Ȳ_t − Ȳ_c) among the people above that cut × the people contacted (the uplift curve)."""
    check_alpha(alpha)
    y, t, predicted = _check(y, t, predicted)
    if cost_per_contact < 0 or value_per_conversion < 0:
        raise ValueError("cost_per_contact and value_per_conversion must be ≥ 0")
    base = int(base or len(y))
    order, cut = _order(predicted)
    ys, ts = y[order], t[order]
    grid = np.linspace(0, 1, points + 1)
    rng = np.random.default_rng(seed)
    u0 = _grid_curves(ys, ts, np.ones_like(ys), cut, grid)[0][0]
    draws_u = np.concatenate([_grid_curves(ys, ts, _poisson_weights(rng, min(100, draws - s), len(ys)), cut, grid)[0]
                              for s in range(0, draws, 100)])

    def money(u: np.ndarray) -> np.ndarray:
        return base * (value_per_conversion * u - cost_per_contact * grid)

    profit, boot = money(u0), money(draws_u)
    best = int(np.argmax(profit))
    best_boot = grid[np.argmax(boot, axis=1)]
    profit_low, profit_high = _ends(boot, alpha, axis=0)
    share_low, share_high = _ends(best_boot, alpha)
    best_low, best_high = _ends(boot[:, best], alpha)
    return ProfitCurve(grid, base * grid, base * u0, profit, profit_low, profit_high,
                       Estimate(float(grid[best]), float(share_low), float(share_high), "best share (bootstrap of the argmax)", alpha),
                       Estimate(float(profit[best]), float(best_low), float(best_high), "profit at the best share (bootstrap)", alpha),
                       cost_per_contact, value_per_conversion)


def group_uplift(y: np.ndarray, t: np.ndarray, member: np.ndarray, alpha: float = 0.05) -> dict[str, Estimate]:
    """A group of people (``member`` True), e.g. those with negative predicted uplift: its share of the
    people (Wilson interval) and its observed uplift (Newcombe), beside the rest's."""
    y, t = _check(y, t)
    member = np.asarray(member, dtype=bool)
    out = {"share": _share(member, alpha)}
    for name, m in (("uplift", member), ("uplift_rest", ~member)):
        a, b = y[m & (t == 1)], y[m & (t == 0)]
        if a.size and b.size:
            out[name] = proportion_diff(ProportionStats(int(a.size), int(a.sum())), ProportionStats(int(b.size), int(b.sum())), alpha=alpha)
    return out


def _share(member: np.ndarray, alpha: float) -> Estimate:
    k, n = int(member.sum()), int(member.size)
    ci = proportion_ci(ProportionStats(n, k), alpha=alpha)
    return Estimate(k / n, ci.ci_low, ci.ci_high, "share (Wilson)", alpha, None, k, n - k)
