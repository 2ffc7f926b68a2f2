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

from cxlab.stats.results import Estimate, check_alpha, require_n
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
