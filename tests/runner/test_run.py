"""End to end: the runner executes a notebook on the small demo and writes report, results, manifest, index."""

from __future__ import annotations

import json
import os

import pytest

from cxlab import cli
from cxlab.data import context
from cxlab.errors import CxlabError, DataError
from cxlab.runner import run


@pytest.fixture(scope="module")
def first_run(small_demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    result = run(["00"], data=small_demo, out=out, params={"min_cell_size": "5"}, run_id="first", progress=False)
    return out, result


def test_report_results_manifest_and_index_are_written(first_run, small_truth):
    out, result = first_run
    assert result.ok, [nb.error for nb in result.notebooks]
    folder = out / "first"
    names = sorted(p.name for p in folder.iterdir())  # the run context handed to the kernels is taken back
    assert context.ENV not in os.environ
    assert names == ["00-data-overview.html", "00-data-overview.ipynb", "00-data-overview.results.json", "manifest.json"]
    results = json.loads((folder / "00-data-overview.results.json").read_text())
    clients = next(t for t in results["tables"] if t["table"] == "clients")
    assert clients["rows"] == small_truth["n_clients"]
    assert results["validation"] == {"errors": 0, "warnings": results["validation"]["warnings"]}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["data"]["fingerprint"]
    assert manifest["notebooks"][0]["parameters"]["min_cell_size"] == 5
    assert manifest["environment"]["packages"]["ibis-framework"]
    assert 'href="first/00-data-overview.html"' in (out / "index.html").read_text()


def test_html_hides_code_shows_parameters_and_needs_no_network(first_run):
    out, _ = first_run
    page = (out / "first" / "00-data-overview.html").read_text()
    assert "rep = Report(" not in page and "import" not in page.split("<body", 1)[1].split("<footer")[0]
    assert 'class="cx-table cx-parameters"' in page and "min_cell_size" in page
    assert 'class="cx-toc"' in page and "cx-provenance" in page
    assert "data:image/png;base64" in page
    assert "<script src=" not in page and "https://cdn" not in page


def test_a_failing_notebook_is_kept_with_its_error_and_exits_1(first_run, small_demo, capsys):
    out, _ = first_run
    before = (out / "first" / "00-data-overview.html").read_bytes()
    code = cli.main(["run", "00", "--data", str(small_demo), "--out", str(out), "--run-id", "broken",
                     "-p", "as_of=not-a-date", "--quiet"])
    assert code == 1
    assert "00-data-overview: ValueError" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "broken").iterdir()) == ["00-data-overview.failed.ipynb", "manifest.json"]
    assert json.loads((out / "broken" / "manifest.json").read_text())["status"] == "failed"
    assert (out / "first" / "00-data-overview.html").read_bytes() == before


def test_bad_input_writes_nothing(first_run, small_demo, tmp_path):
    out, _ = first_run
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(DataError, match="does not exist"):
        run(["00"], data=tmp_path / "nowhere", out=out, progress=False)
    with pytest.raises(CxlabError, match="run 'first' already exists"):
        run(["00"], data=small_demo, out=out, run_id="first", progress=False)
    assert sorted(p.name for p in out.iterdir()) == before
