"""The install is what we tested: environment.yml equals pyproject.toml, and the pinned combination works."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {str(Requirement(r)) for r in project["dependencies"] + project["optional-dependencies"]["test"]}


def _environment_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {str(Requirement(r)) for r in pip}


def test_environment_yml_equals_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_installed_versions_meet_lower_bounds():
    for text in _pyproject_requirements():
        req = Requirement(text)
        installed = Version(metadata.version(req.name))
        assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} does not meet {req.specifier}"


def test_ibis_duckdb_create_table_from_dataframe_works():
    # ibis 12.0.0 with sqlglot >= 28 failed here with "syntax error at or near EXISTS" (DESIGN.md pitfalls).
    import ibis

    con = ibis.duckdb.connect()
    t = con.create_table("t", pd.DataFrame({"a": [1, 2, 2]}))
    assert con.execute(t.a.nunique()) == 2
    assert Version(metadata.version("sqlglot")) < Version("28")


def test_ibis_lists_tables_of_a_duckdb_file(tmp_path):
    # duckdb 2.0 removed DuckDBPyConnection.fetch_arrow_table, which ibis 12.0's list_tables calls.
    import duckdb
    import ibis

    path = tmp_path / "x.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table clients as select 1 as client_id")
    assert ibis.duckdb.connect(str(path)).list_tables() == ["clients"]


def test_xdist_loadgroup_keeps_a_group_on_one_worker(tmp_path):
    # pytest 9.2 with pytest-xdist 3.8 spread an xdist_group over the workers (nodeid no longer takes xdist's
    # rename), so both waited on the shared tiny run; make test relies on the group (tests/tiny.py).
    import subprocess
    import sys

    (tmp_path / "test_g.py").write_text(
        "import os, pytest\npytestmark = pytest.mark.xdist_group('g')\n"
        "@pytest.mark.parametrize('i', range(8))\n"
        "def test_g(i, tmp_path_factory):\n"
        "    (tmp_path_factory.getbasetemp().parent.parent / f'{i}.w').write_text(os.environ['PYTEST_XDIST_WORKER'])\n")
    (tmp_path / "test_h.py").write_text("import pytest\n@pytest.mark.parametrize('i', range(8))\ndef test_h(i):\n    pass\n")
    (tmp_path / "base").mkdir()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
                           "--basetemp", str(tmp_path / "base" / "t"), str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len({p.read_text() for p in (tmp_path / "base").glob("*.w")}) == 1
