"""Notebook 08 (client value) end to end: the demo in both languages with the at-risk export, the CDNOW
sample's published parameters in the results JSON, and Online Retail."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxlab.runner import run


def _results(folder, name="08-client-value"):
    return json.loads((folder / f"{name}.results.json").read_text())


def test_08_on_the_demo_exports_the_at_risk_list(small_demo, tmp_path):
    out = tmp_path / "risk.csv"
    result = run(["08"], data=small_demo, out=tmp_path / "rep", run_id="r", progress=False,
                 params={"lang": "ru", "at_risk_file": str(out), "events": "travel_booking", "p_alive_threshold": 0.999})
    assert result.ok, result.notebooks[0].error
    res = _results(tmp_path / "rep" / "r")
    assert {"bgnbd", "mbgnbd"} <= set(res["calibration_fits"])
    fwd = res["forward"]
    assert fwd["clients"] == fwd["repeat_clients"] + fwd["one_time_clients"] and fwd["alive_by_construction"] == fwd["one_time_clients"]
    assert 0 < fwd["expected_alive"] <= fwd["clients"]
    risk = pd.read_csv(out)
    assert len(risk) == res["at_risk"]["clients"] and (risk.p_alive < 0.999).all() and (risk.frequency > 0).all()
    assert list(risk.past_value) == sorted(risk.past_value, reverse=True)
    assert sum(r["clients"] for r in res["by_abc"] if r["clients"] is not None) <= fwd["clients"]
    html = (tmp_path / "rep" / "r" / "08-client-value.html").read_text()
    assert "Клиентская база в будущем" in html


@pytest.mark.realdata
def test_08_on_the_cdnow_sample_reproduces_the_published_fits(dataset, tmp_path):
    from cxlab.data.adapters import import_dataset

    import_dataset("cdnow", dataset("cdnow", "CDNOW_sample.txt"), tmp_path / "cd")
    result = run(["08"], data=tmp_path / "cd", out=tmp_path / "rep", run_id="r", progress=False,
                 params={"calibration_end": "1997-09-30", "at_risk_file": str(tmp_path / "risk.parquet")})
    assert result.ok, result.notebooks[0].error
    fits = _results(tmp_path / "rep" / "r")["calibration_fits"]
    bg, pn = fits["bgnbd"]["params"], fits["pareto_nbd"]["params"]
    np.testing.assert_array_almost_equal([bg[k] for k in ("r", "alpha", "a", "b")], (0.243, 4.414, 0.793, 2.426), decimal=3)
    assert fits["bgnbd"]["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    risk = pd.read_parquet(tmp_path / "risk.parquet")
    assert len(risk) == _results(tmp_path / "rep" / "r")["at_risk"]["clients"] > 100
    np.testing.assert_array_almost_equal([pn[k] for k in ("r", "alpha", "s", "beta")], (0.553, 10.578, 0.606, 11.669), decimal=2)


@pytest.mark.realdata
@pytest.mark.slow
def test_08_on_online_retail(dataset, tmp_path):
    from cxlab.data.adapters import import_dataset

    import_dataset("online-retail", dataset("online_retail", "onlineretail.csv.gz"), tmp_path / "retail")
    result = run(["08"], data=tmp_path / "retail", out=tmp_path / "rep", run_id="r", progress=False,
                 params={"holdout_days": 120})
    assert result.ok, result.notebooks[0].error
    res = _results(tmp_path / "rep" / "r")
    assert res["forward"]["clients"] > 3000 and res["by_segment"] and len(res["by_line"]) >= 5
    assert abs(res["comparison"][0]["holdout_error"]) < 0.5
