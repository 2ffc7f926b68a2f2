"""Shared fixtures: a small demo data set generated once per test session (per xdist worker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Clients in the small demo used by end-to-end tests: large enough for the planted effects to show.
SMALL_DEMO_CLIENTS = 4000


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """A small demo data folder (clients, products, holdings, events, communications, consents, truth.json)."""
    from cxlab.data.demo import generate

    out = tmp_path_factory.mktemp("demo") / "demo"
    generate(out, clients=SMALL_DEMO_CLIENTS, seed=11)
    return out


@pytest.fixture(scope="session")
def small_truth(small_demo) -> dict:
    """The planted truth of the small demo."""
    return json.loads((small_demo / "truth.json").read_text())


@pytest.fixture(autouse=True)
def _project_root(monkeypatch):
    """Tests resolve relative paths against the repository, wherever pytest was started."""
    monkeypatch.setenv("CXLAB_HOME", str(ROOT))


@pytest.fixture(scope="session")
def dataset():
    """``dataset(name, file)`` → the path of a real dataset file, or a skip saying where it was expected."""
    from cxlab.data.datasets import datasets_dir

    def find(name: str, file: str) -> Path:
        folder = datasets_dir()
        path = folder / name / file if folder else None
        if path is None or not path.exists():
            pytest.skip(f"../shared/datasets/{name}/{file} not found: set CXLAB_DATASETS or place the datasets beside the repo")
        return path

    return find
