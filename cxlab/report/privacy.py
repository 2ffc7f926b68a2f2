"""Small-cell suppression by construction: a frame declares which columns count people, and every number
a report shows or stores is judged by that declaration **before** it is formatted.

The rules (``k`` = ``min_cell_size``):

1. *Primary*: a cell of a count column (people, or people with an outcome — "successes") holding 1 … k−1 is
   hidden; so is a success count whose complement (its people column minus it) is 1 … k−1.
2. *Secondary* (complementary suppression, the standard rule): in every group of cells that add up to a
   total a reader can see or work out — each count column (within ``groups`` when given), and each row
   relation in ``totals`` — a lone hidden cell would be recovered by subtraction, so the smallest other
   non-zero cell of that group is hidden too, until each group has none or at least two hidden.
3. *Derived*: every other number in a row (rates, shares, means, intervals, p-values, estimates) is computed
   from the row's counts, so it is hidden when any count it comes from is hidden — unless it is declared
   ``safe`` (a priority, a month number, a planned share), which says nothing about people.

Zero is never hidden (it reveals nobody), nor are label columns (text, or declared ``safe``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Columns that count people, wherever they appear (a table, a record in results.json).
PEOPLE = frozenset({
    "clients", "people", "people_t", "people_c", "n", "n_t", "n_c", "n_treatment", "n_control", "eligible",
    "fired", "holders", "non_holders", "lookalikes", "raw", "assigned", "taken", "reach", "top", "stayed",
    "entered", "left", "wider", "same", "narrower", "exposed", "not_control", "consent", "contact_cap",
    "not_holding", "people_with_several_rows", "excluded_competing", "excluded_several_arms",
    "excluded_global_control", "eligible_rows", "fired_rows", "stock", "new", "new_per_month",
    "fired_per_month", "fired_per_month_mean", "unassigned", "clients_with_turnover", "test_converters",
    "converted_fired", "converted_other",
})
#: Columns that count people with an outcome, each with the people column it is part of (its complement
#: — the people without the outcome — is judged too).
SUCCESSES = {"x_sum": "n", "x_t": "people_t", "x_c": "people_c", "y_t": "n_treatment", "y_c": "n_control",
             "pre_x_t": "people_t", "pre_x_c": "people_c", "successes": "n"}
#: Numeric columns that say nothing about people: never hidden.
SAFE = frozenset({
    "priority", "months", "planned", "lines", "idx", "bin", "percentile", "cap", "window_days", "runs",
    "resolution", "period", "snapshot", "month",
})


@dataclass(frozen=True)
class Cells:
    """What a frame's columns say about people (see the module's rules).

    ``people``: columns counting people. ``successes``: column → the people column it is a part of.
    ``safe``: numeric columns that reveal nobody. ``derived``: column → the count columns it is computed
    from (default: every count of its row). ``groups``: key columns within which a count column adds up to
    a total (default: the whole column). ``totals``: row relations ``(total, part, part, …)``; a name ending
    in ``[-1]`` is the row before (``("top[-1]", "stayed", "left")``: last month's tier = stayed + left).
    ``margins``: which count columns add up (down the column, within ``groups``) to a total a reader knows or
    can work out — True: all (the safe default), False: none (e.g. an overlap matrix, cumulative sizes), or
    a tuple of column names.
    """

    people: tuple[str, ...] = ()
    successes: Mapping[str, str] = field(default_factory=dict)
    safe: tuple[str, ...] = ()
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    totals: tuple[tuple[str, ...], ...] = ()
    margins: bool | tuple[str, ...] = True

    @classmethod
    def of(cls, columns: Iterable[Any], people: str | Iterable[str] | None = None, **kwargs: Any) -> Cells:
        """The declaration of a frame with these ``columns``: ``people`` (and the columns named like the
        registries :data:`PEOPLE`, :data:`SUCCESSES`, :data:`SAFE`) plus anything in ``kwargs``."""
        cols = [str(c) for c in columns]
        given = [people] if isinstance(people, str) else list(people or ())
        named = [c for c in cols if c in PEOPLE and c not in SUCCESSES]
        successes = {c: SUCCESSES[c] for c in cols if c in SUCCESSES} | dict(kwargs.pop("successes", {}))
        return cls(people=tuple(dict.fromkeys([*given, *named, *kwargs.pop("people", ())])) , successes=successes,
                   safe=tuple(dict.fromkeys([*(c for c in cols if c in SAFE), *kwargs.pop("safe", ())])), **kwargs)

    @property
    def counts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.people, *self.successes]))

    def adding(self, columns: Iterable[str]) -> list[str]:
        """The count columns among ``columns`` whose cells add up down the column."""
        if self.margins is True:
            return [c for c in columns]
        return [c for c in columns if self.margins and c in self.margins]


def _number(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return x


def mask(frame: pd.DataFrame, cells: Cells, k: int) -> pd.DataFrame:
    """The cells of ``frame`` to hide (a boolean frame of the same shape) under ``cells`` at floor ``k``;
    ``.attrs["small"]`` holds the primary ones (counts of 1 … k−1, or with such a complement)."""
    hide = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    hide.attrs["small"] = hide.copy()
    if frame.empty:
        return hide
    cols = list(frame.columns)
    counts = [c for c in cells.counts if c in cols]
    values = {c: frame[c].map(_number).to_numpy(dtype=float) for c in counts}
    pos = {c: cols.index(c) for c in counts}
    h = np.zeros((len(frame), len(cols)), dtype=bool)
    position = {label: i for i, label in enumerate(frame.index)}

    def marked(attr: str) -> np.ndarray:
        out = np.zeros_like(h)
        for col, labels in frame.attrs.get(attr, {}).items():
            if col in cols:
                for label in labels:
                    if label in position:
                        out[position[label], cols.index(col)] = True
        return out
    for c in counts:  # 1. primary
        x = values[c]
        h[:, pos[c]] |= (x >= 1) & (x < k)
        base = cells.successes.get(c)
        if base in values:
            rest = values[base] - x
            h[:, pos[c]] |= (rest >= 1) & (rest < k)
    primary = h | marked("cx_small")
    h |= marked("cx_hidden")  # hidden by an earlier pass (or marked by the caller): still hidden
    # 2. secondary: groups of cells that add up to a known total
    relations: list[list[tuple[int, int]]] = []
    if cells.adding(counts):
        keys = [g for g in cells.groups if g in cols]
        labels = frame[keys].astype(str).agg("\x1f".join, axis=1).to_numpy() if keys else np.zeros(len(frame))
        for c in cells.adding(counts):
            for g in dict.fromkeys(labels):
                relations.append([(int(i), pos[c]) for i in np.flatnonzero(labels == g)])
    for total in cells.totals:
        parsed = [(name.removesuffix("[-1]"), -1 if name.endswith("[-1]") else 0) for name in total]
        if not all(name in pos for name, _ in parsed):
            continue
        for i in range(len(frame)):
            if all(0 <= i + shift < len(frame) for _, shift in parsed):
                relations.append([(i + shift, pos[name]) for name, shift in parsed])
    value_of = lambda i, j: values[cols[j]][i]  # noqa: E731
    changed = True
    while changed:
        changed = False
        for rel in relations:
            hidden = [cell for cell in rel if h[cell]]
            if len(hidden) != 1:
                continue
            others = [cell for cell in rel if not h[cell] and np.isfinite(value_of(*cell)) and value_of(*cell) > 0]
            if others:  # the smallest other cell, the first of equals: deterministic
                h[min(others, key=lambda cell: (value_of(*cell), cell))] = True
                changed = True
    # 3. derived: the other numbers of a row whose counts are hidden
    safe = set(cells.safe) | set(counts)
    for j, c in enumerate(cols):
        if c in safe or not pd.api.types.is_numeric_dtype(frame[c]) and not _numeric_objects(frame[c]):
            continue
        bases = [pos[b] for b in cells.derived.get(c, counts) if b in pos]
        if bases:
            h[:, j] |= h[:, bases].any(axis=1)
    out = pd.DataFrame(h, index=frame.index, columns=frame.columns)
    out.attrs["small"] = pd.DataFrame(primary, index=frame.index, columns=frame.columns)
    return out


def _numeric_objects(values: pd.Series) -> bool:
    """An object column holding numbers (a record list with None in it)."""
    return values.dtype == object and any(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                                          for v in values)


def apply(frame: pd.DataFrame, hide: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the ``hide`` cells missing (integers become nullable integers)."""
    out = frame.copy()
    for c in out.columns:
        small = hide[c].to_numpy()
        if small.any():
            if pd.api.types.is_bool_dtype(out[c]):
                out[c] = out[c].astype(object)  # stays yes / no where shown
            elif pd.api.types.is_integer_dtype(out[c]):
                out[c] = out[c].astype("Int64")
            elif pd.api.types.is_float_dtype(out[c]):
                out[c] = out[c].astype("Float64")
            else:
                out[c] = out[c].astype(object)
            out[c] = out[c].mask(pd.Series(small, index=out.index))
    return out


def suppress_records(value: Any, k: int, cells: Cells | None = None) -> tuple[Any, int]:
    """JSON-able ``value`` (from :func:`cxlab.report.jsonable`) with small cells set to None, by ``cells``
    for a top-level list of records, else by the registries' column names, at every depth: a list of
    records is a table (with secondary suppression per column), a mapping holding counts is one row.
    Values not hidden are returned as they were, so results.json stays byte-identical for them.
    Returns the value and the number of count cells hidden."""
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        frame = pd.DataFrame(value)
        spec = cells or Cells.of(frame.columns)
        hidden = 0
        if spec.counts:
            hide = mask(frame, spec, k)
            hidden = int(hide[[c for c in spec.counts if c in frame.columns]].to_numpy().sum())
            value = [{key: (None if key in hide.columns and hide.at[i, key] else v) for key, v in r.items()}
                     for i, r in zip(frame.index, value, strict=True)]
        out = []
        for r in value:
            row, n = _inner(r, k)
            out.append(row)
            hidden += n
        return out, hidden
    if isinstance(value, dict):
        row = {key: v for key, v in value.items() if not isinstance(v, (dict, list))}
        hidden = 0
        spec = cells or Cells.of(row)
        if row and spec.counts:
            frame = pd.DataFrame([row])
            hide = mask(frame, Cells(**{**spec.__dict__, "margins": False}), k)
            hidden = int(hide[[c for c in spec.counts if c in frame.columns]].to_numpy().sum())
            value = {key: (None if key in hide.columns and bool(hide.at[0, key]) else v) for key, v in value.items()}
        inner, n = _inner(value, k)
        return inner, hidden + n
    if isinstance(value, list):
        parts = [suppress_records(v, k) for v in value]
        return [p for p, _ in parts], sum(n for _, n in parts)
    return value, 0


def _inner(record: dict, k: int) -> tuple[dict, int]:
    out, hidden = {}, 0
    for key, v in record.items():
        if isinstance(v, (dict, list)):
            v, n = suppress_records(v, k)
            hidden += n
        out[key] = v
    return out, hidden


def recoverable(values: pd.DataFrame, hidden: pd.DataFrame, cells: Cells) -> list[str]:
    """A differencing attack on a shown table: every hidden count cell that one relation (a column group
    adding up to a known total, or a declared row relation) pins down by subtraction from the visible
    cells, as ``row/column``. ``values`` are the table's counts (any value where hidden), ``hidden`` says
    which cells the reader does not see. Empty when the table is safe."""
    if values.empty:
        return []
    cols = list(values.columns)
    counts = [c for c in cells.counts if c in cols]
    relations: list[list[tuple[int, str]]] = []
    if cells.adding(counts):
        keys = [g for g in cells.groups if g in cols]
        labels = values[keys].astype(str).agg("\x1f".join, axis=1).to_numpy() if keys else np.zeros(len(values))
        for c in cells.adding(counts):
            for g in dict.fromkeys(labels):
                relations.append([(int(i), c) for i in np.flatnonzero(labels == g)])
    for total in cells.totals:
        parsed = [(name.removesuffix("[-1]"), -1 if name.endswith("[-1]") else 0) for name in total]
        if all(name in counts for name, _ in parsed):
            relations += [[(i + s, name) for name, s in parsed] for i in range(len(values))
                          if all(0 <= i + s < len(values) for _, s in parsed)]
    out = []
    for rel in relations:
        known = [(i, c) for i, c in rel if not bool(hidden.iloc[i][c]) and pd.notna(values.iloc[i][c])]
        secret = [(i, c) for i, c in rel if bool(hidden.iloc[i][c])]
        if len(secret) == 1 and any(_number(values.iloc[i][c]) > 0 for i, c in known):
            out.append(f"{values.index[secret[0][0]]}/{secret[0][1]}")
    return sorted(set(out))


def carry(shown: pd.DataFrame, built: pd.DataFrame, columns: Mapping[str, str],
          groups: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``built`` — a table formatted row by row from the suppressed frame ``shown`` (same rows, same
    order) — marked with what ``shown`` hid: ``columns`` maps each count column of ``built`` to the column of
    ``shown`` it shows. :meth:`cxlab.report.Report.table` then renders those counts as "<k" and does not
    judge them again (the secondary suppression was done on ``shown``, with its relations)."""
    position = {label: i for i, label in enumerate(shown.index)}
    for attr in ("cx_hidden", "cx_small"):
        hidden = shown.attrs.get(attr, {})
        marks = {}
        for col, shown_col in columns.items():
            rows = sorted(position[label] for label in hidden.get(str(shown_col), ()) if label in position)
            if rows:
                marks[str(col)] = set(built.index[rows])
        built.attrs[attr] = marks
    spec: Cells = shown.attrs.get("cx_cells", Cells())
    source = {v: k for k, v in columns.items()}
    adding = spec.adding([c for c in spec.counts if c in source])
    totals = tuple(tuple(source[n.removesuffix("[-1]")] + ("[-1]" if n.endswith("[-1]") else "") for n in rel)
                   for rel in spec.totals if all(n.removesuffix("[-1]") in source for n in rel))
    keys = {v: k for k, v in (groups or {}).items()}
    built.attrs["cx_cells"] = Cells(people=tuple(columns), margins=tuple(source[c] for c in adding), totals=totals,
                                    groups=tuple(keys[g] for g in spec.groups if g in keys),
                                    safe=tuple(c for c in built.columns if c not in columns))
    return built


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with nullable numbers as floats (hidden cells NaN), for figures."""
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype("float64")
    out.attrs = frame.attrs
    return out


def small_share(n: Any, x: Any, k: int) -> bool:
    """True when a rate of ``x`` out of ``n`` people gives a small count away: ``n``, ``x`` or ``n − x``
    is 1 … k−1."""
    n, x = _number(n), _number(x)
    return any(1 <= v < k for v in (n, x, n - x) if v == v)


def hide_estimate(d: dict[str, Any] | None) -> dict[str, Any] | None:
    """An estimate's record (``Estimate.to_dict()``) with its numbers hidden, its method kept."""
    if d is None:
        return None
    kept = ("alpha", "n_treatment", "n_control")  # the sizes are judged as counts of their own
    hide = lambda key, v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and key not in kept  # noqa: E731
    return {key: (None if hide(key, v) else v) for key, v in d.items()}
