"""Opening sources: folders of parquet or csv, partitioned parts, .duckdb files, and errors naming what failed."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cxlab.data import connect
from cxlab.errors import DataError, ParameterError

CLIENTS = pd.DataFrame({"client_id": [1, 2, 3], "region": ["север", "south east", "юг"]})


def count(src, name: str) -> int:
    return int(src.con.execute(src.table(name).count()))


def test_folder_of_parquet(tmp_path):
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    CLIENTS.assign(event_type="x").to_parquet(tmp_path / "events.parquet")
    src = connect(tmp_path)
    assert set(src.tables) == {"clients", "events"} and src.has("clients") and not src.has("holdings")
    assert count(src, "events") == 3
    assert src.con.execute(src.table("clients").order_by("client_id"))["region"].tolist() == CLIENTS["region"].tolist()


def test_folder_of_csv_with_gzip_and_cyrillic(tmp_path):
    CLIENTS.to_csv(tmp_path / "clients.csv", index=False)
    CLIENTS.assign(event_type="вход", ts="2024-01-31").to_csv(tmp_path / "events.csv.gz", index=False)
    src = connect(tmp_path)
    assert set(src.tables) == {"clients", "events"}
    events = src.table("events")
    assert events.schema()["ts"].is_date() and events.schema()["client_id"].is_integer()
    assert src.con.execute(events.event_type.max()) == "вход"


def test_partitioned_parts_read_as_one_table(tmp_path):
    (tmp_path / "events" / "month=1").mkdir(parents=True)
    CLIENTS.to_parquet(tmp_path / "events" / "part-0.parquet")
    CLIENTS.to_parquet(tmp_path / "events" / "part-1.parquet")
    CLIENTS.to_parquet(tmp_path / "events" / "month=1" / "part-2.parquet")
    (tmp_path / "events" / "_SUCCESS").write_text("")
    src = connect(tmp_path)
    assert count(src, "events") == 9
    assert [p.name for p in src.files["events"]] == ["part-2.parquet", "part-0.parquet", "part-1.parquet"]


def test_duckdb_file(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table clients as select * from CLIENTS")
        con.execute("create table notes as select 1 as x")
    src = connect(path)
    assert count(src, "clients") == 3 and src.has("notes")
    assert src.description == f"DuckDB file {path}"


def test_missing_source_and_missing_table_are_named(tmp_path):
    with pytest.raises(DataError, match=r"data source .*nowhere does not exist"):
        connect(tmp_path / "nowhere")
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    with pytest.raises(DataError, match=r"table 'events' is missing \(found: clients\)"):
        connect(tmp_path).table("events")


def test_empty_folder_and_unknown_file_kind(tmp_path):
    with pytest.raises(DataError, match="no tables found"):
        connect(tmp_path)
    (tmp_path / "clients.xlsx").write_bytes(b"x")
    with pytest.raises(DataError, match="expected a folder, a .duckdb file or a URL"):
        connect(tmp_path / "clients.xlsx")


def test_truncated_parquet_names_table_and_file(tmp_path):
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    data = (tmp_path / "clients.parquet").read_bytes()
    (tmp_path / "clients.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"table 'clients': cannot read .*clients\.parquet"):
        connect(tmp_path)


def test_truncated_part_names_table_and_the_part(tmp_path):
    (tmp_path / "events").mkdir()
    CLIENTS.to_parquet(tmp_path / "events" / "part-0.parquet")
    CLIENTS.to_parquet(tmp_path / "events" / "part-1.parquet")
    data = (tmp_path / "events" / "part-1.parquet").read_bytes()
    (tmp_path / "events" / "part-1.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"table 'events': cannot read .*events/part-1\.parquet"):
        connect(tmp_path)


def test_hidden_files_are_skipped_and_a_table_given_twice_is_refused(tmp_path):
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    (tmp_path / "._clients.parquet").write_bytes(b"AppleDouble")  # macOS metadata, not parquet
    assert set(connect(tmp_path).tables) == {"clients"}
    CLIENTS.to_csv(tmp_path / "clients.csv", index=False)
    with pytest.raises(DataError, match=r"table 'clients' is given twice \(clients\.csv and clients\.parquet\)"):
        connect(tmp_path)


def test_fingerprint_changes_with_any_table_file(tmp_path):
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    (tmp_path / "events").mkdir()
    CLIENTS.to_parquet(tmp_path / "events" / "part-0.parquet")
    before = connect(tmp_path).fingerprint()
    assert connect(tmp_path).fingerprint() == before
    CLIENTS.assign(region="z").to_parquet(tmp_path / "clients.parquet")
    after_clients = connect(tmp_path).fingerprint()
    assert after_clients != before
    CLIENTS.to_parquet(tmp_path / "events" / "part-1.parquet")
    assert connect(tmp_path).fingerprint() != after_clients


def test_fingerprint_of_a_duckdb_file_follows_its_rows(tmp_path):
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table clients as select * from CLIENTS")
    before = connect(path).fingerprint()
    with duckdb.connect(str(path)) as con:
        con.execute("insert into clients values (4, 'запад')")
    assert connect(path).fingerprint() != before


def test_a_missing_driver_names_the_package_and_the_extra(monkeypatch):
    import ibis

    def no_psycopg(url):
        raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")

    monkeypatch.setattr(ibis, "connect", no_psycopg)
    with pytest.raises(DataError, match=r"postgres:// sources need the Python package psycopg: pip install 'cxlab\[postgres\]'"):
        connect("postgres://me@127.0.0.1:1/crm")


def test_spark_sources_say_what_is_missing_before_starting(tmp_path, monkeypatch):
    from cxlab.data import spark

    with pytest.raises(DataError, match=r"spark:.*nowhere is not a folder"):
        connect(f"spark:{tmp_path / 'nowhere'}")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(spark.importlib.util, "find_spec", lambda name: object())  # as if pyspark were installed
    with pytest.raises(DataError, match=r"Spark sources need Java 17 or later .*openjdk-17-jre-headless\)$"):
        connect(f"spark:{tmp_path}")
    monkeypatch.setattr(spark.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"need pyspark \(pip install 'cxlab\[spark\]'\) and Java 17"):
        connect(f"spark:{tmp_path}")
    with pytest.raises(DataError, match=r"^sc://127.0.0.1:15002: Spark sources need pyspark \(pip install 'cxlab\[spark\]'\)$"):
        connect("sc://127.0.0.1:15002")  # a remote session needs no local Java


def test_spark_paths_resolve_like_folders(tmp_path, monkeypatch):
    from cxlab.paths import resolve_source

    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert resolve_source("spark:demo") == f"spark:{tmp_path / 'demo'}"
    assert resolve_source("spark://master:7077") == "spark://master:7077"
    assert resolve_source("sc://host:15002") == "sc://host:15002"


def test_duckdb_memory_is_limited(tmp_path):
    """A folder's DuckDB session spills beyond MEMORY_LIMIT instead of growing to 80% of RAM."""
    pd.DataFrame({"client_id": [1]}).to_parquet(tmp_path / "clients.parquet")
    con = connect(tmp_path).con
    limit = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "") in ("488.2MiB", "512.0MB"), limit


def test_each_session_spills_into_its_own_folder(tmp_path):
    """Two sessions never share DuckDB's spill files (they overwrote each other's blocks in ./.tmp)."""
    pd.DataFrame({"client_id": [1]}).to_parquet(tmp_path / "clients.parquet")
    dirs = {connect(tmp_path).con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0] for _ in range(2)}
    assert len(dirs) == 2 and all("cxlab-duckdb-" in d for d in dirs)


def test_memory_limit_can_be_raised_and_is_checked(tmp_path, monkeypatch):
    """CXLAB_DUCKDB_MEMORY raises the limit for data that needs more; a value that is not a size is refused."""
    pd.DataFrame({"client_id": [1]}).to_parquet(tmp_path / "clients.parquet")
    monkeypatch.setenv("CXLAB_DUCKDB_MEMORY", "2GB")
    limit = connect(tmp_path).con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "") in ("1.8GiB", "1.9GiB", "2.0GB"), limit
    monkeypatch.setenv("CXLAB_DUCKDB_MEMORY", "2GB'; DROP TABLE x; --")
    with pytest.raises(ParameterError, match="CXLAB_DUCKDB_MEMORY"):
        connect(tmp_path)


def test_a_file_that_is_not_parquet_is_refused_on_connect(tmp_path):
    CLIENTS.to_parquet(tmp_path / "clients.parquet")
    (tmp_path / "events.parquet").write_text("client_id,ts\n1,2025-01-01\n")  # a csv saved under the wrong name
    with pytest.raises(DataError, match=r"table 'events': cannot read .*events\.parquet: not a whole parquet file"):
        connect(tmp_path)
