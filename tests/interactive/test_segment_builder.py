"""The segment builder's logic and widget callbacks, without a browser."""

from __future__ import annotations

from datetime import date

import pytest

from cxlab.catalog import Segment, load_card
from cxlab.compute import segments as sg
from cxlab.data import connect
from cxlab.errors import CardError
from cxlab.interactive.segment_builder import BuilderUI, Condition, SegmentBuilder, live, rule_text

SNAP = date(2025, 12, 1)


@pytest.fixture(scope="module")
def builder(small_demo):
    return SegmentBuilder(connect(small_demo), SNAP)


def test_conditions_write_rules_of_the_catalogue_language():
    assert Condition("events", "salary_deposit", ">=", 1.0, 35).rule() == "count_events('salary_deposit', 35) >= 1"
    assert Condition("lacks", "credit_card").rule() == "NOT holds('credit_card')"
    assert Condition("column", "region", "=", "north").rule() == "region = 'north'"
    assert Condition("lines", op=">", value=2.5).rule() == "count_lines() > 2.5"
    assert rule_text([Condition("holds", "o'brien"), Condition("lines", value=2)]) == "holds('o''brien') AND count_lines() >= 2"
    with pytest.raises(ValueError, match="kind"):
        Condition("sql", "x").rule()
    with pytest.raises(ValueError, match="identifier"):
        Condition("column", "age; drop", "=", 1).rule()
    with pytest.raises(ValueError, match="at least one"):
        rule_text([])


def test_measures_equal_the_sizing_engine(builder):
    conds = [Condition("events", "travel_booking", ">=", 1, 90)]
    m = builder.measure(conds, "insurance")
    seg = Segment(name="t", title="t", rule=rule_text(conds), priority=1, product_line="insurance")
    reach = sg.waterfall(sg.tally(builder.src, sg.flags(builder.src, [seg], SNAP), [seg], builder.filters), [seg]).iloc[0]
    rates, _ = sg.base_rates(builder.src, [seg], SNAP)
    assert (m.size, m.reachable) == (reach.assigned, reach.not_holding)
    assert (m.base_n, m.base_x) == (rates.n.iloc[0], rates.x_sum.iloc[0])
    assert 0 < m.reachable < m.size


def test_cards_are_validated_and_exported(builder, tmp_path):
    conds = [Condition("events", "salary_deposit", ">=", 1, 35), Condition("lacks", "credit_card")]
    path = builder.export(tmp_path / "segments", "salary_no_card", "Salary, no card", conds, "credit_card", priority=3)
    card = load_card(path)
    assert (card.name, card.priority, card.product_line) == ("salary_no_card", 3, "credit_card")
    assert card.rule == "count_events('salary_deposit', 35) >= 1 AND NOT holds('credit_card')"
    with pytest.raises(CardError, match="exists"):
        builder.export(tmp_path / "segments", "salary_no_card", "", conds, "credit_card")
    with pytest.raises(CardError, match="name"):
        builder.card("Bad Name", "", conds, "credit_card")


def test_widget_callbacks_update_the_numbers_and_export(builder, tmp_path):
    ui = BuilderUI(builder, tmp_path, lang="en")
    ui.line.value = "insurance"
    row = ui.rows[0]
    row["kind"].value = "events"
    row["target"].value = "travel_booking"
    row["days"].value = 90
    first = ui.measures
    assert first is not None and first.rule == "count_events('travel_booking', 90) >= 1"
    assert f"{first.size:,}" in ui.output.value
    ui.rows[1]["kind"].value = "holds"  # the target list switches to product lines
    assert "insurance" in ui.rows[1]["target"].options
    ui.rows[1]["target"].value = "credit_card"
    assert ui.measures.rule.endswith("AND holds('credit_card')") and ui.measures.size < first.size
    ui.rows[0]["value"].value = "not a number"  # a half-typed threshold shows the error, keeps the numbers
    assert "cx-note" in ui.output.value and ui.measures.size < first.size
    ui.rows[0]["value"].value = "1"
    ui.name.value = "travel_card"
    ui.export()
    assert ui.exported == tmp_path / "segments" / "travel_card.yml" and load_card(ui.exported).product_line == "insurance"


def test_not_live_outside_a_kernel():
    assert live() is False


def test_export_audience_button_launches_the_built_segment(small_demo, tmp_path):
    import json
    import shutil
    from pathlib import Path

    import pandas as pd

    from cxlab.cli import main

    root = Path(__file__).resolve().parents[2]
    cat, cat2 = tmp_path / "catalog", tmp_path / "catalog2"
    shutil.copytree(root / "catalog", cat)
    ui = BuilderUI(SegmentBuilder(connect(small_demo), SNAP), cat, lang="en")
    ui.line.value = "insurance"
    ui.rows[0]["target"].value = "travel_booking"
    ui.rows[0]["days"].value = 90
    ui.name.value, ui.priority.value = "travel_draft", 1  # first in the exclusive assignment (before travellers)
    ui.campaign.value, ui.arms.value, ui.out.value = "draft_launch", "control:0.5,email:0.5", str(tmp_path / "aud")
    ui.export_audience()  # no salt and no sign-off: refused, nothing written
    assert "cx-note" in ui.output.value and ui.launched is None and not (tmp_path / "aud").exists()
    ui.salt.value, ui.owner.value, ui.approved_by.value = "draft-1", "Anna", "Head of CRM"
    ui.export_audience()
    done = ui.launched
    rows = pd.read_parquet(tmp_path / "aud" / "draft_launch.parquet")
    assert done is not None and len(rows) == done.audience.size > 0
    assert f"{len(rows):,} people" in ui.output.value and str(tmp_path / "aud" / "draft_launch.parquet") in ui.output.value
    # the same code as `cxlab audience`: the card saved, the CLI writes the same file byte for byte
    ui.export()
    shutil.copytree(cat, cat2, ignore=shutil.ignore_patterns("draft_launch.yml"))
    assert main(["audience", "draft_launch", "--data", str(small_demo), "--catalog", str(cat2), "--out", str(tmp_path / "cli"),
                 "--segment", "travel_draft", "--snapshot", SNAP.isoformat(), "--arms", "control=0.5,email=0.5",
                 "--salt", "draft-1", "--owner", "Anna", "--approved-by", "Head of CRM"]) == 0
    assert (tmp_path / "cli" / "draft_launch.parquet").read_bytes() == (tmp_path / "aud" / "draft_launch.parquet").read_bytes()
    assert json.loads((tmp_path / "aud" / "draft_launch.json").read_text())["waterfall"]["matched"] > len(rows)
    # a second export is refused unless replace is ticked
    before = (tmp_path / "aud" / "draft_launch.parquet").read_bytes()
    ui.salt.value = "draft-2"
    ui.export_audience()
    assert "refusing to overwrite" in ui.output.value and ui.launched is done
    assert (tmp_path / "aud" / "draft_launch.parquet").read_bytes() == before
    ui.replace.value = True
    ui.export_audience()
    assert ui.launched is not done and (tmp_path / "aud" / "draft_launch.parquet").read_bytes() != before
