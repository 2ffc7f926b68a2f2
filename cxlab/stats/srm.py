"""Sample-ratio mismatch: does the observed split of people match the planned one?

A mismatch means randomisation or data collection is broken, and every comparison after it is suspect.
Chi-square goodness of fit (scipy ``chisquare``), flagged at p < 0.001 by convention (Fabijan et al. 2019,
"Diagnosing Sample Ratio Mismatch in Online Controlled Experiments").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scipy import stats as sps

from cxlab.stats.results import floor_p


@dataclass(frozen=True)
class SRMResult:
    """The test, the flag, and per arm the observed and expected counts and shares."""

    p_value: float
    statistic: float
    flagged: bool
    alpha: float
    observed: dict[str, int]
    expected: dict[str, float]
    zero_arms: tuple[str, ...] = field(default_factory=tuple)
    deviation: float = 0.0

    def to_dict(self) -> dict:
        return {"p_value": self.p_value, "statistic": self.statistic, "flagged": self.flagged, "alpha": self.alpha,
                "observed": self.observed, "expected": self.expected, "zero_arms": list(self.zero_arms),
                "deviation": self.deviation}


def srm_check(observed: Mapping[str, int], planned_shares: Mapping[str, float], alpha: float = 0.001,
              min_relative_deviation: float = 0.0) -> SRMResult:
    """Chi-square test of ``observed`` people per arm against ``planned_shares`` (which sum to 1).

    ``deviation`` is the largest relative gap between an arm's observed and planned share. With millions
    of people a trivial gap is "significant"; ``min_relative_deviation`` (e.g. 0.01) flags only a mismatch
    that is both significant and at least that large. An arm with no people at all is always flagged and
    listed in ``zero_arms``; an observed arm that was not planned is an error.
    """
    unknown = set(observed) - set(planned_shares)
    if unknown:
        raise ValueError(f"arms {sorted(unknown)} were observed but not planned (planned: {sorted(planned_shares)})")
    total_share = sum(planned_shares.values())
    if abs(total_share - 1) > 1e-6 or any(s <= 0 for s in planned_shares.values()):
        raise ValueError(f"planned shares must be positive and sum to 1, got {dict(planned_shares)}")
    if len(planned_shares) < 2:
        raise ValueError("a sample-ratio check needs at least two arms")
    arms = list(planned_shares)
    counts = [int(observed.get(a, 0)) for a in arms]
    n = sum(counts)
    if n == 0:
        raise ValueError("no people in any arm")
    expected = [planned_shares[a] * n for a in arms]
    res = sps.chisquare(counts, expected)
    deviation = max(abs(c / e - 1) for c, e in zip(counts, expected, strict=True))
    zero = tuple(a for a, c in zip(arms, counts, strict=True) if c == 0)
    flagged = bool(zero) or bool(res.pvalue < alpha and deviation >= min_relative_deviation)
    return SRMResult(floor_p(float(res.pvalue)), float(res.statistic), flagged, alpha, dict(zip(arms, counts, strict=True)),
                     dict(zip(arms, expected, strict=True)), zero, float(deviation))
