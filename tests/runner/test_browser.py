"""Every report renders in a real browser (headless Chromium) without JavaScript errors.

Run by ``make test-browser``, which installs Debian's chromium when it is missing."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from cxlab.runner import run

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


#: Chromium without the network: every host resolves nowhere and any proxy is a dead port.
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


@pytest.fixture(scope="module")
def reports(small_demo, tmp_path_factory) -> Path:
    """The folder of one run of every notebook on the small demo."""
    out = tmp_path_factory.mktemp("browser")
    result = run([], data=small_demo, out=out, run_id="r", progress=False, params={"model_sample": "3000"})
    assert result.ok, [nb.error for nb in result.notebooks]
    return out / "r"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make test-browser`, which installs it")
def test_every_report_renders_without_errors(reports, tmp_path):
    for page in sorted(reports.glob("*.html")):
        png = tmp_path / f"{page.stem}.png"
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tempfile.mkdtemp()}", "--enable-logging=stderr", "--v=0",
             "--window-size=1200,3000", f"--screenshot={png}", page.as_uri()],
            capture_output=True, text=True, timeout=120)
        errors = [line for line in out.stderr.splitlines() if "Uncaught" in line or "CONSOLE" in line and "error" in line.lower()]
        assert not errors, (page.name, errors[:3])
        assert png.exists() and png.stat().st_size > 20_000, f"{page.name} rendered blank"


#: Test-only probe put at the top of each page copy: any payload that runs calls alert() (or writes to the
#: page), and the probe marks the document so --dump-dom shows it.
PROBE = ("<script>window.alert=window.confirm=window.prompt=function(n){document.documentElement"
         ".setAttribute('data-pwned',String(n))};</script>")


def _dom(page: Path, tmp_path: Path, probe: str = PROBE, at: str = "<head>") -> str:
    copy = tmp_path / f"probe-{page.parent.name}-{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace(at, at + probe if at == "<head>" else probe + at, 1),
                    encoding="utf-8")
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", *OFFLINE,
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tempfile.mkdtemp()}", "--virtual-time-budget=3000", "--dump-dom", copy.as_uri()],
        capture_output=True, text=True, timeout=120)
    return out.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make test-browser`, which installs it")
def test_no_hostile_string_runs_in_a_browser(tiny_run, tmp_path):
    """Every report and the index, rendered from hostile cards, data and parameters: no payload runs."""
    control = tmp_path / "control.html"  # the probe works: a live payload is caught
    control.write_text("<html><head></head><body><img src=x onerror=alert(42)></body></html>")
    assert 'data-pwned="42"' in _dom(control, tmp_path)
    pages = tiny_run.pages() + [tiny_run.reports / "index.html"]
    for page in pages:
        dom = _dom(page, tmp_path)
        assert "</body>" in dom, f"{page.name}: chromium rendered nothing"
        assert "data-pwned=\"" not in dom, f"{page.name}: a payload ran"
        assert "alert(" in dom, f"{page.name}: no payload reached the page"


#: Test-only probe put after the report's own script: it clicks the first sortable header of the page's
#: longest sortable table twice and writes the first column's texts before and after into the document,
#: with the resources the page fetched (none may leave file: or data:).
SORT_PROBE = """<script>
(function () {
  var tables = Array.prototype.filter.call(document.querySelectorAll("table"), function (t) {
    return t.tHead && t.tHead.querySelector("th.cx-sortable"); });
  tables.sort(function (a, b) { return b.tBodies[0].rows.length - a.tBodies[0].rows.length; });
  var out = {sortable: tables.length, fetched: performance.getEntriesByType("resource").map(function (e) {
    return e.name; }).filter(function (n) { return !/^(file|data):/.test(n); })};
  if (tables.length) {
    var t = tables[0], col = function () { return Array.prototype.map.call(t.tBodies[0].rows, function (r) {
      return r.cells[0].textContent; }); };
    out.before = col();
    t.tHead.rows[0].cells[0].click();
    out.up = col();
    t.tHead.rows[0].cells[0].click();
    out.down = col();
    out.sort = t.tHead.rows[0].cells[0].getAttribute("aria-sort");
  }
  document.body.setAttribute("data-probe", JSON.stringify(out));
}());
</script>"""


def _sort_probe(page: Path, tmp_path: Path) -> dict | None:
    """What :data:`SORT_PROBE` wrote into ``page`` rendered offline, or None when no script ran."""
    import html
    import json
    import re

    found = re.search(r'data-probe="([^"]*)"', _dom(page, tmp_path, SORT_PROBE, "</body>"))
    return json.loads(html.unescape(found.group(1))) if found else None


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make test-browser`, which installs it")
def test_tables_sort_offline_in_every_report(reports, tmp_path):
    """Each report from file:// with the network blocked: its script makes the tables sortable, a click on a
    header reorders the rows (ascending, then descending) and nothing is fetched."""
    pages = sorted(reports.glob("*.html"))
    assert len(pages) == len(list(Path("notebooks").glob("[0-9][0-9]-*.ipynb")))
    changed = 0
    for page in pages:
        probe = _sort_probe(page, tmp_path)
        assert probe, f"{page.name}: the report's script did not run"
        assert probe["fetched"] == [], (page.name, probe["fetched"][:3])
        assert probe["sortable"] >= 1, f"{page.name}: no sortable table"
        assert sorted(probe["up"]) == sorted(probe["before"]) and probe["down"] == probe["up"][::-1] or \
            len(set(probe["before"])) < len(probe["before"]), page.name
        assert probe["sort"] == "descending", page.name
        changed += probe["up"] != probe["before"] or probe["down"] != probe["before"]
    assert changed == len(pages), f"a click changed the order in only {changed} of {len(pages)} reports"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make test-browser`, which installs it")
def test_the_index_sorts_offline(tmp_path):
    """The index of three runs, from file:// with the network blocked: a click on "run" sorts them by id."""
    import json

    from cxlab.runner.index import write_index

    out = tmp_path / "reports"
    for run_id, started in (("b-run", "2026-01-03"), ("c-run", "2026-01-02"), ("a-run", "2026-01-01")):
        (out / run_id).mkdir(parents=True)
        (out / run_id / "manifest.json").write_text(json.dumps({"run_id": run_id, "started_at": started, "status": "ok",
                                                                "notebooks": []}))
    probe = _sort_probe(write_index(out), tmp_path)
    assert probe, "the index's script did not run"
    assert probe["fetched"] == [] and probe["sortable"] == 1
    assert probe["before"] == ["b-run", "c-run", "a-run"]  # newest first
    assert probe["up"] == ["a-run", "b-run", "c-run"] and probe["down"] == ["c-run", "b-run", "a-run"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make test-browser`, which installs it")
@pytest.mark.parametrize("lang, cells, order", [
    # a label with a number inside is text: sorted as words, not all as "90"
    ("en", ["Credit card conversion, 90 days", "Card spend, 90 days", "Age, 30 days"],
     ["Age, 30 days", "Card spend, 90 days", "Credit card conversion, 90 days"]),
    ("en", ["1,234.50\u00a0EUR", "\u22122.0 pp", "< 1e-300", "\u00d72.5", "12.0%", "[0.1, 0.3]", "\u2014"],
     ["\u22122.0 pp", "< 1e-300", "[0.1, 0.3]", "12.0%", "\u00d72.5", "1,234.50\u00a0EUR", "\u2014"]),
    ("ru", ["1\u00a0234,5", "2,5", "\u221210", "12 (4%)"], ["\u221210", "2,5", "12 (4%)", "1\u00a0234,5"]),
])
def test_a_click_sorts_numbers_by_value_and_labels_as_words(lang, cells, order, tmp_path):
    """The report's own script on one table: the number a cell starts with (in the page's language, with its
    unit, interval bracket, × or <) sorts by value, a label with a number inside sorts as text, blanks last."""
    import html

    from cxlab.report.markup import script_element
    from cxlab.runner.html import ui_words

    rows = "".join(f"<tr><td>{html.escape(c)}</td></tr>" for c in cells)
    page = tmp_path / "table.html"
    page.write_text(f'<html lang="{lang}"><head><meta charset="utf-8"></head><body>{ui_words(lang)}'
                    f"<main><table><thead><tr><th>x</th></tr></thead><tbody>{rows}</tbody></table></main>"
                    f"{script_element()}</body></html>", encoding="utf-8")
    probe = _sort_probe(page, tmp_path)
    assert probe, "the script did not run"
    assert probe["up"] == order
    assert probe["down"] == [c for c in order[::-1] if c != "\u2014"] + ["\u2014"] * order.count("\u2014")
