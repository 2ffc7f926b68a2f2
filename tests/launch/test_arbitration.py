"""Arbitration across campaigns: the engine's rules against a plain-Python reference applied to the same
candidates, transactional exemption, costs from base rates, one file per campaign, refusals."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from cxlab.analyses import launch as L
from cxlab.catalog import load_catalog
from cxlab.catalog.cards import ContactPolicy
from cxlab.cli import main
from cxlab.compute import arbitration as ca
from cxlab.data.connect import connect
from cxlab.errors import CardError, DataError

ROOT = Path(__file__).resolve().parents[2]

POLICY = {"name": "p", "snapshot": "2025-10-01", "caps_per_channel": {"email": 2}, "caps_per_type": {"marketing": 2},
          "min_gap_days": 20, "exclusive": False,
          "campaigns": [{"name": "travel", "trigger": "travel_insurance", "priority": 1},
                        {"name": "cards", "trigger": "salary_no_card", "priority": 2, "max_audience": 60},
                        {"name": "earners", "segment": "salary_earners", "priority": 3},
                        {"name": "deposits", "trigger": "inflow_deposit", "priority": 2},
                        {"name": "statement", "segment": "salary_earners", "priority": 9, "type": "transactional"}]}


def _reference(c: pd.DataFrame, recent: set, policy: ContactPolicy, max_kept: dict) -> pd.DataFrame:
    """The rules by hand, on the candidates as rows: returns (client_id, k) kept."""
    c = c.copy()
    c["exempt"] = c.type == "transactional"
    c["order"] = c.priority * 1000 + c.k
    c = c[c.exempt | ~c.client_id.isin(recent)]
    for col, caps in (("channel", policy.caps_per_channel), ("type", policy.caps_per_type)):
        m = c[~c.exempt].sort_values(["client_id", col, "order"])
        m["rank"] = m.groupby(["client_id", col]).cumcount() + 1
        out = m[m[col].map(caps).notna() & (m["rank"] > m[col].map(caps))]
        c = c[~c.set_index(["client_id", "k"]).index.isin(out.set_index(["client_id", "k"]).index)]
    for k, n in max_kept.items():  # the engine picks by salted key; the reference checks only the count
        assert (c[~c.exempt].k == k).sum() >= n
    return c


def test_rules_match_a_plain_reference(small_demo):
    src, cat = connect(small_demo), load_catalog(ROOT / "catalog")
    policy = ContactPolicy.model_validate(POLICY)
    cands = ca.candidates(src, cat, policy)
    kept, dropped = ca.apply(src, policy, cands)
    c = src.con.execute(cands)
    comm = pd.read_parquet(small_demo / "communications.parquet")
    recent = set(comm[(comm.sent_at < "2025-10-01") & (comm.sent_at >= pd.Timestamp("2025-10-01") - pd.Timedelta(days=20))
                      & (comm.group == "treatment")].client_id)
    assert recent  # the rule has something to do
    ref = _reference(c, recent, policy, {1: 60})
    got = src.con.execute(kept)
    cards = got[got.k == 1]
    assert len(cards) == 60  # max_audience
    other = got[got.k != 1].sort_values(["client_id", "k"], ignore_index=True)
    want = ref[ref.k != 1][["client_id", "k"]].sort_values(["client_id", "k"], ignore_index=True)
    pd.testing.assert_frame_equal(other, want, check_dtype=False)
    assert set(cards.client_id) <= set(ref[ref.k == 1].client_id)
    # every candidate is kept or dropped with one reason
    d = src.con.execute(dropped)
    assert len(d) + len(got) == len(c) and not d.duplicated(["client_id", "k"]).any()
    assert set(d.reason) <= set(ca.RULES)
    # the transactional campaign keeps every candidate
    assert (got.k == 4).sum() == (c.k == 4).sum()


def test_arbitrate_reports_before_after_and_costs_and_launches_exclusive_files(small_demo, tmp_path, capsys):
    cat = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", cat)
    args = ["arbitrate", "demo_q4", "--data", str(small_demo), "--catalog", str(cat), "--out", str(tmp_path / "aud"),
            "--owner", "Anna", "--approved-by", "Head of CRM"]
    assert main(args) == 0
    arb = L.arbitrate(connect(small_demo), load_catalog(cat), L.load_policy(cat / "policies" / "demo_q4.yml"))
    t = arb.table.set_index("campaign")
    assert (t.before - t[list(ca.RULES)].sum(axis=1) == t.after).all()
    assert t.loc["q4_cards", "after"] <= 2000
    for r in arb.costs.itertuples():
        c = next(x for x in arb.policy.campaigns if x.name == r.campaign)
        assert r.contracts == pytest.approx(r.people * t.loc[r.campaign, "base_rate"] * c.uplift)
    files = {name: pd.read_parquet(tmp_path / "aud" / f"{name}.parquet") for name in t.index}
    for name, rows in files.items():
        assert len(rows) == t.loc[name, "after"]
        assert (cat / "campaigns" / f"{name}.yml").exists()
    ids = pd.concat([f.client_id for f in files.values()])
    assert ids.is_unique  # exclusive: one marketing campaign per client
    dropped = pd.read_parquet(tmp_path / "aud" / "demo_q4.dropped.parquet")
    assert list(dropped.columns) == ["client_id", "campaign", "reason"]
    assert len(dropped) == int(arb.table[list(ca.RULES)].sum().sum())


def test_a_campaign_emptied_by_the_policy_or_an_unknown_card_is_refused(small_demo):
    src, cat = connect(small_demo), load_catalog(ROOT / "catalog")
    twice = dict(POLICY, exclusive=True, campaigns=[{"name": "a", "segment": "travellers", "priority": 1},
                                                    {"name": "b", "segment": "travellers", "priority": 2}])
    with pytest.raises(DataError, match="audience of b is empty after the policy"):
        L.arbitrate(src, cat, ContactPolicy.model_validate(twice))
    unknown = dict(POLICY, campaigns=[{"name": "a", "segment": "no_such", "priority": 1}])
    with pytest.raises(CardError, match="no segment 'no_such'"):
        L.arbitrate(src, cat, ContactPolicy.model_validate(unknown))
