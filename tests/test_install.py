"""End to end as a user installs it: build the wheel, install it into a fresh venv outside the repository,
`cxlab init`, `cxlab demo-data`, `cxlab run 00` (on the demo folder, then through the example mapping, and
`cxlab diff` of the two) — the packaged notebooks and catalogue do the work.

The fresh venv gets cxlab from the wheel only; its dependencies come from this venv's site-packages
through a ``.pth`` line (nothing is downloaded, and the editable cxlab of this venv stays invisible: a
``.pth`` path's own ``.pth`` files are not processed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_wheel_install_init_demo_data_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CXLAB_HOME", "PYTHONPATH", "VIRTUAL_ENV")}
    # a copy of the source (the build writes build/ and *.egg-info beside it)
    src = tmp_path / "src"
    common = shutil.ignore_patterns(".git", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", ".work")

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = {".venv", "data", "reports", "build"} if Path(folder) == ROOT else set()
        return set(common(folder, names)) | (top & set(names))

    shutil.copytree(ROOT, src, ignore=ignore)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(wheels)], src, env)
    wheel = next(wheels.glob("cxlab-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "cxlab/_bundle/notebooks/00-data-overview.ipynb" in names
    assert "cxlab/_bundle/catalog/metrics.yml" in names and "cxlab/_bundle/catalog/triggers/salary_no_card.yml" in names
    assert "cxlab/report/messages/ru/diff.yml" in names

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    py = venv / "bin" / "python"
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, env).stdout.strip())
    (purelib / "cxlab-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # nbconvert's templates are data files in its venv's share/jupyter (pip puts them in the new venv's);
    # only they are linked: this venv's kernelspec would start this venv's python, not the installed one
    (venv / "share" / "jupyter").mkdir(parents=True)
    (venv / "share" / "jupyter" / "nbconvert").symlink_to(Path(sys.prefix) / "share" / "jupyter" / "nbconvert")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--ignore-installed", str(wheel)],
         tmp_path, env)
    where = _run([str(py), "-c", "import cxlab, cxlab.paths as p; print(cxlab.__file__); print(p.bundled('notebooks'))"],
                 tmp_path, env).stdout.split()
    assert where[0].startswith(str(venv)) and where[1].startswith(str(venv)), where

    cxlab = [str(venv / "bin" / "cxlab")]
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    _run(cxlab + ["init", "team"], tmp_path, env)
    project = tmp_path / "team"
    _run(cxlab + ["demo-data", "--clients", "2000", "--quiet"], project, env)
    _run(cxlab + ["validate", "data/mapping.example.yml"], project, env)
    done = _run(cxlab + ["run", "00", "--run-id", "first", "--quiet"], project / "reports", env)
    spec = "from jupyter_client.kernelspec import KernelSpecManager as K; print(K().get_kernel_spec('python3').argv[0])"
    assert _run([str(py), "-c", spec], project, env).stdout.strip().startswith(str(venv)), "the kernel is another python"
    assert "ok" in done.stdout
    run = project / "reports" / "first"
    assert (run / "00-data-overview.html").stat().st_size > 10_000
    results = json.loads((run / "00-data-overview.results.json").read_text())
    assert results["tables"][0]["table"] == "clients" and results["tables"][0]["rows"] == 2000
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["environment"]["git_commit"] == "unknown"
    assert (project / "reports" / "index.html").is_file()
    # the same report through the example mapping: nothing moved (the mapping renames nothing)
    _run(cxlab + ["run", "00", "--data", "data/mapping.example.yml", "--run-id", "mapped", "--quiet"], project, env)
    done = _run(cxlab + ["diff", "first", "mapped"], project, env)
    assert "No headline figure moved" in done.stdout, done.stdout
