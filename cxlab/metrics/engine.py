"""Declared sums → Ibis aggregates (the only place a sum's name meets its expression)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence

import ibis

from cxlab.metrics.kinds import Sums


def sum_exprs(t: ibis.Table, sums: Sums, suffix: str = "") -> dict[str, ibis.Value]:
    """Each declared sum as an aggregate expression: Σ of the product of its columns. ``suffix`` reads
    the columns ``x{suffix}``… of a wide table (several metrics side by side) and names the sums alike."""
    return {f"{name}{suffix}": functools.reduce(operator.mul, (t[f"{c}{suffix}"] for c in cols)).sum()
            for name, cols in sums.items()}


def aggregate(t: ibis.Table, keys: Sequence[str], sums: Sums) -> ibis.Table:
    """Per ``keys``: ``n`` people and each declared sum, ordered by ``keys``."""
    return t.group_by(list(keys)).aggregate(n=t.count(), **sum_exprs(t, sums)).order_by(list(keys))
