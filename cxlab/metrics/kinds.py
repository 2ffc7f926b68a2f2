"""One class per kind of metric a card can define — what the kind means for the engine (the per-person
columns it reads and the sums it needs), for the statistics (its record, its test, its CUPED form) and
for the report (how its levels and differences are printed).

Everything that depends on a metric's ``type`` is declared here, once: the compute layer assembles its
grouped queries from :attr:`Kind.sums`, the statistics read the same names back through :meth:`Kind.record`,
and a report asks :attr:`Kind.diff_format`. (After tea-tasting's ``metrics/base.py``: a metric declares the
aggregates it needs; the analysis merges those needs into one query.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import ibis

from cxlab import stats as cs
from cxlab.catalog.cards import Metric

#: A sum the engine computes: its column name → the per-person columns whose product is summed.
Sums = Mapping[str, tuple[str, ...]]

_MEAN_SUMS: Sums = {"x_sum": ("x",), "x_sum_sq": ("x", "x")}
_CUPED_SUMS: Sums = {"pre_sum": ("pre",), "pre_sum_sq": ("pre", "pre"), "x_pre_sum": ("x", "pre")}
_RATIO_SUMS: Sums = {"num_sum": ("num",), "num_sum_sq": ("num", "num"), "den_sum": ("den",),
                     "den_sum_sq": ("den", "den"), "num_den_sum": ("num", "den")}


#: The statistics record a kind's tests read (ProportionStats, SampleMeanStats, RatioStats, ValueCounts).
R = TypeVar("R")
#: The records of the kinds compared arm against arm with a chance to beat and CUPED (proportions and means).
S = TypeVar("S", cs.ProportionStats, cs.SampleMeanStats)


def _get(row: Mapping[str, Any], col: str, kind: str) -> float:
    if col not in row:
        raise ValueError(f"aggregate row has no column '{col}' (needed for {kind}); has {list(row.keys())}")
    v = row[col]
    return float(v) if v is not None else math.nan


class Kind(Generic[R]):
    """The behaviour shared by a metric type; subclasses declare what differs (``R``: its record)."""

    #: the card's ``type``
    name: ClassVar[str]
    #: how a difference between arms is printed, and how a level is
    diff_format: ClassVar[str] = "number"
    level_format: ClassVar[str] = "number"
    #: the engine's sums of the outcome alone, and those CUPED adds
    outcome_sums: ClassVar[Sums] = _MEAN_SUMS
    cuped_sums: ClassVar[Sums] = _CUPED_SUMS
    #: whether a test of the kind is on sums (False: on a table of distinct values, like a quantile)
    on_sums: ClassVar[bool] = True
    #: whether a campaign's contracts can be counted in it (a primary metric)
    countable: ClassVar[bool] = True
    #: whether 01 can plan a test of it from history's sums
    plannable: ClassVar[bool] = True

    def __init__(self, metric: Metric) -> None:
        self.metric = metric

    def columns(self, t: ibis.Table, index: Callable[[str], int]) -> dict[str, ibis.Value]:
        """The metric's per-person columns (``x, pre``; a ratio's ``num, den``) as expressions over a table
        of every metric's ``x{i}, pre{i}`` (``index``: metric name → i)."""
        i = index(self.metric.name)
        return {"x": t[f"x{i}"], "pre": t[f"pre{i}"]}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.metric.name!r})"

    @property
    def parts(self) -> tuple[str, ...]:
        """The metrics whose per-person values this one is made of (itself, or a ratio's two parts)."""
        return (self.metric.name,)

    @property
    def sums(self) -> Sums:
        """Every sum the kind's test and its CUPED form read."""
        return {**self.outcome_sums, **self.cuped_sums}

    @property
    def outcome_columns(self) -> tuple[str, ...]:
        """The per-person columns the outcome's sums read (without the CUPED covariate)."""
        return tuple(dict.fromkeys(c for cols in self.outcome_sums.values() for c in cols))

    @property
    def reads_rows(self) -> bool:
        """Whether the metric is computed from source rows itself (a ratio is made of two that are)."""
        return self.parts == (self.metric.name,)

    @property
    def has_cuped(self) -> bool:
        return bool(self.cuped_sums)

    def record(self, row: Mapping[str, Any]) -> R:
        """The statistics record of one row of :attr:`outcome_sums` (plus ``n``)."""
        raise NotImplementedError

    def cuped_record(self, row: Mapping[str, Any]) -> cs.RegressionAdjustedStats:
        """The regression-adjusted record of one row of :attr:`sums`."""
        n = int(_get(row, "n", "cuped"))
        return cs.RegressionAdjustedStats(n, *(_get(row, c, "cuped") for c in
                                               ("x_sum", "x_sum_sq", "pre_sum", "pre_sum_sq", "x_pre_sum")))

    def diff(self, t: R, c: R, alpha: float) -> cs.Estimate:
        """The difference treatment − control with its interval and p-value (the kind's test)."""
        raise NotImplementedError

    def lift(self, t: R, c: R, alpha: float) -> cs.Estimate | None:
        """The relative difference, or None where the control level is zero."""
        raise NotImplementedError

    def level(self, record: R) -> float:
        """The arm's level: a rate, a mean per person or a ratio of sums."""
        raise NotImplementedError

    def test(self, t: Mapping[str, Any], c: Mapping[str, Any], alpha: float) -> cs.Estimate:
        """:meth:`diff` on two rows of sums."""
        return self.diff(self.record(t), self.record(c), alpha)

    def plan(self, row: Mapping[str, Any], n_treatment: float, ratio: float, alpha: float,
             power: float) -> tuple[float, float, float, float, float]:
        """From one row of :attr:`sums` on history: the level, the per-person spread, ρ² with the
        pre-period, and the smallest change a test of ``n_treatment`` people detects — plainly and with
        CUPED (NaN where the kind has no CUPED form)."""
        st = self.cuped_record(row)
        level, sd = st.post.mean, math.sqrt(st.post.variance)
        rho2 = st.covariance**2 / (st.post.variance * st.pre.variance) if st.post.variance > 0 and st.pre.variance > 0 else 0.0
        return level, sd, rho2, self._mde(level, sd, n_treatment, ratio, alpha, power), \
            self._mde_cuped(sd, rho2, n_treatment, ratio, alpha, power)

    def _mde(self, level: float, sd: float, n_treatment: float, ratio: float, alpha: float, power: float) -> float:
        return cs.mde_means(sd, n_treatment, ratio, alpha, power)

    def _mde_cuped(self, sd: float, rho2: float, n_treatment: float, ratio: float, alpha: float, power: float) -> float:
        return math.nan


class Comparable(Kind[S]):
    """A kind whose arms compare with a Bayesian chance to beat and an always-valid interval as well."""

    def level(self, record: S) -> float:
        return float(record.mean)

    def chance_to_beat(self, t: S, c: S, alpha: float) -> float:
        """The posterior probability that treatment's level is above control's."""
        raise NotImplementedError


class Proportion(Comparable[cs.ProportionStats]):
    """The share of people with at least one row in the window (Newcombe difference, beta-binomial chance)."""

    name = "proportion"
    diff_format = "pp"
    level_format = "pct"

    def record(self, row: Mapping[str, Any]) -> cs.ProportionStats:
        return cs.ProportionStats(int(_get(row, "n", self.name)), int(_get(row, "x_sum", self.name)))

    def diff(self, t: cs.ProportionStats, c: cs.ProportionStats, alpha: float) -> cs.Estimate:
        return cs.proportion_diff(t, c, alpha=alpha)

    def lift(self, t: cs.ProportionStats, c: cs.ProportionStats, alpha: float) -> cs.Estimate | None:
        return cs.proportion_lift(t, c, alpha) if t.successes and c.successes else None

    def chance_to_beat(self, t: cs.ProportionStats, c: cs.ProportionStats, alpha: float) -> float:
        return cs.bayes_proportions(t, c, alpha, draws=100_000, seed=0).chance_to_beat

    def _mde(self, level: float, sd: float, n_treatment: float, ratio: float, alpha: float, power: float) -> float:
        return cs.mde_proportions(level, n_treatment, ratio, alpha, power) if 0 < level < 1 else math.nan


class Mean(Comparable[cs.SampleMeanStats]):
    """The per-person count or sum of value in the window, optionally capped (Welch difference)."""

    name = "mean"

    def record(self, row: Mapping[str, Any]) -> cs.SampleMeanStats:
        return cs.SampleMeanStats(int(_get(row, "n", self.name)), _get(row, "x_sum", self.name),
                                  _get(row, "x_sum_sq", self.name))

    def diff(self, t: cs.SampleMeanStats, c: cs.SampleMeanStats, alpha: float) -> cs.Estimate:
        return cs.mean_diff(t, c, alpha)

    def lift(self, t: cs.SampleMeanStats, c: cs.SampleMeanStats, alpha: float) -> cs.Estimate | None:
        return cs.mean_lift(t, c, alpha) if c.mean else None

    def chance_to_beat(self, t: cs.SampleMeanStats, c: cs.SampleMeanStats, alpha: float) -> float:
        return cs.bayes_means(t, c, alpha).chance_to_beat

    def _mde_cuped(self, sd: float, rho2: float, n_treatment: float, ratio: float, alpha: float, power: float) -> float:
        return cs.mde_means(cs.cuped_sd(sd, min(rho2, 0.999)), n_treatment, ratio, alpha, power) if rho2 > 0 else math.nan


class Ratio(Kind[cs.RatioStats]):
    """Σ numerator / Σ denominator of two other metrics per arm, the person as the unit (delta method)."""

    name = "ratio"
    outcome_sums = _RATIO_SUMS
    cuped_sums: ClassVar[Sums] = {}
    countable = False

    @property
    def parts(self) -> tuple[str, ...]:
        return (str(self.metric.numerator), str(self.metric.denominator))

    def columns(self, t: ibis.Table, index: Callable[[str], int]) -> dict[str, ibis.Value]:
        return {"num": t[f"x{index(str(self.metric.numerator))}"], "den": t[f"x{index(str(self.metric.denominator))}"]}

    def record(self, row: Mapping[str, Any]) -> cs.RatioStats:
        return cs.RatioStats(int(_get(row, "n", self.name)), *(_get(row, c, self.name) for c in _RATIO_SUMS))

    def diff(self, t: cs.RatioStats, c: cs.RatioStats, alpha: float) -> cs.Estimate:
        return cs.ratio_diff(t, c, alpha)

    def lift(self, t: cs.RatioStats, c: cs.RatioStats, alpha: float) -> cs.Estimate | None:
        return cs.ratio_lift(t, c, alpha) if c.ratio else None

    def level(self, record: cs.RatioStats) -> float:
        return float(record.ratio)

    def plan(self, row: Mapping[str, Any], n_treatment: float, ratio: float, alpha: float,
             power: float) -> tuple[float, float, float, float, float]:
        """The delta method's per-person spread of the ratio; no CUPED form."""
        rs = self.record(row)
        sd = cs.ratio_sd(rs)
        return rs.ratio, sd, math.nan, cs.mde_means(sd, n_treatment, ratio, alpha, power), math.nan


class Quantile(Kind[cs.ValueCounts]):
    """A quantile of the per-person values (e.g. the median), from the engine's table of distinct values
    with a percentile bootstrap through the order-statistic law."""

    name = "quantile"
    on_sums = False
    #: a test of a quantile is planned by no closed formula here
    plannable = False
    countable = False
    cuped_sums: ClassVar[Sums] = {}

    def diff(self, t: cs.ValueCounts, c: cs.ValueCounts, alpha: float, seed: int = 0) -> cs.Estimate:
        if self.metric.quantile is None:
            raise ValueError(f"metric '{self.metric.name}' is a quantile metric without its quantile")
        return cs.quantile_diff(t, c, self.metric.quantile, alpha, seed=seed)


KINDS: dict[str, type[Kind[Any]]] = {k.name: k for k in (Proportion, Mean, Ratio, Quantile)}


def kind(metric: Metric) -> Kind[Any]:
    """The kind of ``metric`` (by its card's ``type``)."""
    return KINDS[metric.type](metric)
