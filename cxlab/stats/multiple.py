"""Adjusting p-values when several effects are read at once (segments, metrics).

Holm controls the family-wise error rate; Benjamini–Hochberg (``fdr_bh``) the false discovery rate.
Delegates to ``statsmodels.stats.multitest.multipletests``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from statsmodels.stats.multitest import multipletests

METHODS = ("holm", "fdr_bh", "bonferroni")


def adjust_pvalues(pvalues: Sequence[float], method: str = "holm") -> np.ndarray:
    """Adjusted p-values in the input order (each ≥ its raw value)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return p
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must be finite and within [0, 1], got {p.tolist()}")
    return multipletests(p, method=method)[1]
