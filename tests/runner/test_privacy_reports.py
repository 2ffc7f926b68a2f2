"""Every report (00–05) on data with a campaign arm of 5 people, a segment of 3 clients and a product
line held by 3 (the shared tiny run, tests/tiny.py): scanned, attacked by differencing and its results.json
searched for small counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxlab.runner import run
from tests.report.privacy_check import declared_tables, differencing, small_results
from tests.runner.hostile import hostile
from tests.tiny import SMALL_ARM, TINY_CARD, TINY_LINE, K

#: the modules reading the shared tiny run share a worker, so no other worker waits while it is built
pytestmark = pytest.mark.xdist_group("tiny_run")

NOTEBOOKS = ["00", "01", "02", "03", "04", "05"]
#: the names as the hostile data and cards spell them
ARM, SEGMENT, LINE = hostile(SMALL_ARM), hostile(TINY_CARD), hostile(TINY_LINE)


@pytest.fixture(scope="module")
def folder(tiny_run) -> Path:
    """The run folder of the shared tiny run."""
    return tiny_run.folder


def _pages(folder: Path) -> dict[str, str]:
    return {p.name[:2]: p.read_text() for p in sorted(folder.glob("*.html"))}


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_no_small_cell_is_shown_in_tables_or_text(folder, nb):
    from cxlab.report.scan import scan_html

    scan = scan_html(_pages(folder)[nb], K)
    assert scan.ok, (scan.small[:5], scan.unmarked[:5], scan.prose[:5])
    assert scan.checked > 0


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_no_hidden_cell_is_recovered_by_subtraction(folder, nb):
    html = _pages(folder)[nb]
    assert declared_tables(html), "no table declared what it counts"
    assert differencing(html) == []


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_results_json_carries_no_small_count(folder, nb):
    path = next(folder.glob(f"{nb}-*.results.json"))
    results = json.loads(path.read_text())
    assert small_results(results, K) == []
    assert results["suppressed_cells"] > 0  # the small arm and the tiny segment were there to hide


def test_the_small_arm_and_the_tiny_segment_are_hidden_where_they_show(folder):
    retro = json.loads(next(folder.glob("04-*.results.json")).read_text())
    assert retro["srm"]["observed"][ARM] is None  # 5 people
    for metric, arms in retro["effects"].items():
        assert arms[ARM]["people_t"] is None and arms[ARM]["uplift"] is None, metric
    page = _pages(folder)["04"]
    assert f"&lt;{K} / " in page  # the effects tables' "n (T / C)" of the small arm
    sizing = json.loads(next(folder.glob("03-*.results.json")).read_text())
    islanders = next(r for r in sizing["sizes"] if r["segment"] == SEGMENT)
    assert islanders["raw"] is None and islanders["assigned"] is None
    overview = json.loads(next(folder.glob("00-*.results.json")).read_text())
    gold = next(r for r in overview["holders_by_line"] if r["product_line"] == LINE)
    assert gold["clients"] is None and gold["share"] is None


def test_the_small_arm_cannot_be_worked_out_from_the_other_arms_anywhere_in_04(folder):
    # the people analysed are shown; if every arm but one were shown somewhere (the split table, the
    # effects, the contamination table, the incremental table), subtraction would give the last one away
    retro = json.loads(next(folder.glob("04-*.results.json")).read_text())
    known: dict[str, int] = {}
    sources = [retro["srm"]["observed"].items(),
               ((r["arm"], r["people"]) for r in retro["competing"]["by_arm"]),
               ((r["arm"], r["people"]) for r in retro["incremental"])]
    for arms in retro["effects"].values():
        sources.append(((a, e["people_t"]) for a, e in arms.items()))
        sources.append(("control", e["people_c"]) for e in arms.values())
    for pairs in sources:
        known |= {a: n for a, n in pairs if n is not None}
    unknown = set(retro["srm"]["observed"]) - set(known)
    assert ARM in unknown and len(unknown) >= 2, known


@pytest.mark.slow
def test_the_russian_reports_are_as_safe(tmp_path):
    """The same tiny data in Russian: the scan reads Russian headers and prose (``клиентов``, ``человек``)."""
    from cxlab.report.scan import scan_html
    from tests.tiny import build, params

    data, catalog = build(tmp_path)
    result = run(NOTEBOOKS, data=data, out=tmp_path / "reports", run_id="ru", params=params(catalog), lang="ru",
                 progress=False)
    assert result.ok, [nb.error for nb in result.notebooks]
    for nb, html in _pages(tmp_path / "reports" / "ru").items():
        scan = scan_html(html, K)
        assert scan.ok, (nb, scan.small[:5], scan.unmarked[:5], scan.prose[:5])
        assert differencing(html) == [], nb
