"""01's plan for the other metrics: spreads measured on the trigger's clients (checked against pandas on
the rows), detectable changes from statsmodels' power, CUPED and the delta method applied as planned."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlab.stats as cs
from cxlab.analyses.hypothesis import plan
from cxlab.catalog import load_catalog
from cxlab.compute import triggers as ct
from cxlab.data import connect

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def planned(small_demo):
    return plan(connect(small_demo), load_catalog(ROOT / "catalog"), "cc_salary")


def test_spend_level_spread_and_correlation_equal_the_rows(planned, small_demo):
    cat = load_catalog(ROOT / "catalog")
    src = connect(small_demo)
    snap = planned.flow.snapshot.iloc[-1]
    fired = src.con.execute(ct.panel(src, cat.triggers["salary_no_card"], [snap.date()]).filter(lambda t: t.fired).select("client_id"))
    ev = pd.read_parquet(small_demo / "events.parquet")
    spend = ev[(ev.event_type == "card_spend") & ev.client_id.isin(fired.client_id)]
    after = spend[(spend.ts > snap) & (spend.ts <= snap + pd.Timedelta(days=30))].groupby("client_id").value.sum()
    before = spend[(spend.ts >= snap - pd.Timedelta(days=30)) & (spend.ts < snap)].groupby("client_id").value.sum()
    x = after.reindex(fired.client_id, fill_value=0.0).to_numpy()
    pre = before.reindex(fired.client_id, fill_value=0.0).to_numpy()
    row = planned.power_table.set_index("metric").loc["card_spend"]
    assert row.people == len(x) == planned.flow.n.iloc[-1]
    assert row.level == pytest.approx(x.mean(), rel=1e-9)
    assert row.sd == pytest.approx(x.std(ddof=1), rel=1e-9)
    assert row.rho2 == pytest.approx(np.corrcoef(x, pre)[0, 1] ** 2, rel=1e-9)
    ratio = cs.ratio_from_share(planned.hypothesis.treatment_share)
    h = planned.hypothesis
    # statsmodels TTestIndPower through cs.mde_means, at the size the primary metric needs
    assert row.mde == pytest.approx(cs.mde_means(x.std(ddof=1), planned.n_treatment, ratio, h.alpha, h.power), rel=1e-9)
    assert row.mde_cuped == pytest.approx(row.mde * np.sqrt(1 - row.rho2), rel=1e-6)
    assert row.rho2 > 0.5 and row.mde_cuped < 0.75 * row.mde  # monthly spend is persistent: CUPED pays


def test_ratio_and_proportion_metrics_are_planned_with_their_own_spread(small_demo, tmp_path):
    cards = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", cards)
    card = cards / "hypotheses" / "cc_salary.yml"  # a guardrail that does happen on 4,000 clients
    card.write_text(card.read_text().replace("guardrails: [", "guardrails: [other_line_openings, "))
    planned = plan(connect(small_demo), load_catalog(cards), "cc_salary")
    t = planned.power_table.set_index("metric")
    assert t.loc["value_per_card", "type"] == "ratio" and np.isfinite(t.loc["value_per_card", "mde"])
    assert np.isnan(t.loc["value_per_card", "mde_cuped"])  # no CUPED for a ratio here
    h, ratio = planned.hypothesis, cs.ratio_from_share(planned.hypothesis.treatment_share)
    rates = t[t.type == "proportion"]
    assert (rates.level > 0).any()
    for name, row in rates.iterrows():
        if 0 < row.level < 1:  # statsmodels NormalIndPower (Cohen's h) through cs.mde_proportions
            assert row.mde == pytest.approx(cs.mde_proportions(row.level, planned.n_treatment, ratio, h.alpha, h.power), rel=1e-9)
        else:  # nobody had the event on the history: nothing to plan on, said as a gap
            assert np.isnan(row.mde), name
