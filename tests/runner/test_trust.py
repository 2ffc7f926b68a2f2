"""Reports people can trust: the same inputs give byte-identical results; HTML needs no network and shows
no client identifiers and no small cells.

The pages are those of the shared tiny run (tests/tiny.py). Determinism needs a second run: it repeats the
notebooks that draw random numbers (those with a ``seed`` parameter) on the same data and parameters."""

from __future__ import annotations

import re

import pytest

from cxlab.runner import find_notebooks, run
from tests.tiny import FULL, K, given, params

#: the modules reading the shared tiny run share a worker, so no other worker waits while it is built
pytestmark = pytest.mark.xdist_group("tiny_run")

#: the notebooks that draw random numbers: a second run of these must give the same bytes
SEEDED = [nb for nb in find_notebooks([]) if "seed" in nb.parameters]


@pytest.fixture(scope="module")
def again(tiny_run, tmp_path_factory):
    """The folder of the runs of the seeded notebooks again on the tiny run's data and parameters."""
    out = tmp_path_factory.mktemp("again")
    for data, names in ((tiny_run.data, [nb.name for nb in SEEDED if nb.name[:2] not in FULL]),
                        (tiny_run.full_data, [nb.name for nb in SEEDED if nb.name[:2] in FULL])):
        if names:
            result = run(names, data=data, out=out, run_id=names[0][:2], params=given(params(tiny_run.catalog), names),
                         progress=False)
            assert result.ok, [nb.error for nb in result.notebooks]
    return out


def test_results_json_is_byte_identical_across_runs(tiny_run, again):
    assert len(SEEDED) >= 4, [nb.name for nb in SEEDED]  # 02, 04, 07, 09 draw random numbers
    for nb in SEEDED:
        name = f"{nb.name}.results.json"
        [second] = again.glob(f"*/{name}")
        assert second.read_bytes() == tiny_run.file(name).read_bytes(), name


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import\s+url\(\s*["']?https?:|url\(\s*["']?https?:""", re.I)


def _pages(tiny_run) -> list:
    pages = tiny_run.pages()
    assert len(pages) == len(find_notebooks([])), [p.name for p in pages]  # every report is checked
    return pages


def test_reports_load_nothing_from_the_network(tiny_run):
    for page in _pages(tiny_run):
        text = page.read_text()
        assert not EXTERNAL.findall(text), (page.name, EXTERNAL.findall(text)[:3])


def test_reports_show_no_client_identifiers(tiny_run):
    for page in _pages(tiny_run):
        body = page.read_text().split("<body", 1)[1]
        assert "client_id" not in body, page.name


def test_reports_show_no_small_cells(tiny_run):
    from cxlab.report.scan import scan_html

    hidden = checked = 0
    for page in _pages(tiny_run):
        scan = scan_html(page.read_text(), K)
        assert scan.ok, (page.name, scan.small[:5], scan.unmarked[:5], scan.prose[:5])
        hidden, checked = hidden + scan.hidden, checked + scan.checked
    assert checked > 100 and hidden > 0, (checked, hidden)  # the scan saw people counts, and some were small


