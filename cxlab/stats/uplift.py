"""Uplift evaluation from a model score, on score bins the engine aggregates.

Input per bin, ordered from the highest score down: treated people ``n_t`` and their conversions
``y_t``, control people ``n_c`` and conversions ``y_c``. Definitions follow scikit-uplift
(``sklift.metrics``): the qini curve at a cut is Y_t − Y_c · N_t / N_c over everyone above the cut;
with one person per bin the curve equals sklift's ``qini_curve``.
Reference: Radcliffe (2007), "Using control groups to target on predicted lift".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScoreBins:
    """Per score bin (highest score first): treated and control people and conversions — or, with
    ``binary`` False, the sums of a per-person outcome such as spend (the curve and the uplifts hold;
    :func:`qini_normalised` needs conversions)."""

    n_t: np.ndarray
    y_t: np.ndarray
    n_c: np.ndarray
    y_c: np.ndarray
    binary: bool = True

    def __post_init__(self) -> None:
        arrays = {k: np.asarray(getattr(self, k), dtype=float) for k in ("n_t", "y_t", "n_c", "y_c")}
        if len({a.shape for a in arrays.values()}) != 1 or arrays["n_t"].ndim != 1 or arrays["n_t"].size == 0:
            raise ValueError("n_t, y_t, n_c, y_c must be 1-d arrays of one non-zero length")
        if self.binary and (np.any(arrays["y_t"] > arrays["n_t"]) or np.any(arrays["y_c"] > arrays["n_c"])):
            raise ValueError("conversions cannot exceed people in a bin")
        if arrays["n_t"].sum() == 0 or arrays["n_c"].sum() == 0:
            raise ValueError("both treated and control people are needed to measure uplift")
        for k, a in arrays.items():
            object.__setattr__(self, k, a)


def uplift_by_bin(bins: ScoreBins) -> dict[str, np.ndarray]:
    """Conversion rate of treated and control people and their difference, per bin (NaN where a bin
    has no treated or no control people)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_t = np.where(bins.n_t > 0, bins.y_t / bins.n_t, np.nan)
        rate_c = np.where(bins.n_c > 0, bins.y_c / bins.n_c, np.nan)
    return {"rate_treatment": rate_t, "rate_control": rate_c, "uplift": rate_t - rate_c,
            "n_treatment": bins.n_t, "n_control": bins.n_c}


def qini_curve(bins: ScoreBins) -> tuple[np.ndarray, np.ndarray]:
    """(people targeted, incremental conversions) at each cut, starting at (0, 0)."""
    nt, yt, nc, yc = (np.cumsum(a) for a in (bins.n_t, bins.y_t, bins.n_c, bins.y_c))
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(nc > 0, yt - yc * nt / nc, yt)
    return np.concatenate([[0.0], nt + nc]), np.concatenate([[0.0], q])


def qini_coefficient(bins: ScoreBins) -> float:
    """Area between the qini curve and the random-targeting line, per person targeted squared (Radcliffe's
    unnormalised area; :func:`qini_normalised` is the coefficient scikit-uplift reports). Positive: the
    score ranks uplift."""
    x, q = qini_curve(bins)
    random = q[-1] * x / x[-1]
    return float(np.trapezoid(q - random, x) / x[-1] ** 2)


def qini_normalised(bins: ScoreBins) -> float:
    """The qini coefficient normalised as scikit-uplift's ``qini_auc_score`` normalises it — (area of the
    qini curve − area of the random line) / (the same for the perfect curve) — at bin resolution: 1 ranks
    perfectly, 0 is random. The perfect curve depends on the totals only (treated converters first, then
    everyone who did not convert, then control converters), so bins suffice; with one person per bin it
    equals sklift's value (tests/stats/test_targeting.py)."""
    if not bins.binary:
        raise ValueError("the normalised qini needs conversions (0 or 1 per person): its perfect curve is undefined for sums")
    x, q = qini_curve(bins)
    nt, yt, nc, yc = (float(a.sum()) for a in (bins.n_t, bins.y_t, bins.n_c, bins.y_c))
    n = nt + nc
    end = yt - yc * nt / nc
    perfect = np.trapezoid([0.0, yt, yt, end], [0.0, yt, n - yc, n])
    base = n * end / 2
    return float((np.trapezoid(q, x) - base) / (perfect - base))


def uplift_at_k(bins: ScoreBins, k: float) -> float:
    """Uplift (treated rate − control rate) among the top ``k`` share of people by score.

    Whole bins are taken until they cover ``k`` of everyone (scikit-uplift's ``strategy='overall'`` at bin
    resolution).
    """
    if not 0 < k <= 1:
        raise ValueError(f"k must be a share in (0, 1], got {k}")
    people = np.cumsum(bins.n_t + bins.n_c)
    last = int(np.searchsorted(people, k * people[-1]))
    top = slice(0, last + 1)
    nt, nc = bins.n_t[top].sum(), bins.n_c[top].sum()
    if nt == 0 or nc == 0:
        raise ValueError(f"the top {k:.0%} has no treated or no control people")
    return float(bins.y_t[top].sum() / nt - bins.y_c[top].sum() / nc)
