"""The benchmark compares like with like: its hand-written SQL and pandas give cxlab's numbers, and its
guards turn running out of memory or time into a recorded failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.agreement import disagreements
from benchmarks.computations import COMPUTATIONS
from benchmarks.measure import Guards, measure

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(COMPUTATIONS))
def test_sql_and_pandas_give_cxlab_numbers(name, small_demo):
    module = COMPUTATIONS[name]
    reference = module.cxlab(small_demo, module.configure(ROOT / "catalog"))
    assert len(reference) >= 40 and any(v for v in reference.values())  # a real result, not an empty one
    if name == "retro":  # the exposure to competing campaigns and both strata are compared, not only the sums
        assert any(k.startswith("exposure/") and k.endswith("/exposed") and v for k, v in reference.items())
        assert any(k.startswith("competitors/") for k in reference)
        assert {k.split("/")[2] for k in reference if k.count("/") == 3} == {"history", "new"}
    assert disagreements(reference, module.sql(small_demo)) == []
    assert disagreements(reference, module.pandas(small_demo)) == []


def test_a_planted_difference_is_found():
    assert disagreements({"a": 3, "s": 1.0}, {"a": 3, "s": 1.0 + 1e-12}) == []
    assert disagreements({"a": 3, "s": 1.0}, {"a": 4, "s": 1.0}) == ["a: 3 vs 4"]
    assert disagreements({"a": 3, "s": 1.0}, {"a": 3, "s": 1.0 + 1e-6}) == ["s: 1.0 vs 1.000001"]
    assert disagreements({"a": 3}, {"a": 3, "b": 1}) == ["b: None vs 1"]


def test_a_fresh_process_reports_time_memory_and_the_result(small_demo):
    m = measure("segments", "sql", small_demo, Guards(timeout_s=120, memory_gib=8))
    assert m.failure is None and m.wall > 0 and m.rss_mib > 10
    assert m.result == COMPUTATIONS["segments"].sql(small_demo)


def test_out_of_memory_and_over_time_are_recorded_not_raised(small_demo):
    oom = measure("trigger", "pandas", small_demo, Guards(timeout_s=120, memory_gib=0.1))  # imports alone take more
    assert oom.failure == "out of memory (> 0.1 GiB)" and oom.result is None
    slow = measure("trigger", "cxlab", small_demo, Guards(timeout_s=0.5, memory_gib=8))
    assert slow.failure == "> 0.5 s" and slow.result is None
