"""The launch's cards: a registration and a contact policy are parsed strictly, errors name the field
and the line; the two existing campaign cards carry no registration."""

from __future__ import annotations

import shutil
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
    assert "field 'campaigns.0': give exactly one of segment, trigger or scored" in str(e.value)
    bad.write_text("name: p\nsnapshot: 2025-10-01\ncaps_per_channel: {email: 0}\ncampaigns:\n"
                   "  - {name: a, segment: travellers, priority: 1}\n  - {name: a, segment: savers, priority: 2}\n")
    with pytest.raises(CardError, match="caps must be at least 1|campaign names must be unique"):
        load_policy(bad)


def test_arms_are_parsed_or_refused():
    assert parse_arms(["control:0.2", "email:0.8"]) == {"control": 0.2, "email": 0.8}
    assert parse_arms("control=0.5,sms=0.5") == {"control": 0.5, "sms": 0.5}
    with pytest.raises(ParameterError, match="expected arm:share"):
        parse_arms(["control", "email:0.8"])


POLICY = """name: p
snapshot: 2025-10-01
caps_per_channel: {email: 1, sms: 2}
caps_per_type: {marketing: 2, transactional: 1, promo: 1}
campaigns:
  - name: a
    segment: travelers
    priority: 1
  - name: cc_spring_2025
    trigger: salary_no_card
    hypothesis: no_such_hypothesis
    priority: 2
  - name: tiny
    segment: savers
    priority: 3
    max_audience: 3
    arms: {control: 0.1, treatment: 0.9}
  - name: by_model
    scored: no/such/scored.parquet
    priority: 4
"""


def test_catalog_check_reads_policy_cards_with_file_line_and_field(tmp_path, capsys):
    from cxlab.catalog import check_catalog
    from cxlab.cli import main

    cat = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", cat)
    assert check_catalog(cat) == []  # the shipped policy is sound
    (cat / "policies" / "p.yml").write_text(POLICY)
    f = cat / "policies" / "p.yml"
    problems = check_catalog(cat)
    want = [f"{f}:3: field 'caps_per_channel.sms': no campaign of this policy sends on 'sms'",
            f"{f}:4: field 'caps_per_type.marketing': a cap of 2 marketing contacts cannot be reached: exclusive: true",
            f"{f}:4: field 'caps_per_type.transactional': transactional campaigns are exempt",
            f"{f}:4: field 'caps_per_type.promo': unknown campaign type 'promo'",
            f"{f}:7: field 'campaigns.0.segment': no segment 'travelers'", "(did you mean travellers",
            f"{f}:11: field 'campaigns.1.hypothesis': no hypothesis 'no_such_hypothesis'",
            f"{f}:9: field 'campaigns.1.name': 'cc_spring_2025' is an existing campaign card",
            f"{f}:16: field 'campaigns.2.max_audience': cannot be met: 3 people at share 0.1 give arm 'control' "
            "nobody; raise it to at least 10",
            f"{f}:19: field 'campaigns.3.scored': no scored audience"]
    text = "\n".join(problems)
    for w in want:
        assert w in text, (w, text)
    assert len(problems) == 9
    # a broken policy card is reported like any broken card, and the CLI exits 2
    f.write_text(POLICY.replace("priority: 1", "priority: 0"))
    assert any(f"{f}:8: field 'campaigns.0.priority'" in p for p in check_catalog(cat))
    assert main(["catalog", "check", "--catalog", str(cat)]) == 2
    assert "campaigns.0.priority" in capsys.readouterr().err
    # arms of a planned campaign are checked when the card loads
    f.write_text(POLICY.replace("{control: 0.1, treatment: 0.9}", "{control: 0.1, treatment: 0.8}"))
    assert any(f"{f}:13: field 'campaigns.2': arm shares must be positive and sum to 1" in p for p in check_catalog(cat))
