"""The same analyses on PostgreSQL: a throwaway local server holds the small demo (make test-postgres)."""

from __future__ import annotations

import glob
import json
import math
import socket
import tempfile
from pathlib import Path

import pytest

from cxlab import cli
from cxlab.data import connect
from tests.backends.harness import RTOL, assert_same, compute_all
from tests.backends.servers import load_into_postgres, postgres_server

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres_url(small_demo):
    """A ``postgres://`` URL of a database holding the small demo; the server is gone after the module."""
    with postgres_server() as url:
        load_into_postgres(connect(small_demo), url)
        yield url


def test_the_server_is_stopped_and_removed_even_on_failure():
    pattern = str(Path(tempfile.gettempdir()) / "cxlab-pg-*")
    before = set(glob.glob(pattern))
    with pytest.raises(RuntimeError, match="planted"), postgres_server() as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert len(set(glob.glob(pattern)) - before) == 1  # its folder exists while it runs
        raise RuntimeError("planted")
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the server still listens"
    assert set(glob.glob(pattern)) - before == set(), "its folder is left behind"


def test_loaded_tables_equal_the_parquet_files(postgres_url, small_demo):
    duck, pg = connect(small_demo), connect(postgres_url)
    assert set(pg.tables) == set(duck.tables)
    for name, table in duck.tables.items():
        assert pg.con.execute(pg.table(name).count()) == duck.con.execute(table.count()), name
        assert pg.table(name).schema() == table.schema(), name


def test_every_notebook_computes_the_same_on_postgres(postgres_url, reference):
    assert_same(reference, compute_all(connect(postgres_url)), "PostgreSQL")


def _same_figures(a, b, where: str = "") -> list[str]:
    """Differences between two results.json trees: numbers to RTOL, everything else exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in _same_figures(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _same_figures(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return [] if math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-12) else [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def test_cxlab_run_on_a_postgres_url_gives_the_duckdb_figures(postgres_url, small_demo, tmp_path):
    for name, data in (("duckdb", str(small_demo)), ("postgres", postgres_url)):
        code = cli.main(["run", "00", "04", "--data", data, "--out", str(tmp_path / name), "--run-id", "r", "--quiet"])
        assert code == 0, name
    for report in ("00-data-overview", "04-campaign-retro"):
        duck, pg = (json.loads((tmp_path / n / "r" / f"{report}.results.json").read_text()) for n in ("duckdb", "postgres"))
        assert duck["tables"] if report.startswith("00") else duck["effects"]  # the figures are there to compare
        assert _same_figures(duck, pg) == [], report
