"""Shared fixtures: the demo data sets and the tiny run, each built once per test session (whichever xdist
worker asks first; the others wait for it and read the same folder)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Under xdist the workers share the cores: each worker, and every kernel it starts (cxlab.runner.kernel keeps a
#: cap the environment sets), uses one thread for OpenMP, BLAS and DuckDB. Without it the two workers' OpenMP pools
#: spun against each other on a clean clone: the shared tiny run took 187 s instead of 70, a gradient-boosting
#: test 100 s instead of 9.
if os.environ.get("PYTEST_XDIST_WORKER"):
    from cxlab.runner.kernel import THREAD_VARIABLES

    for _name in THREAD_VARIABLES:
        os.environ.setdefault(_name, "1")

#: Clients in the small demo used by end-to-end tests: large enough for the planted effects to show.
SMALL_DEMO_CLIENTS = 4000
#: The chunked demo: this many clients written in chunks of CHUNK_CLIENTS (three folders of parts per table).
CHUNKED_DEMO_CLIENTS, CHUNK_CLIENTS = 6000, 2000


def shared_folder(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """``basetemp/shared/name``, filled by ``build`` once per session: under xdist the workers share the
    session's temporary root, and a lock makes the others wait while the first one builds. Tests only read it."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # pytest-N/popen-gwK → pytest-N, the same for every worker of this session
    folder, done = base / "shared" / name, base / "shared" / f"{name}.done"
    folder.parent.mkdir(exist_ok=True)
    with open(base / "shared" / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():  # a build that raised left no mark: the next one starts afresh
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """A small demo data folder (clients, products, holdings, events, communications, consents, truth.json)."""
    from cxlab.data.demo import generate

    return shared_folder(tmp_path_factory, "demo", lambda f: generate(f / "demo", clients=SMALL_DEMO_CLIENTS, seed=11)) / "demo"


@pytest.fixture(scope="session")
def small_truth(small_demo) -> dict:
    """The planted truth of the small demo."""
    return json.loads((small_demo / "truth.json").read_text())


@pytest.fixture(scope="session")
def chunked_demo(tmp_path_factory) -> Path:
    """A demo generated in three chunks: ``events/part-00000.parquet`` … for every table but products."""
    from cxlab.data.demo import generate

    def build(folder: Path) -> None:
        generate(folder / "demo", clients=CHUNKED_DEMO_CLIENTS, seed=13, chunk_clients=CHUNK_CLIENTS)

    return shared_folder(tmp_path_factory, "chunked", build) / "demo"


@pytest.fixture(scope="session")
def chunked_truth(chunked_demo) -> dict:
    """The planted truth of the chunked demo, combined from its chunks."""
    return json.loads((chunked_demo / "truth.json").read_text())


@pytest.fixture(scope="session", params=["one_file", "chunked"])
def demo(request) -> tuple[Path, dict]:
    """``(folder, truth)`` of the small demo (one file per table) and of the chunked demo (parts per table)."""
    if request.param == "one_file":
        return request.getfixturevalue("small_demo"), request.getfixturevalue("small_truth")
    return request.getfixturevalue("chunked_demo"), request.getfixturevalue("chunked_truth")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The one run of every notebook on the tiny small-celled, hostile demo (tests/tiny.py)."""
    from tests.tiny import TinyRun, build_and_run

    shared = TinyRun(shared_folder(tmp_path_factory, "tiny", build_and_run))
    assert not shared.failures(), shared.failures()
    return shared


@pytest.fixture(autouse=True)
def _project_root(monkeypatch):
    """Tests resolve relative paths against the repository, wherever pytest was started."""
    monkeypatch.setenv("CXLAB_HOME", str(ROOT))


@pytest.fixture(scope="session")
def dataset():
    """``dataset(name, file)`` → the path of a real dataset file; a skip only when the datasets folder is absent."""
    from tests.realdata import find_dataset

    return find_dataset


@pytest.fixture(scope="session")
def hillstrom(dataset, tmp_path_factory) -> tuple[Path, Path]:
    """The Hillstrom e-mail test imported into the canonical tables once per session: (folder, csv)."""
    from cxlab.data.adapters import import_dataset

    csv = dataset("hillstrom", "hillstrom.csv")
    folder = tmp_path_factory.mktemp("hillstrom") / "hs"
    import_dataset("hillstrom", csv, folder)
    return folder, csv
