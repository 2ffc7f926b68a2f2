"""The rule language: truth tables against DuckDB on a hand-made fixture, and hostile input rejected."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlab.catalog import compile_filter, evaluate_rules, parse_rule
from cxlab.data import connect
from cxlab.errors import RuleError

T = pd.Timestamp


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rules")
    pd.DataFrame({"client_id": [1, 2, 3, 4], "joined_at": [T("2023-01-01"), T("2023-06-01"), T("2024-01-20"), T("2024-03-01")],
                  "age": [30, 45, 22, 60], "region": ["north", "south", "north", "east"]}).to_parquet(folder / "clients.parquet")
    pd.DataFrame({"product_id": ["cc", "dep", "loan"], "product_line": ["credit_card", "deposit", "consumer_loan"]}
                 ).to_parquet(folder / "products.parquet")
    pd.DataFrame({"client_id": [1, 2, 2, 3], "product_id": ["cc", "cc", "dep", "loan"],
                  "opened_at": [T("2023-05-01"), T("2023-07-01"), T("2024-01-10"), T("2024-02-10")],
                  "closed_at": [pd.NaT, T("2024-01-15"), pd.NaT, pd.NaT], "value": [1.0, 2.0, 3.0, 4.0]}
                 ).to_parquet(folder / "holdings.parquet")
    pd.DataFrame({"client_id": [1, 1, 2, 3, 3, 3], "event_type": ["salary", "salary", "salary", "login", "login", "salary"],
                  "ts": [T("2024-01-10"), T("2024-01-25"), T("2023-12-01"), T("2024-01-22"), T("2024-01-31"), T("2024-01-31 23:00")],
                  "value": [2500.0, 3500.0, 4000.0, None, None, 1000.0]}).to_parquet(folder / "events.parquet")
    pd.DataFrame({"client_id": [1, 2, 4], "channel": ["email", "email", "sms"], "opted_in": [True, False, True]}
                 ).to_parquet(folder / "consents.parquet")
    return connect(folder)


SNAP = "2024-02-01"  # window of 30 days: [2024-01-02, 2024-02-01)

# rule → the clients it selects at 2024-02-01, worked out by hand from the fixture above.
TRUTH = {
    "count_events('salary', 30) >= 1": {1, 3},  # client 2's salary is on 2023-12-01, outside the window
    "max_events('salary', 30) >= 3000": {1},
    "sum_events('salary', 30) > 5000": {1},
    "count_events('login', 30) = 2": {3},
    "holds('credit_card')": {1},  # client 2 closed the card on 2024-01-15
    "NOT holds('credit_card')": {2, 3},  # client 4 joins after the snapshot
    "holds('deposit') OR holds('consumer_loan')": {2},  # client 3's loan opens on 2024-02-10, after it
    "count_lines() >= 1": {1, 2},
    # the contracts scan reads only the named lines and products, unless count_lines() needs every contract
    "holds_product('dep') OR holds('credit_card')": {1, 2},
    "holds_product('loan')": set(),  # opened after the snapshot
    "count_lines() = 1 AND NOT holds('deposit')": {1},  # client 2's one line is the deposit
    "opened('consumer_loan', 60)": set(),  # opened 2024-02-10, after the snapshot
    "opened('deposit', 30)": {2},
    "days_since_event('salary') <= 7": {1, 3},
    "days_since_event('login') IS NULL": {1, 2},
    "tenure_days() < 30": {3},
    "opted_in('email')": {1},
    "age BETWEEN 25 AND 50 AND region IN ('north', 'south')": {1, 2},
    "age * 2 - 10 > 70 OR region = 'north'": {1, 2, 3},
}


@pytest.mark.parametrize(("rule", "expected"), TRUTH.items())
def test_truth_table(src, rule, expected):
    t = evaluate_rules({"r": rule}, src, [SNAP])
    got = set(src.con.execute(t.filter(t.r).client_id).tolist())
    assert got == expected


def test_several_rules_and_snapshots_in_one_table(src):
    t = evaluate_rules({"card": "holds('credit_card')", "pay": "count_events('salary', 30) >= 1"}, src,
                       ["2024-01-01", "2024-02-01"])
    df = src.con.execute(t.order_by(["snapshot", "client_id"]))
    assert list(df.columns) == ["client_id", "snapshot", "card", "pay"]
    jan = df[df.snapshot == T("2024-01-01")]
    assert set(jan.client_id) == {1, 2}  # clients 3 and 4 had not joined yet
    assert set(jan[jan.card].client_id) == {1, 2}  # client 2 still held the card on 2024-01-01
    assert set(jan[jan.pay].client_id) == set()  # client 2's salary (2023-12-01) is 31 days before


def test_row_filters(src):
    h = src.table("holdings").join(src.table("products"), "product_id")
    assert src.con.execute(h.filter(compile_filter("product_line = 'credit_card'", h)).count()) == 2
    early = compile_filter("closed_at IS NOT NULL AND days_between(opened_at, closed_at) < 200", h)
    assert src.con.execute(h.filter(early).client_id).tolist() == [2]


HOSTILE = [
    ("__import__('os')", "unknown function '__import__'"),
    ("a.__class__ = 1", "qualified name 'a.__class__' is not allowed"),
    ("lambda x: x", "cannot parse rule"),
    ("age = 1; DROP TABLE clients", "cannot parse rule"),
    ("(SELECT 1) = 1", "'Subquery' is not allowed"),
    ("max(age) > 1", "'MAX' is not allowed"),
    ("exec('rm -rf /')", "unknown function 'exec'"),
    ("count_events(age, 30) > 1", "arguments of count_events\\(\\) must be literals"),
    ("count_events('x') > 1", "takes 2 argument"),
    ("count_events('x', -3) > 1", "arguments of count_events\\(\\) must be literals, got '-3'"),
    ("count_events('x', 2.5) > 1", "must be a whole number of days"),
    ("agee > 30", "unknown column 'agee'; did you mean age"),
    ("age", "is not a condition"),
    ("region IN (SELECT region FROM clients)", "'(Subquery|Select)' is not allowed"),
    ("*", "'Star' is not allowed"),
    ("", "the rule is empty"),
]


@pytest.mark.parametrize(("rule", "message"), HOSTILE)
def test_hostile_or_broken_rules_are_rejected(src, rule, message):
    with pytest.raises(RuleError, match=message):
        evaluate_rules({"r": rule}, src, [SNAP])


def test_errors_name_the_card_and_position():
    with pytest.raises(RuleError, match=r"catalog/x.yml: cannot parse rule"):
        parse_rule("age >", "catalog/x.yml")


def test_windows_include_their_start_and_exclude_the_snapshot(tmp_path):
    """``[s − days, s)``: a row at s − days counts and one a second earlier does not; a row a second before s
    counts and one at s does not — for the longest event window (the scan's join), a shorter one (its
    own condition, in the same query), contracts opened and communications sent."""
    s, sec, day = T("2024-02-01"), pd.Timedelta(seconds=1), pd.Timedelta(days=1)
    stamps = [s - 10 * day, s - 10 * day - sec, s - sec, s, s - 5 * day, s - 5 * day - sec]  # clients 1…6
    ids = list(range(1, 7))
    pd.DataFrame({"client_id": ids}).to_parquet(tmp_path / "clients.parquet")
    pd.DataFrame({"client_id": ids, "event_type": "edge", "ts": stamps, "value": 1.0}).to_parquet(tmp_path / "events.parquet")
    pd.DataFrame({"product_id": ["cc"], "product_line": ["credit_card"]}).to_parquet(tmp_path / "products.parquet")
    pd.DataFrame({"client_id": ids, "product_id": "cc", "opened_at": stamps}).to_parquet(tmp_path / "holdings.parquet")
    pd.DataFrame({"client_id": ids, "campaign_id": "c", "channel": "email", "sent_at": stamps, "group": "treatment"}
                 ).to_parquet(tmp_path / "communications.parquet")
    src = connect(tmp_path)
    rules = {"long": "count_events('edge', 10) >= 1", "short": "count_events('edge', 5) >= 1",
             "short_sum": "sum_events('edge', 5) > 0", "short_max": "max_events('edge', 5) > 0",
             "opened": "opened('credit_card', 10)", "sent": "count_communications(10) >= 1"}
    t = evaluate_rules(rules, src, [s])
    df = src.con.execute(t).set_index("client_id")
    ten, five = {1, 3, 5, 6}, {3, 5}
    expected = {"long": ten, "short": five, "short_sum": five, "short_max": five, "opened": ten, "sent": ten}
    assert {name: set(df.index[df[name]]) for name in rules} == expected
