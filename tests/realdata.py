"""Where the tests find the real datasets: a skip only when the datasets folder is absent from the machine."""

from __future__ import annotations

from pathlib import Path

import pytest


def find_dataset(name: str, file: str) -> Path:
    """The path of ``name/file`` in the datasets folder. No folder: a skip saying where it was expected; a
    folder without the file: a failure (a dataset that should be there is not)."""
    from cxlab.data.datasets import datasets_dir

    folder = datasets_dir()
    if folder is None:
        pytest.skip("../shared/datasets not found: set CXLAB_DATASETS or place the datasets beside the repo")
    path = folder / name / file
    if not path.exists():
        pytest.fail(f"{path} is missing from the datasets folder {folder}")
    return path
