"""Notebooks 03 (segment sizing) and 05 (client base) end to end: the demo's planted sizes and value shape
in the results JSON, Russian labels, and the real Online Retail and CDNOW data where present."""

from __future__ import annotations

import json

import pytest

from cxlab.runner import run


def _results(folder, name):
    return json.loads((folder / f"{name}.results.json").read_text())


def test_03_and_05_on_the_demo(small_demo, small_truth, tmp_path):
    snap = small_truth["segments"]["snapshot"]
    result = run(["03", "05"], data=small_demo, out=tmp_path, run_id="r", progress=False,
                 params={"snapshot": snap})
    assert result.ok, [nb.error for nb in result.notebooks]
    seg = _results(tmp_path / "r", "03-segment-sizing")
    raw = {row["segment"]: row["raw"] for row in seg["sizes"]}
    assert raw == small_truth["segments"]["sizes"]
    assert seg["overlap"]["savers"]["salary_earners"] == small_truth["segments"]["overlap"]["savers"]["salary_earners"]
    assert sum(row["assigned"] for row in seg["sizes"]) + seg["unassigned"] == small_truth["segments"]["clients"]
    assert [row["segment"] for row in seg["reach"]] == [row["segment"] for row in seg["sizes"]]
    assert seg["filters_skipped"] == [] and seg["plan"][0]["reach"] > 0
    assert {"base_rates", "white_space", "taken_by_priority", "uplift"} <= set(seg)
    html = (tmp_path / "r" / "03-segment-sizing.html").read_text()
    assert "Start with" in html and "cx-banner" in html


def test_05_recovers_the_planted_value_shape(small_demo, small_truth, tmp_path):
    result = run(["05"], data=small_demo, out=tmp_path, run_id="r", progress=False,
                 params={"snapshot": small_truth["as_of"], "lang": "ru"})
    assert result.ok, result.notebooks[0].error
    res = _results(tmp_path / "r", "05-client-base")
    truth = small_truth["value"]
    assert res["period"] == {"start": "2025-01-01", "end": "2026-01-01", "mode": "held"}
    assert res["value_shape"]["gini"] == pytest.approx(truth["gini"], abs=1e-9)
    assert res["value_shape"]["top_share_of_turnover"] == pytest.approx(truth["top_20pct_share"], abs=1e-9)
    assert res["value_shape"]["abc_sizes"] == truth["abc_sizes"]
    assert [s["step"] for s in res["funnel"]] == ["all", "active", "repeat", "multi_line", "top"]
    assert len(res["top_tier_flow"]) == 12 and len(res["lines_flow"]) == 12
    assert {r["product_line"] for r in res["lookalikes"]} == set(small_truth["white_space"]["share_holding"])
    html = (tmp_path / "r" / "05-client-base.html").read_text()
    assert "Кривая Парето" in html or "Сколько клиентов" in html


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("name, file", [("online-retail", "online_retail/onlineretail.csv.gz"),
                                        ("cdnow", "cdnow/CDNOW_master.txt")])
def test_03_and_05_on_real_purchase_logs(name, file, dataset, tmp_path):
    from cxlab.data.adapters import import_dataset

    folder, _, base = file.partition("/")
    src = dataset(folder, base)
    import_dataset(name, src, tmp_path / "data")  # an adapter error fails: the dataset is on this machine
    result = run(["03", "05"], data=tmp_path / "data", out=tmp_path / "reports", run_id="r", progress=False)
    assert result.ok, [nb.error for nb in result.notebooks]
    res = _results(tmp_path / "reports" / "r", "05-client-base")
    assert res["period"]["mode"] == "opened"
    assert 0.3 < res["value_shape"]["gini"] < 1
    seg = _results(tmp_path / "reports" / "r", "03-segment-sizing")
    assert {"consent", "contact_cap"} <= set(seg["filters_skipped"])
