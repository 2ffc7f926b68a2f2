"""The global-control report: hand-computed sums, and the demo's planted programme effect and leakage
recovered (the effect inside its interval, the leakage exactly)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cxlab.analyses import global_control as ag
from cxlab.compute import global_control as gc
from cxlab.data import connect
from cxlab.errors import NotApplicable

T = pd.Timestamp


@pytest.fixture
def base(tmp_path):
    folder = tmp_path / "gc"
    folder.mkdir()
    clients = pd.DataFrame({"client_id": [1, 2, 3, 4, 5, 6, 7],
                            "joined_at": [T("2024-01-01")] * 6 + [T("2025-03-01")],
                            "global_control": [True, True, True, False, False, False, True]})
    products = pd.DataFrame({"product_id": ["a", "b"], "product_line": ["x", "y"]})
    holdings = pd.DataFrame([
        (1, "a", T("2025-02-01"), 10.0), (4, "a", T("2025-02-01"), 20.0), (4, "b", T("2025-05-01"), 5.0),
        (5, "a", T("2025-03-01"), 7.0), (5, "a", T("2025-03-01"), 3.0), (6, "b", T("2024-12-31"), 99.0),
        (7, "a", T("2025-04-01"), 50.0),  # client 7 joined after the start: not in the comparison
    ], columns=["client_id", "product_id", "opened_at", "value"])
    comms = pd.DataFrame([
        (4, "c1", "email", T("2025-02-01"), "treatment"), (5, "c1", "email", T("2025-02-01"), "control"),
        (2, "c1", "email", T("2025-02-01"), "treatment"), (2, "c2", "sms", T("2025-03-01"), "treatment"),
        (7, "c2", "sms", T("2025-03-01"), "treatment"), (3, "c3", "sms", T("2024-06-01"), "treatment"),
    ], columns=["client_id", "campaign_id", "channel", "sent_at", "group"])
    for name, frame in {"clients": clients, "products": products, "holdings": holdings, "communications": comms}.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return connect(folder)


def test_hand_computed_sums(base):
    s, e = date(2025, 1, 1), date(2026, 1, 1)
    out = gc.outcome_sums(base, s, e).set_index("group")
    assert out.loc["control"].to_dict() == {"n": 3, "contracts_sum": 1.0, "contracts_sq": 1.0, "value_sum": 10.0,
                                            "value_sq": 100.0, "buyers": 1, "rebuyers": 0}
    assert out.loc["outside"].to_dict() == {"n": 3, "contracts_sum": 4.0, "contracts_sq": 8.0, "value_sum": 35.0,
                                            "value_sq": 25.0**2 + 10.0**2, "buyers": 2, "rebuyers": 1}
    lines = gc.line_sums(base, s, e).set_index(["group", "product_line"])
    assert lines.loc[("outside", "x")].x_sum == 3 and lines.loc[("control", "y")].buyers == 0
    assert gc.contacted(base, s, e).set_index("group").contacted.to_dict() == {"control": 1, "outside": 1}
    leak = gc.leakage(base, s, e)
    assert leak[["campaign_id", "clients", "rows"]].values.tolist() == [["c2", 2, 2], ["c1", 1, 1]]
    assert gc.leaked_clients(base, s, e) == 2  # clients 2 and 7; the control row of client 5 is not a send


def test_effects_equal_scipy_on_the_rows(base):
    r = ag.global_control(base, date(2025, 1, 1), date(2026, 1, 1))
    ref = sps.ttest_ind([2, 2, 0], [1, 0, 0], equal_var=False)  # contracts per person: outside vs control
    e = r.effect("contracts")
    assert e.difference.estimate == pytest.approx(1.0) and e.difference.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert e.incremental == pytest.approx(3.0)
    assert r.facts()["leaked_clients"] == 2


def test_no_control_column_is_a_clear_error(tmp_path):
    folder = tmp_path / "nogc"
    folder.mkdir()
    pd.DataFrame({"client_id": [1]}).to_parquet(folder / "clients.parquet")
    pd.DataFrame({"product_id": ["a"], "product_line": ["x"]}).to_parquet(folder / "products.parquet")
    pd.DataFrame({"client_id": [1], "product_id": ["a"], "opened_at": [T("2025-01-01")], "value": [1.0]}).to_parquet(folder / "holdings.parquet")
    with pytest.raises(NotApplicable, match="global_control"):
        ag.global_control(connect(folder), date(2025, 1, 1), date(2026, 1, 1))


@pytest.fixture(scope="module")
def demo20k(tmp_path_factory):
    from cxlab.data.demo import generate

    out = tmp_path_factory.mktemp("gc20k") / "demo"
    truth = generate(out, clients=20_000, seed=7)
    return connect(out), truth


def test_demo_programme_effect_and_leakage_are_recovered(demo20k):
    src, truth = demo20k
    p = truth["programme"]
    r = ag.global_control(src, date.fromisoformat(p["start"]), date.fromisoformat(p["end"]))
    inv = r.by_line.set_index("product_line").loc[p["line"]]
    # the planted +0.02 contracts per person outside the control, within the interval, which excludes 0
    assert inv.ci_low < p["expected_incremental_contracts_per_client"] < inv.ci_high and inv.ci_low > 0
    sizes = r.sizes.set_index("group").n
    assert (sizes["control"], sizes["outside"]) == (p["clients_in_control"], p["clients_outside_control"])
    # the leakage exactly, by campaign
    assert dict(zip(r.leakage.campaign_id, r.leakage.clients, strict=True)) == p["leakage"]
    assert r.leaked_clients == sum(p["leakage"].values())
    # the control is a random 5% of every month's base, and the rotation keeps its size
    assert np.allclose(r.drift.control_share, 0.05, atol=0.01)
    moves = r.rotation.set_index("move").clients
    assert abs(moves["join"] - moves["leave"]) < 4 * np.sqrt(moves["leave"])
    assert moves["leave"] == pytest.approx(0.25 * sizes["control"], rel=0.2)
