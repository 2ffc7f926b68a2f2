"""Quantile metrics (median spend per person): the difference of two arms' quantiles with a bootstrap
interval, computed from value tables (:class:`ValueCounts`), never from rows.

A bootstrap replicate needs no resampled rows: the k-th smallest of n draws with replacement from the
empirical distribution is F⁻¹(U₍ₖ₎), with U₍ₖ₎ the k-th order statistic of n uniforms, which is
Beta(k, n − k + 1) (David & Nagaraja 2003, §2.2). One Beta draw and one binary search per replicate give
exactly the distribution of the resampled quantile, at any number of people. The sample
quantile is the inverted empirical CDF (Hyndman & Fan type 1: the smallest value whose share of people
at or below it is at least q), as ``numpy.quantile(..., method="inverted_cdf")``. The interval is the
percentile bootstrap (Efron & Tibshirani 1993, ch. 13); its p-value is the smallest α at which that
interval excludes 0, counted as (k + 1) / (B + 1) so that B resamples never claim p = 0.
"""

from __future__ import annotations

import numpy as np

from cxlab.stats.results import Estimate, check_alpha
from cxlab.stats.sufficient import ValueCounts


def quantile_of(dist: ValueCounts, q: float) -> float:
    """The sample ``q``-quantile (inverted empirical CDF) of a value table."""
    _check_q(q)
    cum = np.cumsum(dist.counts)
    return float(dist.values[int(np.searchsorted(cum, q * cum[-1], side="left"))])


def _resampled(dist: ValueCounts, q: float, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The q-quantile of ``resamples`` bootstrap samples of the table, through the order-statistic law."""
    n = dist.n
    k = min(max(int(np.ceil(q * n - 1e-9)), 1), n)  # the inverted-CDF quantile of n values is the k-th smallest
    u = rng.beta(k, n - k + 1, resamples)
    share = np.cumsum(dist.counts) / n
    return np.asarray(dist.values)[np.minimum(np.searchsorted(share, u, side="left"), len(share) - 1)]


def quantile_diff(treatment: ValueCounts, control: ValueCounts, q: float = 0.5, alpha: float = 0.05,
                  resamples: int = 2000, seed: int = 0) -> Estimate:
    """Difference of the arms' ``q``-quantiles, treatment − control, with a seeded percentile-bootstrap
    interval (arms resampled independently). ``extra``: both quantiles and the bootstrap standard error."""
    check_alpha(alpha)
    _check_q(q)
    if treatment.n < 10 or control.n < 10:
        raise ValueError(f"a quantile needs at least 10 people per arm, got {treatment.n} and {control.n}")
    if resamples < 200:
        raise ValueError(f"resamples must be at least 200 for a {1 - alpha:.0%} interval, got {resamples}")
    rng = np.random.default_rng(seed)
    qt, qc = quantile_of(treatment, q), quantile_of(control, q)
    diffs = _resampled(treatment, q, resamples, rng) - _resampled(control, q, resamples, rng)
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    p = min(1.0, 2 * (min((diffs <= 0).sum(), (diffs >= 0).sum()) + 1) / (resamples + 1))
    return Estimate(qt - qc, float(low), float(high), f"difference of {q:g}-quantiles (percentile bootstrap, "
                    f"{resamples} resamples, seed {seed})", alpha, float(p), treatment.n, control.n,
                    {"quantile_t": qt, "quantile_c": qc, "standard_error": float(np.std(diffs, ddof=1))})


def _check_q(q: float) -> None:
    if not 0 < q < 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
