"""Power, minimum detectable effect and sample size for proportions and means, any allocation.

Delegates to statsmodels: ``NormalIndPower`` with Cohen's h for proportions (``proportion_effectsize``),
``TTestIndPower`` with Cohen's d for means; ratio metrics (delta method) and CUPED-adjusted means reduce to
the mean formulas with the right per-person sd (:func:`ratio_sd`, :func:`cuped_sd`). ``ratio`` is n_control / n_treatment, as in statsmodels; for a
planned treatment share s it is (1 − s) / s. ``alternative``: two-sided, larger, smaller.
"""

from __future__ import annotations

import math

import numpy as np
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from cxlab.stats.results import check_alpha, check_alternative
from cxlab.stats.sufficient import RatioStats


def _check(baseline: float | None = None, power: float | None = None, ratio: float | None = None) -> None:
    if baseline is not None and not 0 < baseline < 1:
        raise ValueError(f"baseline must be a rate between 0 and 1, got {baseline}")
    if power is not None and not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1, got {power}")
    if ratio is not None and ratio <= 0:
        raise ValueError(f"ratio (n_control / n_treatment) must be positive, got {ratio}")


def ratio_from_share(treatment_share: float) -> float:
    """n_control / n_treatment for a planned treatment share (0.8 → 0.25)."""
    if not 0 < treatment_share < 1:
        raise ValueError(f"treatment_share must be between 0 and 1, got {treatment_share}")
    return (1 - treatment_share) / treatment_share


def power_proportions(baseline: float, mde: float, n_treatment: float, ratio: float = 1.0, alpha: float = 0.05,
                      alternative: str = "two-sided") -> float:
    """Power to detect an absolute change ``mde`` from ``baseline`` with ``n_treatment`` people treated."""
    check_alpha(alpha)
    check_alternative(alternative)
    _check(baseline, ratio=ratio)
    h = proportion_effectsize(baseline + mde, baseline)
    return float(NormalIndPower().power(h, n_treatment, alpha, ratio, alternative))


def sample_size_proportions(baseline: float, mde: float, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8,
                            alternative: str = "two-sided") -> tuple[int, int]:
    """People needed (treatment, control) to detect an absolute change ``mde`` from ``baseline``."""
    check_alpha(alpha)
    check_alternative(alternative)
    _check(baseline, power, ratio)
    if mde == 0 or not 0 < baseline + mde < 1:
        raise ValueError(f"mde must be non-zero and keep the rate within (0, 1); got baseline {baseline}, mde {mde}")
    h = proportion_effectsize(baseline + mde, baseline)
    n1 = NormalIndPower().solve_power(h, nobs1=None, alpha=alpha, power=power, ratio=ratio, alternative=alternative)
    return math.ceil(n1), math.ceil(n1 * ratio)


def mde_proportions(baseline: float, n_treatment: float, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8,
                    alternative: str = "two-sided") -> float:
    """Smallest absolute increase over ``baseline`` detectable with ``n_treatment`` treated people."""
    check_alpha(alpha)
    check_alternative(alternative)
    _check(baseline, power, ratio)
    if n_treatment <= 1:
        raise ValueError(f"n_treatment must exceed 1, got {n_treatment}")
    h = abs(float(NormalIndPower().solve_power(None, nobs1=n_treatment, alpha=alpha, power=power, ratio=ratio,
                                               alternative=alternative)))
    h = -h if alternative == "smaller" else h
    # invert Cohen's h = 2·asin(√p1) − 2·asin(√p0)
    phi = 2 * math.asin(math.sqrt(baseline)) + h
    phi = min(max(phi, 0.0), math.pi)
    return math.sin(phi / 2) ** 2 - baseline


def power_means(mde: float, sd: float, n_treatment: float, ratio: float = 1.0, alpha: float = 0.05,
                alternative: str = "two-sided") -> float:
    """Power of Welch/Student t to detect a difference ``mde`` in means with per-person sd ``sd``."""
    check_alpha(alpha)
    check_alternative(alternative)
    _check(ratio=ratio)
    if sd <= 0:
        raise ValueError(f"sd must be positive, got {sd}")
    return float(TTestIndPower().power(mde / sd, n_treatment, alpha, ratio, alternative=alternative))


def sample_size_means(mde: float, sd: float, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8,
                      alternative: str = "two-sided") -> tuple[int, int]:
    """People needed (treatment, control) to detect a difference ``mde`` in means."""
    check_alpha(alpha)
    check_alternative(alternative)
    _check(power=power, ratio=ratio)
    if sd <= 0 or mde == 0:
        raise ValueError(f"sd must be positive and mde non-zero, got sd {sd}, mde {mde}")
    n1 = TTestIndPower().solve_power(mde / sd, nobs1=None, alpha=alpha, power=power, ratio=ratio, alternative=alternative)
    return math.ceil(n1), math.ceil(n1 * ratio)


def mde_means(sd: float, n_treatment: float, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8,
              alternative: str = "two-sided") -> float:
    """Smallest difference in means detectable with ``n_treatment`` treated people."""
    check_alpha(alpha)
    check_alternative(alternative)
    _check(power=power, ratio=ratio)
    if sd <= 0 or n_treatment <= 2:
        raise ValueError(f"sd must be positive and n_treatment above 2, got sd {sd}, n {n_treatment}")
    d = np.atleast_1d(TTestIndPower().solve_power(None, nobs1=n_treatment, alpha=alpha, power=power, ratio=ratio,
                                                  alternative=alternative)).astype(float)
    if d.size != 1 or not np.isfinite(d[0]):  # statsmodels returns its failed iterate as an array
        raise ValueError(f"no detectable effect solves the power equation at n {n_treatment}, ratio {ratio}")
    return abs(float(d[0])) * sd


def ratio_sd(history: RatioStats) -> float:
    """Per-person standard deviation of a ratio metric Σm/Σd linearised by the delta method:
    √(n·Var(R̂)) = √(σm² − 2Rσmd + R²σd²) / d̄. With it, the mean formulas above plan a ratio metric.
    Reference: Deng, Knoblich & Lu (2018), "Applying the Delta Method in Metric Analytics"."""
    if history.n < 3 or not history.d_sum:
        raise ValueError("a ratio metric's history needs at least 3 people and a non-zero denominator")
    return math.sqrt(max(history.n * history.variance_of_ratio(), 0.0))


def cuped_sd(sd: float, variance_reduction: float) -> float:
    """The per-person sd left after CUPED removes ``variance_reduction`` of the variance (≈ ρ² of the
    outcome with its pre-period value): plan a CUPED-adjusted metric with the mean formulas and this sd."""
    if not 0 <= variance_reduction < 1:
        raise ValueError(f"variance_reduction must be in [0, 1), got {variance_reduction}")
    return sd * math.sqrt(1 - variance_reduction)


def sample_size_ratio(mde: float, history: RatioStats, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8,
                      alternative: str = "two-sided") -> tuple[int, int]:
    """People needed (treatment, control) to detect an absolute change ``mde`` of a ratio metric whose
    per-person spread is estimated from ``history`` (e.g. last quarter's sums)."""
    return sample_size_means(mde, ratio_sd(history), ratio, alpha, power, alternative)


def sample_size_cuped(mde: float, sd: float, variance_reduction: float, ratio: float = 1.0, alpha: float = 0.05,
                      power: float = 0.8, alternative: str = "two-sided") -> tuple[int, int]:
    """People needed to detect ``mde`` in a mean read with CUPED that removes ``variance_reduction``."""
    return sample_size_means(mde, cuped_sd(sd, variance_reduction), ratio, alpha, power, alternative)
