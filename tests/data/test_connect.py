"""Opening sources: folders of parquet or csv, partitioned parts, .duckdb files, and clear errors."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cxlab.data import connect
from cxlab.errors import DataError

CLIENTS = pd.DataFrame({"client_id": [1, 2, 3], "region": ["a", "b", "c"]})


def test_folder_of_parquet_and_csv(tmp_path):
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    CLIENTS.assign(event_type="x").to_csv(tmp_path / "events.csv", index=False)
    src = connect(tmp_path)
    assert set(src.tables) == {"clients", "events"}
    assert src.con.execute(src.table("events").count()) == 3


def test_partitioned_parts_read_as_one_table(tmp_path):
    (tmp_path / "events").mkdir()
    CLIENTS.to_parquet(tmp_path / "events" / "part-0.parquet")
    CLIENTS.to_parquet(tmp_path / "events" / "part-1.parquet")
    src = connect(tmp_path)
    assert src.con.execute(src.table("events").count()) == 6


def test_duckdb_file(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table clients as select * from CLIENTS")
    src = connect(path)
    assert src.con.execute(src.table("clients").count()) == 3


def test_missing_source_and_table_are_named(tmp_path):
    with pytest.raises(DataError, match="nowhere does not exist"):
        connect(tmp_path / "nowhere")
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    with pytest.raises(DataError, match="table 'events' is missing .found: clients"):
        connect(tmp_path).table("events")


def test_truncated_parquet_names_table_and_file(tmp_path):
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    data = (tmp_path / "clients.parquet").read_bytes()
    (tmp_path / "clients.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="table 'clients': cannot read .*clients.parquet"):
        connect(tmp_path)


def test_fingerprint_changes_with_any_table(tmp_path):
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    before = connect(tmp_path).fingerprint()
    assert connect(tmp_path).fingerprint() == before
    CLIENTS.assign(region="z").to_parquet(tmp_path / "clients.parquet")
    assert connect(tmp_path).fingerprint() != before
