"""Check a data source against the canonical contract, in the engine, collecting every failure.

Each rule is a small function returning failures; checks are Ibis expressions (counts and at most five
example rows), so no table is pulled into pandas. An analyst fixes all problems in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from cxlab.data.connect import Source
from cxlab.data.contract import TABLES, Column, Table
from cxlab.errors import DataError
from cxlab.report.context import jsonable

EXAMPLES = 5


@dataclass(frozen=True)
class Failure:
    """One broken rule: where (table, column), which rule, how many rows, and a few of them."""

    table: str
    column: str | None
    rule: str
    severity: str  # "error" | "warning"
    n_rows: int
    examples: tuple[dict[str, Any], ...]
    message: str


@dataclass(frozen=True)
class ValidationReport:
    """Every failure found, and the per-table sizes for the overview."""

    failures: tuple[Failure, ...]
    rows: dict[str, int]

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """One row per failure: table, column, rule, severity, rows, example."""
        return pd.DataFrame(
            [{"table": f.table, "column": f.column or "", "rule": f.rule, "severity": f.severity,
              "rows": f.n_rows, "example": ", ".join(map(str, f.examples[:1])) if f.examples else ""}
             for f in self.failures],
            columns=["table", "column", "rule", "severity", "rows", "example"],
        )

    def summary(self) -> pd.DataFrame:
        """Per table: rows, errors and warnings."""
        return pd.DataFrame(
            [{"table": t, "rows": n, "errors": sum(f.table == t for f in self.errors),
              "warnings": sum(f.table == t for f in self.warnings)} for t, n in self.rows.items()]
        )

    def raise_for_errors(self) -> None:
        """DataError listing every error (table, column, rule, count, examples); nothing if valid."""
        if self.errors:
            lines = [f.message + (f" e.g. {_examples(f.examples)}" if f.examples else "") for f in self.errors]
            raise DataError(f"data breaks the canonical contract ({len(lines)} problem(s)):\n  " + "\n  ".join(lines))


def _examples(examples: Iterable[dict[str, Any]]) -> str:
    return "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in examples)


def _failure(table: str, column: str | None, rule: str, n: int, examples: Any, text: str,
             severity: str = "error") -> Failure:
    rows = tuple(jsonable(examples)) if examples is not None else ()
    where = f"{table}.{column}" if column else table
    return Failure(table, column, rule, severity, int(n), rows, f"{where}: {rule} — {text}")


def _count_and_examples(src: Source, t: ibis.Table, bad: ibis.BooleanValue, cols: list[str]) -> tuple[int, pd.DataFrame]:
    hits = t.filter(bad)
    n = int(src.con.execute(hits.count()))
    examples = src.con.execute(hits.select(*cols).limit(EXAMPLES)) if n else None
    return n, examples


def _kind_ok(kind: str, dtype: dt.DataType) -> bool:
    return {
        "id": dtype.is_integer() or dtype.is_string(),
        "string": dtype.is_string(),
        "integer": dtype.is_integer(),
        "number": dtype.is_numeric(),
        "boolean": dtype.is_boolean(),
        "timestamp": dtype.is_timestamp() or dtype.is_date() or dtype.is_string(),
    }[kind]


def _as_timestamp(col: ibis.Value) -> ibis.Value:
    """Timestamps stored as text are accepted when they parse; others stay as they are."""
    return col.try_cast("timestamp") if col.type().is_string() else col.cast("timestamp")


def check_columns(src: Source, contract: Table, t: ibis.Table) -> Iterator[Failure]:
    """Required columns present, of the right kind, and without nulls where nulls are not allowed."""
    for col in contract.columns:
        if col.name not in t.columns:
            if col.required:
                yield _failure(contract.name, col.name, "column_missing", 0, None,
                               f"required column is missing (have: {', '.join(t.columns)})")
            continue
        dtype = t[col.name].type()
        if not _kind_ok(col.kind, dtype):
            yield _failure(contract.name, col.name, "wrong_type", 0, None, f"expected {col.kind}, found {dtype}")
            continue
        yield from _check_values(src, contract, t, col)


def _check_values(src: Source, contract: Table, t: ibis.Table, col: Column) -> Iterator[Failure]:
    c = t[col.name]
    show = [x for x in (*contract.key, *contract.foreign_keys, col.name) if x in t.columns]
    show = list(dict.fromkeys(show))
    if not col.nullable:
        n, ex = _count_and_examples(src, t, c.isnull(), show)
        if n:
            yield _failure(contract.name, col.name, "null_in_required", n, ex, f"{n} row(s) have no value")
    if col.kind == "timestamp" and c.type().is_string():
        n, ex = _count_and_examples(src, t, c.notnull() & _as_timestamp(c).isnull(), show)
        if n:
            yield _failure(contract.name, col.name, "wrong_type", n, ex, f"{n} value(s) are not dates")
    if col.kind == "number" and c.type().is_floating():
        n, ex = _count_and_examples(src, t, c.isnan() | c.isinf(), show)
        if n:
            yield _failure(contract.name, col.name, "non_finite", n, ex, f"{n} value(s) are NaN or infinite")
    if col.allowed:
        n, ex = _count_and_examples(src, t, c.notnull() & ~c.isin(list(col.allowed)), show)
        if n:
            yield _failure(contract.name, col.name, "value_not_allowed", n, ex,
                           f"{n} row(s) outside the allowed values {', '.join(col.allowed)}")


def check_key(src: Source, contract: Table, t: ibis.Table) -> Iterator[Failure]:
    """The key identifies one row."""
    if not contract.key or any(k not in t.columns for k in contract.key):
        return
    dup = t.group_by(list(contract.key)).aggregate(rows=t.count()).filter(lambda g: g.rows > 1)
    n = int(src.con.execute(dup.count()))
    if n:
        ex = src.con.execute(dup.order_by(list(contract.key)).limit(EXAMPLES))
        yield _failure(contract.name, ", ".join(contract.key), "duplicate_key", n, ex,
                       f"{n} key value(s) appear on more than one row")


def check_foreign_keys(src: Source, contract: Table, t: ibis.Table) -> Iterator[Failure]:
    """Every reference points to an existing row (e.g. holdings.client_id in clients)."""
    for col, (ref_table, ref_col) in contract.foreign_keys.items():
        if col not in t.columns or not src.has(ref_table) or ref_col not in src.table(ref_table).columns:
            continue
        ref = src.table(ref_table)
        if t[col].type().is_string() != ref[ref_col].type().is_string():
            yield _failure(contract.name, col, "wrong_type", 0, None,
                           f"type {t[col].type()} does not match {ref_table}.{ref_col} ({ref[ref_col].type()})")
            continue
        orphans = t.filter(t[col].notnull()).anti_join(ref, t[col] == ref[ref_col])
        n = int(src.con.execute(orphans.count()))
        if n:
            ex = src.con.execute(orphans.select(col).distinct().order_by(col).limit(EXAMPLES))
            yield _failure(contract.name, col, "orphan_foreign_key", n, ex,
                           f"{n} row(s) reference {ref_table} that do not exist")


def check_dates(src: Source, contract: Table, t: ibis.Table, now: datetime) -> Iterator[Failure]:
    """Ordered date pairs are in order, and no date lies in the future."""
    ts_cols = [c.name for c in contract.columns if c.kind == "timestamp" and c.name in t.columns
               and _kind_ok("timestamp", t[c.name].type())]
    for earlier, later in contract.ordered:
        if earlier in ts_cols and later in ts_cols:
            bad = _as_timestamp(t[later]) < _as_timestamp(t[earlier])
            cols = list(dict.fromkeys([*contract.foreign_keys, earlier, later]))
            n, ex = _count_and_examples(src, t, bad, [c for c in cols if c in t.columns])
            if n:
                yield _failure(contract.name, later, "date_order", n, ex, f"{n} row(s) have {later} before {earlier}")
    for col in ts_cols:
        bad = _as_timestamp(t[col]) > ibis.timestamp(now)
        cols = list(dict.fromkeys([*contract.key, *contract.foreign_keys, col]))
        n, ex = _count_and_examples(src, t, bad, [c for c in cols if c in t.columns])
        if n:
            yield _failure(contract.name, col, "date_in_future", n, ex, f"{n} row(s) are dated after {now:%Y-%m-%d}")


def check_control_groups(src: Source, t: ibis.Table) -> Iterator[Failure]:
    """A campaign with treatment rows but no control rows cannot measure its effect (a warning)."""
    if not {"campaign_id", "group"} <= set(t.columns):
        return
    per = t.group_by("campaign_id").aggregate(
        treatment=(t.group == "treatment").sum(), control=(t.group == "control").sum()
    )
    lonely = per.filter((per.treatment > 0) & (per.control == 0))
    n = int(src.con.execute(lonely.count()))
    if n:
        ex = src.con.execute(lonely.select("campaign_id", "treatment").order_by("campaign_id").limit(EXAMPLES))
        yield _failure("communications", "group", "group_without_control", n, ex,
                       f"{n} campaign(s) have treatment rows but no control group", severity="warning")


def validate(src: Source, tables: Iterable[str] | None = None, now: datetime | None = None) -> ValidationReport:
    """Every failure of ``src`` against the contract (optional tables only when present)."""
    now = now or datetime.now()
    names = list(tables) if tables is not None else list(TABLES)
    failures: list[Failure] = []
    rows: dict[str, int] = {}
    for name in names:
        contract = TABLES[name]
        if not src.has(name):
            if contract.required:
                failures.append(_failure(name, None, "table_missing", 0, None,
                                         f"required table is missing from {src.description}"))
            continue
        t = src.table(name)
        try:
            rows[name] = n = int(src.con.execute(t.count()))
        except Exception as e:  # a file that cannot be scanned (truncated parquet, bad csv)
            failures.append(_failure(name, None, "unreadable", 0, None, str(e).splitlines()[0]))
            continue
        if n == 0:
            failures.append(_failure(name, None, "table_empty", 0, None, "the table has no rows"))
            continue
        failures += check_columns(src, contract, t)
        failures += check_key(src, contract, t)
        failures += check_foreign_keys(src, contract, t)
        failures += check_dates(src, contract, t, now)
        if name == "communications":
            failures += check_control_groups(src, t)
    return ValidationReport(tuple(failures), rows)
