"""The retrospective beyond the usual, checked against pandas on the rows and planted fixtures: caps
computed in the engine, ratio and quantile metrics, has-history strata, competing campaigns, gatekeeping,
the pre-period balance flag and metrics that cannot be tested."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlab.stats as cs
from cxlab.analyses.retro import analyse
from cxlab.catalog import load_catalog
from cxlab.compute import retro
from cxlab.data import connect

ROOT = Path(__file__).resolve().parents[2]
T = pd.Timestamp
SEND, WINDOW, PRE = T("2025-04-01"), pd.Timedelta(days=30), pd.Timedelta(days=90)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "catalog")


@pytest.fixture(scope="module")
def demo(small_demo, catalog):
    return analyse(connect(small_demo), catalog, "cc_spring_2025")


@pytest.fixture(scope="module")
def rows(small_demo):
    """The campaign's people with their first send, and per-person April spend, straight from the files."""
    comms = pd.read_parquet(small_demo / "communications.parquet")
    comms = comms[comms.campaign_id == "cc_spring_2025"]
    people = comms.groupby("client_id").agg(arm=("arm", "first"), t0=("sent_at", "min"))
    ev = pd.read_parquet(small_demo / "events.parquet")
    spend = ev[ev.event_type == "card_spend"].join(people, on="client_id", how="inner")
    window = spend[(spend.ts > spend.t0) & (spend.ts <= spend.t0 + WINDOW)].groupby("client_id").value.sum()
    before = spend[(spend.ts >= spend.t0 - PRE) & (spend.ts < spend.t0)].groupby("client_id").value.sum()
    people["x"] = window.reindex(people.index, fill_value=0.0)
    people["pre"] = before.reindex(people.index, fill_value=0.0)
    return people


def test_cap_is_the_percentile_of_everybody_and_applies_to_every_arm(demo, rows):
    caps = demo.caps[demo.caps.metric == "card_spend_capped"].set_index("column").cap
    # numpy: np.percentile(per-person spend, 99) — linear interpolation, as percentile_cont in the engine
    assert caps["x"] == pytest.approx(np.percentile(rows.x, 99), rel=1e-9)
    assert caps["pre"] == pytest.approx(np.percentile(rows.pre, 99), rel=1e-9)
    capped = rows.x.clip(upper=caps["x"]).groupby(rows.arm).mean()
    e = demo.effects[demo.effects.metric == "card_spend_capped"].set_index("arm")
    for arm in e.index:
        assert e.loc[arm, "value_t"] == pytest.approx(capped[arm], rel=1e-9)
        assert e.loc[arm, "value_c"] == pytest.approx(capped["control"], rel=1e-9)
    raw = demo.effects[demo.effects.metric == "card_spend"].set_index("arm")
    # capping a heavy right tail narrows the interval
    assert ((e.ci_high - e.ci_low) < (raw.ci_high - raw.ci_low)).all()


def test_median_metric_equals_the_rows_median(demo, rows):
    e = demo.effects[demo.effects.metric == "card_spend_median"].set_index("arm")
    step = e.resolution.iloc[0]
    rounded = np.floor(rows.x / step + 0.5) * step  # halves up, as the engine rounds
    for arm in e.index:
        # numpy: np.quantile(rounded spend of the arm, 0.5, method="inverted_cdf")
        assert e.loc[arm, "value_t"] == np.quantile(rounded[rows.arm == arm], 0.5, method="inverted_cdf")
        assert e.loc[arm, "value_c"] == np.quantile(rounded[rows.arm == "control"], 0.5, method="inverted_cdf")
        assert e.loc[arm, "ci_low"] <= e.loc[arm, "uplift"] <= e.loc[arm, "ci_high"]


def test_ratio_metric_is_a_ratio_of_sums_per_arm(demo, small_demo, rows):
    h = pd.read_parquet(small_demo / "holdings.parquet").merge(pd.read_parquet(small_demo / "products.parquet"), on="product_id")
    cards = h[h.product_line == "credit_card"].join(rows[["arm", "t0"]], on="client_id", how="inner")
    cards = cards[(cards.opened_at > cards.t0) & (cards.opened_at <= cards.t0 + WINDOW)]
    per = cards.groupby("arm").agg(value=("value", "sum"), n=("value", "size"))
    e = demo.effects[demo.effects.metric == "value_per_card"].set_index("arm")
    for arm in e.index:
        assert e.loc[arm, "value_t"] == pytest.approx(per.loc[arm, "value"] / per.loc[arm, "n"], rel=1e-9)
    assert (e.verdict != "harm").all()  # card value does not depend on the arm in the demo


def test_new_clients_are_those_who_joined_inside_the_pre_period(small_demo, catalog, rows):
    camp = catalog.campaigns["cc_spring_2025"]
    src = connect(small_demo)
    crowd = retro.people(src, camp)
    got = src.con.execute(retro.strata(src, camp, crowd.table)).set_index("client_id").stratum
    clients = pd.read_parquet(small_demo / "clients.parquet").set_index("client_id")
    joined = clients.joined_at.reindex(rows.index)
    expected = np.where(joined > rows.t0 - PRE, "new", "history")
    assert (got.reindex(rows.index).to_numpy() == expected).all()
    assert 0 < (expected == "new").sum() < len(expected)


def test_gatekeeping_adjusts_the_secondaries_behind_the_primary(demo):
    e = demo.effects
    for _arm, part in e.groupby("arm"):
        primary = part[part.role == "primary"].p_value.iloc[0]
        sec = part[part.role == "secondary"]
        _, expected = cs.gatekeeper(primary, sec.p_value.to_numpy(), "holm")
        assert sec.p_adjusted.to_numpy() == pytest.approx(expected)
        assert (sec.p_adjusted >= primary).all() and (sec.p_adjusted >= sec.p_value).all()
        assert (part[part.role != "secondary"].p_adjusted == part[part.role != "secondary"].p_value).all()


def fixture(tmp_path: Path, n: int = 600, seed: int = 3) -> Path:
    """People split control / email / email_offer; those in email also get a push in their window."""
    rng = np.random.default_rng(seed)
    arms = rng.choice(["control", "email", "email_offer"], n, p=[0.2, 0.4, 0.4])  # as the card plans
    ids = np.arange(1, n + 1)
    pd.DataFrame({"client_id": ids, "joined_at": T("2023-01-01"), "income_band": "mid", "region": "north"}).to_parquet(tmp_path / "clients.parquet")
    pd.DataFrame({"product_id": ["cc"], "product_line": ["credit_card"]}).to_parquet(tmp_path / "products.parquet")
    send = pd.DataFrame({"client_id": ids, "campaign_id": "cc_spring_2025", "channel": "email", "sent_at": T("2025-04-01 09:00"),
                         "group": np.where(arms == "control", "control", "treatment"), "arm": arms, "score": rng.random(n)})
    push = pd.DataFrame({"client_id": ids[arms == "email"], "campaign_id": "push_2025_04", "channel": "push",
                         "sent_at": T("2025-04-15 10:00"), "group": "treatment", "arm": "treatment", "score": np.nan})
    pd.concat([send, push]).to_parquet(tmp_path / "communications.parquet")
    buyers = ids[rng.random(n) < 0.2]
    pd.DataFrame({"client_id": buyers, "product_id": "cc", "opened_at": T("2025-04-10"), "closed_at": pd.NaT,
                  "value": rng.gamma(2, 50, len(buyers))}).to_parquet(tmp_path / "holdings.parquet")
    spend = pd.DataFrame({"client_id": np.repeat(ids, 2), "event_type": "card_spend",
                          "ts": np.tile([T("2025-03-10"), T("2025-04-10")], n), "value": rng.gamma(2, 100, 2 * n)})
    spend.to_parquet(tmp_path / "events.parquet")
    return tmp_path


def test_competing_exposure_that_depends_on_the_arm_is_flagged_and_can_be_excluded(tmp_path, catalog):
    src = connect(fixture(tmp_path))
    r = analyse(src, catalog, "cc_spring_2025")
    e = r.exposure.set_index("arm")
    assert e.loc["email", "exposed"] == e.loc["email", "people"] and e.loc["control", "exposed"] == 0
    assert r.exposure_p < 1e-10 and not r.excluded_competing
    assert list(r.competitors.campaign_id) == ["push_2025_04"]
    dropped = analyse(src, catalog, "cc_spring_2025", exclude_competing=True)
    steps = dict(zip(dropped.people.step, dropped.people["count"], strict=True))
    assert steps["excluded_competing"] == e.loc["email", "people"]
    assert steps["analysed"] == e.people.sum() - e.loc["email", "people"]
    assert "email" not in set(dropped.sends.arm)


def test_a_pre_period_difference_between_arms_is_flagged(tmp_path, catalog):
    folder = fixture(tmp_path)
    ev = pd.read_parquet(folder / "events.parquet")
    arms = pd.read_parquet(folder / "communications.parquet").drop_duplicates("client_id").set_index("client_id").arm
    march = ev.ts < T("2025-04-01")
    ev.loc[march & ev.client_id.map(arms).eq("email_offer").to_numpy(), "value"] *= 3  # a broken split: richer before
    ev.to_parquet(folder / "events.parquet")
    r = analyse(connect(folder), catalog, "cc_spring_2025")
    assert "card_spend" in set(r.balance_flagged.metric)
    from cxlab.report import Report
    from cxlab.report.retro import verdict

    assert not r.srm.flagged
    first = verdict(r, Report(lang="en"))[0]
    assert first[0] == "bad" and "before the send" in first[1]


def test_a_metric_nobody_varies_on_is_reported_untestable(tmp_path, catalog):
    folder = fixture(tmp_path)
    pd.DataFrame({"client_id": [1], "event_type": ["card_spend"], "ts": [T("2025-04-10")], "value": [5.0]}).to_parquet(folder / "events.parquet")
    r = analyse(connect(folder), catalog, "cc_spring_2025")
    capped = r.effects[r.effects.metric == "card_spend_capped"]  # the 99th percentile of spend is 0: all capped to 0
    assert (capped.verdict == "untestable").all() and capped.untestable.str.contains("zero variance").all()
    assert capped.p_adjusted.isna().all() or (capped.p_adjusted >= 0).all()


@pytest.mark.realdata
def test_hillstrom_newbies_are_a_stratum_and_history_barely_predicts_spend(hillstrom, catalog):
    folder, csv = hillstrom
    r = analyse(connect(folder), catalog, "hillstrom")
    raw = pd.read_csv(csv)
    arm = raw.segment.map({"No E-Mail": "control", "Mens E-Mail": "mens", "Womens E-Mail": "womens"})
    s = r.strata[(r.strata.metric == "hs_spend") & (r.strata.arm == "mens")].set_index("stratum")
    both = arm.isin(["mens", "control"])
    assert s.loc["new", "people"] == (raw.newbie[both] == 1).sum()
    assert s.loc["history", "people"] == (raw.newbie[both] == 0).sum()
    spend = r.effects[(r.effects.metric == "hs_spend")].set_index("arm")
    # numpy: correlation of history and spend within the mens and control arms, pooled
    part = raw[both]
    dev = part[["history", "spend"]] - part.groupby(arm[both])[["history", "spend"]].transform("mean")
    rho = (dev.history * dev.spend).sum() / np.sqrt((dev.history**2).sum() * (dev.spend**2).sum())
    assert spend.loc["mens", "pre_correlation"] == pytest.approx(rho, rel=1e-9)
    assert abs(rho) < 0.05 and spend.loc["mens", "variance_reduction"] < 0.01
    order = r.effects[r.effects.metric == "hs_order_value"].set_index("arm")
    buyers = raw[raw.conversion == 1]
    aov = buyers.groupby(arm[raw.conversion == 1]).spend.sum() / buyers.groupby(arm[raw.conversion == 1]).size()
    assert order.loc["mens", "value_t"] == pytest.approx(aov["mens"], rel=1e-9)
    assert order.loc["mens", "value_c"] == pytest.approx(aov["control"], rel=1e-9)


def test_non_inferiority_verdict_errs_at_most_alpha_over_two_at_the_margin():
    """A guardrail worsened by exactly its margin is called 'no worse than the margin' at most α/2 of the
    time (the interval's upper end is a one-sided bound at α/2); with no harm and enough people, usually."""
    from cxlab.analyses.retro import guardrail_verdict

    metric = load_catalog(ROOT / "catalog").metrics["unsubscribe_rate"]  # direction decrease, margin 0.5
    rng = np.random.default_rng(28)
    sims, n, base = 1000, 20_000, 0.01
    calls = {"at_margin": 0, "no_harm": 0}
    for case, p_t in (("at_margin", base * (1 + metric.margin)), ("no_harm", base)):
        for _ in range(sims):
            t, c = rng.binomial(n, p_t), rng.binomial(n, base)
            d = cs.proportion_diff(cs.ProportionStats(n, t), cs.ProportionStats(n, c))
            calls[case] += guardrail_verdict(metric, d.ci_low, d.ci_high, c / n) == "within_margin"
    assert calls["at_margin"] / sims <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / sims), calls
    assert calls["no_harm"] / sims > 0.9, calls
