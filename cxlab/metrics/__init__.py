"""Metric kinds — proportion, mean (capped or not), ratio, quantile: one class each, declaring the
per-person columns it reads, the sums the engine computes for it, its test, its CUPED form and its number
format (:mod:`cxlab.metrics.kinds`). ``kind(card)`` gives a card's kind; :func:`aggregate` turns declared
sums into one grouped Ibis query."""

from cxlab.metrics.engine import aggregate, sum_exprs
from cxlab.metrics.kinds import KINDS, Comparable, Kind, Mean, Proportion, Quantile, Ratio, Sums, kind

__all__ = ["aggregate", "sum_exprs", "Comparable", "Kind", "KINDS", "kind", "Mean", "Proportion", "Quantile", "Ratio", "Sums"]
