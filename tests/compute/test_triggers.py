"""Trigger backtest: a hand-computed fixture (eligibility, window edges, joins), the planted truth of the
demo recovered, client-clustered intervals against statsmodels, and the bank backtest equal to pandas on
the CSV."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from cxlab.analyses.hypothesis import plan
from cxlab.analyses.triggers import backtest
from cxlab.catalog import load_catalog
from cxlab.catalog.cards import Trigger
from cxlab.compute import hypothesis as ch
from cxlab.compute import triggers as ct
from cxlab.data import connect
from cxlab.data.connect import Source
from cxlab.stats import from_row, ratio_diff

ROOT = Path(__file__).resolve().parents[2]
T = pd.Timestamp


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "catalog")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Six clients whose every row sits on an edge of the definitions (see the comments)."""
    out = tmp_path_factory.mktemp("tiny")
    pd.DataFrame({"client_id": [1, 2, 3, 4, 5, 6],
                  "joined_at": [T("2024-01-01")] * 5 + [T("2024-03-15")],  # 6 does not exist at 2024-03-01
                  "age": [50, 30, 50, 50, 50, 50]}).to_parquet(out / "clients.parquet")
    pd.DataFrame({"product_id": ["cc", "ca"], "product_line": ["credit_card", "current_account"]}).to_parquet(out / "products.parquet")
    pd.DataFrame({
        "client_id": [1, 3, 4, 4, 5],
        "product_id": ["cc", "cc", "cc", "cc", "cc"],
        "opened_at": [T("2024-03-10"),           # 1: converts 9 days after 03-01
                      T("2024-03-31 23:00"),     # 3: after s + 30 days (03-31 00:00): no conversion at 03-01
                      T("2023-06-01"),           # 4: held at 03-01 (closed later), not at 04-01
                      T("2024-05-01"),           # 4: exactly s + 30 days after 04-01: converts (day 30)
                      T("2024-03-01")],          # 5: opened at s, not after it: no conversion, held at 04-01
        "closed_at": [pd.NaT, pd.NaT, T("2024-03-15"), pd.NaT, pd.NaT],
    }).to_parquet(out / "holdings.parquet")
    pd.DataFrame({
        "client_id": [1, 2, 2, 4, 5, 6],
        "event_type": ["salary"] * 6,
        "ts": [T("2024-02-15"), T("2024-02-20"), T("2024-03-20"), T("2024-03-05"),
               T("2024-01-15"),                  # 5: before the 30-day window of 03-01 — not fired
               T("2024-03-20")],
        "value": [1.0] * 6,
    }).to_parquet(out / "events.parquet")
    return out


TINY_TRIGGER = Trigger(name="salary_no_card", title="t", rule="count_events('salary', 30) >= 1 AND NOT holds('credit_card')",
                       target_line="credit_card", window_days=30)
TINY_SNAPSHOTS = [date(2024, 3, 1), date(2024, 4, 1)]


def test_panel_counts_match_the_hand_computed_fixture(tiny):
    src = connect(tiny)
    p = ct.panel(src, TINY_TRIGGER, TINY_SNAPSHOTS)
    got = ct.counts(src, p)
    # 03-01: eligible 1 (fired, converts), 2 (fired), 3, 5 — 4 holds a card, 6 does not exist yet.
    # 04-01: 2 (fired), 4 (fired, converts on day 30), 6 (fired) — 1, 3 and 5 hold a card.
    expected = pd.DataFrame({"snapshot": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-04-01"]),
                             "fired": [False, True, True], "n": [2, 2, 3], "x_sum": [0, 1, 1]})
    pd.testing.assert_frame_equal(got.astype({"n": int, "x_sum": int}), expected, check_dtype=False)
    days = ct.days_to_convert(src, p)
    assert days.to_dict("records") == [{"fired": True, "days": 9, "converted": 1}, {"fired": True, "days": 30, "converted": 1}]
    rows = src.con.execute(p.order_by(["snapshot", "client_id"]))
    assert rows.client_id.tolist() == [1, 2, 3, 5, 2, 4, 6]


def test_contacts_count_in_the_conversion_window_only(tiny, tmp_path):
    """``contacted``: a treatment send in ``(s, s + 30 days]`` counts; one at s, one a second past s + 30 days
    and one to the control group do not (at 03-01 the eligible are clients 1, 2, 3 and 5)."""
    for name in ("clients", "products", "holdings", "events"):
        (tmp_path / f"{name}.parquet").write_bytes((tiny / f"{name}.parquet").read_bytes())
    s, sec = T("2024-03-01"), pd.Timedelta(seconds=1)
    pd.DataFrame({"client_id": [1, 2, 3, 5, 5], "campaign_id": ["a", "a", "a", "a", "b"], "channel": "email",
                  "sent_at": [s + pd.Timedelta(days=30), s, s + pd.Timedelta(days=30) + sec, s + sec, s + sec],
                  "group": ["treatment", "treatment", "treatment", "control", "treatment"]}
                 ).to_parquet(tmp_path / "communications.parquet")
    src = connect(tmp_path)
    got = ct.contacted(src, ct.panel(src, TINY_TRIGGER, [s.date()]), 30)
    # client 1 (fired) at s + 30 days, client 5 (not fired) to campaign b a second after s
    assert got[["fired", "campaign_id", "contacted", "n"]].to_dict("records") == [
        {"fired": False, "campaign_id": "b", "contacted": 1, "n": 2}, {"fired": True, "campaign_id": "a", "contacted": 1, "n": 2}]


def test_population_narrows_fired_and_flow_counts_first_firings(tiny):
    src = connect(tiny)
    narrowed = ct.counts(src, ct.panel(src, TINY_TRIGGER, TINY_SNAPSHOTS, population="age >= 40"))
    assert narrowed.groupby("fired").n.sum().to_dict() == {False: 4, True: 3}  # client 2 (age 30) moves to not fired, twice
    flow = ch.flow(src, ct.panel(src, TINY_TRIGGER, TINY_SNAPSHOTS))
    # 03-01: 1 and 2 fire (both new); 04-01: 2 again (not new), 4 and 6 for the first time
    assert flow[["n", "x_sum", "new"]].to_dict("list") == {"n": [2, 3], "x_sum": [1, 1], "new": [2, 2]}


def test_clustered_interval_matches_statsmodels_cluster_robust_ols():
    """Clients in one group only, several snapshots each: the ratio delta method equals OLS of conversion on
    the group with client-clustered errors (statsmodels, cov_type='cluster', no small-sample correction)."""
    rng = np.random.default_rng(5)
    clients = pd.DataFrame({"client_id": np.arange(400), "fired": rng.random(400) < 0.4,
                            "months": rng.integers(1, 13, 400), "p": rng.beta(0.5, 3, 400)})
    rows = clients.loc[clients.index.repeat(clients.months)].reset_index(drop=True)
    rows["snapshot"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rows.groupby("client_id").cumcount() * 31, unit="D")
    rows["converted"] = rng.random(len(rows)) < np.minimum(rows.p + 0.05 * rows.fired, 1)
    con = ibis.duckdb.connect()
    table = con.create_table("p", rows[["client_id", "snapshot", "fired", "converted"]])
    frame = ct.clusters(Source(con, {"p": table}, "in-memory panel"), table).set_index("fired")
    ours = ratio_diff(from_row(frame.loc[True], "ratio"), from_row(frame.loc[False], "ratio"))
    fit = smf.ols("y ~ fired", data=rows.assign(y=rows.converted.astype(float), fired=rows.fired.astype(float))).fit(
        cov_type="cluster", cov_kwds={"groups": rows.client_id, "use_correction": False, "df_correction": False})
    assert ours.estimate == pytest.approx(fit.params["fired"], rel=1e-9)
    # per-group variances use n − 1 (sample covariance), statsmodels uses n: equal to about 1/n_clients;
    # clients differ a lot here, so the row-independent (HC0) error is a third smaller and would fail
    assert ours.extra["se"] == pytest.approx(fit.bse["fired"], rel=0.01)
    naive = smf.ols("y ~ fired", data=rows.assign(y=rows.converted.astype(float), fired=rows.fired.astype(float))).fit(cov_type="HC0")
    assert naive.bse["fired"] < 0.8 * ours.extra["se"]


@pytest.mark.parametrize("name", ["salary_no_card", "travel_insurance", "inflow_deposit"])
def test_counts_equal_the_generator_and_the_interval_covers_the_planted_lift(demo, catalog, name):
    folder, truth = demo  # one file per table, and in chunks: the generator's counts add up across chunks
    truth = truth["triggers"][name]
    b = backtest(connect(folder), catalog, name, "2024-04-01", "2025-11-01", model_rows=0)
    assert b.rate_fired.n_treatment + b.rate_other.n_treatment == truth["eligible_rows"]
    assert b.rate_fired.n_treatment == truth["triggered_rows"]
    assert round(b.rate_fired.estimate * truth["triggered_rows"]) == truth["converted_triggered"]
    assert round(b.rate_other.estimate * b.rate_other.n_treatment) == truth["converted_not_triggered"]
    assert b.diff.ci_low <= truth["expected_lift_abs"] <= b.diff.ci_high
    assert b.diff_clustered.ci_low <= truth["expected_lift_abs"] <= b.diff_clustered.ci_high
    assert b.lift.ci_low <= truth["expected_lift_rel"] <= b.lift.ci_high


def test_hypothesis_plan_baseline_covers_the_planted_rate_and_sizes_add_up(small_demo, small_truth, catalog):
    p = plan(connect(small_demo), catalog, "cc_salary", months_of_history=6)
    truth = small_truth["triggers"]["salary_no_card"]
    assert p.baseline.ci_low <= truth["p_triggered"] <= p.baseline.ci_high
    assert p.stock == p.flow.n.iloc[0] and 0 < p.new_per_month < p.flow.n.mean()
    people = p.mde_table.set_index("months").people
    assert people[3] == int(p.stock + 2 * p.new_per_month)
    assert p.mde_table.mde.is_monotonic_decreasing  # more months, more people, smaller detectable effect
    needed = p.n_treatment + p.n_control
    assert p.stock + p.new_per_month * (p.months_needed - 1) == pytest.approx(needed)


def _bank_pandas(csv: Path, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
    """The bank_prior_success backtest written directly on the CSV with pandas (reconstructed dates)."""
    raw = pd.read_csv(csv, sep=";")
    month = raw.month.map({m: i for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)})
    year = 2008 + (month.diff() < 0).cumsum()
    day = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": raw["day"]}))
    opened = day + pd.Timedelta(hours=12)
    success_at = day - pd.to_timedelta(raw.pdays, unit="D") + pd.Timedelta(hours=9)
    rows = []
    for s in snapshots:
        eligible = ~((raw.y == "yes") & (opened < s))
        fired = (raw.pdays >= 0) & (raw.poutcome == "success") & (success_at < s) & (success_at >= s - pd.Timedelta(days=3650))
        converted = (raw.y == "yes") & (opened > s) & (opened <= s + pd.Timedelta(days=30))
        for f in (False, True):
            m = eligible & (fired == f)
            if m.any():
                rows.append({"snapshot": s, "fired": f, "n": int(m.sum()), "x_sum": int((m & converted).sum())})
    return pd.DataFrame(rows)


@pytest.mark.realdata
def test_bank_adapter_and_backtest_agree_with_pandas_on_the_csv(dataset, tmp_path, catalog):
    from cxlab.data.adapters import import_dataset

    csv = dataset("bank_marketing", "bank-full.csv")
    summary = import_dataset("bank", csv, tmp_path / "bank")
    # SOURCE.md: yes-rate 0.116985 (5,289 of 45,211); poutcome = success 1,511 rows, 978 yes
    assert summary.figures["yes_rate"] == pytest.approx(0.116985, abs=5e-7)
    assert (summary.figures["poutcome_success"], summary.figures["poutcome_success_yes"]) == (1511, 978)
    src = connect(tmp_path / "bank")
    snaps = ct.monthly_snapshots(src, "2008-06-01", "2010-10-01")
    engine = ct.counts(src, ct.panel(src, catalog.triggers["bank_prior_success"], snaps))
    expected = _bank_pandas(csv, [pd.Timestamp(s) for s in snaps])
    got = engine[["snapshot", "fired", "n", "x_sum"]].astype({"fired": bool}).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected.astype({"n": got.n.dtype, "x_sum": got.x_sum.dtype}), check_dtype=False)
