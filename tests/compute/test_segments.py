"""Segment sizing: exclusive assignment, overlaps and the reachable waterfall on a fixture computed by
hand; base rates; the demo's planted segment sizes recovered exactly."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from cxlab.catalog import Segment, load_catalog
from cxlab.compute import segments as sg
from cxlab.compute.base import product_lines
from cxlab.data import connect

T = pd.Timestamp
SNAP = date(2025, 6, 1)

SEGMENTS = [
    Segment(name="b_users", title="B", rule="count_events('b', 30) >= 1", priority=3, product_line="x"),
    Segment(name="a_users", title="A", rule="count_events('a', 30) >= 1", priority=1, product_line="y"),
    Segment(name="x_holders", title="X", rule="holds('x')", priority=2, product_line="y"),
]


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """Eight clients (8 in the global control). At 2025-06-01: a = {1, 2, 3, 8}, x held by {3, 4, 6},
    b = {2, 4, 5}; y held by 1 (and 2, 6 after converting in May)."""
    folder = tmp_path_factory.mktemp("bank")
    clients = pd.DataFrame({"client_id": range(1, 9), "global_control": [False] * 7 + [True]})
    products = pd.DataFrame({"product_id": ["x1", "y1"], "product_line": ["x", "y"]})
    noon = lambda d: T(d) + pd.Timedelta(hours=12)  # noqa: E731
    holdings = pd.DataFrame([
        (3, "x1", noon("2025-01-01")), (4, "x1", noon("2025-01-01")), (6, "x1", noon("2025-01-01")),
        (1, "y1", noon("2025-01-01")),
        (2, "y1", noon("2025-05-10")), (6, "y1", noon("2025-05-20")),  # conversions in (s0, s0 + 30 days]
        (3, "y1", noon("2025-06-05")),  # after the window and the snapshot
    ], columns=["client_id", "product_id", "opened_at"]).assign(closed_at=pd.NaT, value=[0, 0, 0, 100.0, 200.0, 300.0, 0])
    events = pd.DataFrame(
        [(c, "a", noon("2025-05-20")) for c in (1, 2, 3, 8)] + [(c, "b", noon("2025-05-21")) for c in (2, 4, 5)]
        + [(c, "a", noon("2025-04-15")) for c in (1, 2)],  # in the base-rate snapshot's window only
        columns=["client_id", "event_type", "ts"])
    consents = pd.DataFrame({"client_id": range(1, 9), "channel": "email",
                             "opted_in": [True, True, True, True, True, False, True, True]})
    comms = pd.DataFrame([(2, "t", noon("2025-05-10"), "treatment"), (2, "t", noon("2025-05-25"), "treatment"),
                          (4, "t", noon("2025-05-10"), "treatment"), (4, "t", noon("2025-05-25"), "control"),
                          (5, "t", noon("2025-03-01"), "treatment"), (5, "t", noon("2025-03-02"), "treatment")],
                         columns=["client_id", "campaign_id", "sent_at", "group"]).assign(channel="email")
    for name, frame in {"clients": clients, "products": products, "holdings": holdings, "events": events,
                        "consents": consents, "communications": comms}.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return connect(folder)


def test_exclusive_assignment_and_overlaps_by_hand(bank):
    segs = sg.ordered(SEGMENTS)
    assert [s.name for s in segs] == ["a_users", "x_holders", "b_users"]
    f = sg.flags(bank, segs, SNAP)
    assigned = bank.con.execute(f.select("client_id", "assigned").order_by("client_id"))
    assert assigned.assigned.tolist()[:6] == [0, 0, 0, 1, 2, 1] and pd.isna(assigned.assigned.iloc[6])
    over, flow = sg.overlap(sg.tally(bank, f, segs, sg.Filters.of(bank)), segs)
    assert over.to_numpy().tolist() == [[4, 1, 1], [1, 3, 1], [1, 1, 3]]
    # x_holders {3, 4, 6}: 3 went to a_users; b_users {2, 4, 5}: 2 to a_users, 4 to x_holders
    assert flow.to_numpy().tolist() == [[4, 0, 0], [1, 2, 0], [1, 1, 1]]
    sizes = sg.sizes(over, flow, segs)
    assert sizes.raw.tolist() == [4, 3, 3] and sizes.assigned.tolist() == [4, 2, 1] and sizes.taken.tolist() == [0, 1, 2]


def test_reachable_waterfall_by_hand(bank):
    segs = sg.ordered(SEGMENTS)
    filters = sg.Filters.of(bank)
    assert filters.skipped() == []
    reach = sg.waterfall(sg.tally(bank, sg.flags(bank, segs, SNAP, "email", cap_messages=2, cap_days=30), segs, filters), segs)
    # a_users {1, 2, 3, 8}: 8 control; all opted in; 2 has 2 sends in 30 days; 1 holds y → {3}
    # x_holders {4, 6}: 6 not opted in; 4 has one treatment send (control rows do not count) → {4}
    # b_users {5}: its sends are older than 30 days; does not hold x → {5}
    assert reach.set_index("segment").loc[["a_users", "x_holders", "b_users"], list(sg.STEPS)].to_numpy().tolist() == [
        [4, 3, 3, 2, 1], [2, 2, 1, 1, 1], [1, 1, 1, 1, 1]]
    strict = sg.waterfall(sg.tally(bank, sg.flags(bank, segs, SNAP, "email", cap_messages=1, cap_days=120), segs, filters), segs)
    assert strict.contact_cap.tolist() == [2, 0, 0]  # any treatment send in 120 days caps 2, 4 and 5


def test_base_rates_by_hand(bank):
    rates, s0 = sg.base_rates(bank, SEGMENTS, SNAP, history_days=30)
    assert s0 == date(2025, 5, 2)
    r = rates.set_index("segment")
    # at s0: a_users {1, 2} (1 holds y → eligible {2}, converted); x_holders {3, 4, 6}, 6 converted
    assert (r.loc["a_users", "n"], r.loc["a_users", "x_sum"]) == (1, 1)
    assert (r.loc["x_holders", "n"], r.loc["x_holders", "x_sum"]) == (3, 1)
    assert r.loc["b_users", "n"] == 0 and math.isnan(r.loc["b_users", "rate"])
    # Wilson 95% for 1/3: statsmodels.stats.proportion.proportion_confint(1, 3, method="wilson")
    assert (r.loc["x_holders", "ci_low"], r.loc["x_holders", "ci_high"]) == pytest.approx((0.0614919, 0.7923404), abs=1e-6)
    assert sg.line_values(bank, ["y", "x"]) == pytest.approx({"y": (100 + 200 + 300 + 0) / 4, "x": 0.0})


def test_filters_degrade_without_consents_or_communications(tmp_path):
    clients = pd.DataFrame({"client_id": [1, 2]})
    pd.DataFrame({"product_id": ["p"], "product_line": ["music"]}).to_parquet(tmp_path / "products.parquet")
    clients.to_parquet(tmp_path / "clients.parquet")
    pd.DataFrame({"client_id": [1], "product_id": ["p"], "opened_at": [T("2025-01-01")], "value": [5.0]}).to_parquet(
        tmp_path / "holdings.parquet")
    src = connect(tmp_path)
    filters = sg.Filters.of(src)
    assert filters.skipped() == ["not_control", "consent", "contact_cap", "not_holding"]
    seg = Segment(name="buyers", title="Buyers", rule="holds('music')", priority=1, product_line="music")
    reach = sg.waterfall(sg.tally(src, sg.flags(src, [seg], date(2025, 6, 1)), [seg], filters), [seg])
    assert reach[list(sg.STEPS)].iloc[0].tolist() == [1, 1, 1, 1, 1]


def test_planted_segment_sizes_and_overlaps_recovered(demo):
    folder, truth = demo
    truth = truth["segments"]
    src = connect(folder)
    # the cards that apply to the demo's product lines, as 03 chooses them (retail cards are skipped)
    segs, _ = sg.applicable(sg.ordered(list(load_catalog("catalog").segments.values())), product_lines(src))
    f = sg.flags(src, segs, date.fromisoformat(truth["snapshot"]))
    counts = sg.tally(src, f, segs, sg.Filters.of(src))
    over, flow = sg.overlap(counts, segs)
    assert int(src.con.execute(f.count())) == truth["clients"] == sg.clients(counts)
    for a in over.index:
        assert over.loc[a, a] == truth["sizes"][a]
        for b in over.columns:
            assert over.loc[a, b] == truth["overlap"][a][b]
    assert flow.to_numpy().sum(axis=1).tolist() == over.to_numpy().diagonal().tolist()  # every match goes somewhere
