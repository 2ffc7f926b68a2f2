"""A Bayesian view beside the frequentist result: the chance that treatment beats control, and a
credible interval of the lift.

Proportions: independent Beta(1 + x, 1 + n − x) posteriors (uniform priors), seeded Monte Carlo.
Means: flat prior, normal approximation N(Δ, se²) of the difference (Welch's se).
Reference: GrowthBook gbstats ``bayesian/tests.py`` (same model, closed forms where they exist).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

from cxlab.stats.results import check_alpha, require_n
from cxlab.stats.sufficient import ProportionStats, SampleMeanStats


@dataclass(frozen=True)
class BayesResult:
    """Chance to beat control and credible intervals of the absolute and relative lift."""

    chance_to_beat: float
    lift_abs: float
    lift_abs_low: float
    lift_abs_high: float
    lift_rel: float
    lift_rel_low: float
    lift_rel_high: float
    method: str

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def bayes_proportions(treatment: ProportionStats, control: ProportionStats, alpha: float = 0.05,
                      draws: int = 200_000, seed: int = 0) -> BayesResult:
    """Posterior of p_t − p_c and p_t / p_c − 1 under uniform priors."""
    check_alpha(alpha)
    require_n("treatment", treatment.n, 1)
    require_n("control", control.n, 1)
    rng = np.random.default_rng(seed)
    pt = rng.beta(1 + treatment.successes, 1 + treatment.n - treatment.successes, draws)
    pc = rng.beta(1 + control.successes, 1 + control.n - control.successes, draws)
    diff, rel = pt - pc, pt / pc - 1
    q = [alpha / 2, 1 - alpha / 2]
    (dl, dh), (rl, rh) = np.quantile(diff, q), np.quantile(rel, q)
    return BayesResult(float(np.mean(pt > pc)), float(np.mean(diff)), float(dl), float(dh), float(np.median(rel)),
                       float(rl), float(rh), f"beta-binomial, uniform priors, {draws} draws, seed {seed}")


def bayes_means(treatment: SampleMeanStats, control: SampleMeanStats, alpha: float = 0.05) -> BayesResult:
    """Posterior of m_t − m_c (flat prior, normal approximation) and of the relative lift (delta method)."""
    check_alpha(alpha)
    require_n("treatment", treatment.n, 2)
    require_n("control", control.n, 2)
    d = treatment.mean - control.mean
    se = math.sqrt(treatment.variance / treatment.n + control.variance / control.n)
    if se == 0:
        raise ValueError("both groups have zero variance; the posterior is degenerate")
    z = sps.norm.ppf(1 - alpha / 2)
    if control.mean == 0:
        rel = rl = rh = math.nan
    else:
        rel = d / control.mean
        se_rel = math.sqrt(treatment.variance / (treatment.n * control.mean**2)
                           + treatment.mean**2 * control.variance / (control.n * control.mean**4))
        rl, rh = rel - z * se_rel, rel + z * se_rel
    return BayesResult(float(sps.norm.cdf(d / se)), d, d - z * se, d + z * se, rel, rl, rh,
                       "normal approximation, flat prior")
