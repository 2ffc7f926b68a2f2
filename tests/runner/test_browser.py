"""Every report renders in a real browser (headless Chromium) without JavaScript errors.

Run by ``make test-browser``, which installs Debian's chromium when it is missing."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

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
