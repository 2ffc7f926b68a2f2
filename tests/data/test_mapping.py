"""Data mappings: the docs' warehouse example gives back the canonical tables exactly (DuckDB file with a
``crm`` schema), and every mistake in a mapping is named by file, line, table and column."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cxlab import cli
from cxlab.data import connect
from cxlab.data.contract import TABLES
from cxlab.data.validate import validate
from cxlab.errors import DataError
from tests.data.warehouse import make_warehouse, mapping_for


@pytest.fixture(scope="module")
def warehouse(small_demo, tmp_path_factory) -> Path:
    """A .duckdb file holding only schema crm (the docs' names), made from the small demo."""
    db = tmp_path_factory.mktemp("warehouse") / "dwh.duckdb"
    con = duckdb.connect(str(db))
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{small_demo / t}.parquet')")
    make_warehouse(con.execute)
    for t in TABLES:
        con.execute(f"DROP VIEW {t}")
    con.close()
    return db


def _rows(src, name: str) -> pd.DataFrame:
    frame = src.con.to_pyarrow(src.table(name)).to_pandas()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_the_docs_mapping_gives_back_every_canonical_table(warehouse, small_demo, tmp_path):
    mapped, canonical = connect(mapping_for(str(warehouse), tmp_path)), connect(small_demo)
    assert set(mapped.tables) == set(TABLES)
    assert validate(mapped).ok
    for name in TABLES:
        want, got = _rows(canonical, name), _rows(mapped, name)
        assert list(got.columns) == list(want.columns), name  # holdout, cust_no, cell… are consumed
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=name)
    # the planted test rows are in the warehouse and filtered out by `where`
    raw = duckdb.connect(str(warehouse), read_only=True)
    assert raw.execute("SELECT count(*) FROM crm.activity WHERE kind = 'test_event'").fetchone()[0] > 0


def test_the_fingerprint_follows_the_mapping(warehouse, tmp_path):
    path = mapping_for(str(warehouse), tmp_path)
    first = connect(path).fingerprint()
    assert connect(path).fingerprint() == first
    path.write_text(path.read_text().replace("kind <> 'test_event'", "kind <> 'complaint'"))
    assert connect(path).fingerprint() != first


def test_a_relative_source_is_read_from_the_mapping_folder(small_demo, tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "demo").symlink_to(small_demo)
    (tmp_path / "data" / "m.yml").write_text(
        "source: demo\ntables:\n  clients:\n    from: clients\n    columns: {client_id: client_id}\n"
        "    others: false\n  products: {from: products}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path.parent)  # the working folder does not matter
    src = connect(tmp_path / "data" / "m.yml")
    assert list(src.table("clients").columns) == ["client_id"]
    assert set(src.tables) == {"clients", "products"}
    assert src.files["clients"], "a file-backed table keeps its files for the fingerprint"


BASE = "source: {demo}\ntables:\n"
CASES = [
    ("unknown field", "  clients:\n    from: clients\n    colums: {client_id: cust_no}\n",
     r"m\.yml:5: field 'tables\.clients\.colums': Extra inputs are not permitted"),
    ("not a canonical table", "  client:\n    from: clients\n", r"m\.yml:3: 'client' is not a canonical table\. Did you mean 'clients'\?"),
    ("both from and sql", "  clients:\n    from: clients\n    sql: SELECT 1\n", r"m\.yml:3: .*exactly one of 'from'"),
    ("missing column", "  clients:\n    from: clients\n    columns:\n      client_id: client_idd\n",
     r"m\.yml:6: clients\.client_id: column 'client_idd' is not in clients\. Did you mean client_id\?"),
    ("bad expression", "  clients:\n    from: clients\n    columns:\n      client_id: client_id +* (\n",
     r"m\.yml:6: clients\.columns\.client_id: cannot parse SQL expression"),
    ("a statement in an expression", "  clients:\n    from: clients\n    columns:\n      client_id: DROP TABLE clients\n",
     r"m\.yml:6: .*is not an SQL expression \(a mapping only reads\)"),
    ("DDL as the sql", "  clients:\n    sql: DROP TABLE clients\n", r"m\.yml:4: clients\.sql: .*is not a SELECT"),
    ("two statements", "  clients:\n    sql: SELECT 1; SELECT 2\n", r"m\.yml:4: .*expected one SELECT, got 2"),
    ("missing table", "  clients:\n    from: customers\n", r"m\.yml:4: clients: cannot read table 'customers'"),
    ("engine refuses an expression", "  clients:\n    from: clients\n    columns:\n      client_id: nosuch(client_id)\n",
     r"m\.yml:6: clients\.client_id: the engine refused 'nosuch\(client_id\)'"),
    ("unset variable", "  clients: {from: clients}\n", r"m\.yml:1: source uses \$\{CXLAB_NOT_SET\}"),
]


@pytest.mark.parametrize("body, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mistakes_name_file_line_table_and_column(small_demo, tmp_path, body, expected):
    demo = "${CXLAB_NOT_SET}/x" if "CXLAB_NOT_SET" in expected else str(small_demo)
    path = tmp_path / "m.yml"
    path.write_text(BASE.format(demo=demo) + body, encoding="utf-8")
    with pytest.raises(DataError, match=expected):
        connect(str(path))


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "m.yml"
    path.write_text("source: x\ntables:\n  clients: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"m\.yml:4: YAML syntax error"):
        connect(str(path))


def test_validate_says_where_a_broken_column_comes_from(small_demo, tmp_path, capsys):
    path = tmp_path / "m.yml"
    path.write_text(BASE.format(demo=small_demo) + "  clients:\n    from: clients\n    columns:\n"
                    "      client_id: client_id\n      global_control: region\n"
                    "  products: {from: products}\n  holdings: {from: holdings}\n  events: {from: events}\n",
                    encoding="utf-8")
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "clients.global_control" in err
    assert f"clients.global_control ← {path}:7: clients → region" in err
