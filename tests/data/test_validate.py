"""Validation: one broken fixture per rule, every failure at once, and checks that stay in the engine.

A clean minimal fixture is built once; each test breaks one thing and asserts the failure names the
table, the column and the rule, and carries the offending values as examples.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxlab.data import connect
from cxlab.data.validate import EXAMPLES, Failure, validate
from cxlab.errors import DataError

NOW = datetime(2026, 1, 1)
ts = pd.Timestamp


def clean_tables() -> dict[str, pd.DataFrame]:
    """The smallest data set that meets the contract, with Cyrillic and spaces in values and extra columns."""
    return {
        "clients": pd.DataFrame({"client_id": [1, 2, 3], "joined_at": [ts("2024-01-05")] * 3,
                                 "region": ["север", "south east", "юг"]}),
        "products": pd.DataFrame({"product_id": ["cc", "dep", "вклад плюс"],
                                  "product_line": ["credit card", "deposit", "депозит"]}),
        "holdings": pd.DataFrame({"client_id": [1, 2, 3], "product_id": ["cc", "dep", "вклад плюс"],
                                  "opened_at": [ts("2024-02-01"), ts("2024-03-01"), ts("2024-03-02")],
                                  "closed_at": [pd.NaT, ts("2024-06-01"), pd.NaT], "value": [10.0, 20.0, None]}),
        "events": pd.DataFrame({"client_id": [1, 3, 3], "event_type": ["login", "зарплата", "card payment"],
                                "ts": [ts("2024-04-01"), ts("2024-05-01"), ts("2024-05-02")],
                                "value": [None, 3000.0, 12.5]}),
        "communications": pd.DataFrame({"client_id": [1, 2], "campaign_id": ["весна 2024"] * 2,
                                        "channel": ["email", "sms"], "sent_at": [ts("2024-06-01")] * 2,
                                        "group": ["treatment", "control"]}),
        "consents": pd.DataFrame({"client_id": [1, 1, 2], "channel": ["email", "sms", "email"],
                                  "opted_in": [True, False, True]}),
    }


def write(folder: Path, tables: dict[str, pd.DataFrame], fmt: str = "parquet") -> Path:
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def check(folder: Path, tables: dict[str, pd.DataFrame], fmt: str = "parquet"):
    return validate(connect(write(folder, tables, fmt)), now=NOW)


def only(failures: list[Failure], rule: str) -> Failure:
    found = [f for f in failures if f.rule == rule]
    assert len(found) == 1, [f.message for f in failures]
    return found[0]


# ------------------------------------------------------------------------------------- clean data


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_clean_data_passes_with_cyrillic_spaces_and_extra_columns(tmp_path, fmt):
    report = check(tmp_path, clean_tables(), fmt)
    assert report.ok and report.failures == [], [f.message for f in report.failures]
    report.raise_for_errors()
    assert report.to_frame().empty


def test_optional_tables_may_be_absent_and_unknown_tables_are_ignored(tmp_path):
    t = clean_tables()
    del t["communications"], t["consents"]
    t["web sessions"] = pd.DataFrame({"anything": [None, "x"]})
    report = check(tmp_path, t)
    assert report.ok and report.failures == []
    assert [c.table for c in report.tables] == ["clients", "products", "holdings", "events"]


# -------------------------------------------------------------------------------- one rule per test


def _set(table: str, **columns) -> Callable[[dict[str, pd.DataFrame]], None]:
    def apply(t: dict[str, pd.DataFrame]) -> None:
        for name, values in columns.items():
            t[table][name] = values
    return apply


def _drop_table(table: str) -> Callable[[dict[str, pd.DataFrame]], None]:
    return lambda t: t.pop(table)


def _empty(table: str) -> Callable[[dict[str, pd.DataFrame]], None]:
    def apply(t: dict[str, pd.DataFrame]) -> None:
        t[table] = t[table].iloc[:0]
    return apply


def _drop_column(table: str, column: str) -> Callable[[dict[str, pd.DataFrame]], None]:
    def apply(t: dict[str, pd.DataFrame]) -> None:
        t[table] = t[table].drop(columns=column)
    return apply


# rule, break, table, column, rows, an example value the failure must show (column=value) or None
BROKEN = [
    ("table_missing", _drop_table("events"), "events", None, 0, None),
    ("table_empty", _empty("events"), "events", None, 0, None),
    ("column_missing", _drop_column("holdings", "opened_at"), "holdings", "opened_at", 0, None),
    ("wrong_type", _set("events", ts=["2024-04-01", "31.12.2024", "not a date"]), "events", "ts", 2,
     ("ts", "31.12.2024")),
    ("null_in_required", _set("events", event_type=["login", None, "x"]), "events", "event_type", 1,
     ("client_id", 3)),
    ("duplicate_key", _set("clients", client_id=[1, 2, 2]), "clients", "client_id", 2, ("client_id", 2)),
    ("orphan_foreign_key", _set("holdings", client_id=[1, 999, 3]), "holdings", "client_id", 1,
     ("client_id", 999)),
    ("date_order", _set("holdings", closed_at=[pd.NaT, ts("2024-01-01"), pd.NaT]), "holdings", "closed_at", 1,
     ("closed_at", "2024-01-01")),
    ("date_in_future", _set("events", ts=[ts("2024-04-01"), ts("2031-01-01"), ts("2024-05-02")]), "events", "ts", 1,
     ("ts", "2031-01-01")),
    ("value_not_allowed", _set("communications", group=["treatment", "контроль 2"]), "communications", "group",
     1, ("group", "контроль 2")),
    ("non_finite", _set("holdings", value=[np.inf, 1.0, -np.inf]), "holdings", "value", 2, ("value", "inf")),
    ("group_without_control", _set("communications", group=["treatment", "treatment"]), "communications", "group",
     2, ("campaign_id", "весна 2024")),
]


@pytest.mark.parametrize(("rule", "breaker", "table", "column", "rows", "example"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_rule_names_table_column_rule_and_examples(tmp_path, rule, breaker, table, column, rows, example):
    t = clean_tables()
    breaker(t)
    report = check(tmp_path, t)
    f = only(report.failures, rule)
    assert (f.table, f.column, f.n_rows) == (table, column, rows)
    assert f.message.startswith(f"{table}.{column}: {rule} — " if column else f"{table}: {rule} — ")
    assert "\n" not in f.message
    assert f.severity == ("warning" if rule == "group_without_control" else "error")
    assert report.ok == (f.severity == "warning")
    if example:
        name, value = example
        assert value in [row.get(name) for row in f.examples], f.examples
        assert f"{name}={json.dumps(value, ensure_ascii=False)}" in f.message
        json.dumps(f.examples)  # JSON-safe
    else:
        assert f.examples == []


def test_orphan_message_reads_as_documented(tmp_path):
    t = clean_tables()
    t["holdings"]["client_id"] = [999, 998, 999]
    f = only(check(tmp_path, t).failures, "orphan_foreign_key")
    assert f.message == ("holdings.client_id: orphan_foreign_key — 3 rows referencing clients that do not exist "
                         '(e.g. client_id=998)')
    assert f.examples[0] == {"client_id": 998, "product_id": "dep"}


def test_nan_is_non_finite_but_null_is_not(tmp_path):
    write(tmp_path, clean_tables())
    events = pa.table({"client_id": [1, 3, 3], "event_type": ["a", "b", "c"],
                       "ts": pa.array([datetime(2024, 4, 1)] * 3), "value": [float("nan"), None, 1.0]})
    pq.write_table(events, tmp_path / "events.parquet")
    f = only(validate(connect(tmp_path), now=NOW).failures, "non_finite")
    assert (f.table, f.column, f.n_rows) == ("events", "value", 1)
    assert f.examples == [{"client_id": 1, "value": "NaN"}]


def test_column_of_the_wrong_engine_type(tmp_path):
    t = clean_tables()
    t["clients"]["global_control"] = ["yes", "no", "no"]
    t["events"]["value"] = ["a lot", "x", "y"]
    failures = check(tmp_path, t).failures
    assert {(f.table, f.column, f.rule) for f in failures} == {
        ("clients", "global_control", "wrong_type"), ("events", "value", "wrong_type")}
    assert "expected true/false, found string" in failures[0].message


def test_foreign_key_of_another_type_than_its_target(tmp_path):
    t = clean_tables()
    t["clients"]["client_id"] = ["1", "2", "3"]
    failures = check(tmp_path, t).failures
    assert {(f.table, f.column, f.rule) for f in failures} == {
        (name, "client_id", "wrong_type") for name in ("holdings", "events", "communications", "consents")}
    assert "int64 cannot match clients.client_id (string)" in failures[0].message


def test_composite_key_of_consents(tmp_path):
    t = clean_tables()
    t["consents"]["channel"] = ["email", "email", "email"]
    f = only(check(tmp_path, t).failures, "duplicate_key")
    assert (f.table, f.column, f.n_rows) == ("consents", "client_id, channel", 2)
    assert f.examples == [{"client_id": 1, "channel": "email", "rows": 2}]


def test_timestamps_as_iso_text_are_accepted_and_compared(tmp_path):
    t = clean_tables()
    t["holdings"]["opened_at"] = ["2024-02-01", "2024-03-01 10:30:00", "2024-03-02"]
    t["holdings"]["closed_at"] = [None, "2024-01-01", None]
    failures = check(tmp_path, t).failures
    assert [(f.table, f.column, f.rule) for f in failures] == [("holdings", "closed_at", "date_order")]


def test_bad_csv_value_far_down_is_reported_as_unreadable(tmp_path):
    t = clean_tables()
    t["events"] = pd.DataFrame({"client_id": [1] * 30_000 + ["abc"], "event_type": "login", "ts": "2024-04-01"})
    f = only(check(tmp_path, t, "csv").failures, "unreadable")
    assert f.table == "events" and "abc" in f.message and "\n" not in f.message


def test_unknown_table_name_is_refused_and_subsets_work(tmp_path):
    src = connect(write(tmp_path, clean_tables()))
    with pytest.raises(DataError, match="unknown table.*holding.*known: clients"):
        validate(src, ["holding"], now=NOW)
    t = clean_tables()
    t["events"]["ts"] = [ts("2031-01-01")] * 3
    report = validate(connect(write(tmp_path, t)), ["clients", "holdings"], now=NOW)
    assert report.ok and [c.table for c in report.tables] == ["clients", "holdings"]


# ---------------------------------------------------------------------------------- many at once


def test_every_failure_is_reported_at_once(tmp_path):
    t = clean_tables()
    t["clients"]["client_id"] = [1, 2, 2]  # duplicate; client 3 disappears, so its rows become orphans
    t["holdings"]["closed_at"] = [pd.NaT, ts("2024-01-01"), pd.NaT]
    t["communications"]["group"] = ["treatment", "контроль"]
    del t["products"]
    report = check(tmp_path, t)
    assert {(f.table, f.column, f.rule) for f in report.errors} == {
        ("clients", "client_id", "duplicate_key"),
        ("holdings", "client_id", "orphan_foreign_key"),
        ("events", "client_id", "orphan_foreign_key"),
        ("holdings", "closed_at", "date_order"),
        ("communications", "group", "value_not_allowed"),
        ("products", None, "table_missing"),
    }
    with pytest.raises(DataError) as e:
        report.raise_for_errors()
    text = str(e.value)
    assert text.startswith("data breaks the canonical contract (6 errors):")
    for f in report.errors:
        assert f.message in text
    assert 'group="контроль"' in text and "2 rows referencing clients" in text
    assert e.value.exit_code == 2


def test_to_frame_and_summary_for_the_overview(tmp_path):
    t = clean_tables()
    t["holdings"]["closed_at"] = [pd.NaT, ts("2024-01-01"), pd.NaT]
    t["communications"]["group"] = ["treatment", "treatment"]
    report = check(tmp_path, t)
    frame = report.to_frame()
    assert list(frame.columns) == ["table", "column", "rule", "severity", "rows", "example"]
    assert frame.set_index("rule").loc["date_order", "example"] == (
        'client_id=2, product_id="dep", closed_at="2024-01-01", opened_at="2024-03-01"')
    summary = report.summary().set_index("table")
    assert list(summary.columns) == ["rows", "columns", "checks", "passed", "failed", "warnings"]
    assert summary.loc["holdings", ["rows", "columns", "failed", "warnings"]].tolist() == [3, 5, 1, 0]
    assert summary.loc["communications", ["failed", "warnings"]].tolist() == [0, 1]
    assert (summary["passed"] == summary["checks"] - summary["failed"] - summary["warnings"]).all()
    assert summary.loc["clients", "passed"] > 3 and summary.loc["clients", "failed"] == 0


def test_a_missing_table_appears_in_the_summary(tmp_path):
    t = clean_tables()
    del t["events"]
    summary = check(tmp_path, t).summary().set_index("table")
    assert pd.isna(summary.loc["events", "rows"]) and summary.loc["events", "failed"] == 1


# ----------------------------------------------------------------------------- stays in the engine


def test_no_query_returns_more_than_a_few_rows(tmp_path, monkeypatch):
    """Every result the engine hands back is an aggregate or at most five example rows."""
    t = clean_tables()
    n = 10_000
    t["events"] = pd.DataFrame({"client_id": np.arange(n), "event_type": "login",
                                "ts": ts("2032-01-01"), "value": np.inf})
    src = connect(write(tmp_path, t))
    sizes: list[int] = []
    for method in ("execute", "to_pyarrow"):
        real = getattr(src.con, method)

        def spy(expr, *args, _real=real, **kwargs):
            result = _real(expr, *args, **kwargs)
            sizes.append(len(result) if hasattr(result, "__len__") and not isinstance(result, str) else 1)
            return result

        monkeypatch.setattr(src.con, method, spy)
    report = validate(src, now=NOW)
    assert {f.rule for f in report.errors} == {"orphan_foreign_key", "date_in_future", "non_finite"}
    assert all(len(f.examples) == EXAMPLES for f in report.errors)
    assert sizes and max(sizes) <= EXAMPLES


def test_two_million_events_in_a_few_seconds(tmp_path):
    t = clean_tables()
    n = 2_000_000
    rng = np.random.default_rng(0)
    t["events"] = pd.DataFrame({"client_id": rng.integers(1, 4, n), "event_type": "login",
                                "ts": ts("2024-04-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
                                "value": rng.normal(size=n)})
    t["events"].loc[n - 1, "client_id"] = 4  # one orphan, last row
    src = connect(write(tmp_path, t))
    start = time.perf_counter()
    report = validate(src, now=NOW)
    elapsed = time.perf_counter() - start
    f = only(report.failures, "orphan_foreign_key")
    assert (f.table, f.n_rows, f.examples[0]["client_id"]) == ("events", 1, 4)
    assert elapsed < 10, f"validation took {elapsed:.1f} s"


def test_orphans_are_found_even_when_the_target_key_has_nulls(tmp_path):
    """``x NOT IN (…, NULL)`` is never true in SQL: a null key must not hide every orphan."""
    t = clean_tables()
    t["clients"]["client_id"] = [1.0, 2.0, None]
    t["clients"] = t["clients"].astype({"client_id": "Int64"})
    failures = check(tmp_path, t).failures
    assert {(f.table, f.column, f.rule) for f in failures} == {
        ("clients", "client_id", "null_in_required"),
        ("holdings", "client_id", "orphan_foreign_key"),
        ("events", "client_id", "orphan_foreign_key"),
    }
    assert only(failures, "null_in_required").examples == [{"client_id": None, "joined_at": "2024-01-05"}]
