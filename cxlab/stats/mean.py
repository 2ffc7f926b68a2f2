"""Means per person (revenue per client) and ratio metrics (revenue per contract, unit = client).

Welch's t interval for the difference of means; the delta method for relative lifts and ratios.
References: Welch (1947); Deng, Knoblich & Lu (2018), "Applying the Delta Method in Metric Analytics".
"""

from __future__ import annotations

import math

from scipy import stats as sps

from cxlab.stats.results import Estimate, check_alpha, check_alternative, require_n
from cxlab.stats.sufficient import RatioStats, SampleMeanStats


def _p_and_ci(diff: float, se: float, df: float, alpha: float, alternative: str) -> tuple[float, float, float]:
    dist = sps.t(df) if math.isfinite(df) else sps.norm
    t = diff / se
    if alternative == "two-sided":
        q = dist.ppf(1 - alpha / 2)
        return float(2 * dist.sf(abs(t))), diff - q * se, diff + q * se
    q = dist.ppf(1 - alpha)
    if alternative == "larger":
        return float(dist.sf(t)), diff - q * se, math.inf
    return float(dist.cdf(t)), -math.inf, diff + q * se


def mean_diff(treatment: SampleMeanStats, control: SampleMeanStats, alpha: float = 0.05,
              alternative: str = "two-sided") -> Estimate:
    """Difference of means with Welch's t-test and interval (unequal variances, Welch–Satterthwaite df)."""
    check_alpha(alpha)
    check_alternative(alternative)
    require_n("treatment", treatment.n, 2)
    require_n("control", control.n, 2)
    vt, vc = treatment.variance / treatment.n, control.variance / control.n
    se = math.sqrt(vt + vc)
    if se == 0:
        raise ValueError("both groups have zero variance: every person has the same value; no test applies")
    df = (vt + vc) ** 2 / (vt**2 / (treatment.n - 1) + vc**2 / (control.n - 1))
    diff = treatment.mean - control.mean
    p, low, high = _p_and_ci(diff, se, df, alpha, alternative)
    return Estimate(diff, low, high, "difference of means (Welch)", alpha, p, treatment.n, control.n,
                    {"se": se, "df": df})


def mean_lift(treatment: SampleMeanStats, control: SampleMeanStats, alpha: float = 0.05) -> Estimate:
    """Relative lift m_t / m_c − 1 with a delta-method normal interval."""
    check_alpha(alpha)
    require_n("treatment", treatment.n, 2)
    require_n("control", control.n, 2)
    if control.mean == 0:
        raise ValueError("control mean is zero: the relative lift is undefined (report the difference)")
    r = treatment.mean / control.mean
    var = (treatment.variance / (treatment.n * control.mean**2)
           + treatment.mean**2 * control.variance / (control.n * control.mean**4))
    se = math.sqrt(var)
    z = sps.norm.ppf(1 - alpha / 2)
    p = 2 * sps.norm.sf(abs(r - 1) / se) if se > 0 else 1.0
    return Estimate(r - 1, r - 1 - z * se, r - 1 + z * se, "relative lift of means (delta method)", alpha,
                    float(p), treatment.n, control.n, {"se": se})


def ratio_diff(treatment: RatioStats, control: RatioStats, alpha: float = 0.05) -> Estimate:
    """Difference of two ratio metrics (Σm/Σd per group), delta-method variance per group."""
    check_alpha(alpha)
    require_n("treatment", treatment.n, 2)
    require_n("control", control.n, 2)
    for name, s in (("treatment", treatment), ("control", control)):
        if s.d_sum == 0:
            raise ValueError(f"{name}: the ratio's denominator sums to zero")
    diff = treatment.ratio - control.ratio
    se = math.sqrt(treatment.variance_of_ratio() + control.variance_of_ratio())
    z = sps.norm.ppf(1 - alpha / 2)
    p = 2 * sps.norm.sf(abs(diff) / se) if se > 0 else 1.0
    return Estimate(diff, diff - z * se, diff + z * se, "difference of ratios (delta method)", alpha, float(p),
                    treatment.n, control.n, {"se": se})


def ratio_lift(treatment: RatioStats, control: RatioStats, alpha: float = 0.05) -> Estimate:
    """Relative lift of a ratio metric, R_t / R_c − 1, with a delta-method interval."""
    check_alpha(alpha)
    d = ratio_diff(treatment, control, alpha)  # validates the inputs
    if control.ratio == 0:
        raise ValueError("control ratio is zero: the relative lift is undefined")
    r = treatment.ratio / control.ratio
    se = math.sqrt(treatment.variance_of_ratio() / control.ratio**2
                   + treatment.ratio**2 * control.variance_of_ratio() / control.ratio**4)
    z = sps.norm.ppf(1 - alpha / 2)
    p = 2 * sps.norm.sf(abs(r - 1) / se) if se > 0 else 1.0
    return Estimate(r - 1, r - 1 - z * se, r - 1 + z * se, "relative lift of ratios (delta method)", alpha,
                    float(p), d.n_treatment, d.n_control, {"se": se})
