"""The launch's cards: a registration and a contact policy are parsed strictly, errors name the field
and the line; the two existing campaign cards carry no registration."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlab.analyses.launch import load_policy, parse_arms
from cxlab.catalog import load_catalog
from cxlab.catalog.load import load_card
from cxlab.errors import CardError, ParameterError

ROOT = Path(__file__).resolve().parents[2]

CARD = """name: c
title: C
campaign_ids: [c]
arms: {control: 0.5, email: 0.5}
send_start: 2025-10-01
send_end: 2025-10-01
metrics: {primary: cc_conversion}
window_days: 30
registration:
  audience: trigger:salary_no_card
  snapshot: 2025-10-01
  salt: s
  planned_size: 100
  launch_date: 2025-10-01
  owner: Anna
"""


def test_existing_campaign_cards_have_no_registration():
    cat = load_catalog(ROOT / "catalog")
    assert all(c.registration is None for c in cat.campaigns.values())


def test_a_registration_without_sign_off_names_the_field(tmp_path):
    path = tmp_path / "campaigns" / "c.yml"
    path.parent.mkdir()
    path.write_text(CARD)
    with pytest.raises(CardError, match=r"c.yml:9: field 'registration.sign_off': Field required"):
        load_card(path)
    path.write_text(CARD + "  sign_off: {by: Boss, at: 2025-09-30}\n  analysis: bayes\n")
    with pytest.raises(CardError, match=r"field 'registration.analysis'"):
        load_card(path)
    path.write_text(CARD + "  sign_off: {by: Boss, at: 2025-09-30}\n")
    assert load_card(path).registration.sign_off.by == "Boss"


def test_policy_cards_are_checked(tmp_path):
    assert [c.name for c in load_policy(ROOT / "catalog" / "policies" / "demo_q4.yml").campaigns] == \
        ["q4_travel", "q4_cards", "q4_borrowers"]
    bad = tmp_path / "p.yml"
    bad.write_text("name: p\nsnapshot: 2025-10-01\ncaps_per_channel: {email: 0}\ncampaigns:\n"
                   "  - {name: a, segment: travellers, trigger: salary_no_card, priority: 1}\n")
    with pytest.raises(CardError) as e:
        load_policy(bad)
    assert "field 'campaigns.0': give exactly one of segment or trigger" in str(e.value)
    bad.write_text("name: p\nsnapshot: 2025-10-01\ncaps_per_channel: {email: 0}\ncampaigns:\n"
                   "  - {name: a, segment: travellers, priority: 1}\n  - {name: a, segment: savers, priority: 2}\n")
    with pytest.raises(CardError, match="caps must be at least 1|campaign names must be unique"):
        load_policy(bad)


def test_arms_are_parsed_or_refused():
    assert parse_arms(["control:0.2", "email:0.8"]) == {"control": 0.2, "email": 0.8}
    assert parse_arms("control=0.5,sms=0.5") == {"control": 0.5, "sms": 0.5}
    with pytest.raises(ParameterError, match="expected arm:share"):
        parse_arms(["control", "email:0.8"])
