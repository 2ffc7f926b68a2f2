"""Notebook 09 (global control) end to end on the demo: the planted leakage in the results, Russian text."""

from __future__ import annotations

import json

from cxlab.runner import run


def test_09_on_the_demo(small_demo, small_truth, tmp_path):
    p = small_truth["programme"]
    result = run(["09"], data=small_demo, out=tmp_path, run_id="r", progress=False,
                 params={"lang": "ru", "start": p["start"], "end": p["end"]})
    assert result.ok, result.notebooks[0].error
    res = json.loads((tmp_path / "r" / "09-global-control.results.json").read_text())
    assert res["leakage"]["clients"] == sum(p["leakage"].values())
    assert {r["campaign_id"]: r["clients"] for r in res["leakage"]["by_campaign"]} == p["leakage"]
    sizes = {r["group"]: r["n"] for r in res["sizes"]}
    assert sizes == {"control": p["clients_in_control"], "outside": p["clients_outside_control"]}
    assert [e["metric"] for e in res["effects"]] == ["contracts", "value", "buyers", "rebuyers"]
    assert {r["move"] for r in res["rotation"]} == {"join", "leave"}
    html = (tmp_path / "r" / "09-global-control.html").read_text()
    assert "глобальная контрольная группа" in html
