"""``reports/index.html``: every run in the reports folder, newest first, with status and links.

The page is a Jinja2 template with autoescaping on, so a manifest's text (a run id, a data source, a
status) is shown as text whatever it holds; a link is made only from a run id that is a safe slug and a
file name of the run's own reports (:func:`run_link`), and the finished page passes the same
active-content check as the reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from cxlab.runner.manifest import write_text

_STATUS = {"ok": "cx-good", "failed": "cx-bad", "interrupted": "cx-warn", "running": "cx-info",
           "skipped": "cx-info"}

#: A run id: letters, digits, '-', '_' and '.', not starting with a dot, at most 100 characters.
RUN_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$")
_FILE = re.compile(r"^[0-9]{2}-[a-z0-9-]+(\.failed)?\.(html|ipynb)$")


def safe_run_id(run_id: object) -> bool:
    """True when ``run_id`` is a safe slug (usable as a folder name and in a link)."""
    return isinstance(run_id, str) and RUN_ID.fullmatch(run_id) is not None


def run_link(run_id: object, target: object) -> str | None:
    """The relative link ``<run_id>/<target>``, or None unless both parts are validated names."""
    if not (safe_run_id(run_id) and isinstance(target, str) and _FILE.fullmatch(target)):
        return None
    return f"{quote(str(run_id))}/{quote(target)}"


def manifests(out: Path) -> Iterator[tuple[Path, dict]]:
    """Each run's manifest under ``out`` with its path (unreadable or malformed ones are skipped)."""
    for path in out.glob("*/manifest.json"):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(manifest, dict):
            yield path, manifest


def read_manifests(out: Path) -> list[dict]:
    """The manifests of all runs under ``out``, newest first (unreadable ones are skipped)."""
    runs = [m for _, m in manifests(out)]
    return sorted(runs, key=lambda m: (str(m.get("started_at", "")), str(m.get("run_id", ""))), reverse=True)


def _row(m: dict) -> dict:
    """One run of the index: its notebooks with links, a skipped one's reason, a failed one's error, and the
    parameters the run was given (beyond the data and language)."""
    notebooks = []
    params: dict[str, str] = {}
    for nb in m.get("notebooks") or []:
        if not isinstance(nb, dict):
            continue
        status = str(nb.get("status", "?"))
        label = str(nb.get("name", "?")) + ("" if status == "ok" else f" ({status})")
        if nb.get("reused_from"):  # unchanged since that run: its files, brought into this one
            label += f" (reused from {nb['reused_from']})"
        error = str(nb.get("error") or "")
        notebooks.append({"label": label, "href": run_link(m.get("run_id"), nb.get("html") or nb.get("notebook")),
                          "skipped": error if status == "skipped" else "", "error": error if status == "failed" else ""})
        parameters = given if isinstance(given := nb.get("parameters"), dict) else {}
        params |= {str(k): v if isinstance(v, str) else repr(v) for k, v in parameters.items() if k not in ("data", "lang")}
    status = str(m.get("status", "?"))
    data = source if isinstance(source := m.get("data"), dict) else {}
    return {"run_id": str(m.get("run_id", "?")), "started_at": str(m.get("started_at", "")), "status": status,
            "status_class": _STATUS.get(status, ""), "source": str(data.get("source", "")), "notebooks": notebooks,
            "parameters": sorted(params.items())}


_ENV = jinja2.Environment(loader=jinja2.PackageLoader("cxlab.runner", "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined)


def render_index(out: Path) -> str:
    """The index page's HTML for the runs under ``out``: its table sortable and filterable by the reports' own
    script (without JavaScript it reads the same)."""
    from cxlab.report.markup import script_element
    from cxlab.runner.html import ui_words

    css = (resources.files("cxlab.report") / "report.css").read_text(encoding="utf-8")
    runs = [_row(m) for m in read_manifests(out)]
    return _ENV.get_template("index.html.j2").render(css=Markup(css), runs=runs,
                                                     script=Markup(ui_words("en") + script_element())) + "\n"


def write_index(out: Path) -> Path:
    """Rewrite ``out/index.html`` from the run manifests. Runs into one folder at once take turns (a lock
    on ``out/.index.lock``): each reads the manifests and replaces the page while holding it, so the last
    page written was rendered from the last manifests written."""
    import fcntl

    from cxlab.report.markup import active_content

    path = out / "index.html"
    with open(out / ".index.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        page = render_index(out)
        problems = active_content(page)
        if problems:  # cannot happen with the template above; a guard against a future edit of it
            raise RuntimeError(f"index.html would contain active content: {problems[:3]}")
        write_text(path, page)
    return path
