"""Engine-independent keys: the engine's md5 equals Python's, and a share of keys is that share."""

from __future__ import annotations

import hashlib

import ibis
import pandas as pd
import pytest

from cxlab.compute import keys


def test_key_is_the_md5_of_the_joined_text():
    con = ibis.duckdb.connect()
    t = ibis.memtable(pd.DataFrame({"client_id": [7, 12], "day": pd.to_datetime(["2024-04-01", "2025-01-31"])}))
    got = con.execute(t.select(k=keys.key(t.client_id, t.day.date(), "1")).k).tolist()
    assert got == [hashlib.md5(b"7|2024-04-01|1").hexdigest(), hashlib.md5(b"12|2025-01-31|1").hexdigest()]


def test_below_keeps_about_the_share_and_checks_it():
    con = ibis.duckdb.connect()
    t = ibis.memtable(pd.DataFrame({"client_id": range(20_000)}))
    share = con.execute(keys.below(keys.key(t.client_id, "s"), 0.2).mean())
    assert share == pytest.approx(0.2, abs=0.01)  # binomial sd 0.003
    expected = sum(hashlib.md5(f"{i}|s".encode()).hexdigest()[:8] < "33333333" for i in range(20_000)) / 20_000
    assert share == expected  # 0.2 of 16^8 is 0x33333333
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match="between 0 and 1"):
            keys.below(keys.key(t.client_id), bad)


def test_the_parts_of_one_key_are_independent_draws():
    con = ibis.duckdb.connect()
    t = ibis.memtable(pd.DataFrame({"client_id": range(20_000)}))
    k = keys.key(t.client_id, "s")
    got = con.execute(t.select(**{f"c{p}": keys.below(k, 0.2, p) for p in range(keys.PARTS)}))
    digests = [hashlib.md5(f"{i}|s".encode()).hexdigest() for i in range(20_000)]
    for p in range(keys.PARTS):  # part p is hex digits 8p … 8p + 7, as Python reads them
        assert got[f"c{p}"].tolist() == [d[8 * p:8 * p + 8] < "33333333" for d in digests]
        assert got[f"c{p}"].mean() == pytest.approx(0.2, abs=0.01)
    both = (got.c0 & got.c1).mean()  # independent: 0.2 × 0.2, sd ≈ 0.0014
    assert both == pytest.approx(0.04, abs=0.006)
    part = ibis.memtable(pd.DataFrame({"client_id": [1, 1], "part": [0, 3]}))
    by_column = con.execute(part.select(c=keys.below(keys.key(part.client_id, "s"), 0.2, part.part)).c).tolist()
    assert by_column == [digests[1][:8] < "33333333", digests[1][24:] < "33333333"]
