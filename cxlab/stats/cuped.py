"""CUPED / regression adjustment with a pre-period covariate, from sufficient statistics.

θ is the pooled within-group slope of the outcome on the covariate, so the adjusted difference equals the
treatment coefficient of OLS ``y ~ treated + (x − x̄)`` on the rows. The variance of each group's
adjusted mean is Var(y − θx)/n (robust to unequal variances across groups).
Reference: Deng, Xu, Kohavi & Walker (2013), "Improving the Sensitivity of Online Controlled Experiments
by Utilizing Pre-Experiment Data".
"""

from __future__ import annotations

import math

from scipy import stats as sps

from cxlab.stats.results import Estimate, StratifiedEstimate, check_alpha, require_n
from cxlab.stats.sufficient import RegressionAdjustedStats


def theta(treatment: RegressionAdjustedStats, control: RegressionAdjustedStats) -> float:
    """Pooled within-group regression slope of post on pre (0 when the covariate does not vary)."""
    sxy = sum((g.n - 1) * g.covariance for g in (treatment, control))
    sxx = sum((g.n - 1) * g.pre.variance for g in (treatment, control))
    return sxy / sxx if sxx > 0 else 0.0


def cuped_diff(treatment: RegressionAdjustedStats, control: RegressionAdjustedStats, alpha: float = 0.05) -> Estimate:
    """Covariate-adjusted difference of means with its interval, p-value and the variance reduction.

    ``extra`` carries ``theta``, ``variance_reduction`` (1 − Var_adjusted / Var_unadjusted of the
    difference; ≈ ρ² when the covariate correlates ρ with the outcome) and the unadjusted ``se``.
    """
    check_alpha(alpha)
    require_n("treatment", treatment.n, 3)
    require_n("control", control.n, 3)
    th = theta(treatment, control)

    def adjusted_var(g: RegressionAdjustedStats) -> float:
        return max(g.post.variance - 2 * th * g.covariance + th**2 * g.pre.variance, 0.0) / g.n

    diff = (treatment.post.mean - control.post.mean) - th * (treatment.pre.mean - control.pre.mean)
    se = math.sqrt(adjusted_var(treatment) + adjusted_var(control))
    se_raw = math.sqrt(treatment.post.variance / treatment.n + control.post.variance / control.n)
    if se == 0:
        raise ValueError("the adjusted outcome has zero variance in both groups; no test applies")
    z = sps.norm.ppf(1 - alpha / 2)
    p = 2 * sps.norm.sf(abs(diff) / se)
    reduction = 1 - (se / se_raw) ** 2 if se_raw > 0 else 0.0
    return Estimate(diff, diff - z * se, diff + z * se, "difference of means (CUPED)", alpha, float(p),
                    treatment.n, control.n, {"theta": th, "variance_reduction": reduction, "se": se, "se_unadjusted": se_raw})


def cuped_stratified(strata: dict[str, tuple[RegressionAdjustedStats, RegressionAdjustedStats]],
                     alpha: float = 0.05) -> StratifiedEstimate:
    """CUPED within strata (e.g. clients with and without pre-period history), combined by stratum size.

    ``strata`` maps a stratum name to its (treatment, control) statistics. Each stratum gets its own θ, so
    clients whose "pre" is zero only because they are new do not drag the slope of the others; a stratum
    whose covariate does not vary contributes its plain difference of means. The difference is
    Σ w_s·d_s with w_s = n_s / n, its variance Σ w_s²·Var(d_s) (post-stratification; Miratrix, Sekhon &
    Yu 2013). ``extra`` carries the overall ``variance_reduction`` against the unstratified, unadjusted
    difference, and ``strata[name]`` per stratum ``{n, weight, theta, estimate, variance_reduction}``.
    """
    check_alpha(alpha)
    if not strata:
        raise ValueError("no strata given")
    total = sum(t.n + c.n for t, c in strata.values())
    diff = var = 0.0
    per: dict[str, dict[str, float]] = {}
    for name, (t, c) in strata.items():
        require_n(f"stratum '{name}' treatment", t.n, 3)
        require_n(f"stratum '{name}' control", c.n, 3)
        w = (t.n + c.n) / total
        if t.pre.variance > 0 or c.pre.variance > 0:
            est = cuped_diff(t, c, alpha)
            d, th, reduction, se = est.estimate, est.extra["theta"], est.extra["variance_reduction"], est.extra["se"]
        else:  # nothing to regress on: the plain difference
            d, th, reduction = t.post.mean - c.post.mean, 0.0, 0.0
            se = math.sqrt(t.post.variance / t.n + c.post.variance / c.n)
        diff += w * d
        var += w**2 * se**2
        per[name] = {"n": t.n + c.n, "weight": w, "theta": th, "estimate": d, "variance_reduction": reduction}
    treated = [t for t, _ in strata.values()]
    controls = [c for _, c in strata.values()]
    pooled_t, pooled_c = sum(treated[1:], treated[0]).post, sum(controls[1:], controls[0]).post
    raw = pooled_t.variance / pooled_t.n + pooled_c.variance / pooled_c.n
    se = math.sqrt(var)
    if se == 0:
        raise ValueError("the adjusted outcome has zero variance in every stratum; no test applies")
    z = sps.norm.ppf(1 - alpha / 2)
    p = 2 * sps.norm.sf(abs(diff) / se)
    return StratifiedEstimate(diff, diff - z * se, diff + z * se, "difference of means (CUPED within strata)", alpha,
                              float(p), pooled_t.n, pooled_c.n,
                              {"variance_reduction": 1 - var / raw if raw > 0 else 0.0, "se": se}, strata=per)
