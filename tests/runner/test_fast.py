"""Faster runs: the run cache (an unchanged notebook is reused, a changed input invalidates exactly the
notebooks it feeds), warm kernels (one per worker, a clean namespace for every notebook) and ``--jobs``
(the same results.json as a serial run; Ctrl-C and SIGTERM keep their guarantees)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cxlab import cli
from cxlab.runner import execute, run
from cxlab.runner.execute import NotebookRun

ROOT = Path(__file__).resolve().parents[2]


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


@pytest.fixture
def fake_execute(monkeypatch):
    """``_execute`` without a kernel: writes the three files of an ok notebook and counts its calls."""
    calls: list[str] = []

    def fake(nb, parameters, folder, provenance, lang, progress, kernel):
        calls.append(nb.name)
        for suffix in (".html", ".ipynb", ".results.json"):
            (folder / f"{nb.name}{suffix}").write_text(json.dumps(parameters, sort_keys=True, default=str))
        return NotebookRun(nb.name, "ok", 0.1, parameters, html=f"{nb.name}.html", notebook=f"{nb.name}.ipynb",
                           results=f"{nb.name}.results.json")

    monkeypatch.setattr(execute, "_execute", fake)
    return calls


def test_an_unchanged_rerun_reuses_every_notebook_and_says_so(small_demo, tmp_path, fake_execute, capsys):
    out = tmp_path / "reports"
    run(["00", "05"], data=small_demo, out=out, run_id="a", progress=False)
    assert fake_execute == ["00-data-overview", "05-client-base"]
    again = run(["00", "05"], data=small_demo, out=out, run_id="b", progress=True)
    assert fake_execute == ["00-data-overview", "05-client-base"], "an unchanged notebook ran again"
    assert "00-data-overview unchanged since run a, reused" in capsys.readouterr().err
    m = _manifest(out / "b")
    assert m["status"] == "ok" and [nb["reused_from"] for nb in m["notebooks"]] == ["a", "a"]
    assert [nb["key"] for nb in m["notebooks"]] == [nb["key"] for nb in _manifest(out / "a")["notebooks"]]
    for nb in again.notebooks:
        assert (out / "b" / nb.results).read_bytes() == (out / "a" / nb.results).read_bytes()
    assert 'href="b/00-data-overview.html"' in (out / "index.html").read_text()
    assert "reused from a" in (out / "index.html").read_text()
    run(["00"], data=small_demo, out=out, run_id="c", progress=False)  # a reuse of a reuse names the origin
    assert _manifest(out / "c")["notebooks"][0]["reused_from"] == "a"
    run(["00"], data=small_demo, out=out, run_id="d", progress=False, force=True)
    assert fake_execute[-1] == "00-data-overview" and "reused_from" not in json.dumps(
        [nb for nb in _manifest(out / "d")["notebooks"] if nb["reused_from"]])


def test_a_change_invalidates_exactly_the_notebooks_it_feeds(small_demo, tmp_path, fake_execute):
    out = tmp_path / "reports"
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    params = {"catalog": str(catalog)}
    names = ["00", "01", "05"]
    run(names, data=small_demo, out=out, params=params, run_id="base", progress=False)
    assert len(fake_execute) == 3

    def again(run_id: str, **changes) -> list[str]:
        before = len(fake_execute)
        run(names, data=changes.pop("data", small_demo), out=out, params=params | changes, run_id=run_id,
            progress=False)
        return fake_execute[before:]

    assert again("same") == []
    assert again("months", months="6") == ["05-client-base"]  # a parameter only 05 has
    assert again("months-again", months="6") == []
    assert again("default-spelled-out", months="12") == []  # defaults are resolved before the key
    card = next((catalog / "hypotheses").glob("*.yml"))
    card.write_text(card.read_text() + "\n# an edit\n")
    assert again("card") == ["00-data-overview", "01-hypothesis", "05-client-base"]  # any card: every notebook
    data = tmp_path / "data"
    shutil.copytree(small_demo, data)
    every = ["00-data-overview", "01-hypothesis", "05-client-base"]
    assert again("copied-data", data=data) == every  # the source's path is a parameter: the reports show it
    assert again("copied-data-again", data=data) == []
    shutil.copy(data / "products.parquet", data / "extra_products.parquet")  # a new table: a new fingerprint
    assert again("changed-data", data=data) == every


def test_a_failed_notebook_or_one_whose_files_are_gone_is_not_reused(small_demo, tmp_path, fake_execute):
    out = tmp_path / "reports"
    run(["00"], data=small_demo, out=out, run_id="a", progress=False)
    (out / "a" / "00-data-overview.html").unlink()
    run(["00"], data=small_demo, out=out, run_id="b", progress=False)
    assert fake_execute == ["00-data-overview"] * 2
    m = _manifest(out / "b")
    m["notebooks"][0]["status"] = "failed"
    (out / "b" / "manifest.json").write_text(json.dumps(m))
    (out / "a").rename(tmp_path / "gone")
    run(["00"], data=small_demo, out=out, run_id="c", progress=False)
    assert fake_execute == ["00-data-overview"] * 3


def test_a_notebook_asked_to_write_files_always_runs(small_demo, tmp_path, fake_execute):
    out = tmp_path / "reports"
    for run_id in ("a", "b"):
        run(["07"], data=small_demo, out=out, run_id=run_id, params={"score_out": "x.parquet"}, progress=False,
            check_data=False)
    assert fake_execute == ["07-uplift-targeting"] * 2


def _tiny_project(root: Path) -> Path:
    """A project with three notebooks: the first leaves variables and state behind, the others look for them."""
    (root / "notebooks").mkdir(parents=True)
    params = new_code_cell('data: str = "data/demo"  # data\nlang: str = "en"  # language\nmark: int = 0  # a number')
    params.metadata["tags"] = ["parameters"]
    leave = new_code_cell("import os, warnings\nleak = 42\nos.chdir('/')\nwarnings.simplefilter('error')\n"
                          "os.environ['CXLAB_LEAK'] = '1'\nimport json\njson.loads('{}')")
    look = new_code_cell("import os, warnings, sys\n"
                         "assert 'leak' not in globals() and 'json' not in globals(), sorted(globals())\n"
                         "assert os.path.realpath(os.getcwd()) == os.path.realpath(os.environ['CXLAB_HOME']), os.getcwd()\n"
                         "assert 'CXLAB_LEAK' not in os.environ\n"
                         "assert not any(f[0] == 'error' and f[2] is Warning for f in warnings.filters)\n"
                         "assert get_ipython().execution_count <= 4, get_ipython().execution_count\n"
                         "assert 'json' in sys.modules  # the interpreter stays warm\n"
                         "leak = mark")
    for name, cells in (("00-leave", [leave]), ("01-look", [look]), ("02-look-again", [look])):
        nbformat.write(new_notebook(cells=[params, *cells], metadata={"kernelspec": {"name": "python3",
                       "display_name": "Python 3", "language": "python"}}), root / "notebooks" / f"{name}.ipynb")
    return root


def test_every_notebook_on_a_warm_kernel_sees_a_clean_namespace(small_demo, tmp_path, monkeypatch):
    from cxlab.runner import kernel

    root = _tiny_project(tmp_path / "project")
    monkeypatch.setenv("CXLAB_HOME", str(root))
    monkeypatch.setattr(execute, "_publish", lambda nb, parameters, folder, provenance, lang, part, start: (
        os.replace(part, folder / f"{nb.name}.ipynb"),
        NotebookRun(nb.name, "ok", 0.0, parameters, notebook=f"{nb.name}.ipynb"))[1])
    started = []
    real = kernel.WarmKernel.manager

    def counting(self):
        if self.km is None:
            started.append(1)
        return real(self)

    monkeypatch.setattr(kernel.WarmKernel, "manager", counting)
    result = run([], data=small_demo, out=tmp_path / "out", params={"mark": "7"}, run_id="warm", progress=False,
                 check_data=False)
    assert [nb.status for nb in result.notebooks] == ["ok", "ok", "ok"], [nb.error for nb in result.notebooks]
    assert started == [1], "one kernel for the three notebooks"
    executed = nbformat.read(tmp_path / "out" / "warm" / "01-look.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "mark = 7" in injected[0].source  # the parameters stay visible in the run
    assert [c.execution_count for c in executed.cells if c.cell_type == "code"] == [1, 2, 3]


def test_the_record_of_a_running_notebook_is_written_as_each_cell_starts_and_at_the_end(tmp_path):
    from cxlab.runner.kernel import Record

    nb = new_notebook(cells=[new_code_cell("1"), new_code_cell("2")], metadata={"papermill": {}})
    part = tmp_path / ".nb.part.ipynb"
    record = Record(nb, output_path=str(part), progress_bar=False)
    record.notebook_start()
    first, second = record.nb.cells
    record.cell_start(first, 0)
    first.outputs = [nbformat.v4.new_output("stream", text="one")]
    record.cell_complete(first, 0)
    on_disk = nbformat.read(part, as_version=4)
    assert on_disk.cells[0].metadata.papermill.status == "running" and not on_disk.cells[0].outputs  # no write at a cell's end
    record.cell_start(second, 1)
    on_disk = nbformat.read(part, as_version=4)  # the next start holds the finished cell, and says which one runs now
    assert on_disk.cells[0].outputs[0].text == "one" and on_disk.cells[0].metadata.papermill.status == "completed"
    assert on_disk.cells[1].metadata.papermill.status == "running"
    record.cell_complete(second, 1)
    record.notebook_complete()
    done = nbformat.read(part, as_version=4)
    nbformat.validate(done)  # not checked at each write, valid at the end
    assert [c.metadata.papermill.status for c in done.cells] == ["completed", "completed"]


def test_the_next_run_in_the_process_reuses_the_kernel_with_the_environment_of_now(small_demo, tmp_path, monkeypatch):
    from cxlab.runner import kernel

    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    params = new_code_cell('data: str = "data/demo"  # data\nlang: str = "en"  # language\nout: str = ""  # a file')
    params.metadata["tags"] = ["parameters"]
    tell = new_code_cell("import os, pathlib\npathlib.Path(out).write_text(f\"{os.getpid()} {os.environ.get('CXLAB_SEEN', '-')}\")")
    nbformat.write(new_notebook(cells=[params, tell], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                   "language": "python"}}), root / "notebooks" / "00-tell.ipynb")
    monkeypatch.setenv("CXLAB_HOME", str(root))
    monkeypatch.setattr(execute, "_publish", lambda nb, parameters, folder, provenance, lang, part, start: (
        os.replace(part, folder / f"{nb.name}.ipynb"),
        NotebookRun(nb.name, "ok", 0.0, parameters, notebook=f"{nb.name}.ipynb"))[1])
    seen = []
    for mark in ("first", "second"):
        monkeypatch.setenv("CXLAB_SEEN", mark)
        result = run([], data=small_demo, out=tmp_path / "out", params={"out": str(tmp_path / mark)}, run_id=mark,
                     progress=False, check_data=False)
        assert result.ok, [nb.error for nb in result.notebooks]
        seen.append((tmp_path / mark).read_text().split())
    assert seen[0][0] == seen[1][0], "the second run ran on the first run's kernel"
    assert [s[1] for s in seen] == ["first", "second"]  # each notebook sees the caller's environment as it is now
    kernel.close_idle()
    assert not kernel._IDLE


def _kernels_of_this_process() -> set[str]:
    return set(subprocess.run(["pgrep", "-f", "ipykernel_launcher", "-P", str(os.getpid())], capture_output=True,
                              text=True).stdout.split())


def test_with_jobs_the_kernels_start_and_import_while_the_run_is_checked(small_demo, tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    params = new_code_cell('data: str = "data/demo"  # data\nlang: str = "en"  # language')
    params.metadata["tags"] = ["parameters"]
    first = new_code_cell("import sys\n"
                          "assert 'cxlab.analyses.triggers' in sys.modules  # imported while the run was checked\n"
                          "assert not {'cxlab', 'matplotlib', '_cxlab_clean'} & set(globals()), sorted(globals())\n"
                          "assert get_ipython().execution_count <= 4, get_ipython().execution_count  # the warm-up counted nothing\n"
                          "assert sys.flags.hash_randomization == 0  # started after PYTHONHASHSEED was set")
    for name in ("00-first", "01-first"):
        nbformat.write(new_notebook(cells=[params, first], metadata={"kernelspec": {"name": "python3",
                       "display_name": "Python 3", "language": "python"}}), root / "notebooks" / f"{name}.ipynb")
    monkeypatch.setenv("CXLAB_HOME", str(root))
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    monkeypatch.setattr(execute, "_publish", lambda nb, parameters, folder, provenance, lang, part, start: (
        os.replace(part, folder / f"{nb.name}.ipynb"),
        NotebookRun(nb.name, "ok", 0.0, parameters, notebook=f"{nb.name}.ipynb"))[1])
    before = _kernels_of_this_process()
    checked = []

    def slow_preflight(work, src):  # the checks outlast the kernels' start: both are up before a notebook runs
        deadline = time.time() + 60
        while time.time() < deadline and len(_kernels_of_this_process() - before) < 2:
            time.sleep(0.1)
        checked.append(len(_kernels_of_this_process() - before))

    monkeypatch.setattr(execute, "preflight", slow_preflight)
    result = run([], data=small_demo, out=tmp_path / "out", run_id="warm", progress=False, check_data=False, jobs=2)
    assert [nb.status for nb in result.notebooks] == ["ok", "ok"], [nb.error for nb in result.notebooks]
    assert checked == [2], "the kernels did not start while the run was checked"
    time.sleep(0.5)
    assert _kernels_of_this_process() <= before, "a kernel outlived the run"


def test_a_run_with_jobs_refused_by_its_checks_leaves_no_kernel_and_no_folder(small_demo, tmp_path, monkeypatch):
    from cxlab.errors import ParameterError

    before = _kernels_of_this_process()

    def refuse(work, src):
        deadline = time.time() + 60
        while time.time() < deadline and len(_kernels_of_this_process() - before) < 2:
            time.sleep(0.1)
        raise ParameterError("a card that does not fit")

    monkeypatch.setattr(execute, "preflight", refuse)
    with pytest.raises(ParameterError, match="does not fit"):
        run(["00", "05"], data=small_demo, out=tmp_path / "out", progress=False, check_data=False, jobs=2)
    assert not (tmp_path / "out").exists()
    time.sleep(0.5)
    assert _kernels_of_this_process() <= before, "a kernel outlived the refused run"


@pytest.mark.slow  # three real notebooks, serially and on two kernels
def test_jobs_2_writes_the_same_results_as_a_serial_run(small_demo, tmp_path):
    names, params = ["00", "02", "05"], {"model_sample": "5000"}
    serial = run(names, data=small_demo, out=tmp_path / "serial", params=params, run_id="s", progress=False)
    parallel = run(names, data=small_demo, out=tmp_path / "parallel", params=params, run_id="p", progress=False,
                   jobs=2)
    assert serial.ok and parallel.ok, [nb.error for nb in [*serial.notebooks, *parallel.notebooks]]
    assert [nb.name for nb in parallel.notebooks] == [nb.name for nb in serial.notebooks]  # plan order
    for a, b in zip(serial.notebooks, parallel.notebooks, strict=True):
        assert (serial.folder / a.results).read_bytes() == (parallel.folder / b.results).read_bytes(), a.name
    assert _manifest(parallel.folder)["jobs"] == 2


@pytest.mark.slow  # real kernels stopped mid-run
def test_sigterm_with_jobs_stops_every_kernel_and_records_the_run(small_demo, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cxlab", "run", "02", "04", "--jobs", "2", "--data", str(small_demo),
                             "--out", str(tmp_path), "--run-id", "cut", "--quiet"], stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((tmp_path / "cut").glob(".*.part.ipynb"))) < 2:
        time.sleep(0.2)
    time.sleep(2)
    kernels = subprocess.run(["pgrep", "-f", "ipykernel_launcher", "-P", str(proc.pid)], capture_output=True,
                             text=True).stdout.split()
    assert len(kernels) == 2, kernels
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["manifest.json"]
    assert _manifest(tmp_path / "cut")["status"] == "interrupted"
    time.sleep(1)
    assert not [pid for pid in kernels if Path(f"/proc/{pid}").exists()], "a kernel outlived the run"


def test_run_help_shows_jobs_and_force():
    text = cli.parser()._subparsers._group_actions[0].choices["run"].format_help()
    assert "--jobs" in text and "(default: 1)" in text and "--force" in text
    assert cli.main(["run", "00", "--jobs", "0", "--quiet"]) == 2
