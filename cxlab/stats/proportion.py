"""Proportions per person: intervals for one rate, differences and relative lifts between two groups.

Delegates to statsmodels wherever it accepts counts (``proportion_confint``,
``confint_proportions_2indep``, ``proportions_ztest``) and to scipy for Fisher's exact test.

References: Newcombe (1998), Stat Med 17:873 (hybrid score interval); Wilson (1927); Agresti & Coull
(1998); Katz et al. (1978) for the log-ratio (delta-method) interval of a relative risk.
"""

from __future__ import annotations

import math

from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from cxlab.stats.results import Estimate, check_alpha, require_n
from cxlab.stats.sufficient import ProportionStats

_ONE = {"wilson": "wilson", "agresti_coull": "agresti_coull", "wald": "normal", "clopper_pearson": "beta"}
_DIFF = {"newcombe": "newcomb", "wald": "wald"}


def _pick(method: str, table: dict[str, str]) -> str:
    if method not in table:
        raise ValueError(f"method must be one of {', '.join(table)}, got {method!r}")
    return table[method]


def proportion_ci(stats: ProportionStats, method: str = "wilson", alpha: float = 0.05) -> Estimate:
    """The rate with its interval (``wilson`` by default: good coverage even near 0 or 1)."""
    check_alpha(alpha)
    require_n("group", stats.n, 1)
    low, high = proportion_confint(stats.successes, stats.n, alpha=alpha, method=_pick(method, _ONE))
    # with no successes (or all) the bound is exactly 0 (or 1); the formula leaves float noise (5.55e-17)
    low = 0.0 if stats.successes == 0 else float(low)
    high = 1.0 if stats.successes == stats.n else float(high)
    return Estimate(stats.mean, low, high, f"proportion ({method})", alpha, n_treatment=stats.n)


def proportion_diff(treatment: ProportionStats, control: ProportionStats, method: str = "newcombe",
                    alpha: float = 0.05) -> Estimate:
    """Absolute uplift p_t − p_c with its interval and the two-sided pooled z-test p-value.

    H0: p_t = p_c. ``newcombe`` (hybrid score) keeps coverage with small counts; ``wald`` is the textbook
    interval, fine for large samples away from 0 and 1.
    """
    check_alpha(alpha)
    require_n("treatment", treatment.n, 1)
    require_n("control", control.n, 1)
    low, high = confint_proportions_2indep(treatment.successes, treatment.n, control.successes, control.n,
                                           method=_pick(method, _DIFF), compare="diff", alpha=alpha)
    pooled = treatment.successes + control.successes
    if 0 < pooled < treatment.n + control.n:
        _, p = proportions_ztest([treatment.successes, control.successes], [treatment.n, control.n])
    else:  # nobody (or everybody) converted in both groups: no evidence of a difference
        p = 1.0
    return Estimate(treatment.mean - control.mean, float(low), float(high), f"difference of proportions ({method})",
                    alpha, float(p), treatment.n, control.n)


def proportion_lift(treatment: ProportionStats, control: ProportionStats, alpha: float = 0.05) -> Estimate:
    """Relative uplift p_t / p_c − 1, interval from the delta method on log(p_t / p_c) (Katz)."""
    check_alpha(alpha)
    for name, s in (("treatment", treatment), ("control", control)):
        require_n(name, s.n, 1)
        if s.successes == 0:
            raise ValueError(f"{name} has no successes: the relative lift is undefined (report the difference)")
    ratio = treatment.mean / control.mean
    se = math.sqrt((1 - treatment.mean) / treatment.successes + (1 - control.mean) / control.successes)
    z = sps.norm.ppf(1 - alpha / 2)
    p = 2 * sps.norm.sf(abs(math.log(ratio)) / se) if se > 0 else 1.0
    return Estimate(ratio - 1, math.exp(math.log(ratio) - z * se) - 1, math.exp(math.log(ratio) + z * se) - 1,
                    "relative lift of proportions (delta method, log scale)", alpha, float(p), treatment.n, control.n)


def fisher_exact(treatment: ProportionStats, control: ProportionStats, alpha: float = 0.05) -> Estimate:
    """Odds ratio with its conditional exact interval and Fisher's exact two-sided p-value (small counts)."""
    check_alpha(alpha)
    table = [[treatment.successes, treatment.n - treatment.successes],
             [control.successes, control.n - control.successes]]
    p = sps.fisher_exact(table).pvalue
    res = sps.contingency.odds_ratio(table, kind="conditional")
    ci = res.confidence_interval(confidence_level=1 - alpha)
    return Estimate(float(res.statistic), float(ci.low), float(ci.high), "odds ratio (Fisher exact)", alpha,
                    float(p), treatment.n, control.n)
