"""Check a data source against the canonical contract, in the engine, collecting every failure.

Declarations are apart from execution: each rule is a small function that either inspects the schema
(no query) or declares a boolean Ibis expression that marks the offending rows. All row-level checks of
a table are counted in **one** aggregate query; only a failing check asks for its examples (at most five
rows, ``.limit(5)``). No table is pulled into pandas, so a warehouse table of millions of rows costs one
scan. Validation is lazy: every failure is collected, so an analyst fixes all problems in one pass.

Rule codes are stable (tests, notebooks and the CLI rely on them): ``table_missing``, ``table_empty``,
``unreadable``, ``column_missing``, ``wrong_type``, ``null_in_required``, ``duplicate_key``,
``orphan_foreign_key``, ``date_order``, ``date_in_future``, ``value_not_allowed``, ``non_finite``,
``value_too_large`` and the warnings ``group_without_control`` and ``timezone_normalised``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from cxlab.data.connect import Source
from cxlab.data.contract import TABLES, Column, Table
from cxlab.errors import DataError

__all__ = ["EXAMPLES", "Failure", "TableChecked", "ValidationReport", "validate"]

#: Example rows kept per failure.
EXAMPLES = 5


@dataclass(frozen=True)
class Failure:
    """One broken rule: where (table, column), which rule, how bad, how many rows and a few of them.

    ``examples`` holds at most :data:`EXAMPLES` rows as JSON-safe dicts (timestamps as ISO text,
    NaN and infinities as ``"NaN"``/``"inf"``) so that reports and ``results.json`` can carry them.
    """

    table: str
    column: str | None
    rule: str
    severity: str  # "error" | "warning"
    n_rows: int
    examples: list[dict[str, Any]]
    message: str


@dataclass(frozen=True)
class TableChecked:
    """What was checked on one table: its size (None when missing or unreadable) and the checks run."""

    table: str
    rows: int | None
    columns: int
    checks: int


@dataclass(frozen=True)
class ValidationReport:
    """Every failure found, and what was checked per table (for the data-overview notebook)."""

    failures: list[Failure]
    tables: list[TableChecked]

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """One row per failure: table, column, rule, severity, rows, example (the first one, as text)."""
        return pd.DataFrame(
            [
                {"table": f.table, "column": f.column or "", "rule": f.rule, "severity": f.severity,
                 "rows": f.n_rows, "example": _row_text(f.examples[0]) if f.examples else ""}
                for f in self.failures
            ],
            columns=["table", "column", "rule", "severity", "rows", "example"],
        )

    def summary(self) -> pd.DataFrame:
        """Per table: rows, columns, checks run, passed, failed (errors) and warnings."""
        return pd.DataFrame(
            [
                {"table": t.table, "rows": t.rows, "columns": t.columns, "checks": t.checks,
                 "passed": t.checks - sum(f.table == t.table for f in self.failures),
                 "failed": sum(f.table == t.table for f in self.errors),
                 "warnings": sum(f.table == t.table for f in self.warnings)}
                for t in self.tables
            ],
            columns=["table", "rows", "columns", "checks", "passed", "failed", "warnings"],
        ).astype({"rows": "Int64"})

    def raise_for_errors(self) -> None:
        """Raise a DataError listing every error with its examples; do nothing when there is none."""
        if not self.errors:
            return
        lines = [f"data breaks the canonical contract ({_plural(len(self.errors), 'error')}):"]
        for f in self.errors:
            lines.append(f"  {f.message}")
            lines += [f"      {_row_text(row)}" for row in f.examples]
        raise DataError("\n".join(lines))


# ---------------------------------------------------------------------------------------- formatting


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _plain(value: Any) -> Any:
    """A value from the engine as a JSON type; non-finite floats as text so they stay visible."""
    if isinstance(value, float):
        return value if math.isfinite(value) else ("NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, datetime):
        midnight = value.time() == datetime.min.time() and value.tzinfo is None
        return value.date().isoformat() if midnight else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _plain(float(value))
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _row_text(row: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in row.items())


def _fetch(src: Source, expr: ir.Table) -> list[dict[str, Any]]:
    """At most :data:`EXAMPLES` rows of ``expr`` as JSON-safe dicts (through Arrow: no float-cast ids)."""
    rows = src.con.to_pyarrow(expr.limit(EXAMPLES)).to_pylist()
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def _failure(table: str, column: str | None, rule: str, text: str, n_rows: int = 0,
             examples: list[dict[str, Any]] | None = None, focus: Iterable[str] = (),
             severity: str = "error") -> Failure:
    """A Failure whose one-line message reads ``table.column: rule — text (e.g. column=value)``."""
    examples = examples or []
    where = f"{table}.{column}" if column else table
    message = f"{where}: {rule} — {text}"
    if examples:
        first = {k: v for k, v in examples[0].items() if k in set(focus)}
        if all(v is None for v in first.values()):  # "event_type=null" says nothing: show the whole row
            first = examples[0]
        message += f" (e.g. {_row_text(first)})"
    return Failure(table, column, rule, severity, n_rows, examples, message)


# ------------------------------------------------------------------------------------- schema rules


def _kind_ok(kind: str, dtype: dt.DataType) -> bool:
    """Whether a column of ``dtype`` can hold ``kind``; text timestamps are checked row by row."""
    return {
        "id": dtype.is_integer() or dtype.is_string(),
        "string": dtype.is_string(),
        "integer": dtype.is_integer(),
        "number": dtype.is_numeric(),
        "boolean": dtype.is_boolean(),
        "timestamp": dtype.is_timestamp() or dtype.is_date() or dtype.is_string(),
    }[kind]


_KIND_TEXT = {
    "id": "an integer or text id",
    "string": "text",
    "integer": "integers",
    "number": "numbers",
    "boolean": "true/false",
    "timestamp": "dates or timestamps (or ISO text such as 2024-01-31)",
}


def _usable_columns(contract: Table, t: ir.Table) -> list[Column]:
    """Contract columns present in ``t`` with a type that fits their kind: the ones row rules may use."""
    return [c for c in contract.columns if c.name in t.columns and _kind_ok(c.kind, t[c.name].type())]


def _usable(contract: Table, t: ir.Table) -> list[str]:
    """The names of :func:`_usable_columns`."""
    return [c.name for c in _usable_columns(contract, t)]


def column_missing(contract: Table, t: ir.Table) -> Iterator[Failure | None]:
    """Each required column exists (extra columns are allowed)."""
    for col in contract.columns:
        if col.required:
            ok = col.name in t.columns
            yield None if ok else _failure(contract.name, col.name, "column_missing",
                                           f"required column is missing (found: {', '.join(t.columns)})")


def wrong_type(src: Source, contract: Table, t: ir.Table) -> Iterator[Failure | None]:
    """Each present column's engine type fits its kind, and a foreign key's type matches its target's."""
    for col in contract.columns:
        if col.name in t.columns:
            dtype = t[col.name].type()
            ok = _kind_ok(col.kind, dtype)
            yield None if ok else _failure(contract.name, col.name, "wrong_type",
                                           f"expected {_KIND_TEXT[col.kind]}, found {dtype}")
    for key, (ref_table, ref_col) in contract.foreign_keys.items():
        ref = _reference(src, contract, t, key)
        if ref is not None and t[key].type().is_string() != ref.type().is_string():
            yield _failure(contract.name, key, "wrong_type",
                           f"{t[key].type()} cannot match {ref_table}.{ref_col} ({ref.type()})")


def _reference(src: Source, contract: Table, t: ir.Table, col: str) -> ir.Column | None:
    """The column a usable foreign key points to, when that column exists with a usable type."""
    ref_table, ref_col = contract.foreign_keys[col]
    if col not in _usable(contract, t) or not src.has(ref_table):
        return None
    ref = src.table(ref_table)
    return ref[ref_col] if ref_col in _usable(TABLES[ref_table], ref) else None


# ---------------------------------------------------------------------------------- row-level rules


@dataclass(frozen=True)
class _RowCheck:
    """A declared row-level check: the rows where ``bad`` is true break ``rule`` on ``column``."""

    column: str
    rule: str
    bad: ir.BooleanValue
    text: str  # follows "<n> rows", e.g. "with no value"
    also: tuple[str, ...] = ()  # further columns to show in the examples


def _as_timestamp(col: ir.Column) -> ir.Value:
    """Text timestamps parse (or become null); dates and timestamps compare as timestamps."""
    return col.try_cast("timestamp") if col.type().is_string() else col.cast("timestamp")


def null_in_required(contract: Table, t: ir.Table) -> Iterator[_RowCheck]:
    """Columns that are not nullable have a value on every row (examples show the row's other columns)."""
    usable = _usable(contract, t)
    for col in _usable_columns(contract, t):
        if not col.nullable:
            others = tuple(c for c in usable if c != col.name)
            yield _RowCheck(col.name, "null_in_required", t[col.name].isnull(), "with no value", also=others)


def unparsed_timestamps(contract: Table, t: ir.Table) -> Iterator[_RowCheck]:
    """Timestamps stored as text parse as timestamps (``wrong_type`` with the values that do not)."""
    for col in _usable_columns(contract, t):
        name, c = col.name, t[col.name]
        if col.kind == "timestamp" and c.type().is_string():
            yield _RowCheck(name, "wrong_type", c.notnull() & c.try_cast("timestamp").isnull(),
                            "with text that is not a date (write dates as 2024-01-31 or 2024-01-31 12:00:00)")


def non_finite(contract: Table, t: ir.Table) -> Iterator[_RowCheck]:
    """Number columns hold no NaN or infinity (they poison sums and means silently)."""
    for col in _usable_columns(contract, t):
        name, c = col.name, t[col.name]
        if col.kind == "number" and c.type().is_floating():
            yield _RowCheck(name, "non_finite", c.isnan() | c.isinf(), "with NaN or infinity")


#: The largest magnitude a number may have: a billion rows of it still sum to a finite double (1e308 would
#: overflow to infinity in the first sum), and no contract value or amount comes near it.
MAX_VALUE = 1e15


def value_too_large(contract: Table, t: ir.Table) -> Iterator[_RowCheck]:
    """Number columns hold values of at most :data:`MAX_VALUE` in magnitude (sums must not overflow)."""
    for col in _usable_columns(contract, t):
        name, c = col.name, t[col.name]
        if col.kind == "number" and c.type().is_numeric():
            big = c.abs() > MAX_VALUE
            if c.type().is_floating():
                big = big & ~c.isinf()  # infinity is non_finite's
            yield _RowCheck(name, "value_too_large", big, f"with a magnitude above {MAX_VALUE:.0e} (sums would overflow)")


def value_not_allowed(contract: Table, t: ir.Table) -> Iterator[_RowCheck]:
    """Columns with a closed vocabulary (``communications.group``) hold only its values."""
    for col in _usable_columns(contract, t):
        name, allowed = col.name, col.allowed
        if allowed:
            yield _RowCheck(name, "value_not_allowed", t[name].notnull() & ~t[name].isin(list(allowed)),
                            f"with a value outside {{{', '.join(allowed)}}}")


def orphan_foreign_key(src: Source, contract: Table, t: ir.Table) -> Iterator[_RowCheck]:
    """Every reference points to an existing row (``holdings.client_id`` in ``clients``)."""
    for col, (ref_table, ref_col) in contract.foreign_keys.items():
        ref = _reference(src, contract, t, col)
        if ref is not None and t[col].type().is_string() == ref.type().is_string():
            target = src.table(ref_table)
            known = target.filter(target[ref_col].notnull())[ref_col]  # NOT IN a set with NULL is never true
            yield _RowCheck(col, "orphan_foreign_key", t[col].notnull() & ~t[col].isin(known),
                            f"referencing {ref_table} that do not exist")


def date_order(contract: Table, t: ir.Table) -> Iterator[_RowCheck]:
    """In each ordered pair (``opened_at``, ``closed_at``) the later date is not before the earlier one."""
    usable = _usable(contract, t)
    for earlier, later in contract.ordered:
        if earlier in usable and later in usable:
            yield _RowCheck(later, "date_order", _as_timestamp(t[later]) < _as_timestamp(t[earlier]),
                            f"with {later} before {earlier}", also=(earlier,))


def date_in_future(contract: Table, t: ir.Table, now: datetime) -> Iterator[_RowCheck]:
    """No timestamp of the contract lies after ``now`` (a wrong year or a test row)."""
    for col in _usable_columns(contract, t):
        name = col.name
        if col.kind == "timestamp":
            yield _RowCheck(name, "date_in_future", _as_timestamp(t[name]) > ibis.timestamp(now),
                            f"dated after {now:%Y-%m-%d %H:%M}")


def _row_checks(src: Source, contract: Table, t: ir.Table, now: datetime) -> list[_RowCheck]:
    return [
        *null_in_required(contract, t),
        *unparsed_timestamps(contract, t),
        *non_finite(contract, t),
        *value_too_large(contract, t),
        *value_not_allowed(contract, t),
        *orphan_foreign_key(src, contract, t),
        *date_order(contract, t),
        *date_in_future(contract, t, now),
    ]


def _run_row_checks(
    src: Source, contract: Table, t: ir.Table, checks: list[_RowCheck]
) -> tuple[int, list[Failure | None]]:
    """The table's row count and every row check's outcome, counted in one aggregate query."""
    counts = src.con.execute(
        t.aggregate(_rows=t.count(), **{f"_c{i}": t.count(where=c.bad) for i, c in enumerate(checks)})
    ).iloc[0]
    context = [c for c in (*contract.key, *contract.foreign_keys) if c in t.columns]
    outcomes: list[Failure | None] = []
    for i, check in enumerate(checks):
        n = int(counts[f"_c{i}"])
        if not n:
            outcomes.append(None)
            continue
        show = list(dict.fromkeys([*context, check.column, *check.also]))
        examples = _fetch(src, t.filter(check.bad).select(*show).distinct().order_by(show))
        outcomes.append(_failure(contract.name, check.column, check.rule, f"{_plural(n, 'row')} {check.text}",
                                 n, examples, focus=[check.column, *check.also]))
    return int(counts["_rows"]), outcomes


# ------------------------------------------------------------------------------------ grouped rules


def duplicate_key(src: Source, contract: Table, t: ir.Table) -> Failure | None:
    """The key identifies one row (``clients.client_id``, ``consents`` by client and channel)."""
    key = list(contract.key)
    groups = t.group_by(key).aggregate(rows=t.count())
    dup = groups.filter(groups.rows > 1)
    stats = src.con.execute(dup.aggregate(keys=dup.count(), rows=dup.rows.sum())).iloc[0]
    if not int(stats["keys"]):
        return None
    n = int(stats["rows"])
    return _failure(contract.name, ", ".join(key), "duplicate_key",
                    f"{_plural(n, 'row')} share {_plural(int(stats['keys']), 'key value')}",
                    n, _fetch(src, dup.order_by(key)), focus=key)


def group_without_control(src: Source, t: ir.Table) -> Failure | None:
    """A campaign with treatment rows but no control rows cannot measure its effect (a warning)."""
    group = t["group"]
    per = t.group_by("campaign_id").aggregate(treatment=t.count(where=group == "treatment"),
                                               control=t.count(where=group == "control"))
    lonely = per.filter((per.treatment > 0) & (per.control == 0)).select("campaign_id", "treatment")
    stats = src.con.execute(lonely.aggregate(campaigns=lonely.count(), rows=lonely.treatment.sum())).iloc[0]
    if not int(stats["campaigns"]):
        return None
    n = int(stats["rows"])
    return _failure("communications", "group", "group_without_control",
                    f"{_plural(int(stats['campaigns']), 'campaign')} with treatment but no control group "
                    f"({_plural(n, 'row')}): their effect cannot be measured",
                    n, _fetch(src, lonely.order_by("campaign_id")), focus=["campaign_id"], severity="warning")


# ------------------------------------------------------------------------------------------- driver


def _engine_message(error: Exception) -> str:
    """The engine's own explanation, on one line (it names the line and column of a bad CSV value)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " / ".join(lines[:3])


def _validate_table(src: Source, contract: Table, now: datetime) -> tuple[TableChecked, list[Failure]]:
    """Every check of one present table; ``unreadable`` when the engine cannot scan it."""
    t = src.table(contract.name)
    outcomes: list[Failure | None] = [*column_missing(contract, t), *wrong_type(src, contract, t)]
    checks = _row_checks(src, contract, t, now)
    try:
        rows, row_outcomes = _run_row_checks(src, contract, t, checks)
    except Exception as e:  # the engine failed to scan the data (a bad CSV value, a corrupt part file)
        from cxlab.data.connect import utf8_problem

        texts = [p for p in getattr(src, "files", {}).get(contract.name, []) if p.suffix != ".parquet"]
        cause = next((f"{p}: {c}" for p in texts if (c := utf8_problem(p))), None)
        outcomes.append(_failure(contract.name, None, "unreadable", cause or _engine_message(e)))
        return TableChecked(contract.name, None, len(t.columns), len(outcomes)), [o for o in outcomes if o]
    outcomes.append(None if rows else _failure(contract.name, None, "table_empty", "the table has no rows"))
    if rows:
        outcomes += row_outcomes
        if contract.key and set(contract.key) <= set(_usable(contract, t)):
            outcomes.append(duplicate_key(src, contract, t))
        if contract.name == "communications" and {"campaign_id", "group"} <= set(_usable(contract, t)):
            outcomes.append(group_without_control(src, t))
    return TableChecked(contract.name, rows, len(t.columns), len(outcomes)), [o for o in outcomes if o]


def validate(src: Source, tables: Iterable[str] | None = None, now: datetime | None = None) -> ValidationReport:
    """Check ``src`` against the canonical contract and report every failure at once.

    Parameters
    ----------
    src
        An open source (:func:`cxlab.data.connect`).
    tables
        Canonical tables to check (default: all). Optional tables (communications, consents) are checked
        only when present; tables outside the contract are ignored.
    now
        Timestamps after this are ``date_in_future`` (default: the current time). Pass the data's
        as-of date for reproducible reports.

    Returns
    -------
    ValidationReport
        Failures with their table, column, rule, severity, row count and up to five example rows.
        Call :meth:`ValidationReport.raise_for_errors` to stop on errors.
    """
    names = list(TABLES) if tables is None else list(tables)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise DataError(f"cannot validate unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}.")
    now = now or datetime.now()
    checked: list[TableChecked] = []
    failures: list[Failure] = []
    for name in names:
        contract = TABLES[name]
        if src.has(name):
            info, found = _validate_table(src, contract, now)
            checked.append(info)
            failures += found
        elif contract.required:
            checked.append(TableChecked(name, None, 0, 1))
            failures.append(_failure(name, None, "table_missing", f"required table is missing from {src.description}"))
    for where in getattr(src, "normalised", []):
        table, column = where.split(".", 1)
        if table in names:
            failures.append(_failure(table, column, "timezone_normalised",
                                     "timezone-aware timestamps, read as UTC (the zone is dropped after conversion)",
                                     severity="warning"))
    return ValidationReport(failures, checked)
