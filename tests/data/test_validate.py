"""One broken fixture per validation rule: the failure names the table, the column and the rule."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlab.data import connect
from cxlab.data.validate import validate
from cxlab.errors import DataError

NOW = datetime(2026, 1, 1)


def clean_tables() -> dict[str, pd.DataFrame]:
    ts = pd.Timestamp
    return {
        "clients": pd.DataFrame({"client_id": [1, 2, 3], "joined_at": [ts("2024-01-05")] * 3,
                                 "region": ["север", "south east", "юг"]}),
        "products": pd.DataFrame({"product_id": ["cc", "dep"], "product_line": ["credit_card", "deposit"]}),
        "holdings": pd.DataFrame({"client_id": [1, 2], "product_id": ["cc", "dep"],
                                  "opened_at": [ts("2024-02-01"), ts("2024-03-01")],
                                  "closed_at": [pd.NaT, ts("2024-06-01")], "value": [10.0, 20.0]}),
        "events": pd.DataFrame({"client_id": [1, 3], "event_type": ["login", "зарплата"],
                                "ts": [ts("2024-04-01"), ts("2024-05-01")], "value": [np.nan, 3000.0]}),
        "communications": pd.DataFrame({"client_id": [1, 2], "campaign_id": ["c1", "c1"], "channel": ["email"] * 2,
                                        "sent_at": [ts("2024-06-01")] * 2, "group": ["treatment", "control"]}),
    }


def write(tmp_path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    return tmp_path


def failures_of(tmp_path: Path, tables: dict[str, pd.DataFrame]):
    return validate(connect(write(tmp_path, tables)), now=NOW).failures


def test_clean_data_passes_with_cyrillic_and_spaces(tmp_path):
    report = validate(connect(write(tmp_path, clean_tables())), now=NOW)
    assert report.ok and not report.failures
    report.raise_for_errors()


def _break(rule: str) -> tuple[dict[str, pd.DataFrame], str, str | None]:
    t = clean_tables()
    if rule == "table_missing":
        del t["events"]
        return t, "events", None
    if rule == "table_empty":
        t["events"] = t["events"].iloc[:0]
        return t, "events", None
    if rule == "column_missing":
        t["holdings"] = t["holdings"].drop(columns="opened_at")
        return t, "holdings", "opened_at"
    if rule == "wrong_type":
        t["events"]["ts"] = ["2024-04-01", "not a date"]
        return t, "events", "ts"
    if rule == "null_in_required":
        t["events"]["event_type"] = ["login", None]
        return t, "events", "event_type"
    if rule == "duplicate_key":
        t["clients"]["client_id"] = [1, 2, 2]
        return t, "clients", "client_id"
    if rule == "orphan_foreign_key":
        t["holdings"]["client_id"] = [1, 999]
        return t, "holdings", "client_id"
    if rule == "date_order":
        t["holdings"]["closed_at"] = [pd.NaT, pd.Timestamp("2024-01-01")]
        return t, "holdings", "closed_at"
    if rule == "date_in_future":
        t["events"]["ts"] = [pd.Timestamp("2024-04-01"), pd.Timestamp("2031-01-01")]
        return t, "events", "ts"
    if rule == "value_not_allowed":
        t["communications"]["group"] = ["treatment", "holdout"]
        return t, "communications", "group"
    if rule == "non_finite":
        t["holdings"]["value"] = [np.inf, 1.0]
        return t, "holdings", "value"
    if rule == "group_without_control":
        t["communications"]["group"] = ["treatment", "treatment"]
        return t, "communications", "group"
    raise AssertionError(rule)


RULES = ["table_missing", "table_empty", "column_missing", "wrong_type", "null_in_required", "duplicate_key",
         "orphan_foreign_key", "date_order", "date_in_future", "value_not_allowed", "non_finite",
         "group_without_control"]


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_names_table_column_and_rule(tmp_path, rule):
    tables, table, column = _break(rule)
    found = [f for f in failures_of(tmp_path, tables) if f.rule == rule]
    assert len(found) == 1, failures_of(tmp_path, tables)
    f = found[0]
    assert (f.table, f.column) == (table, column)
    assert f.message.startswith(f"{table}.{column}: {rule}" if column else f"{table}: {rule}")
    if rule in ("wrong_type", "null_in_required", "duplicate_key", "orphan_foreign_key", "date_order",
                "date_in_future", "value_not_allowed", "non_finite", "group_without_control"):
        assert f.n_rows >= 1 and f.examples, "row-level failures carry examples"
    assert f.severity == ("warning" if rule == "group_without_control" else "error")


def test_orphan_examples_show_the_offending_value(tmp_path):
    tables, _, _ = _break("orphan_foreign_key")
    f = next(f for f in failures_of(tmp_path, tables) if f.rule == "orphan_foreign_key")
    assert f.examples == ({"client_id": 999},)


def test_every_failure_is_reported_at_once(tmp_path):
    t = clean_tables()
    t["clients"]["client_id"] = [1, 2, 2]
    t["holdings"]["closed_at"] = [pd.NaT, pd.Timestamp("2024-01-01")]
    t["communications"]["group"] = ["treatment", "holdout"]
    report = validate(connect(write(tmp_path, t)), now=NOW)
    # client 3 disappears with the duplicate, so its event becomes an orphan too
    assert {f.rule for f in report.errors} == {"duplicate_key", "orphan_foreign_key", "date_order", "value_not_allowed"}
    with pytest.raises(DataError) as e:
        report.raise_for_errors()
    text = str(e.value)
    assert "clients.client_id: duplicate_key" in text and "holdings.closed_at: date_order" in text
    assert "communications.group: value_not_allowed" in text and "holdout" in text


def test_summary_counts_rows_and_failures(tmp_path):
    tables, _, _ = _break("date_order")
    summary = validate(connect(write(tmp_path, tables)), now=NOW).summary().set_index("table")
    assert summary.loc["holdings", "rows"] == 2 and summary.loc["holdings", "errors"] == 1
    assert summary.loc["clients", "errors"] == 0


@pytest.mark.slow
def test_checks_run_in_the_engine_on_millions_of_rows(tmp_path):
    t = clean_tables()
    n = 3_000_000
    t["events"] = pd.DataFrame({"client_id": np.tile([1, 2, 3], n // 3), "event_type": "login",
                                "ts": pd.Timestamp("2024-04-01"), "value": 1.0})
    assert validate(connect(write(tmp_path, t)), now=NOW).ok
