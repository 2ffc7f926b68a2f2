"""Buy-till-you-die models and spend per purchase, fitted by maximum likelihood on counts of clients.

Each client is summarised by ``x`` (repeat purchases in calibration), ``t_x`` (time of the last one,
from the first purchase) and ``T`` (age at the calibration end) — :mod:`cxlab.compute.rfm`. The likelihood
of every model is a sum over clients of a function of ``(x, t_x, T)``, so it is computed once per distinct
triple and weighted by the number of clients (:class:`Cells`): the fit never sees a client.

Models (parameters are fitted on the log scale with L-BFGS-B, then polished with Nelder-Mead — except the
Pareto/NBD, see :data:`POLISH_MAX_CELLS`; no MCMC):

- **BG/NBD** ``(r, alpha, a, b)`` — Fader, Hardie & Lee (2005), "Counting your customers the easy way: an
  alternative to the Pareto/NBD model", Marketing Science 24(2) 275–284, eq. (6), (8), (10), (11) and
  the appendix; a client can drop out only right after a repeat purchase, so a client with no repeat
  purchase has P(alive) = 1 *by construction* (:func:`no_repeat_flag`).
- **modified BG/NBD** ``(r, alpha, a, b)`` — Batislam, Denizel & Filiztekin (2007), "Empirical validation
  and comparison of models for customer base analysis", IJRM 24(3) 201–209: dropout is also possible at
  the first purchase; the expressions follow lifetimes 0.11 ``ModifiedBetaGeoFitter`` (and BTYDplus).
- **Pareto/NBD** ``(r, alpha, s, beta)`` — Schmittlein, Morrison & Colombo (1987), Management Science
  33(1) 1–24; likelihood and conditional expressions as in Fader & Hardie (2005), "A note on deriving the
  Pareto/NBD model and related expressions", brucehardie.com/notes/009, eq. (18)–(22); P(X(t) = x) from
  Fader & Hardie (2006), brucehardie.com/notes/012.
- **Gamma-Gamma** ``(p, q, v)`` for the mean spend per repeat purchase — Fader, Hardie & Lee (2005), "RFM
  and CLV: using iso-value curves for customer base analysis", JMR 42(4) 415–430, and
  brucehardie.com/notes/025 (eq. 1–5).

Reference values on the 2,357-customer CDNOW sample (39-week calibration) are pinned in
``tests/stats/test_btyd.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from scipy import stats as sps
from scipy.special import betaln, gammaln, hyp2f1, logsumexp

#: The models and their parameter names, in order.
MODELS: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
}


@dataclass(frozen=True)
class Cells:
    """Clients counted by distinct ``(x, t_x, T)``: the sufficient statistics of every model here.

    ``n`` is the number of clients in each cell; ``holdout_sum`` (optional) the holdout purchases they
    made in all, used by the calibration / holdout diagnostic.
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    n: np.ndarray
    holdout_sum: np.ndarray | None = None

    @classmethod
    def of(cls, x, t_x, T, n=None, holdout_sum=None) -> Cells:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        n = np.ones_like(x) if n is None else np.asarray(n, dtype=float)
        if not (x.shape == t_x.shape == T.shape == n.shape):
            raise ValueError("x, t_x, T and n must have the same length")
        if (x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any() or ((x == 0) & (t_x > 0)).any():
            raise ValueError("need x ≥ 0 and 0 ≤ t_x ≤ T, with t_x = 0 when x = 0")
        hs = None if holdout_sum is None else np.asarray(holdout_sum, dtype=float)
        return cls(x, t_x, T, n, hs)

    @classmethod
    def from_frame(cls, frame) -> Cells:
        """From :func:`cxlab.compute.rfm.cells` (columns ``frequency, recency, T, n[, holdout_sum]``)."""
        hs = frame["holdout_sum"].to_numpy() if "holdout_sum" in frame else None
        return cls.of(frame["frequency"].to_numpy(), frame["recency"].to_numpy(), frame["T"].to_numpy(),
                      frame["n"].to_numpy(), hs)

    @property
    def clients(self) -> int:
        return int(self.n.sum())


@dataclass(frozen=True)
class Fit:
    """A fitted purchase model: parameters, their standard errors (inverse observed information, by the
    delta method from the log scale), the maximised log-likelihood and the clients it was fitted on.
    ``at_bound`` names parameters that ran to the edge of the search (the data do not identify them: e.g.
    b → ∞ when nobody seems to drop out); ``converged`` is False then."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    clients: int
    se: dict[str, float] = field(default_factory=dict)
    converged: bool = True
    at_bound: tuple[str, ...] = ()
    method: str = "maximum likelihood (L-BFGS-B then Nelder-Mead on log-parameters)"

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(self.params[k] for k in MODELS[self.model])

    @property
    def aic(self) -> float:
        return 2 * len(self.params) - 2 * self.log_likelihood


# --------------------------------------------------------------------------------------------------
# log-likelihoods per cell


def _ll_bgnbd(p, x, t_x, T):
    """FHL (2005) eq. (6): ln L(r, α, a, b | x, t_x, T)."""
    r, alpha, a, b = p
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def _ll_mbgnbd(p, x, t_x, T):
    """Batislam et al. (2007): dropout also at time 0 (lifetimes ``ModifiedBetaGeoFitter``)."""
    r, alpha, a, b = p
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return a1 + a2 + a3 + np.logaddexp(a4, 0.0)


def _log_a0(p, x, t_x, T):
    """ln A₀ of the Pareto/NBD likelihood (Fader & Hardie 2005 note 009, eq. 19–20), for α ≥ β and α < β."""
    r, alpha, s, beta = p
    if alpha >= beta:
        big, small, c = alpha, beta, s + 1
    else:
        big, small, c = beta, alpha, r + x
    rsx = r + s + x
    d = big - small
    z1, z2 = d / (big + t_x), d / (big + T)
    f1, f2 = hyp2f1(rsx, c, rsx + 1, z1), hyp2f1(rsx, c, rsx + 1, z2)
    # A0 = F1/(big+t_x)^rsx − F2/(big+T)^rsx, on the log scale
    l1 = np.log(f1) - rsx * np.log(big + t_x)
    l2 = np.log(f2) - rsx * np.log(big + T)
    return logsumexp(np.stack([l1, l2]), axis=0, b=np.stack([np.ones_like(l1), -np.ones_like(l2)]))


def _ll_pareto(p, x, t_x, T):
    """Fader & Hardie (2005) note 009 eq. (22): ln L(r, α, s, β | x, t_x, T)."""
    r, alpha, s, beta = p
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    a2 = np.logaddexp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T),
                      np.log(s) - np.log(r + s + x) + _log_a0(p, x, t_x, T))
    return a1 + a2


_LL = {"bgnbd": _ll_bgnbd, "mbgnbd": _ll_mbgnbd, "pareto_nbd": _ll_pareto}


def log_likelihood(model: str, params, x, t_x, T) -> np.ndarray:
    """Per-client log-likelihood of ``model`` at ``params`` (a tuple in :data:`MODELS` order)."""
    _check_model(model)
    return _LL[model](tuple(float(v) for v in params), np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float))


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")


#: Bounds of the log-parameters: parameters between e^−15 and e^15 (beyond, gammaln and hyp2f1 lose all
#: precision and an optimiser would find spurious maxima there).
LOG_BOUND = 15.0


#: Up to this many cells the L-BFGS-B optimum is polished with Nelder-Mead (a few thousand likelihood
#: evaluations: instant on CDNOW's 1,016 cells, minutes on a million). Not the Pareto/NBD's: where its fit
#: drifts to extreme parameters each evaluation calls ₂F₁ near its logarithmic case, ~0.2 s on 3,700 cells,
#: and the polish took 90 of 120 s on a 4,000-client demo; on CDNOW the unpolished optimum's log-likelihood is
#: the polished one's to 1e-8 (r 0.553273 against 0.553275).
POLISH_MAX_CELLS = 50_000


#: Cells per block of a likelihood evaluation: its temporary arrays stay a few MiB however many cells.
BLOCK_CELLS = 65_536


def _weighted_sum(f, w: np.ndarray, out: np.ndarray) -> float:
    """Σ w · f(cells) with ``f`` evaluated on blocks of :data:`BLOCK_CELLS` cells into ``out`` (as long as
    ``w``), then summed over the whole array: the same number as ``(w * f(all)).sum()``, without a dozen
    temporary arrays of every cell (on millions of cells, the fit's peak memory)."""
    for start in range(0, len(w), BLOCK_CELLS):
        block = slice(start, start + BLOCK_CELLS)
        out[block] = f(block)
    np.multiply(w, out, out=out)
    return out.sum()


def _minimise(nll, start: np.ndarray, polish: bool = True) -> tuple[np.ndarray, float, bool]:
    """L-BFGS-B from ``start`` then (``polish``) Nelder-Mead from its optimum (tight tolerances), both
    within :data:`LOG_BOUND`; the better one."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    first = optimize.minimize(nll, np.clip(start, -LOG_BOUND, LOG_BOUND), method="L-BFGS-B", bounds=bounds,
                              options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2_000})
    if not polish:
        return first.x, float(first.fun), bool(first.success)
    second = optimize.minimize(nll, first.x, method="Nelder-Mead", bounds=bounds,
                               options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 3_000, "maxfev": 3_000})
    best = second if second.fun <= first.fun else first
    return best.x, float(best.fun), bool(first.success or second.success)


def _hessian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central finite-difference Hessian of ``f`` at ``x``."""
    k = len(x)
    H = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h)
    return H


def _standard_errors(total_nll, logp: np.ndarray, names) -> dict[str, float]:
    """SEs of the parameters: the inverse Hessian of −ln L on the log scale, by the delta method."""
    try:
        cov = np.linalg.inv(_hessian(total_nll, logp))
        var = np.diag(cov) * np.exp(logp) ** 2
        return {k: float(math.sqrt(v)) if v > 0 else math.nan for k, v in zip(names, var, strict=True)}
    except np.linalg.LinAlgError:
        return {k: math.nan for k in names}


def fit(model: str, cells: Cells, start: tuple[float, ...] | None = None) -> Fit:
    """Maximum-likelihood fit of ``model`` (``bgnbd``, ``mbgnbd``, ``pareto_nbd``) on counts of clients.

    Parameters
    ----------
    model : str
        One of :data:`MODELS`.
    cells : Cells
        Clients counted by distinct ``(x, t_x, T)``.
    start : tuple, optional
        Starting parameters (default all 1, as lifetimes).

    Returns
    -------
    Fit
        Parameters, standard errors, the maximised total log-likelihood.

    References
    ----------
    Fader, Hardie & Lee (2005), Marketing Science 24(2); Schmittlein, Morrison & Colombo (1987).
    """
    _check_model(model)
    if cells.clients == 0:
        raise ValueError("no clients to fit a purchase model on")
    if (cells.x > 0).sum() == 0:
        raise ValueError("no client has a repeat purchase: a purchase model cannot be fitted")
    ll = _LL[model]
    w, N, out = cells.n, cells.n.sum(), np.empty(len(cells.n))

    def nll(logp):
        p = np.exp(logp)
        with np.errstate(all="ignore"):
            v = -_weighted_sum(lambda b: ll(p, cells.x[b], cells.t_x[b], cells.T[b]), w, out) / N
        return v if np.isfinite(v) else 1e10

    start_log = np.log(np.asarray(start if start is not None else (1.0,) * 4, float))
    logp, fun, ok = _minimise(nll, start_log, polish=len(cells.x) <= POLISH_MAX_CELLS and model != "pareto_nbd")
    names = MODELS[model]
    se = _standard_errors(lambda z: nll(z) * N, logp, names)
    edge = tuple(k for k, v in zip(names, logp, strict=True) if abs(v) > LOG_BOUND - 1e-3)
    return Fit(model, dict(zip(names, map(float, np.exp(logp)), strict=True)), -fun * N, int(N), se, ok and not edge, at_bound=edge)


# --------------------------------------------------------------------------------------------------
# per-client quantities


def _arr(*vs):
    return (np.asarray(v, dtype=float) for v in vs)


def p_alive(f: Fit, x, t_x, T) -> np.ndarray:
    """P(the client is still alive at T | x, t_x, T).

    BG/NBD: FHL (2005) eq. (11) — exactly 1 when x = 0 (no dropout before a repeat purchase; see
    :func:`no_repeat_flag`). Modified BG/NBD: 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)). Pareto/NBD:
    Fader & Hardie (2005) note 009 eq. (18).
    """
    x, t_x, T = _arr(x, t_x, T)
    p = f.params
    if f.model == "bgnbd":
        r, alpha, a, b = f.values
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lg = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(lg, 700))), 1.0)
    if f.model == "mbgnbd":
        r, alpha, a, b = f.values
        lg = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return 1.0 / (1.0 + np.exp(np.minimum(lg, 700)))
    r, alpha, s, beta = (p[k] for k in MODELS["pareto_nbd"])
    lg = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
          + _log_a0(f.values, x, t_x, T))
    return 1.0 / (1.0 + np.exp(np.minimum(lg, 700)))


def no_repeat_flag(f: Fit, x) -> np.ndarray:
    """True where P(alive) = 1 only by the model's construction: BG/NBD clients without a repeat purchase.

    The BG/NBD lets a client drop out only just after a repeat purchase, so a client seen once is "alive"
    whatever the time since — a statement about the model, not about the client. Reports show these
    clients apart (and the modified BG/NBD or Pareto/NBD, which do not have the property, beside them).
    """
    x = np.asarray(x, float)
    return (x == 0) if f.model == "bgnbd" else np.zeros(x.shape, dtype=bool)


def expected_purchases(f: Fit, t) -> np.ndarray:
    """E[X(t)]: expected repeat purchases in (0, t] of a client just acquired.

    BG/NBD: FHL (2005) eq. (7); modified BG/NBD: lifetimes ``ModifiedBetaGeoFitter``; Pareto/NBD:
    r β / (α (s − 1)) [1 − (β/(β+t))^(s−1)] (note 009 eq. 17).
    """
    t = np.asarray(t, float)
    if f.model == "bgnbd":
        r, alpha, a, b = f.values
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    if f.model == "mbgnbd":
        r, alpha, a, b = f.values
        # b/(a−1): alive after the first purchase with prob. 1 − p, then as the BG/NBD with p ~ Beta(a−1, b+1)
        # (lifetimes 0.11 writes (b+1)/(a−1), whose mean disagrees with Σ k P(X(t) = k); tests check the identity)
        return b / (a - 1) * (1 - hyp2f1(r, b + 1, a + b, t / (alpha + t)) * (alpha / (alpha + t)) ** r)
    r, alpha, s, beta = f.values
    if abs(s - 1) < 1e-9:
        return r * beta / alpha * np.log((beta + t) / beta)
    return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


def conditional_expected_purchases(f: Fit, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] of a client with that history.

    BG/NBD: FHL (2005) eq. (10); modified BG/NBD: lifetimes; Pareto/NBD: note 009 eq. (21).
    """
    t, x, t_x, T = _arr(t, x, t_x, T)
    if f.model in ("bgnbd", "mbgnbd"):
        r, alpha, a, b = f.values
        z = t / (alpha + T + t)
        ratio = ((alpha + T) / (alpha + T + t)) ** (r + x)
        if f.model == "bgnbd":
            num = (a + b + x - 1) / (a - 1) * (1 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, z))
        else:
            num = (a + b + x) / (a - 1) * (1 - ratio * hyp2f1(r + x, b + x + 1, a + b + x, z))
        return num * p_alive(f, x, t_x, T)
    r, alpha, s, beta = f.values
    ll = _ll_pareto(f.values, x, t_x, T)
    first = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
             - (r + x) * np.log(alpha + T) - s * np.log(beta + T))
    second = np.log(r + x) + np.log(beta + T) - np.log(alpha + T)
    third = np.log((1 - ((beta + T) / (beta + T + t)) ** (s - 1)) / (s - 1))
    return np.exp(first + second + third - ll)


def p_no_purchase(f: Fit, t, x, t_x, T) -> np.ndarray:
    """P(no purchase in (T, T + t] | x, t_x, T) = L(x, t_x, T + t) / L(x, t_x, T).

    The likelihood of a history is the probability of its purchases *and* of none between t_x and T, so
    extending the window by t without a purchase multiplies it by exactly this probability — for all
    three models alike (for the BG/NBD it equals 1 − P(alive) + P(alive) ((α+T)/(α+T+t))^(r+x)).
    """
    t, x, t_x, T = _arr(t, x, t_x, T)
    ll = _LL[f.model]
    return np.exp(ll(f.values, x, t_x, T + t) - ll(f.values, x, t_x, T))


def frequency_pmf(f: Fit, t: float, upto: int) -> np.ndarray:
    """P(X(t) = k) for k = 0 … ``upto``: repeat purchases in (0, t] of a client just acquired.

    BG/NBD: FHL (2005) eq. (8); modified BG/NBD: lifetimes ``ModifiedBetaGeoFitter``; Pareto/NBD: Fader &
    Hardie (2006), "Deriving an expression for P(X(t) = x) under the Pareto/NBD model", note 012, eq. (8).
    """
    k = np.arange(upto + 1, dtype=float)
    t = float(t)
    if t <= 0:
        return (k == 0).astype(float)
    if f.model in ("bgnbd", "mbgnbd"):
        r, alpha, a, b = f.values
        lpois = gammaln(r + k) - gammaln(r) - gammaln(k + 1) + r * np.log(alpha / (alpha + t)) + k * np.log(t / (alpha + t))
        # Σ_{j<k} NBD(j): cumulative NBD terms
        terms = np.exp(lpois - r * np.log(alpha / (alpha + t)))  # Γ(r+j)/(Γ(r) j!) (t/(α+t))^j
        below = np.concatenate([[0.0], np.cumsum(terms)[:-1]])
        tail = 1 - (alpha / (alpha + t)) ** r * below
        if f.model == "bgnbd":
            first = np.exp(betaln(a, b + k) - betaln(a, b) + lpois)
            second = np.where(k > 0, np.exp(betaln(a + 1, b + k - 1) - betaln(a, b)) * tail, 0.0)
        else:
            first = np.exp(betaln(a, b + 1 + k) - betaln(a, b) + lpois)
            second = np.exp(betaln(a + 1, b + k) - betaln(a, b)) * tail
        return first + second
    r, alpha, s, beta = f.values
    out = np.empty(upto + 1)
    for i, xk in enumerate(k):
        lead = np.exp(gammaln(r + xk) - gammaln(r) - gammaln(xk + 1) + r * np.log(alpha / (alpha + t))
                      + xk * np.log(t / (alpha + t)) + s * np.log(beta / (beta + t)))
        if alpha >= beta:
            c, big, small = s + 1, alpha, beta
        else:
            c, big, small = r + xk, beta, alpha
        d = big - small
        lb1 = np.log(hyp2f1(r + s, c, r + s + xk + 1, d / big)) - (r + s) * np.log(big)
        j = np.arange(xk + 1)
        lb2 = (np.log(hyp2f1(r + s + j, c, r + s + xk + 1, d / (big + t))) - (r + s + j) * np.log(big + t)
               + gammaln(r + s + j) - gammaln(r + s) - gammaln(j + 1) + j * np.log(t))
        inner = np.exp(lb1) - np.exp(logsumexp(lb2))
        scale = np.exp(r * np.log(alpha) + s * np.log(beta) + betaln(r + xk, s + 1) - betaln(r, s))
        out[i] = lead + scale * inner
    return out


# --------------------------------------------------------------------------------------------------
# fit diagnostics


def period_transactions(f: Fit, cells: Cells, upto: int = 7) -> dict[str, np.ndarray]:
    """Clients by repeat purchases in calibration, observed against the model (FHL 2005 figure 2).

    The model's count of clients with k repeat purchases is Σ_i P(X(T_i) = k) over clients (each with its
    own age T); the last bin is "``upto`` or more". Returns ``k``, ``observed``, ``expected`` and the
    chi-square statistic's parts.
    """
    Ts, inv = np.unique(cells.T, return_inverse=True)
    weight = np.bincount(inv, weights=cells.n)
    expected = np.zeros(upto + 1)
    for T_, w in zip(Ts, weight, strict=True):
        pmf = frequency_pmf(f, T_, upto - 1)
        expected[:upto] += w * pmf
        expected[upto] += w * max(0.0, 1 - pmf.sum())
    xs = np.minimum(cells.x, upto).astype(int)
    observed = np.bincount(xs, weights=cells.n, minlength=upto + 1)[: upto + 1]
    return {"k": np.arange(upto + 1), "observed": observed, "expected": expected}


def calibration_holdout(f: Fit, cells: Cells, duration: float, upto: int = 7) -> dict[str, np.ndarray]:
    """Mean holdout purchases by calibration frequency, observed against E[Y(duration) | x, t_x, T]
    (FHL 2005 figure 4); the last bin is "``upto`` or more"."""
    if cells.holdout_sum is None:
        raise ValueError("cells without holdout sums: take them from rfm.cells with a holdout period")
    pred = conditional_expected_purchases(f, duration, cells.x, cells.t_x, cells.T) * cells.n
    xs = np.minimum(cells.x, upto).astype(int)
    n = np.bincount(xs, weights=cells.n, minlength=upto + 1)[: upto + 1]
    obs = np.bincount(xs, weights=cells.holdout_sum, minlength=upto + 1)[: upto + 1]
    exp = np.bincount(xs, weights=pred, minlength=upto + 1)[: upto + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"k": np.arange(upto + 1), "clients": n, "observed": obs / n, "expected": exp / n,
                "observed_total": obs, "expected_total": exp}


def tracking(f: Fit, births: np.ndarray, counts: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Expected cumulative repeat purchases of a cohort at ``times`` (FHL 2005 figure 3).

    ``births`` are the clients' first-purchase times and ``counts`` how many clients were born at each, on
    the scale of ``times``: Σ_b counts_b E[X(max(0, time − b))].
    """
    births, counts, times = _arr(births, counts, times)
    age = np.maximum(times[:, None] - births[None, :], 0.0)
    return (expected_purchases(f, age) * counts[None, :]).sum(axis=1)


# --------------------------------------------------------------------------------------------------
# spend per purchase


@dataclass(frozen=True)
class GammaGamma:
    """A fitted Gamma-Gamma model of the mean spend per repeat purchase: ``p, q, v`` with standard errors."""

    p: float
    q: float
    v: float
    log_likelihood: float
    clients: int
    se: dict[str, float] = field(default_factory=dict)

    @property
    def population_mean(self) -> float:
        """E[Z] = p v / (q − 1): the mean spend per purchase across clients (infinite when q ≤ 1)."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else math.inf


def _ll_gg(params, x, m):
    """Fader, Hardie & Lee (2005, JMR) / note 025 eq. (3): ln f(m̄ | x; p, q, v), up to nothing."""
    p, q, v = params
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
            + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))


def fit_gamma_gamma(x, m, n=None) -> GammaGamma:
    """Fit the Gamma-Gamma spend model to repeat clients' (x, mean repeat spend m̄), weighted by ``n``.

    Clients with x = 0 or m̄ ≤ 0 carry no spend information and must be left out by the caller (a
    ValueError names them otherwise). References: Fader, Hardie & Lee (2005, JMR 42(4)); Hardie's note 025.
    """
    x, m = _arr(x, m)
    n = np.ones_like(x) if n is None else np.asarray(n, float)
    if (x <= 0).any() or (m <= 0).any():
        raise ValueError(f"{int(((x <= 0) | (m <= 0)).sum())} cells with x = 0 or a spend ≤ 0: "
                         "the Gamma-Gamma needs repeat clients with a positive mean spend")
    N, out = n.sum(), np.empty(len(n))

    def nll(logp):
        p = np.exp(logp)
        with np.errstate(all="ignore"):
            val = -_weighted_sum(lambda b: _ll_gg(p, x[b], m[b]), n, out) / N
        return val if np.isfinite(val) else 1e10

    logp, fun, _ = _minimise(nll, np.zeros(3), polish=len(x) <= POLISH_MAX_CELLS)
    se = _standard_errors(lambda z: nll(z) * N, logp, ("p", "q", "v"))
    p, q, v = map(float, np.exp(logp))
    return GammaGamma(p, q, v, -fun * N, int(N), se)


def expected_spend(gg: GammaGamma, x, m) -> np.ndarray:
    """E[Z | x, m̄] = (q − 1)/(p x + q − 1) · p v/(q − 1) + p x/(p x + q − 1) · m̄ (note 025 eq. 5);
    the population mean for clients without a repeat purchase."""
    x, m = _arr(x, m)
    w = gg.p * x / (gg.p * x + gg.q - 1)
    return (1 - w) * gg.population_mean + w * np.where(x > 0, m, 0.0)


@dataclass(frozen=True)
class Correlation:
    """Pearson correlation of frequency and mean spend among repeat clients, with its interval (Fisher z)."""

    r: float
    low: float
    high: float
    p_value: float
    n: int

    @property
    def independent(self) -> bool:
        """|r| < 0.3: the Gamma-Gamma's independence assumption is tenable (Fader et al. report 0.11 on CDNOW)."""
        return abs(self.r) < 0.3


def spend_frequency_correlation(n: float, x_sum: float, x_sum_sq: float, m_sum: float, m_sum_sq: float,
                                xm_sum: float, alpha: float = 0.05) -> Correlation:
    """The Gamma-Gamma independence check from sums (:func:`cxlab.compute.rfm.monetary_moments`).

    The Gamma-Gamma assumes a client's spend per purchase is independent of how often they buy; Fader,
    Hardie & Lee (2005, JMR) check it with this correlation (0.11 on CDNOW). The interval and p-value are
    Fisher's z (atanh r ± z/√(n − 3)), as :func:`scipy.stats.pearsonr`'s interval.
    """
    n = float(n)
    sxx = x_sum_sq - x_sum * x_sum / n
    smm = m_sum_sq - m_sum * m_sum / n
    sxm = xm_sum - x_sum * m_sum / n
    r = sxm / math.sqrt(sxx * smm) if sxx > 0 and smm > 0 else math.nan
    if not math.isfinite(r) or n <= 3:
        return Correlation(r, math.nan, math.nan, math.nan, int(n))
    z, se = math.atanh(max(min(r, 1 - 1e-15), -1 + 1e-15)), 1 / math.sqrt(n - 3)
    crit = sps.norm.ppf(1 - alpha / 2)
    t = r * math.sqrt((n - 2) / max(1 - r * r, 1e-300))
    p = 2 * sps.t.sf(abs(t), n - 2)
    return Correlation(r, math.tanh(z - crit * se), math.tanh(z + crit * se), float(p), int(n))


# --------------------------------------------------------------------------------------------------
# value


def clv(f: Fit, spend, x, t_x, T, horizon: float, step: float, discount: float) -> np.ndarray:
    """Discounted expected value over ``horizon`` time units, in steps of ``step``:

    Σ_{i=1..k} spend · (E[Y(i·step) | …] − E[Y((i−1)·step) | …]) / (1 + discount)^i, k = horizon / step —
    lifetimes' ``customer_lifetime_value`` (discount per step, e.g. monthly). ``spend`` is the expected spend
    per purchase (:func:`expected_spend`).
    """
    if step <= 0 or horizon < step:
        raise ValueError(f"need 0 < step ≤ horizon, got step {step}, horizon {horizon}")
    spend, x, t_x, T = _arr(spend, x, t_x, T)
    total = np.zeros(np.broadcast(x, t_x, T).shape)
    prev = np.zeros_like(total)
    for i in range(1, int(round(horizon / step)) + 1):
        cur = conditional_expected_purchases(f, i * step, x, t_x, T)
        total = total + (cur - prev) / (1 + discount) ** i
        prev = cur
    return spend * total


__all__ = ["MODELS", "Cells", "Correlation", "Fit", "GammaGamma", "calibration_holdout", "clv",
           "conditional_expected_purchases", "expected_purchases", "expected_spend", "fit", "fit_gamma_gamma",
           "frequency_pmf", "log_likelihood", "no_repeat_flag", "p_alive", "p_no_purchase", "period_transactions",
           "spend_frequency_correlation", "tracking"]
