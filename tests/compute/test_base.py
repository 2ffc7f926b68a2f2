"""Client base shape and white space: hand-computed fixtures, and the demo's planted truth recovered."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cxlab.compute import base as cb
from cxlab.data import connect

T = pd.Timestamp


def _source(folder, clients, holdings, products=None, events=None):
    folder.mkdir(parents=True, exist_ok=True)
    products = products if products is not None else pd.DataFrame(
        {"product_id": ["a1", "b1", "c1"], "product_line": ["a", "b", "c"]})
    tables = {"clients": clients, "products": products, "holdings": holdings}
    if events is not None:
        tables["events"] = events
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return connect(folder)


@pytest.fixture
def shop(tmp_path):
    """Six clients; client 6 has nothing. Turnover in 2025 (held): 100, 50, 30, 15, 5, 0."""
    clients = pd.DataFrame({"client_id": [1, 2, 3, 4, 5, 6]})
    h = pd.DataFrame([
        (1, "a1", T("2024-06-01"), pd.NaT, 60.0),      # open all 2025
        (1, "b1", T("2025-03-01"), pd.NaT, 40.0),
        (2, "a1", T("2025-02-01"), T("2025-08-01"), 50.0),
        (3, "c1", T("2025-05-01"), pd.NaT, 30.0),
        (4, "a1", T("2025-01-10"), pd.NaT, 15.0),
        (5, "b1", T("2025-12-20"), pd.NaT, 5.0),
        (5, "c1", T("2023-01-01"), T("2024-12-31"), 99.0),  # closed before 2025: not counted when held
    ], columns=["client_id", "product_id", "opened_at", "closed_at", "value"])
    return _source(tmp_path / "shop", clients, h)


def test_value_shape_by_hand(shop):
    s = cb.value_shape(shop, date(2025, 1, 1), date(2026, 1, 1), "held", top_share=0.2, abc=[0.8, 0.95])
    # ascending 0, 5, 15, 30, 50, 100 (total 200): G = 2·Σ i·x / (n·T) − (n+1)/n = 2·1025/1200 − 7/6
    assert s.summary["gini"] == pytest.approx(2 * 1025 / 1200 - 7 / 6)
    assert s.summary["turnover_total"] == pytest.approx(200.0)
    assert s.summary["top_share_of_turnover"] == pytest.approx(150 / 200)  # ceil(0.2 · 6) = 2 clients
    # cumulative share before each client (best first): 0, .5, .75, .9, .975, 1 → A A A B C C
    assert s.summary["abc_sizes"] == {"A": 3, "B": 1, "C": 2}
    assert s.pareto.turnover_share.iloc[-1] == pytest.approx(1.0)
    assert s.pareto.client_share.is_monotonic_increasing


def test_counting_modes(shop):
    held = shop.con.execute(cb.client_turnover(shop, date(2025, 1, 1), date(2026, 1, 1), "held")).set_index("client_id")
    opened = shop.con.execute(cb.client_turnover(shop, date(2025, 1, 1), date(2026, 1, 1), "opened")).set_index("client_id")
    assert held.turnover.to_dict() == {1: 100.0, 2: 50.0, 3: 30.0, 4: 15.0, 5: 5.0, 6: 0.0}
    assert opened.turnover.to_dict() == {1: 40.0, 2: 50.0, 3: 30.0, 4: 15.0, 5: 5.0, 6: 0.0}
    assert cb.counting_mode(shop) == "held"
    with pytest.raises(ValueError, match="mode"):
        cb.counted(shop, date(2025, 1, 1), date(2026, 1, 1), "ever")


def test_funnel_by_hand(shop):
    f = cb.funnel(shop, date(2026, 1, 1), date(2025, 1, 1), date(2026, 1, 1), "held", active_days=90, top_share=0.5)
    got = dict(zip(f.step, f.clients, strict=True))
    # active (new contract in the 90 days before 2026-01-01): client 5 only (no events table); it opened on
    # two days (repeat) but holds only b in 2025 (its c1 closed in 2024): not multi-line
    assert got == {"all": 6, "active": 1, "repeat": 1, "multi_line": 0, "top": 0}
    f = cb.funnel(shop, date(2026, 1, 1), date(2025, 1, 1), date(2026, 1, 1), "held", active_days=400, top_share=0.5)
    # active: 1, 2, 3, 4, 5 (opened in 400 days); repeat (2+ opening days): 1, 5; multi-line in 2025: 1 (a, b)
    # (5's c1 was closed before 2025); top half by turnover: 1, 2, 3
    assert dict(zip(f.step, f.clients, strict=True)) == {"all": 6, "active": 5, "repeat": 2, "multi_line": 1, "top": 1}


def test_holding_matrix_next_line_and_lookalikes(shop):
    m = cb.holding_matrix(shop, None, date(2025, 6, 1), date(2025, 6, 1), "held")
    assert dict(zip(m.product_line, m.holders, strict=True)) == {"a": 3, "b": 1, "c": 1}  # open on 2025-06-01
    assert set(m.clients) == {6}
    nxt = cb.next_line(shop, date(2026, 1, 1))
    pairs = {(r.from_line, None if pd.isna(r.to_line) else r.to_line): r.clients for r in nxt.itertuples()}
    # client 1: a → b; client 5: c (2023) → b; others one line only
    assert pairs == {("a", "b"): 1, ("a", None): 2, ("b", None): 2, ("c", "b"): 1, ("c", None): 1}
    cells = pd.DataFrame({"a": [True, True, False, False], "b": [True, False, True, False], "n": [30, 10, 20, 40]})
    looks = cb.lookalikes(cells, ["a", "b"], min_cell=1).set_index("product_line")
    # line a: profile b=True → 30/50 hold; b=False → 10/50. Holders' median score: 0.6 (30 of 40 holders).
    # Look-alikes: non-holders with score ≥ 0.6: the 20 in profile b=True; expected = 20 · 0.6.
    assert looks.loc["a", "threshold"] == pytest.approx(0.6)
    assert looks.loc["a", "lookalikes"] == 20
    assert looks.loc["a", "expected"] == pytest.approx(12.0)


def test_monthly_flows_by_hand(tmp_path):
    clients = pd.DataFrame({"client_id": [1, 2, 3]})
    buys = [(1, "a1", "2025-01-05", 10.0), (2, "a1", "2025-01-06", 5.0), (3, "a1", "2025-01-07", 1.0),
            (2, "a1", "2025-02-05", 50.0), (1, "b1", "2025-02-06", 1.0), (1, "a1", "2025-02-07", 1.0),
            (3, "c1", "2025-03-05", 9.0)]
    h = pd.DataFrame(buys, columns=["client_id", "product_id", "opened_at", "value"]).assign(
        opened_at=lambda d: pd.to_datetime(d.opened_at))
    src = _source(tmp_path / "buys", clients, h)
    assert cb.counting_mode(src) == "opened"
    top = cb.top_tier_flow(src, date(2025, 4, 1), 3, "opened", top_share=0.3).set_index("month")
    # top tier = ceil(0.3 × buyers) = the single best buyer of each month: Jan 1, Feb 2, Mar 3
    assert top.top.tolist() == [1, 1, 1]
    assert top.loc[date(2025, 2, 1), ["entered", "left", "stayed"]].tolist() == [1, 1, 0]
    lines = cb.lines_flow(src, date(2025, 4, 1), 3, "opened").set_index("month")
    # Feb vs Jan: 1 widens (a → a, b), 2 same, 3 narrows (a → none); Mar vs Feb: 1, 2 narrow, 3 widens
    assert lines.loc[date(2025, 2, 1), ["wider", "same", "narrower"]].tolist() == [1, 1, 1]
    assert lines.loc[date(2025, 3, 1), ["wider", "same", "narrower"]].tolist() == [1, 0, 2]


def test_planted_value_shape_and_white_space_recovered(demo):
    folder, demo_truth = demo
    src = connect(folder)
    truth = demo_truth["value"]
    start, end = cb.period(date(2026, 1, 1), 12)  # truth: contracts open at any time in 2025
    s = cb.value_shape(src, start, end, cb.counting_mode(src), top_share=0.2, abc=[0.8, 0.95])
    assert s.summary["turnover_total"] == pytest.approx(truth["turnover_total"], abs=0.01)
    assert s.summary["gini"] == pytest.approx(truth["gini"], abs=1e-9)
    assert s.summary["top_share_of_turnover"] == pytest.approx(truth["top_20pct_share"], abs=1e-9)
    assert s.summary["top_1pct_share_of_turnover"] == pytest.approx(truth["top_1pct_share"], abs=1e-9)
    assert s.summary["abc_sizes"] == truth["abc_sizes"]
    snap = date.fromisoformat(demo_truth["white_space"]["snapshot"])
    m = cb.holding_matrix(src, None, snap, snap, "held")
    assert dict(zip(m.product_line, m.share, strict=True)) == pytest.approx(demo_truth["white_space"]["share_holding"], abs=1e-12)


def test_holders_by_line_breaks_ties_by_name(tmp_path):
    # lines c, a, b each held by one client: the order must not depend on the engine's hash tables
    from cxlab.compute.overview import holders_by_line

    clients = pd.DataFrame({"client_id": [1, 2, 3, 4]})
    h = pd.DataFrame({"client_id": [3, 1, 2, 4], "product_id": ["c1", "a1", "b1", "c1"],
                      "opened_at": [T("2025-01-01")] * 4, "closed_at": [pd.NaT] * 4, "value": [1.0] * 4})
    got = holders_by_line(_source(tmp_path / "ties", clients, h), as_of=T("2025-06-01").date())
    assert got.product_line.tolist() == ["c", "a", "b"] and got.clients.tolist() == [2, 1, 1]
