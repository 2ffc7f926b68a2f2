"""Sufficient statistics: small frozen records of raw sums that the engine computes per group.

They store sums (never means or variances), so two groups, days or segments pool by ``a + b``. The
compute layer returns aggregate frames with these column names, and :func:`from_row` turns a row into
the matching record — the one boundary between the engine and the statistics:

================  ====================================================================
columns            record
================  ====================================================================
n, x_sum           :class:`ProportionStats` (``x_sum`` = people with the event)
n, x_sum, x_sum_sq :class:`SampleMeanStats`
+ pre_sum, pre_sum_sq, x_pre_sum   :class:`RegressionAdjustedStats` (CUPED covariate)
n, num_sum, num_sum_sq, den_sum, den_sum_sq, num_den_sum   :class:`RatioStats`
value, people (one row per distinct value)   :class:`ValueCounts` (quantiles)
================  ====================================================================
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, overload


def _check(name: str, value: float, *, integer: bool = False, minimum: float | None = 0.0) -> None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ValueError(f"{name} is missing (NaN): the aggregate for this group is empty or broken")
    if math.isinf(value):
        raise ValueError(f"{name} is infinite: the data holds an infinite value")
    if integer and value != int(value):
        raise ValueError(f"{name} must be a whole number, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


@dataclass(frozen=True)
class ProportionStats:
    """People ``n`` and how many of them had the event (``successes``)."""

    n: int
    successes: int

    def __post_init__(self) -> None:
        _check("n", self.n, integer=True)
        _check("successes", self.successes, integer=True)
        if self.successes > self.n:
            raise ValueError(f"successes ({self.successes}) cannot exceed n ({self.n})")

    @property
    def mean(self) -> float:
        return self.successes / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """Bernoulli variance p(1 − p) of one person."""
        return self.mean * (1 - self.mean)

    def __add__(self, other: ProportionStats) -> ProportionStats:
        return ProportionStats(self.n + other.n, self.successes + other.successes)


@dataclass(frozen=True)
class SampleMeanStats:
    """Per-person values: count, sum and sum of squares."""

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        _check("n", self.n, integer=True)
        _check("sum", self.sum, minimum=None)
        _check("sum_squares", self.sum_squares)

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (ddof = 1)."""
        if self.n < 2:
            return math.nan
        return max(self.sum_squares - self.sum**2 / self.n, 0.0) / (self.n - 1)

    def __add__(self, other: SampleMeanStats) -> SampleMeanStats:
        return SampleMeanStats(self.n + other.n, self.sum + other.sum, self.sum_squares + other.sum_squares)


@dataclass(frozen=True)
class RegressionAdjustedStats:
    """Per-person outcome ``x`` (post) and covariate ``pre``, with their cross-product: CUPED's inputs."""

    n: int
    post_sum: float
    post_sum_squares: float
    pre_sum: float
    pre_sum_squares: float
    post_pre_sum_of_products: float

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(f.name, getattr(self, f.name), integer=f.name == "n",
                   minimum=0.0 if f.name in ("n", "post_sum_squares", "pre_sum_squares") else None)

    @property
    def post(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.post_sum, self.post_sum_squares)

    @property
    def pre(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.pre_sum, self.pre_sum_squares)

    @property
    def covariance(self) -> float:
        """Sample covariance of post and pre (ddof = 1)."""
        if self.n < 2:
            return math.nan
        return (self.post_pre_sum_of_products - self.post_sum * self.pre_sum / self.n) / (self.n - 1)

    def __add__(self, other: RegressionAdjustedStats) -> RegressionAdjustedStats:
        return RegressionAdjustedStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class RatioStats:
    """A ratio metric per randomisation unit (e.g. revenue per contract, unit = client): sums of the
    numerator ``m`` and denominator ``d`` per person, their squares and cross-product."""

    n: int
    m_sum: float
    m_sum_squares: float
    d_sum: float
    d_sum_squares: float
    m_d_sum_of_products: float

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(f.name, getattr(self, f.name), integer=f.name == "n",
                   minimum=0.0 if f.name in ("n", "m_sum_squares", "d_sum_squares") else None)

    @property
    def numerator(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.m_sum, self.m_sum_squares)

    @property
    def denominator(self) -> SampleMeanStats:
        return SampleMeanStats(self.n, self.d_sum, self.d_sum_squares)

    @property
    def covariance(self) -> float:
        if self.n < 2:
            return math.nan
        return (self.m_d_sum_of_products - self.m_sum * self.d_sum / self.n) / (self.n - 1)

    @property
    def ratio(self) -> float:
        return self.m_sum / self.d_sum if self.d_sum else math.nan

    def variance_of_ratio(self) -> float:
        """Delta-method variance of the ratio of means: Var(m̄/d̄) ≈ (σm² − 2Rσmd + R²σd²) / (n d̄²)."""
        r, d = self.ratio, self.denominator.mean
        return (self.numerator.variance - 2 * r * self.covariance + r**2 * self.denominator.variance) / (self.n * d**2)

    def __add__(self, other: RatioStats) -> RatioStats:
        return RatioStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class ValueCounts:
    """A distribution as distinct per-person values and how many people have each: what a quantile
    needs. The engine rounds values to a resolution first, so the table stays small at any n."""

    values: tuple[float, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.values) != len(self.counts) or not self.values:
            raise ValueError("a value table needs as many counts as values, and at least one value")
        if any(math.isnan(v) or math.isinf(v) for v in self.values):
            raise ValueError("values must be finite")
        if any(c < 0 or c != int(c) for c in self.counts):
            raise ValueError("counts must be whole numbers ≥ 0")
        if any(b <= a for a, b in itertools.pairwise(self.values)):
            raise ValueError("values must be distinct and sorted ascending (group and order them in the engine)")

    @classmethod
    def of(cls, values: Any, counts: Any) -> ValueCounts:
        """From two columns in any order (e.g. an engine's group-by result), sorted by value."""
        pairs = sorted(zip((float(v) for v in values), (int(c) for c in counts), strict=True))
        return cls(tuple(v for v, _ in pairs), tuple(c for _, c in pairs))

    @property
    def n(self) -> int:
        return sum(self.counts)

    def __add__(self, other: ValueCounts) -> ValueCounts:
        merged: dict[float, int] = dict(zip(self.values, self.counts, strict=True))
        for v, c in zip(other.values, other.counts, strict=True):
            merged[v] = merged.get(v, 0) + c
        return ValueCounts.of(merged.keys(), merged.values())


@overload
def from_row(row: Mapping[str, Any], kind: Literal["proportion"]) -> ProportionStats: ...
@overload
def from_row(row: Mapping[str, Any], kind: Literal["mean"]) -> SampleMeanStats: ...
@overload
def from_row(row: Mapping[str, Any], kind: Literal["cuped"]) -> RegressionAdjustedStats: ...
@overload
def from_row(row: Mapping[str, Any], kind: Literal["ratio"]) -> RatioStats: ...
@overload
def from_row(row: Mapping[str, Any], kind: str) -> ProportionStats | SampleMeanStats | RegressionAdjustedStats | RatioStats: ...
def from_row(row: Mapping[str, Any], kind: str) -> ProportionStats | SampleMeanStats | RegressionAdjustedStats | RatioStats:
    """The statistics record of one aggregate row (a dict or a pandas Series) — see the module docstring.

    ``kind`` is ``proportion``, ``mean``, ``cuped`` or ``ratio``.
    """
    def get(col: str) -> float:
        if col not in row:
            raise ValueError(f"aggregate row has no column '{col}' (needed for {kind}); has {list(row.keys())}")
        v = row[col]
        return float(v) if v is not None else math.nan

    n = int(get("n"))
    if kind == "proportion":
        return ProportionStats(n, int(get("x_sum")))
    if kind == "mean":
        return SampleMeanStats(n, get("x_sum"), get("x_sum_sq"))
    if kind == "cuped":
        return RegressionAdjustedStats(n, get("x_sum"), get("x_sum_sq"), get("pre_sum"), get("pre_sum_sq"), get("x_pre_sum"))
    if kind == "ratio":
        return RatioStats(n, get("num_sum"), get("num_sum_sq"), get("den_sum"), get("den_sum_sq"), get("num_den_sum"))
    raise ValueError(f"kind must be one of proportion, mean, cuped, ratio; got {kind!r}")
