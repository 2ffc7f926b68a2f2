"""Cards: the shipped catalogue is valid; broken cards name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxlab import cli
from cxlab.catalog import check_catalog, list_hypotheses, load_card, load_catalog
from cxlab.errors import CardError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_catalogue_is_valid_and_complete():
    cat = load_catalog(ROOT / "catalog")
    assert check_catalog(ROOT / "catalog") == []
    assert len(cat.triggers) >= 3 and len(cat.hypotheses) >= 3 and len(cat.segments) >= 5
    assert {"cc_conversion", "unsubscribe_rate"} <= set(cat.metrics)
    ru = cat.hypotheses["inflow_deposit"]
    assert ru.title.startswith("Депозит")
    assert cat.hypotheses["travel_insurance"].missing_checks() == ["client_need"]
    assert list(list_hypotheses(cat).columns)[:4] == ["id", "title", "status", "owner"]


def write(tmp_path: Path, kind: str, text: str) -> Path:
    (tmp_path / kind).mkdir(parents=True, exist_ok=True)
    path = tmp_path / kind / "card.yml"
    path.write_text(text, encoding="utf-8")
    return path


TRIGGER = """name: t
title: T
rule: "count_events('login', 30) >= 1"
target_line: credit_card
window_days: 30
"""


def test_wrong_type_names_file_line_and_field(tmp_path):
    path = write(tmp_path, "triggers", TRIGGER.replace("window_days: 30", "window_days: sixty"))
    with pytest.raises(CardError, match=rf"{path}:5: field 'window_days': Input should be a valid integer"):
        load_card(path)


def test_unknown_field_suggests_the_close_one(tmp_path):
    path = write(tmp_path, "triggers", TRIGGER + "windw_days: 3\n")
    with pytest.raises(CardError, match=r"card.yml:6: field 'windw_days': unknown field \(did you mean 'window_days'\?\)"):
        load_card(path)


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    path = write(tmp_path, "triggers", "name: t\ntitle: [unclosed\n")
    with pytest.raises(CardError, match=r"card.yml:3:1: YAML syntax error"):
        load_card(path)


def test_broken_rule_is_reported_at_its_field(tmp_path):
    path = write(tmp_path, "triggers", TRIGGER.replace("count_events('login', 30) >= 1", "__import__('os')"))
    with pytest.raises(CardError, match=r"card.yml:3: field 'rule'"):
        load_card(path)


def test_unknown_rule_function_is_reported_by_check(tmp_path):
    write(tmp_path, "triggers", TRIGGER.replace("count_events", "count_evnts"))
    [problem] = check_catalog(tmp_path)
    assert "unknown function 'count_evnts'; did you mean count_events" in problem


def test_campaign_shares_must_sum_to_one(tmp_path):
    text = (ROOT / "catalog/campaigns/cc_spring_2025.yml").read_text().replace("email_offer: 0.4", "email_offer: 0.5")
    path = write(tmp_path, "campaigns", text)
    with pytest.raises(CardError, match="arm shares must be positive and sum to 1"):
        load_card(path)


def test_cross_references_are_checked(tmp_path):
    write(tmp_path, "hypotheses", (ROOT / "catalog/hypotheses/cc_salary.yml").read_text())
    problems = check_catalog(tmp_path)
    assert any("trigger 'salary_no_card' does not exist" in p for p in problems)


def test_cli_catalog_check_exits_2_on_a_broken_card(tmp_path, capsys):
    write(tmp_path, "triggers", TRIGGER.replace("window_days: 30", "window_days: -1"))
    assert cli.main(["catalog", "check", "--catalog", str(tmp_path)]) == 2
    assert "window_days" in capsys.readouterr().err
    assert cli.main(["catalog", "check", "--catalog", str(ROOT / "catalog")]) == 0


METRICS = """metrics:
  - name: spend
    label: Spend
    description: Spend per person.
    type: mean
    source: events
    filter: "event_type = 'card_spend'"
    aggregate: sum
    window_days: 30
  - name: per_visit
    label: Spend per visit
    description: Spend over visits.
    type: ratio
    numerator: spend
    denominator: visits
    window_days: 30
"""


@pytest.mark.parametrize("change, message", [
    (("    numerator: spend\n", ""), "a ratio metric names its numerator and denominator"),
    (("    numerator: spend\n", "    numerator: spend\n    source: events\n"), "a ratio metric takes its rows"),
    (("    aggregate: sum\n", "    aggregate: sum\n    winsorize: 1.5\n"), "winsorize"),
    (("    aggregate: sum\n", "    aggregate: sum\n    quantile: 0.5\n"), "a quantile metric gives quantile"),
    (("    type: mean\n", "    type: quantile\n"), "a quantile metric gives quantile"),
    (("    type: mean\n", "    type: proportion\n"), "use aggregate: any"),
])
def test_metric_types_refuse_inconsistent_fields(tmp_path, change, message):
    (tmp_path / "metrics.yml").write_text(METRICS.replace(*change, 1))
    with pytest.raises(CardError, match=message):
        load_catalog(tmp_path)


def test_a_ratio_of_unknown_or_ratio_parts_is_reported(tmp_path):
    (tmp_path / "metrics.yml").write_text(METRICS)
    [problem] = check_catalog(tmp_path)
    assert "metric 'per_visit': 'visits' is not in metrics.yml" in problem
    (tmp_path / "metrics.yml").write_text(METRICS.replace("denominator: visits", "denominator: per_visit"))
    [problem] = check_catalog(tmp_path)
    assert "'per_visit' must be a proportion or mean metric, not ratio" in problem


def test_new_clients_rule_is_parsed_when_the_card_loads(tmp_path):
    text = (ROOT / "catalog/campaigns/hillstrom.yml").read_text().replace('new_clients: "newbie = 1"', "new_clients: \"__import__('os')\"")
    with pytest.raises(CardError, match=r"card.yml:\d+: field 'new_clients'"):
        load_card(write(tmp_path, "campaigns", text))
