"""Result records: what every estimator returns, readable in a notebook and plain in results.json."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, overload

ALTERNATIVES = ("two-sided", "larger", "smaller")
#: A p-value that underflows to 0 is stored as this bound (it is smaller still); reports show "< 1e-300".
P_FLOOR = 1e-300


@overload
def floor_p(p: float) -> float: ...
@overload
def floor_p(p: None) -> None: ...
def floor_p(p: float | None) -> float | None:
    """``p`` with an underflow to exactly 0 (or anything below :data:`P_FLOOR`) replaced by the bound."""
    if p is None or math.isnan(p):
        return p
    return max(float(p), P_FLOOR)


@dataclass(frozen=True)
class Estimate:
    """An estimate with its confidence interval, p-value (when a test applies) and how it was made."""

    estimate: float
    ci_low: float
    ci_high: float
    method: str
    alpha: float = 0.05
    p_value: float | None = None
    n_treatment: int | None = None
    n_control: int | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.p_value is not None:
            object.__setattr__(self, "p_value", floor_p(self.p_value))  # never an exact 0

    def __repr__(self) -> str:
        p = f", p={self.p_value:.4g}" if self.p_value is not None else ""
        ns = f", n={self.n_treatment}/{self.n_control}" if self.n_treatment is not None else ""
        level = round(100 * (1 - self.alpha))
        return f"Estimate({self.estimate:.6g} [{self.ci_low:.6g}, {self.ci_high:.6g}] {level}% CI{p}{ns}, {self.method})"

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero (for differences)."""
        return self.ci_low > 0 or self.ci_high < 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in list(d.items()):
            if isinstance(v, float) and not math.isfinite(v):
                d[k] = None
        return d


@dataclass(frozen=True, repr=False)
class StratifiedEstimate(Estimate):
    """An :class:`Estimate` combined over strata, with each stratum's ``{n, weight, theta, estimate,
    variance_reduction}`` beside it (``extra`` stays a flat ``name -> float`` map)."""

    strata: dict[str, dict[str, float]] = field(default_factory=dict)


def check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")


def check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")


def require_n(name: str, n: int, minimum: int) -> None:
    if n < minimum:
        raise ValueError(f"{name} has n={n}; this method needs at least {minimum} per group")
