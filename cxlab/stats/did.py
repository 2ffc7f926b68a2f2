"""Difference in differences against the control group's own trend, and a check of parallel pre-trends.

``did`` takes four independent cells (treatment/control × pre/post). When the same people are measured
before and after, their changes are correlated: pass per-person changes (post − pre) to ``did_paired``,
which is Welch's test on the changes and has the right, usually smaller, variance.
Reference: Angrist & Pischke (2009), Mostly Harmless Econometrics, ch. 5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from cxlab.stats.mean import mean_diff
from cxlab.stats.results import Estimate, check_alpha, require_n
from cxlab.stats.sufficient import SampleMeanStats


def did(treatment_pre: SampleMeanStats, treatment_post: SampleMeanStats, control_pre: SampleMeanStats,
        control_post: SampleMeanStats, alpha: float = 0.05) -> Estimate:
    """(T_post − T_pre) − (C_post − C_pre) with a normal interval, cells treated as independent samples."""
    check_alpha(alpha)
    cells = {"treatment_pre": treatment_pre, "treatment_post": treatment_post,
             "control_pre": control_pre, "control_post": control_post}
    for name, cell in cells.items():
        require_n(name, cell.n, 2)
    est = (treatment_post.mean - treatment_pre.mean) - (control_post.mean - control_pre.mean)
    se = math.sqrt(sum(c.variance / c.n for c in cells.values()))
    z = sps.norm.ppf(1 - alpha / 2)
    p = 2 * sps.norm.sf(abs(est) / se) if se > 0 else 1.0
    return Estimate(est, est - z * se, est + z * se, "difference in differences (independent cells)", alpha,
                    float(p), treatment_post.n, control_post.n, {"se": se})


def did_paired(treatment_change: SampleMeanStats, control_change: SampleMeanStats, alpha: float = 0.05) -> Estimate:
    """Difference in differences from per-person changes (post − pre): Welch's test on the changes."""
    res = mean_diff(treatment_change, control_change, alpha)
    return Estimate(res.estimate, res.ci_low, res.ci_high, "difference in differences (per-person changes, Welch)",
                    alpha, res.p_value, res.n_treatment, res.n_control, res.extra)


def parallel_trends(treatment_by_period: Sequence[SampleMeanStats], control_by_period: Sequence[SampleMeanStats],
                    alpha: float = 0.05) -> Estimate:
    """Slope of the treatment − control gap over pre-periods (weighted least squares, weights 1/Var).

    H0: the gap is flat (parallel trends). A slope whose interval excludes 0 says the groups were already
    drifting apart before the campaign, and the DiD estimate would absorb that drift.
    """
    check_alpha(alpha)
    if len(treatment_by_period) != len(control_by_period) or len(treatment_by_period) < 3:
        raise ValueError("parallel_trends needs the same number (at least 3) of pre-periods for both groups")
    gap = np.array([t.mean - c.mean for t, c in zip(treatment_by_period, control_by_period, strict=True)])
    var = np.array([t.variance / t.n + c.variance / c.n for t, c in zip(treatment_by_period, control_by_period, strict=True)])
    if not np.all(np.isfinite(var)) or np.any(var <= 0):
        raise ValueError("every pre-period needs at least 2 people with varying values in each group")
    x = np.arange(len(gap), dtype=float)
    w = 1 / var
    xm = np.sum(w * x) / np.sum(w)
    slope = np.sum(w * (x - xm) * gap) / np.sum(w * (x - xm) ** 2)
    se = math.sqrt(1 / np.sum(w * (x - xm) ** 2))
    z = sps.norm.ppf(1 - alpha / 2)
    p = 2 * sps.norm.sf(abs(slope) / se)
    return Estimate(float(slope), float(slope - z * se), float(slope + z * se),
                    "slope of the treatment − control gap per period (WLS)", alpha, float(p),
                    extra={"periods": float(len(gap))})
