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


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make test-browser`, which installs it")
def test_every_report_renders_without_errors(small_demo, tmp_path):
    result = run([], data=small_demo, out=tmp_path, run_id="r", progress=False, params={"model_sample": "3000"})
    assert result.ok, [nb.error for nb in result.notebooks]
    for page in sorted((tmp_path / "r").glob("*.html")):
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


def _dom(page: Path, tmp_path: Path) -> str:
    copy = tmp_path / f"probe-{page.parent.name}-{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
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
