"""Run report notebooks with papermill and turn them into HTML reports, one folder per run.

Everything is checked before anything is written (notebooks, parameters, data), so bad input leaves
no trace. Each output file is written atomically; a failed notebook is kept as ``NAME.failed.ipynb``
with its error cell; earlier runs' folders are never touched.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from cxlab.data.connect import connect
from cxlab.errors import CxlabError, NotebookFailed, ParameterError
from cxlab.paths import project_root, resolve, resolve_source
from cxlab.report.markup import active_content
from cxlab.runner.html import take_results, to_html
from cxlab.runner.index import safe_run_id, write_index
from cxlab.runner.manifest import environment, now, write_json, write_text
from cxlab.runner.params import Notebook, find_notebooks

@dataclass
class NotebookRun:
    """How one notebook went."""

    name: str
    status: str
    seconds: float
    parameters: dict[str, Any]
    html: str | None = None
    notebook: str | None = None
    results: str | None = None
    error: str | None = None


@dataclass
class RunResult:
    """How a run went, and where its files are."""

    run_id: str
    folder: Path
    notebooks: list[NotebookRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(nb.status == "ok" for nb in self.notebooks)


def plan(names: list[str], params: dict[str, Any], common: dict[str, Any]) -> list[tuple[Notebook, dict[str, Any]]]:
    """The notebooks to run with each one's checked parameters; an unknown parameter is an error."""
    notebooks = find_notebooks(names)
    declared = {p for nb in notebooks for p in nb.parameters}
    unknown = sorted(set(params) - declared)
    if unknown:
        nb_names = ", ".join(nb.name for nb in notebooks)
        raise ParameterError(
            f"unknown parameter(s) {', '.join(unknown)} for {nb_names}. Known: {', '.join(sorted(declared))}."
        )
    merged = {**{k: v for k, v in common.items() if v is not None}, **params}
    return [(nb, nb.bind({k: v for k, v in merged.items() if k in nb.parameters})) for nb in notebooks]


def preflight(work: list[tuple[Notebook, dict[str, Any]]], src: Any) -> None:
    """Load the catalogue each notebook names and check the cards it will read against the data, so a
    broken card (not UTF-8, a key given twice, a rule nested too deeply, a missing target line…) is a
    CardError (exit 2) before anything is written, not a failed notebook."""
    from cxlab.analyses.triggers import check_target_line, snapshots
    from cxlab.catalog import load_catalog

    catalogs: dict[Path, Any] = {}
    for nb, parameters in work:
        if "catalog" not in nb.parameters:
            continue
        value = {name: p.default for name, p in nb.parameters.items()} | parameters
        path = resolve(value["catalog"])
        cat = catalogs.get(path) or catalogs.setdefault(path, load_catalog(path))
        triggers = [(value["trigger"], value.get("period_start", ""), value.get("period_end", ""))] if value.get("trigger") else []
        if value.get("hypothesis"):
            triggers.append((cat.get("hypotheses", value["hypothesis"]).trigger, "", ""))
        for name, start, end in triggers:
            trigger = cat.get("triggers", name)
            check_target_line(src, cat, trigger)
            snapshots(src, cat, trigger, start, end)
        if value.get("campaign"):
            cat.get("campaigns", value["campaign"])


def check_run_id(run_id: str) -> None:
    """ParameterError (exit 2) unless ``run_id`` is a safe slug: it names a folder and goes into links."""
    if not safe_run_id(run_id):
        shown = run_id if len(run_id) <= 40 else run_id[:40] + "…"
        raise ParameterError(
            f"--run-id {shown!r}: use 1 to 100 letters, digits, '-', '_' or '.', not starting with a dot.")


def _new_run_folder(out: Path, run_id: str | None) -> tuple[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    if run_id is not None:
        check_run_id(run_id)
        folder = out / run_id
        try:
            folder.mkdir()
        except FileExistsError:
            raise CxlabError(f"run '{run_id}' already exists in {out}; choose another --run-id.") from None
        return run_id, folder
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        candidate = stamp if n == 1 else f"{stamp}-{n}"
        try:
            (out / candidate).mkdir()
            return candidate, out / candidate
        except FileExistsError:
            continue
    raise CxlabError(f"cannot create a run folder in {out}")


def _execute(nb: Notebook, parameters: dict[str, Any], folder: Path, provenance: dict[str, str], lang: str,
             progress: bool) -> NotebookRun:
    part = folder / f".{nb.name}.part.ipynb"
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(nb.path), str(part), parameters=parameters, kernel_name="python3",
            progress_bar=progress, cwd=str(project_root()), language="python",
            kernel_manager_class="cxlab.runner.kernel.QuietKernelManager",
        )
    except PapermillExecutionError as e:
        failed = folder / f"{nb.name}.failed.ipynb"
        os.replace(part, failed)
        error = f"{e.ename}: {e.evalue}"
        return NotebookRun(nb.name, "failed", time.perf_counter() - start, parameters, notebook=failed.name, error=error)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    executed = nbformat.read(part, as_version=4)
    results = take_results(executed)
    write_json(folder / f"{nb.name}.results.json", results)
    every = {name: p.default for name, p in nb.parameters.items()} | parameters
    page = to_html(executed, every, provenance, lang)
    problems = active_content(page)
    if problems:  # the escaping boundary failed somewhere: never publish a page that could run code
        failed = folder / f"{nb.name}.failed.ipynb"
        os.replace(part, failed)
        error = f"report withheld: it would contain active content ({'; '.join(problems[:3])})"
        return NotebookRun(nb.name, "failed", time.perf_counter() - start, parameters, notebook=failed.name, error=error)
    write_text(folder / f"{nb.name}.html", page)
    os.replace(part, folder / f"{nb.name}.ipynb")
    return NotebookRun(nb.name, "ok", time.perf_counter() - start, parameters, html=f"{nb.name}.html",
                       notebook=f"{nb.name}.ipynb", results=f"{nb.name}.results.json")


def run(
    names: list[str],
    data: str | Path,
    out: str | Path = "reports",
    params: dict[str, Any] | None = None,
    run_id: str | None = None,
    lang: str | None = None,
    progress: bool = True,
    check_data: bool = True,
) -> RunResult:
    """Run ``names`` (all notebooks if empty) on ``data`` into ``out/<run_id>/``.

    Raises CxlabError (exit 2) on bad input before writing anything; a notebook that fails is
    recorded in the result (exit 1 from the CLI) and the remaining notebooks still run.
    """
    if run_id is not None:
        check_run_id(run_id)
    if "data" in (params or {}):
        raise ParameterError("-p data=… is not accepted: give the data source with --data (one source per run, "
                             "validated and fingerprinted).")
    source = resolve_source(data)
    work = plan(names, dict(params or {}), {"data": source, "lang": lang})
    src = connect(source)
    if check_data:
        from cxlab.data.validate import validate

        report = validate(src)
        report.raise_for_errors()
        for failure in report.warnings:
            print(f"warning: {failure.message}", file=sys.stderr)
    preflight(work, src)
    fingerprint = src.fingerprint()
    out = resolve(out)
    run_id, folder = _new_run_folder(out, run_id)
    env = environment(project_root())
    manifest: dict[str, Any] = {
        "run_id": run_id, "started_at": now(), "status": "running", "environment": env,
        "data": {"source": source, "fingerprint": fingerprint, "timezone_normalised": src.normalised},
        "notebooks": [],
    }
    write_json(folder / "manifest.json", manifest)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    result = RunResult(run_id, folder)
    try:
        for i, (nb, parameters) in enumerate(work, 1):
            if progress:
                print(f"[{i}/{len(work)}] {nb.name}", file=sys.stderr, flush=True)
            provenance = {"run_id": run_id, "version": env["cxlab"], "fingerprint": fingerprint,
                          "commit": env["git_commit"], "finished": now()}
            nb_lang = parameters.get("lang", "en")
            outcome = _execute(nb, parameters, folder, provenance, nb_lang, progress)
            result.notebooks.append(outcome)
            manifest["notebooks"].append(vars(outcome))
            write_json(folder / "manifest.json", manifest)
        manifest["status"] = "ok" if result.ok else "failed"
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        raise
    finally:
        manifest["finished_at"] = now()
        write_json(folder / "manifest.json", manifest)
        write_index(out)
    return result


def raise_for_failures(result: RunResult) -> None:
    """NotebookFailed (exit 1) naming each failed notebook, its error and where its copy is."""
    failed = [nb for nb in result.notebooks if nb.status != "ok"]
    if failed:
        lines = [f"{nb.name}: {nb.error} (see {result.folder / nb.notebook})" for nb in failed]
        raise NotebookFailed("notebook(s) failed:\n  " + "\n  ".join(lines))
