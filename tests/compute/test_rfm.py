"""The engine's recency / frequency / monetary summary: a hand-computed log, the published CDNOW summary
exactly, and the lifetimes definition on the whole CDNOW master file."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from cxlab.compute import rfm
from cxlab.data import connect
from cxlab.errors import ParameterError

T = pd.Timestamp


def _source(folder, holdings, products=None):
    folder.mkdir(parents=True, exist_ok=True)
    products = products if products is not None else pd.DataFrame({"product_id": ["a1", "b1"], "product_line": ["a", "b"]})
    clients = pd.DataFrame({"client_id": sorted(holdings.client_id.unique())})
    for name, frame in {"clients": clients, "products": products, "holdings": holdings}.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return connect(folder)


@pytest.fixture
def log(tmp_path):
    h = pd.DataFrame([
        (1, "a1", T("2025-01-01 09:00"), 10.0), (1, "a1", T("2025-01-01 17:00"), 5.0),  # one day: one period, 15
        (1, "b1", T("2025-01-15"), 20.0), (1, "a1", T("2025-01-29"), 40.0),
        (1, "a1", T("2025-02-20"), 7.0),                                                  # holdout
        (2, "a1", T("2025-01-08"), 12.0),                                                 # one purchase only
        (3, "b1", T("2025-02-05"), 3.0), (3, "b1", T("2025-02-06"), 4.0),                 # after the calibration end
        (4, "a1", T("2025-01-31"), None), (4, "a1", T("2025-02-01"), 9.0), (4, "a1", T("2025-03-10"), 1.0),
    ], columns=["client_id", "product_id", "opened_at", "value"])
    return _source(tmp_path / "log", h)


def _run(src, split, line=""):
    return src.con.execute(rfm.summary(src, split, line).order_by("client_id")).set_index("client_id")


def test_hand_computed_summary(log):
    split = rfm.Split(date(2025, 1, 31), date(2025, 2, 28))
    s = _run(log, split)
    assert list(s.index) == [1, 2, 4]  # client 3 first bought after the calibration end
    c1 = s.loc[1]
    assert (c1.frequency, c1.recency, c1["T"]) == (2, 28 / 7, 30 / 7)
    assert c1.monetary == pytest.approx(30.0) and c1.first_value == pytest.approx(15.0)
    assert (c1.frequency_holdout, c1.monetary_holdout, c1.duration_holdout) == (1, 7.0, 4.0)
    c2 = s.loc[2]
    assert (c2.frequency, c2.recency, c2["T"], c2.monetary, c2.frequency_holdout) == (0, 0.0, 23 / 7, 0.0, 0)
    c4 = s.loc[4]  # a null value counts as 0; its purchase on the calibration end is in calibration
    assert (c4.frequency, c4["T"], c4.first_value, c4.frequency_holdout, c4.monetary_holdout) == (0, 0.0, 0.0, 1, 9.0)
    assert pd.Timestamp(c1["first"]) == T("2025-01-01") and pd.Timestamp(c1["last"]) == T("2025-01-29")


def test_periods_of_a_week_and_one_product_line(log):
    split = rfm.Split(date(2025, 1, 31), date(2025, 2, 28), period_days=7, unit_days=7)
    s = _run(log, split)
    # weeks since 1970-01-01 (a Thursday): 2025-01-01 (day 20,089) is the last day of week 2869 (Thu 26 Dec … Wed 1 Jan)
    assert rfm._period(date(2025, 1, 1), 7) == 2869 and rfm._period(date(2025, 1, 2), 7) == 2870
    assert (s.loc[1].frequency, s.loc[1].recency, s.loc[1]["T"]) == (2, 4.0, 5.0)
    # Fri 31 Jan and Sat 1 Feb fall in one week, the week of the calibration end: one calibration period
    assert (s.loc[4].frequency, s.loc[4].frequency_holdout, s.loc[4].first_value) == (0, 0, 9.0)
    only_b = _run(log, rfm.Split(date(2025, 1, 31), date(2025, 2, 28)), "b")
    assert list(only_b.index) == [1] and only_b.loc[1].frequency == 0


def test_cells_and_sums(log):
    split = rfm.Split(date(2025, 1, 31), date(2025, 2, 28))
    s = rfm.summary(log, split)
    cells = rfm.cells(log, s, split)
    assert cells.n.sum() == 3 and cells.holdout_sum.sum() == 2
    assert rfm.monetary_cells(log, s).to_dict("records") == [{"frequency": 2, "monetary": 30.0, "n": 1}]
    assert rfm.repeat_by_period(log, split, s).repeats.sum() == 3 + 1  # client 1: 2 repeats + 1 holdout; client 4: 1
    facts = rfm.summary_facts(log, s).iloc[0]
    assert (facts.clients, facts.repeat_clients, facts.repeat_purchases, facts.holdout_purchases) == (3, 1, 2, 2)


def test_cells_are_numeric_columns_even_when_empty(log):
    split = rfm.Split(date(2025, 1, 31), date(2025, 2, 28))
    s = rfm.summary(log, split)
    ints = {"frequency", "recency_periods", "T_periods", "n", "holdout_sum", "holdout_sq"}
    for frame in (rfm.cells(log, s, split), rfm.cells(log, s.filter(s.frequency > 99), split)):
        assert {c: str(t) for c, t in frame.dtypes.items()} == {c: "int64" if c in ints else "float64" for c in frame.columns}
    empty = rfm.monetary_cells(log, s.filter(s.frequency > 99))
    assert len(empty) == 0 and list(map(str, empty.dtypes)) == ["int64", "float64", "int64"]


def test_bad_split_is_refused():
    with pytest.raises(ParameterError, match="before calibration_end"):
        rfm.Split(date(2025, 2, 1), date(2025, 1, 1))
    with pytest.raises(ParameterError, match="period_days"):
        rfm.Split(date(2025, 1, 1), date(2025, 2, 1), period_days=0)


def _half_up(v) -> np.ndarray:
    """Rounding to cents half up, as the published file was written (22.345 → 22.35)."""
    return np.floor(np.asarray(v, float) * 100 + 0.5 + 1e-9) / 100


@pytest.fixture(scope="module")
def cdnow_sample(dataset, tmp_path_factory):
    from cxlab.data.adapters import import_dataset

    folder = tmp_path_factory.mktemp("cdnow_sample") / "cd"
    import_dataset("cdnow", dataset("cdnow", "CDNOW_sample.txt"), folder)
    return connect(folder)


@pytest.mark.realdata
def test_cdnow_sample_equals_the_published_summary(cdnow_sample, dataset):
    # Published: cdnow_customers_summary_with_transactions.csv (lifetimes 0.11 datasets; FHL 2005):
    # x, t_x, T in weeks of the 39-week calibration 1997-01-01 … 1997-09-30, zbar = mean repeat value.
    pub = pd.read_csv(dataset("cdnow", "cdnow_customers_summary_with_transactions.csv")).set_index("ID").sort_index()
    split = rfm.Split(date(1997, 9, 30), date(1998, 6, 30))
    s = _run(cdnow_sample, split)
    assert list(s.index) == list(pub.index)
    assert (s.frequency.to_numpy() == pub.x.to_numpy()).all()
    for ours, theirs in [("recency", "t_x"), ("T", "T"), ("monetary", "zbar")]:
        assert (_half_up(s[ours]) == pub[theirs].to_numpy()).all(), ours
    assert int(s.frequency.sum()) == 2457 and int((s.frequency == 0).sum()) == 1411  # SOURCE.md
    assert s.duration_holdout.iloc[0] == 39.0
    # the Gamma-Gamma's input, counted in the engine, is the published (x, zbar) pairs exactly
    cells = rfm.monetary_cells(cdnow_sample, rfm.summary(cdnow_sample, split))
    ref = pub[pub.x > 0].groupby(["x", "zbar"]).size().reset_index(name="n")
    assert (cells.to_numpy() == ref.to_numpy()).all()


def _lifetimes_summary(raw: pd.DataFrame, cal_end: pd.Timestamp, obs_end: pd.Timestamp) -> pd.DataFrame:
    """lifetimes 0.11 ``calibration_and_holdout_data(freq='D')`` in plain pandas: purchases per day,
    frequency = repeat days, recency/T in days, monetary = mean value of the repeat days."""
    days = raw[raw.day <= obs_end].groupby(["cid", "day"]).value.sum().reset_index()
    first = days.groupby("cid").day.min()
    days["first"] = days.cid.map(first)
    days = days[days["first"] <= cal_end]
    cal, hold = days[days.day <= cal_end], days[days.day > cal_end]
    g = cal.groupby("cid")
    out = pd.DataFrame({"frequency": g.day.count() - 1, "recency": (g.day.max() - first[g.day.max().index]).dt.days,
                        "T": (cal_end - first[g.day.max().index]).dt.days})
    rep = cal[cal.day > cal["first"]]
    out["monetary"] = rep.groupby("cid").value.mean().reindex(out.index).fillna(0.0)
    out["frequency_holdout"] = hold.groupby("cid").day.count().reindex(out.index).fillna(0).astype(int)
    return out.sort_index()


@pytest.mark.realdata
def test_cdnow_master_equals_the_lifetimes_definition(dataset, tmp_path):
    from cxlab.data.adapters import import_dataset

    path = dataset("cdnow", "CDNOW_master.txt")
    import_dataset("cdnow", path, tmp_path / "m")
    src = connect(tmp_path / "m")
    raw = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw = pd.DataFrame({"cid": raw.customer_id.astype(int), "day": pd.to_datetime(raw.date, format="%Y%m%d"),
                        "value": raw.dollar_value.astype(float)})
    split = rfm.Split(date(1997, 9, 30), date(1998, 6, 30), unit_days=1)
    ours = _run(src, split)
    ref = _lifetimes_summary(raw, T("1997-09-30"), T("1998-06-30"))
    assert len(ours) == len(ref) == 23_570
    for col in ("frequency", "frequency_holdout"):
        assert (ours[col].to_numpy() == ref[col].to_numpy()).all(), col
    for col in ("recency", "T"):
        assert (ours[col].to_numpy() == ref[col].to_numpy().astype(float)).all(), col
    np.testing.assert_allclose(ours.monetary.to_numpy(), ref.monetary.to_numpy(), rtol=1e-12, atol=1e-9)
