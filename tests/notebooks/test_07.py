"""Notebook 07 (uplift targeting) end to end on the small demo, in Russian, with the scored audience."""

from __future__ import annotations

import json

import pandas as pd

from cxlab.runner import run


def test_07_on_the_demo_in_russian_writes_the_audience(small_demo, tmp_path):
    out = tmp_path / "audience.parquet"
    result = run(["07"], data=small_demo, out=tmp_path / "rep", run_id="r", progress=False,
                 params={"lang": "ru", "score_out": str(out), "draws": 100})
    assert result.ok, result.notebooks[0].error
    res = json.loads((tmp_path / "rep" / "r" / "07-uplift-targeting.results.json").read_text())
    assert res["campaign"] == "cc_spring_2025" and set(res["arms"]) == {"email", "email_offer"}
    for arm in res["arms"].values():
        # 1,500 people cannot show a 1–4 pp uplift difference: the report must read as random
        assert arm["verdict"] == "random"
        assert {"qini", "shuffled_band", "calibration_slope", "best_share", "negative_share"} <= set(arm)
    assert res["audience"]["clients"] == len(pd.read_parquet(out))
    html = (tmp_path / "rep" / "r" / "07-uplift-targeting.html").read_text()
    assert "Кому писать и кому не писать" in html and "не лучше случайного порядка" in html
