"""Reports people can trust: the same inputs give byte-identical results; HTML needs no network and shows
no client identifiers and no small cells."""

from __future__ import annotations

import re

import pytest

from cxlab.runner import run

#: one worker runs this module, so its module-scoped run of the notebooks happens once per session
pytestmark = pytest.mark.xdist_group("trust")

NOTEBOOKS = ["00", "01", "02", "03", "04", "05", "07"]
MIN_CELL = 25  # above the default so that the small demo has cells to hide


@pytest.fixture(scope="module")
def two_runs(small_demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("trust")
    params = {"model_sample": "4000", "period_start": "2024-04-01", "min_cell_size": str(MIN_CELL)}
    for run_id in ("a", "b"):
        result = run(NOTEBOOKS, data=small_demo, out=out, run_id=run_id, params=params, progress=False)
        assert result.ok, [nb.error for nb in result.notebooks]
    return out


def test_results_json_is_byte_identical_across_runs(two_runs):
    for path in sorted((two_runs / "a").glob("*.results.json")):
        assert path.read_bytes() == (two_runs / "b" / path.name).read_bytes(), path.name


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import\s+url\(\s*["']?https?:|url\(\s*["']?https?:""", re.I)


def test_reports_load_nothing_from_the_network(two_runs):
    for page in (two_runs / "a").glob("*.html"):
        text = page.read_text()
        assert not EXTERNAL.findall(text), (page.name, EXTERNAL.findall(text)[:3])


def test_reports_show_no_client_identifiers(two_runs):
    for page in (two_runs / "a").glob("*.html"):
        body = page.read_text().split("<body", 1)[1]
        assert "client_id" not in body, page.name


def test_reports_show_no_small_cells(two_runs):
    from cxlab.report.scan import scan_html

    hidden = checked = 0
    for page in sorted((two_runs / "a").glob("*.html")):
        scan = scan_html(page.read_text(), MIN_CELL)
        assert scan.ok, (page.name, scan.small[:5], scan.unmarked[:5])
        hidden, checked = hidden + scan.hidden, checked + scan.checked
    assert checked > 100 and hidden > 0, (checked, hidden)  # the scan saw people counts, and some were small
