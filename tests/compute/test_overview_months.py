"""Events per month and event type: rows and distinct clients equal
pandas' own count and nunique on the rows."""

from __future__ import annotations

import pandas as pd

from cxlab.compute import overview
from cxlab.data.connect import connect


def test_events_by_month_equals_pandas(small_demo):
    got = overview.events_by_month(connect(small_demo))
    rows = pd.read_parquet(small_demo / "events.parquet")
    rows["month"] = rows.ts.dt.to_period("M").dt.to_timestamp()
    want = (rows.groupby(["month", "event_type"]).agg(events=("client_id", "size"), clients=("client_id", "nunique"))
            .reset_index().sort_values(["month", "event_type"], ignore_index=True))
    pd.testing.assert_frame_equal(got.reset_index(drop=True)[list(want.columns)], want, check_dtype=False)


def test_distinct_clients_skip_nulls_and_count_repeats_once(tmp_path):
    """The two-step count (per month, type and client, then per month and type) equals pandas' nunique:
    a client with many events in a month counts once, a row without a client counts as an event only."""
    ts = pd.to_datetime(["2024-01-03", "2024-01-20", "2024-01-21", "2024-02-01", "2024-02-02", "2024-02-03"])
    rows = pd.DataFrame({"client_id": pd.array([1, 1, None, 1, 2, 2], dtype="Int64"), "ts": ts,
                         "event_type": ["visit", "visit", "visit", "visit", "visit", "purchase"], "value": 0.0})
    rows.to_parquet(tmp_path / "events.parquet")
    got = overview.events_by_month(connect(tmp_path))
    assert got[["event_type", "events", "clients"]].values.tolist() == [
        ["visit", 3, 1], ["purchase", 1, 1], ["visit", 2, 2]]
