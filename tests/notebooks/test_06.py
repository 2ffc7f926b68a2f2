"""Notebook 06 (campaign launch) end to end: a dry run on the demo in Russian with the arbitration, and a
launch that writes the audience files and the registered card which 04 then reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from cxlab.catalog.load import load_card
from cxlab.runner import run

ROOT = Path(__file__).resolve().parents[2]


def _results(folder, name):
    return json.loads((folder / f"{name}.results.json").read_text())


def test_06_dry_run_with_arbitration_in_russian(small_demo, tmp_path):
    result = run(["06"], data=small_demo, out=tmp_path, run_id="r", progress=False,
                 params={"snapshot": "2025-10-01", "policy": "demo_q4", "lang": "ru"})
    assert result.ok, result.notebooks[0].error
    res = _results(tmp_path / "r", "06-campaign-launch")
    assert res["audience"]["target"] == "trigger:salary_no_card" and res["audience"]["size"] > 0
    assert res["waterfall"]["not_holding"] == res["audience"]["size"]
    assert "files" not in res and {r["campaign"] for r in res["arbitration"]} == {"q4_travel", "q4_cards", "q4_borrowers"}
    assert res["plan"]["mde"] > 0 and res["plan"]["analysis"] == "cuped"
    html = (tmp_path / "r" / "06-campaign-launch.html").read_text()
    assert "Арбитраж между кампаниями" in html and "Пробный запуск" in html


def test_06_writes_the_audience_and_the_registered_card(small_demo, tmp_path):
    cat = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", cat)
    result = run(["06"], data=small_demo, out=tmp_path / "reports", run_id="r", progress=False,
                 params={"snapshot": "2025-10-01", "catalog": str(cat), "write": "true", "out": str(tmp_path / "aud"),
                         "owner": "Anna", "approved_by": "Head of CRM", "segment": "salary_earners", "trigger": "",
                         "hypothesis": ""})
    assert result.ok, result.notebooks[0].error
    res = _results(tmp_path / "reports" / "r", "06-campaign-launch")
    rows = pd.read_parquet(res["files"]["parquet"])
    assert len(rows) == res["audience"]["size"] and set(rows.segment) == {"salary_earners"}
    card = load_card(cat / "campaigns" / "demo_launch.yml")
    assert card.registration.sign_off.by == "Head of CRM" and card.registration.salt == "demo-launch-1"
