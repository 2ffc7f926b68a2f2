"""``reports/index.html``: every run in the reports folder, newest first, with status and links."""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from cxlab.runner.manifest import write_text

_STATUS = {"ok": "cx-good", "failed": "cx-bad", "interrupted": "cx-warn", "running": "cx-info",
           "skipped": "cx-info"}


def read_manifests(out: Path) -> list[dict]:
    """The manifests of all runs under ``out``, newest first (unreadable ones are skipped)."""
    runs = []
    for path in out.glob("*/manifest.json"):
        try:
            runs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return sorted(runs, key=lambda m: (m.get("started_at", ""), m.get("run_id", "")), reverse=True)


def write_index(out: Path) -> Path:
    """Rewrite ``out/index.html`` from the run manifests."""
    rows = []
    for m in read_manifests(out):
        links = []
        params: dict[str, str] = {}
        for nb in m.get("notebooks", []):
            target = nb.get("html") or nb.get("notebook")
            label = html.escape(nb["name"]) + ("" if nb.get("status") == "ok" else f" ({html.escape(nb.get('status', '?'))})")
            link = f'<a href="{html.escape(m["run_id"])}/{html.escape(target)}">{label}</a>' if target else label
            if nb.get("status") == "skipped" and nb.get("error"):
                link += f' <span class="cx-muted">— {html.escape(nb["error"])}</span>'
            elif nb.get("status") == "failed" and nb.get("error"):
                link += f"<details><summary>error</summary><pre>{html.escape(nb['error'])}</pre></details>"
            links.append(link)
            params |= {k: v for k, v in (nb.get("parameters") or {}).items() if k not in ("data", "lang")}
        status = m.get("status", "?")
        shown = "<br>".join(f"{html.escape(k)} = {html.escape(repr(v) if not isinstance(v, str) else v)}"
                            for k, v in sorted(params.items())) or "defaults"
        rows.append(
            f"<tr><td>{html.escape(m['run_id'])}</td><td>{html.escape(m.get('started_at', ''))}</td>"
            f'<td><span class="cx-banner {_STATUS.get(status, "")}">{html.escape(status)}</span></td>'
            f"<td>{html.escape(str(m.get('data', {}).get('source', '')))}</td><td>{shown}</td><td>{'<br>'.join(links)}</td></tr>"
        )
    css = (resources.files("cxlab.report") / "report.css").read_text(encoding="utf-8")
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>cxlab reports</title>'
        f"<style>{css}</style></head><body><h1>cxlab reports</h1>"
        '<table class="cx-table"><thead><tr><th>run</th><th>started (UTC)</th><th>status</th><th>data</th>'
        f"<th>parameters</th><th>reports</th></tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )
    path = out / "index.html"
    write_text(path, page)
    return path
