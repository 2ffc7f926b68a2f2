"""Fixtures of the engine-equality tests: the DuckDB reference run on the small demo."""

from __future__ import annotations

import pytest

from cxlab.data import connect
from tests.backends.harness import compute_all


@pytest.fixture(scope="session")
def reference(small_demo):
    """Every notebook's engine results on the small demo, computed by DuckDB on the parquet folder."""
    return compute_all(connect(small_demo))
