"""Metric kinds: the sums each kind declares, computed in DuckDB, equal numpy's on the rows; each kind's
record and test agree with the statistics functions on the same numbers."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cxlab import stats as cs
from cxlab.catalog.cards import Metric
from cxlab.metrics import KINDS, Mean, Proportion, Quantile, Ratio, aggregate, kind


def card(**kw) -> Metric:
    base = {"name": "m", "label": "M", "description": "d", "window_days": 30}
    return Metric(**(base | kw))


PROPORTION = card(type="proportion", source="holdings", aggregate="any")
MEAN = card(type="mean", source="events", aggregate="sum")
RATIO = card(type="ratio", numerator="a", denominator="b")
MEDIAN = card(type="quantile", source="events", aggregate="sum", quantile=0.5)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 2_000
    return pd.DataFrame({"arm": rng.choice(["control", "treatment"], n), "x": rng.gamma(2.0, 3.0, n),
                         "pre": rng.gamma(2.0, 3.0, n), "num": rng.poisson(4, n).astype(float),
                         "den": rng.poisson(2, n).astype(float) + 1})


def test_every_card_type_has_one_kind():
    assert set(KINDS) == set(Metric.model_fields["type"].annotation.__args__)
    assert [type(kind(m)) for m in (PROPORTION, MEAN, RATIO, MEDIAN)] == [Proportion, Mean, Ratio, Quantile]


@pytest.mark.parametrize("metric", [MEAN, RATIO], ids=["mean", "ratio"])
def test_declared_sums_equal_numpy_on_the_rows(rows, metric):
    k = kind(metric)
    got = ibis.duckdb.connect().execute(aggregate(ibis.memtable(rows), ["arm"], k.sums)).set_index("arm")
    for arm, part in rows.groupby("arm"):
        assert got.loc[arm, "n"] == len(part)
        for name, cols in k.sums.items():
            assert got.loc[arm, name] == pytest.approx(np.prod([part[c].to_numpy() for c in cols], axis=0).sum(), rel=1e-12)


def test_mean_kind_is_welch_on_the_rows(rows):
    k = kind(MEAN)
    sums = ibis.duckdb.connect().execute(aggregate(ibis.memtable(rows), ["arm"], k.sums)).set_index("arm")
    est = k.test(sums.loc["treatment"], sums.loc["control"], 0.05)
    t, c = (rows.x[rows.arm == a] for a in ("treatment", "control"))
    ref = sps.ttest_ind(t, c, equal_var=False)  # scipy's Welch test on the raw rows
    assert est.estimate == pytest.approx(t.mean() - c.mean(), rel=1e-12)
    assert est.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    # the CUPED record reads the same sums back: its covariance is numpy's
    r = k.cuped_record(sums.loc["treatment"])
    treated = rows[rows.arm == "treatment"]
    assert r.covariance == pytest.approx(np.cov(treated.x, treated.pre, ddof=1)[0, 1], rel=1e-10)


def test_ratio_kind_is_a_ratio_of_sums(rows):
    k = kind(RATIO)
    sums = ibis.duckdb.connect().execute(aggregate(ibis.memtable(rows), ["arm"], k.sums)).set_index("arm")
    rec = k.record(sums.loc["control"])
    control = rows[rows.arm == "control"]
    assert k.level(rec) == pytest.approx(control.num.sum() / control.den.sum(), rel=1e-12)
    assert k.parts == ("a", "b") and not k.reads_rows and not k.countable and not k.has_cuped


def test_proportion_kind_formats_in_points_and_uses_newcombe():
    k = kind(PROPORTION)
    row_t, row_c = {"n": 1000, "x_sum": 130}, {"n": 1000, "x_sum": 100}
    assert k.test(row_t, row_c, 0.05) == cs.proportion_diff(cs.ProportionStats(1000, 130), cs.ProportionStats(1000, 100))
    assert (k.diff_format, k.level_format) == ("pp", "pct")
    assert (kind(MEAN).diff_format, kind(MEAN).level_format) == ("number", "number")


def test_quantile_kind_is_neither_summed_nor_planned():
    k = kind(MEDIAN)
    assert not k.on_sums and not k.plannable and not k.countable
