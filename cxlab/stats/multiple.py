"""Adjusting p-values when several effects are read at once (segments, metrics).

Holm and Bonferroni control the family-wise error rate; Benjamini–Hochberg (``fdr_bh``) the false
discovery rate. For a campaign's metrics, where one is primary, :func:`gatekeeper` keeps the primary's
full power and adjusts only the secondaries; :func:`fixed_sequence` tests a stated order.

Every function works along the last axis, so a simulation adjusts thousands of families in one call.
Holm and Bonferroni are written here (a few lines of numpy, equal to ``statsmodels``' ``multipletests``
to 1e-12 in the tests) because ``multipletests`` runs ``gc.collect()`` on every Holm call, which costs
~0.1 s in a process holding pandas and Ibis; Benjamini–Hochberg is ``scipy.stats.false_discovery_control``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import false_discovery_control

METHODS = ("holm", "fdr_bh", "bonferroni")


def adjust_pvalues(pvalues: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values in the input order (each ≥ its raw value); a 2-D input is one family per row."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    p = _check(pvalues)
    if p.size == 0:
        return p
    m = p.shape[-1]
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method == "fdr_bh":
        return false_discovery_control(p, axis=-1, method="bh")
    order = np.argsort(p, axis=-1, kind="stable")
    steps = np.take_along_axis(p, order, -1) * np.arange(m, 0, -1)  # Holm: p_(i) · (m − i + 1), running max
    adjusted = np.minimum(np.maximum.accumulate(steps, axis=-1), 1.0)
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, -1)
    return out


def fixed_sequence(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Adjusted p-values of a fixed-sequence procedure: hypotheses tested in the given order, each at the
    full α, stopping at the first that is not rejected. The adjusted p of the i-th is max(p_1 … p_i), so
    the first (primary) hypothesis keeps all its power. Strong FWER control (Maurer, Hothorn & Lehmacher
    1995; Westfall & Krishen 2001)."""
    p = _check(pvalues)
    return np.maximum.accumulate(p, axis=-1) if p.size else p


def gatekeeper(primary: float | np.ndarray, secondary: Sequence[float] | np.ndarray,
               method: str = "holm") -> tuple[float | np.ndarray, np.ndarray]:
    """Serial gatekeeping: the primary metric is tested at the full α; the secondary metrics are a family
    adjusted by ``method`` (Holm or Bonferroni for FWER, ``fdr_bh`` for FDR) and may be declared only
    when the primary is. Returns the primary p and the secondaries' adjusted p-values, each at least the
    primary's, so "adjusted p < α" is the whole decision rule. With Holm or Bonferroni the family-wise
    error rate of all metrics together stays ≤ α (Dmitrienko & Tamhane 2007). Arrays: one campaign per
    row (``primary`` shape (r,), ``secondary`` shape (r, k))."""
    first = _check(primary)
    rest = adjust_pvalues(secondary, method)
    gated = np.maximum(rest, first[..., None]) if rest.size else rest
    return (float(first) if first.ndim == 0 else first), gated


def _check(pvalues: float | Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(pvalues, dtype=float)
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must be finite and within [0, 1], got {p.tolist()}")
    return p
