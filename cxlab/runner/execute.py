"""Run report notebooks with papermill and turn them into HTML reports, one folder per run.

Everything is checked before anything is written (notebooks, parameters, data), so bad input leaves
no trace. Each output file is written atomically; a failed notebook is kept as ``NAME.failed.ipynb``
with its error cell; earlier runs' folders are never touched.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxlab.errors import CxlabError, NotebookFailed, ParameterError
from cxlab.files import folder_fingerprint
from cxlab.paths import project_root, resolve, resolve_source
from cxlab.runner import cache
from cxlab.runner.index import manifests, safe_run_id, write_index
from cxlab.runner.manifest import environment, now, write_json, write_text
from cxlab.runner.params import Notebook, find_notebooks

if TYPE_CHECKING:
    from cxlab.runner.kernel import WarmKernel

# papermill, nbformat, nbconvert, the kernel machinery and the data engine are imported where they are
# used: a run answered from the cache needs none of them.


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
    key: str | None = None
    reused_from: str | None = None


@dataclass
class RunResult:
    """How a run went, and where its files are."""

    run_id: str
    folder: Path
    notebooks: list[NotebookRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(nb.status in ("ok", "skipped") for nb in self.notebooks)


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


_CARD_PARAMETERS = {"hypothesis": "hypotheses", "trigger": "triggers", "campaign": "campaigns", "segments": "segments"}
#: A parameter whose help says this names a card the notebook writes (06's campaign), not one it reads.
NEW_CARD = "(a new card)"


def _reads_card(nb: Notebook, param: str) -> bool:
    return param in nb.parameters and NEW_CARD not in nb.parameters[param].help


def check_cards(work: list[tuple[Notebook, dict[str, Any]]], src: Any) -> None:
    """Every card a parameter names exists in its catalogue, and a card the notebook would otherwise choose
    (its help says "empty picks") applies to the data — checked before anything is written."""
    from cxlab.catalog import load_catalog
    from cxlab.catalog.choose import DataFacts, choose, unknown_card

    facts = None
    for nb, parameters in work:
        named = {k: v for k, v in parameters.items() if k in _CARD_PARAMETERS and v and _reads_card(nb, k)}
        if not named:
            continue
        folder = parameters.get("catalog", nb.parameters["catalog"].default if "catalog" in nb.parameters else "catalog")
        cards = load_catalog(resolve(folder))
        for param, value in named.items():
            kind = _CARD_PARAMETERS[param]
            for name in value if isinstance(value, list) else [value]:
                if name not in getattr(cards, kind):
                    raise ParameterError(f"{nb.name}: {unknown_card(cards, kind, name)}")
            if "empty picks" in nb.parameters[param].help and kind != "segments":
                facts = facts or DataFacts.of(src)
                try:
                    choose(facts, cards, kind, value)
                except ParameterError as e:
                    raise ParameterError(f"{nb.name}: {e}") from None


def preflight(work: list[tuple[Notebook, dict[str, Any]]], src: Any) -> None:
    """Load the catalogue each notebook names, and check the cards the user named against the data, so a
    broken card (not UTF-8, a key given twice, a rule nested too deeply, a missing target line…) is a
    CardError (exit 2) before anything is written, not a failed notebook. A card a notebook takes by
    default is its own to judge: one that does not fit the data makes the report skipped, not the run refused."""
    from cxlab.analyses.trigger_card import check_target_line, snapshots
    from cxlab.catalog import load_catalog

    catalogs: dict[Path, Any] = {}
    for nb, parameters in work:
        if "catalog" not in nb.parameters:
            continue
        value = {name: p.default for name, p in nb.parameters.items()} | parameters
        path = resolve(value["catalog"])
        cat = catalogs.get(path) or catalogs.setdefault(path, load_catalog(path))
        named = {k: v for k, v in parameters.items() if v and _reads_card(nb, k)}
        triggers = [(named["trigger"], value.get("period_start", ""), value.get("period_end", ""))] if "trigger" in named else []
        if "hypothesis" in named:
            triggers.append((cat.get("hypotheses", named["hypothesis"]).trigger, "", ""))
        for name, start, end in triggers:
            trigger = cat.get("triggers", name)
            check_target_line(src, cat, trigger)
            snapshots(src, cat, trigger, start, end)
        if "campaign" in named:
            cat.get("campaigns", named["campaign"])


def check_run_id(run_id: str) -> None:
    """ParameterError (exit 2) unless ``run_id`` is a safe slug: it names a folder and goes into links."""
    if not safe_run_id(run_id):
        shown = run_id if len(run_id) <= 40 else run_id[:40] + "…"
        raise ParameterError(
            f"--run-id {shown!r}: use 1 to 100 letters, digits, '-', '_' or '.', not starting with a dot.")


def _writable(out: Path) -> Path:
    """``out`` as a folder this process can write in, or a CxlabError (exit 2) saying why not."""
    if out.exists() and not out.is_dir():
        raise CxlabError(f"--out {out} is a file, not a folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CxlabError(f"--out {out}: cannot create the folder: {e.strerror or e}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise CxlabError(f"--out {out}: the folder is not writable.")
    return out


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
             progress: bool, kernel: WarmKernel) -> NotebookRun:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    part = folder / f".{nb.name}.part.ipynb"
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(nb.path), str(part), parameters=parameters, kernel_name="python3", progress_bar=progress,
            language="python", engine_name="cxlab-warm", km=kernel.manager(),
        )
    except PapermillExecutionError as e:
        if e.ename == "NotApplicable":  # the report cannot apply to this data: skipped with its reason, not failed
            part.unlink(missing_ok=True)
            return NotebookRun(nb.name, "skipped", time.perf_counter() - start, parameters, error=str(e.evalue))
        failed = folder / f"{nb.name}.failed.ipynb"
        os.replace(part, failed)
        error = f"{e.ename}: {e.evalue}"
        return NotebookRun(nb.name, "failed", time.perf_counter() - start, parameters, notebook=failed.name, error=error)
    except (KeyboardInterrupt, OSError):
        part.unlink(missing_ok=True)
        raise
    except Exception as e:  # the kernel died (out of memory, killed) or could not start
        failed = folder / f"{nb.name}.failed.ipynb"
        kept = None
        if part.exists():
            os.replace(part, failed)
            kept = failed.name
        first = (str(e).strip().splitlines() or [""])[0]
        error = f"{type(e).__name__}: the kernel stopped before the notebook finished ({first or 'no message'})"
        return NotebookRun(nb.name, "failed", time.perf_counter() - start, parameters, notebook=kept, error=error)
    try:
        return _publish(nb, parameters, folder, provenance, lang, part, start)
    except BaseException:
        part.unlink(missing_ok=True)
        for suffix in (".results.json", ".html"):
            if not (folder / f"{nb.name}.ipynb").exists():
                (folder / f"{nb.name}{suffix}").unlink(missing_ok=True)
        raise


def _publish(nb: Notebook, parameters: dict[str, Any], folder: Path, provenance: dict[str, str], lang: str,
             part: Path, start: float) -> NotebookRun:
    """The executed notebook ``part`` → results.json, the HTML report and the .ipynb beside them."""
    import nbformat

    from cxlab.report.markup import active_content
    from cxlab.runner.html import take_results, to_html

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
    jobs: int = 1,
    force: bool = False,
) -> RunResult:
    """Run ``names`` (all notebooks if empty) on ``data`` into ``out/<run_id>/``, ``jobs`` notebooks at a time.

    A notebook unchanged since an earlier run into ``out`` is reused from it unless ``force`` (see
    :mod:`cxlab.runner.cache`). Raises CxlabError (exit 2) on bad input before writing anything; a notebook
    that fails is recorded in the result (exit 1 from the CLI) and the remaining notebooks still run.
    """
    if run_id is not None:
        check_run_id(run_id)
    if jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {jobs}.")
    if "data" in (params or {}):
        raise ParameterError("-p data=… is not accepted: give the data source with --data (one source per run, "
                             "validated and fingerprinted).")
    source = resolve_source(data)
    work = plan(names, dict(params or {}), {"data": source, "lang": lang})
    src = None if (quick := folder_fingerprint(source)) else _connect(source)
    fingerprint = quick or src.fingerprint()  # type: ignore[union-attr]
    keys = _keys(work, fingerprint)
    target = resolve(out)
    found = {} if force or not target.is_dir() else cache.earlier(target)
    reuse = {i: found[k] for i, k in enumerate(keys) if k in found and cache.cacheable(work[i][1])}
    todo = [(i, nb, parameters) for i, (nb, parameters) in enumerate(work) if i not in reuse]
    os.environ.setdefault("PYTHONHASHSEED", "0")  # before any kernel starts: a process's hash seed is fixed at its start
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    crew = _Crew(min(jobs, len(todo)), jobs) if jobs > 1 and todo else None
    try:
        return _checked_run(work, todo, reuse, keys, src, source, fingerprint, target, run_id, jobs, progress,
                            check_data, crew)
    finally:
        if crew is not None:
            crew.dismiss()


def _checked_run(work: list[tuple[Notebook, dict[str, Any]]], todo: list[tuple[int, Notebook, dict[str, Any]]],
                 reuse: dict[int, tuple[str, dict[str, Any]]], keys: list[str], src: Any, source: str, fingerprint: str,
                 target: Path, run_id: str | None, jobs: int, progress: bool, check_data: bool,
                 crew: _Crew | None) -> RunResult:
    """:func:`run` from the checks of the data and the cards on (while ``crew``'s kernels start)."""
    report = None
    if todo:  # a reused notebook's inputs were checked by the run that made it
        src = src or _connect(source)
        if check_data:
            from cxlab.data.validate import validate

            report = validate(src)
            report.raise_for_errors()
            for failure in report.warnings:
                print(f"warning: {failure.message}", file=sys.stderr)
        rest = [(nb, parameters) for _, nb, parameters in todo]
        preflight(rest, src)  # broken cards first: their messages name the file, line and field
        check_cards(rest, src)
    out = _writable(target)
    clean_stale(out)
    run_id, folder = _new_run_folder(out, run_id)
    env = environment(project_root())
    import platform

    manifest: dict[str, Any] = {
        "run_id": run_id, "started_at": now(), "status": "running", "environment": env,
        "pid": os.getpid(), "host": platform.node(), "jobs": jobs,
        "data": {"source": source, "fingerprint": fingerprint,  # not connected (null) when every notebook is reused
                 "timezone_normalised": src.normalised if src is not None else None},
        "notebooks": [],
    }
    try:
        write_json(folder / "manifest.json", manifest)
    except OSError as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise CxlabError(f"cannot write in {out}: {e.strerror or e}") from None
    result = RunResult(run_id, folder)
    handover = _hand_over(folder, source, src, fingerprint, report)
    outcomes: list[NotebookRun | None] = [None] * len(work)
    lock = threading.Lock()

    def record(i: int, outcome: NotebookRun) -> None:
        with lock:
            outcome.key = keys[i]
            outcomes[i] = outcome
            result.notebooks = [o for o in outcomes if o is not None]
            manifest["notebooks"] = [vars(o) for o in result.notebooks]
            write_json(folder / "manifest.json", manifest)

    try:
        for i, (earlier_run, entry) in sorted(reuse.items()):
            nb, parameters = work[i]
            cache.bring(entry, out / earlier_run, folder)
            origin = str(entry.get("reused_from") or earlier_run)
            record(i, NotebookRun(nb.name, entry["status"], 0.0, parameters, html=entry.get("html"),
                                  notebook=entry.get("notebook"), results=entry.get("results"),
                                  error=entry.get("error"), reused_from=origin))
            if progress:
                print(f"{nb.name} unchanged since run {origin}, reused", file=sys.stderr, flush=True)
        provenance = {"run_id": run_id, "version": env["cxlab"], "fingerprint": fingerprint,
                      "commit": env["git_commit"]}
        _run_all(_longest_first(todo, out), folder, provenance, jobs, progress, len(work), record, crew)
        manifest["status"] = "ok" if result.ok else "failed"
        changed = _data_changed(src, fingerprint) if src is not None else None
        if changed:
            manifest["status"], manifest["error"] = "failed", changed
            raise NotebookFailed(f"{changed}; the run {run_id} is marked failed")
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        raise
    except OSError as e:  # a full disk, a folder made read-only during the run
        manifest["status"] = "failed"
        manifest["error"] = f"cannot write the run's files: {e.strerror or e}"
        raise NotebookFailed(f"{manifest['error']} (in {folder}); the run {run_id} is marked failed") from None
    finally:
        handover()
        manifest["finished_at"] = now()
        _record(folder, manifest, out)
    return result


def _hand_over(folder: Path, source: str, src: Any, fingerprint: str, report: Any) -> Callable[[], None]:
    """Write what the preflight found (:class:`cxlab.data.context.RunContext`) for the notebooks' kernels,
    which inherit :data:`~cxlab.data.context.ENV` naming it, so they do not validate the data again; returns
    what takes it back at the end of the run. Nothing is handed over when the data was not validated."""
    if report is None:
        return lambda: None
    from cxlab.data import context
    from cxlab.data.settings import read_settings

    path = folder / ".context.json"
    context.RunContext(source, fingerprint, read_settings(source).model_dump(mode="json"), report).write(path)
    before = os.environ.get(context.ENV)
    os.environ[context.ENV] = str(path)

    def take_back() -> None:
        path.unlink(missing_ok=True)
        if before is None:
            os.environ.pop(context.ENV, None)
        else:
            os.environ[context.ENV] = before
    return take_back


def _connect(source: str) -> Any:
    """The open source (the engine is imported here: a run answered from the cache of a data folder needs none)."""
    from cxlab.data.connect import connect

    return connect(source)


def _keys(work: list[tuple[Notebook, dict[str, Any]]], fingerprint: str) -> list[str]:
    """Each notebook's cache key: its parameters with defaults resolved, the data, the code, and every
    catalogue folder the run reads (so any card changed invalidates every notebook of the run)."""
    every = [{name: p.default for name, p in nb.parameters.items()} | parameters for nb, parameters in work]
    folders = sorted({resolve("catalog")} | {resolve(values["catalog"]) for values in every if values.get("catalog")})
    catalog = "+".join(cache.folder_hash(folder) for folder in folders)
    return [cache.key(nb.path, values, fingerprint, catalog) for (nb, _), values in zip(work, every, strict=True)]


def _longest_first(todo: list[tuple[int, Notebook, dict[str, Any]]], out: Path) -> list[tuple[int, Notebook, dict[str, Any]]]:
    """``todo`` with the notebooks that took longest in earlier runs into ``out`` first (so that with
    ``--jobs`` the long one does not start last); notebooks never run before keep their order, first."""
    seconds: dict[str, float] = {}
    for _, manifest in manifests(out):
        for entry in manifest.get("notebooks") or []:
            if isinstance(entry, dict) and entry.get("status") == "ok" and not entry.get("reused_from"):
                seconds[str(entry.get("name"))] = float(entry.get("seconds") or 0.0)
    return sorted(todo, key=lambda item: -seconds.get(item[1].name, float("inf")))


class _Crew:
    """The kernels of a run with ``jobs`` above 1, each on its own thread (a kernel manager is driven from the
    thread that started it). They start and make the notebooks' imports at once, while the data and the cards
    are checked; then each runs :attr:`job` on its kernel, unless the run was called off first."""

    def __init__(self, size: int, jobs: int) -> None:
        from cxlab.runner.kernel import WarmKernel, thread_caps

        self.kernels = [WarmKernel(project_root(), thread_caps(jobs)) for _ in range(size)]
        self.job: Callable[[WarmKernel], None] | None = None
        self.go, self.stop = threading.Event(), threading.Event()
        self.threads = [threading.Thread(target=self._serve, args=(k,), name=f"cxlab-job-{n}", daemon=True)
                        for n, k in enumerate(self.kernels, 1)]
        for t in self.threads:
            t.start()

    def _serve(self, kernel: WarmKernel) -> None:
        try:
            kernel.warm(self.stop)
            self.go.wait()
            if self.job is not None and not self.stop.is_set():
                self.job(kernel)
        finally:
            kernel.close()

    def run(self, job: Callable[[WarmKernel], None]) -> None:
        """Run ``job`` on every kernel and wait for all; Ctrl-C or SIGTERM kills the kernels and re-raises."""
        self.job = job
        self.go.set()
        try:
            for t in self.threads:
                while t.is_alive():
                    t.join(0.2)
        except BaseException:
            self.dismiss()
            raise

    def dismiss(self) -> None:
        """Call the run off (or end it): kill the kernels and wait for their threads to close them."""
        self.stop.set()
        self.go.set()
        if any(t.is_alive() for t in self.threads):
            for k in self.kernels:
                k.kill()
            for t in self.threads:
                t.join(30)


def _run_all(todo: list[tuple[int, Notebook, dict[str, Any]]], folder: Path, provenance: dict[str, str], jobs: int,
             progress: bool, total: int, record: Any, crew: _Crew | None) -> None:
    """Execute ``todo`` on ``crew``'s kernels, or on this thread's own when there is no crew (``jobs`` 1),
    calling ``record(i, outcome)`` as each notebook finishes. Ctrl-C or SIGTERM stops every kernel; notebooks
    cut short leave no files and are not recorded."""
    if not todo:
        return
    from cxlab.runner.kernel import give_back, lease, thread_caps

    queue = list(todo)
    take = threading.Lock()
    stop = crew.stop if crew is not None else threading.Event()
    errors: list[BaseException] = []

    def work(kernel: WarmKernel) -> None:
        try:
            while not stop.is_set():
                with take:
                    if not queue:
                        return
                    i, nb, parameters = queue.pop(0)
                if progress:
                    print(f"[{i + 1}/{total}] {nb.name}", file=sys.stderr, flush=True)
                outcome = _execute(nb, parameters, folder, provenance | {"finished": now()},
                                   parameters.get("lang", "en"), progress and jobs == 1, kernel)
                if stop.is_set():  # cut short by Ctrl-C: nothing of it stays
                    for name in (outcome.html, outcome.notebook, outcome.results):
                        if name:
                            (folder / name).unlink(missing_ok=True)
                    return
                record(i, outcome)
        except BaseException as e:  # noqa: BLE001 (handed to the main thread)
            stop.set()
            errors.append(e)

    try:
        if crew is not None:
            crew.run(work)
        else:  # one kernel on this thread: leased from the process's idle kernels, given back if all went well
            kernel = lease(project_root(), thread_caps(jobs))
            try:
                work(kernel)
            finally:
                if stop.is_set():
                    kernel.close()
                else:
                    give_back(kernel)
    except BaseException:
        for leftover in folder.glob(".*.part.ipynb"):
            leftover.unlink(missing_ok=True)
        raise
    if errors:
        raise errors[0]


def _data_changed(src: Any, fingerprint: str) -> str | None:
    """Why the data is no longer what the run started on, or None: the fingerprint is taken again."""
    try:
        again = src.fingerprint()
    except OSError as e:
        return f"the data changed during the run: {e.filename or 'a file'} can no longer be read ({e.strerror})"
    return None if again == fingerprint else (
        f"the data changed during the run (fingerprint {fingerprint} at the start, {again} at the end)")


def _record(folder: Path, manifest: dict[str, Any], out: Path) -> None:
    """Write the final manifest and the index; when even that fails (a full disk), say so on stderr."""
    try:
        write_json(folder / "manifest.json", manifest)
    except OSError as e:
        print(f"error: cannot write {folder / 'manifest.json'}: {e.strerror or e}", file=sys.stderr)
    try:
        write_index(out)
    except OSError as e:
        print(f"error: cannot write {out / 'index.html'}: {e.strerror or e}", file=sys.stderr)


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: Path) -> list[str]:
    """Runs left "running" by a process that no longer exists (SIGKILL, a power cut) are marked
    interrupted, and their ``.part`` and temporary files removed; returns their run ids."""
    import platform

    stale = []
    for path, manifest in manifests(out):
        if manifest.get("status") != "running":
            continue
        if manifest.get("host", platform.node()) == platform.node() and _pid_alive(manifest.get("pid")):
            continue  # another run in progress
        for leftover in [*path.parent.glob(".*.part.ipynb"), *path.parent.glob(".*.tmp"), *path.parent.glob(".context.json")]:
            leftover.unlink(missing_ok=True)
        manifest["status"] = "interrupted"
        manifest["error"] = "the run's process stopped without finishing (killed?); found by a later run"
        try:
            write_json(path, manifest)
            stale.append(str(manifest.get("run_id")))
        except OSError:
            continue
    return stale


def raise_for_failures(result: RunResult) -> None:
    """NotebookFailed (exit 1) naming each failed notebook, its error and where its copy is."""
    failed = [nb for nb in result.notebooks if nb.status not in ("ok", "skipped")]
    if failed:
        lines = [f"{nb.name}: {nb.error} " + (f"(see {result.folder / nb.notebook})" if nb.notebook else "(no copy was kept)")
                 for nb in failed]
        raise NotebookFailed("notebook(s) failed:\n  " + "\n  ".join(lines))
