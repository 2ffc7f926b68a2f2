"""The equality harness itself: it covers every notebook, and it fails on a planted difference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.backends.harness import RTOL, assert_same, differences


def test_the_reference_covers_every_notebook(reference):
    assert {name.split(".")[0] for name in reference} == {"00", "01", "02", "03", "04", "05", "06", "07", "09", "aa", "rfm"}
    assert all(len(frame) for name, frame in reference.items() if name != "00.validation"), "an empty result compares nothing"
    assert reference["04.people"].set_index("step")["count"]["analysed"] > 1000


def _run(**frames) -> dict[str, pd.DataFrame]:
    return {k: v.copy() for k, v in frames.items()}


COUNTS = pd.DataFrame({"arm": ["a", "b"], "n": [10, 20], "x_sum": [1.5e9, 2.0], "day": pd.to_datetime(["2025-01-01", None])})


def test_equal_runs_and_float_noise_pass():
    noisy = COUNTS.assign(x_sum=COUNTS.x_sum * (1 + RTOL / 10), n=COUNTS.n.astype("float64"))
    assert differences(_run(t=COUNTS), _run(t=noisy)) == []


@pytest.mark.parametrize("change, found", [
    (lambda f: f.assign(n=[10, 21]), "t.n: 1 of 2 rows differ (row 1: np.int64(20) != np.int64(21))"),
    (lambda f: f.assign(n=[10.0, 20.5]), "t.n: 1 of 2 rows differ"),
    (lambda f: f.assign(x_sum=f.x_sum * (1 + 10 * RTOL)), "t.x_sum: 1 of 2 rows differ"),
    (lambda f: f.assign(x_sum=[1.5e9, np.nan]), "t.x_sum: 1 of 2 rows differ"),
    (lambda f: f.assign(arm=["a", None]), "t.arm: 1 of 2 rows differ"),
    (lambda f: f.assign(day=pd.to_datetime(["2025-01-02", None])), "t.day: 1 of 2 rows differ"),
    (lambda f: f.iloc[::-1], "t.arm: 2 of 2 rows differ"),  # order is part of a result
    (lambda f: f.iloc[:1], "t: 2 rows in the reference, 1 in the other run"),
    (lambda f: f.rename(columns={"n": "m"}), "t: columns differ"),
])
def test_a_planted_difference_is_named(change, found):
    problems = differences(_run(t=COUNTS), _run(t=change(COUNTS)))
    assert any(p.startswith(found) for p in problems), problems
    with pytest.raises(AssertionError, match="Engine X differs from DuckDB"):
        assert_same(_run(t=COUNTS), _run(t=change(COUNTS)), "Engine X")


def test_a_missing_result_is_named():
    assert differences(_run(t=COUNTS, u=COUNTS), _run(t=COUNTS)) == ["u: only in the reference run"]
