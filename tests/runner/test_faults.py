"""Faults leave a true record: a full disk, an unusable --out, a kernel that dies, SIGTERM, SIGKILL and data
that changes under a run each end with a clear message, a non-zero exit, a final status in the manifest, the
index updated, no ``.part`` or temporary files, and earlier runs untouched."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cxlab import cli
from cxlab.errors import NotebookFailed
from cxlab.runner import execute, run

ROOT = Path(__file__).resolve().parents[2]


def _earlier(out: Path) -> bytes:
    (out / "earlier").mkdir(parents=True)
    (out / "earlier" / "manifest.json").write_text(json.dumps({"run_id": "earlier", "status": "ok", "notebooks": []}))
    return (out / "earlier" / "manifest.json").read_bytes()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if p.name.endswith((".tmp", ".part.ipynb")) or ".part" in p.name)


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_a_full_disk_fails_the_run_with_a_true_record(small_demo, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    before = _earlier(out)
    real = execute.write_text

    def full(path, text):
        if path.suffix == ".html" and path.parent.name == "full":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, text)

    monkeypatch.setattr(execute, "write_text", full)
    with pytest.raises(NotebookFailed, match="cannot write the run's files: No space left on device"):
        run(["00"], data=small_demo, out=out, run_id="full", progress=False)
    m = _manifest(out / "full")
    assert m["status"] == "failed" and "No space left" in m["error"] and m["finished_at"]
    assert not _leftovers(out), _leftovers(out)
    assert not list((out / "full").glob("00-*")), "half a notebook's files were left"
    assert "full" in (out / "index.html").read_text()
    assert (out / "earlier" / "manifest.json").read_bytes() == before


def test_an_out_that_is_a_file_is_refused(small_demo, tmp_path, capsys):
    target = tmp_path / "reports"
    target.write_text("not a folder")
    assert cli.main(["run", "00", "--data", str(small_demo), "--out", str(target), "--quiet"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_refused(small_demo, tmp_path, capsys):
    target = tmp_path / "reports"
    target.mkdir()
    target.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert cli.main(["run", "00", "--data", str(small_demo), "--out", str(target), "--quiet"]) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        target.chmod(stat.S_IRWXU)


@pytest.mark.slow  # a real kernel killed mid-run: timing-dependent and heavy on a loaded machine
def test_a_kernel_that_dies_fails_its_notebook_and_the_others_still_run(small_demo, tmp_path, monkeypatch):
    import papermill
    from nbclient.exceptions import DeadKernelError

    real = papermill.execute_notebook

    def dying(path, output, **kwargs):
        if "00-" in str(path):
            Path(output).write_text("{}")  # papermill had started writing the notebook
            raise DeadKernelError("Kernel died")
        return real(path, output, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", dying)
    result = run(["00", "05"], data=small_demo, out=tmp_path, run_id="dead", progress=False)
    first, second = result.notebooks
    assert first.status == "failed" and "the kernel stopped before the notebook finished (Kernel died)" in first.error
    assert first.notebook == "00-data-overview.failed.ipynb" and second.status == "ok"
    assert _manifest(tmp_path / "dead")["status"] == "failed"
    assert not _leftovers(tmp_path)


@pytest.mark.parametrize("how", ["changed", "deleted"])
def test_data_changed_during_a_run_marks_it_failed(how, small_demo, tmp_path, monkeypatch):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(small_demo, data)
    real = execute._execute

    def meddling(*args, **kwargs):
        outcome = real(*args, **kwargs)
        events = data / "events.parquet"
        if how == "deleted":
            events.unlink()
        else:
            events.write_bytes(events.read_bytes() + b"\0")
        return outcome

    monkeypatch.setattr(execute, "_execute", meddling)
    with pytest.raises(NotebookFailed, match="the data changed during the run"):
        run(["00"], data=data, out=tmp_path / "out", run_id="moved", progress=False)
    m = _manifest(tmp_path / "out" / "moved")
    assert m["status"] == "failed" and "the data changed during the run" in m["error"]
    assert '"failed"' in json.dumps(m) and "moved" in (tmp_path / "out" / "index.html").read_text()


def test_reports_respect_the_umask(small_demo, tmp_path):
    old = os.umask(0o022)
    try:
        run(["00"], data=small_demo, out=tmp_path, run_id="modes", progress=False)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "modes").iterdir()}
    assert set(modes.values()) == {0o644}, modes
    assert stat.S_IMODE((tmp_path / "index.html").stat().st_mode) == 0o644


def _start(small_demo: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cxlab", "run", "02", "--data", str(small_demo), "--out", str(out),
                             "--run-id", "cut", "--quiet"], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                            start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline and not list((out / "cut").glob(".*.part.ipynb")):
        time.sleep(0.2)
    time.sleep(2)
    return proc


@pytest.mark.slow  # a real kernel killed mid-run: timing-dependent and heavy on a loaded machine
def test_sigterm_mid_notebook_is_recorded_as_interrupted(small_demo, tmp_path):
    proc = _start(small_demo, tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["manifest.json"]
    assert _manifest(tmp_path / "cut")["status"] == "interrupted"
    assert "interrupted" in (tmp_path / "index.html").read_text()


@pytest.mark.slow  # a real kernel killed mid-run: timing-dependent and heavy on a loaded machine
def test_sigkill_is_found_and_recorded_by_the_next_run(small_demo, tmp_path):
    proc = _start(small_demo, tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job: the command and its kernel
    proc.communicate(timeout=60)
    assert _manifest(tmp_path / "cut")["status"] == "running"  # nothing could record it…
    assert _leftovers(tmp_path / "cut")
    run(["00"], data=small_demo, out=tmp_path, run_id="next", progress=False)  # …until the next run
    m = _manifest(tmp_path / "cut")
    assert m["status"] == "interrupted" and "stopped without finishing" in m["error"]
    assert not _leftovers(tmp_path), _leftovers(tmp_path)
    index = (tmp_path / "index.html").read_text()
    assert "interrupted" in index and "next" in index


def test_a_running_run_of_a_live_process_is_left_alone(tmp_path):
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "manifest.json").write_text(json.dumps({"run_id": "live", "status": "running",
                                                                  "pid": os.getpid()}))
    (tmp_path / "live" / ".00-x.part.ipynb").write_text("{}")
    assert execute.clean_stale(tmp_path) == []
    assert (tmp_path / "live" / ".00-x.part.ipynb").exists()


def test_demo_data_never_deletes_the_old_folder_before_the_new_one_is_in(tmp_path, monkeypatch):
    from cxlab.data import write
    from cxlab.data.demo import generate

    out = tmp_path / "demo"
    out.mkdir()
    (out / "clients.parquet").write_text("the old demo")
    real = write.os.replace
    calls = []

    def failing(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if Path(dst) == out and Path(src).name.startswith(".demo.") and ".old-" not in Path(src).name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(write.os, "replace", failing)
    with pytest.raises(OSError):
        generate(out, clients=500, seed=1)
    assert (out / "clients.parquet").read_text() == "the old demo"  # renamed away, then back
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"], "a temporary folder was left"
    monkeypatch.setattr(write.os, "replace", real)
    generate(out, clients=500, seed=1)
    assert (out / "truth.json").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
    assert stat.S_IMODE(out.stat().st_mode) & 0o055 == 0o055 & ~write.current_umask()


def test_a_failure_without_a_kept_copy_is_still_named(tmp_path):
    """A kernel that dies before writing anything keeps no copy: the failure names the notebook, not a TypeError."""
    result = execute.RunResult("r", tmp_path, [execute.NotebookRun("01_x", "failed", 0.0, {}, error="KernelDied: gone")])
    with pytest.raises(NotebookFailed, match=r"01_x: KernelDied: gone \(no copy was kept\)"):
        execute.raise_for_failures(result)
