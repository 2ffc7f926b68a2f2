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
