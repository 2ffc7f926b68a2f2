"""Notebooks 01 (hypothesis) and 02 (trigger backtest) end to end: the demo's planted lift in the results
JSON, the warnings a reader must see, Russian labels, and the UCI Bank Marketing data where present."""

from __future__ import annotations

import json

import pytest

from cxlab.runner import run


def _results(folder, name):
    return json.loads((folder / f"{name}.results.json").read_text())


def test_01_and_02_on_the_demo(small_demo, small_truth, tmp_path):
    result = run(["01", "02"], data=small_demo, out=tmp_path, run_id="r", progress=False,
                 params={"model_sample": "5000", "period_start": "2024-04-01"})
    assert result.ok, [nb.error for nb in result.notebooks]
    r02 = _results(tmp_path / "r", "02-trigger-backtest")
    truth = small_truth["triggers"]["salary_no_card"]
    assert r02["eligible_rows"] == truth["eligible_rows"] and r02["fired_rows"] == truth["triggered_rows"]
    for key in ("uplift", "uplift_clustered"):
        assert r02[key]["ci_low"] <= truth["expected_lift_abs"] <= r02[key]["ci_high"]
    assert r02["lift"]["ci_low"] <= truth["expected_lift_rel"] <= r02["lift"]["ci_high"]
    assert r02["rate_fired"]["ci_low"] <= truth["expected_rate_triggered"] <= r02["rate_fired"]["ci_high"]
    assert len(r02["monthly_uplift"]) == len(r02["snapshots"]) == 20
    assert r02["adjusted"]["ci_low"] > 1 and r02["model"]["sample_rows"] == 5000
    assert 0.5 < r02["model"]["auc_model"] < 1 and r02["model"]["volume"] == r02["model"]["rule_volume"]
    html = (tmp_path / "r" / "02-trigger-backtest.html").read_text()
    assert "shows association, not cause" in html and "5,000 rows" in html
    r01 = _results(tmp_path / "r", "01-hypothesis")
    assert r01["hypothesis"] == "cc_salary" and r01["missing_checks"] == []
    assert r01["baseline"]["ci_low"] <= truth["p_triggered"] <= r01["baseline"]["ci_high"]
    assert r01["sample_size"]["treatment"] == pytest.approx(4 * r01["sample_size"]["control"], abs=4)  # the card's 80/20 split
    assert r01["months_needed"] > 12 and r01["weeks_needed"] == pytest.approx(r01["months_needed"] * 52 / 12)
    assert [row["months"] for row in r01["mde_by_months"]] == [1, 2, 3, 6, 12]


def test_01_warns_of_an_incomplete_communication_check_in_russian(small_demo, tmp_path):
    result = run(["01"], data=small_demo, out=tmp_path, run_id="r", progress=False,
                 params={"hypothesis": "travel_insurance", "lang": "ru"})
    assert result.ok, result.notebooks[0].error
    r01 = _results(tmp_path / "r", "01-hypothesis")
    assert r01["missing_checks"] == ["client_need"]
    html = (tmp_path / "r" / "01-hypothesis.html").read_text()
    banner = html.index("Проверка коммуникации не заполнена")
    assert banner < html.index("Формулировка") and "Нужно ли это клиенту?" in html[banner:banner + 400]


@pytest.mark.realdata
@pytest.mark.slow
def test_01_and_02_on_the_bank_data(dataset, tmp_path):
    from cxlab.data.adapters import import_dataset

    import_dataset("bank", dataset("bank_marketing", "bank-full.csv"), tmp_path / "bank")
    result = run(["01", "02"], data=tmp_path / "bank", out=tmp_path, run_id="b", progress=False,
                 params={"trigger": "bank_prior_success", "hypothesis": "bank_prior_success", "model_sample": "20000"})
    assert result.ok, [nb.error for nb in result.notebooks]
    r02 = _results(tmp_path / "b", "02-trigger-backtest")
    assert r02["snapshots"][0] == "2008-08-01" and r02["uplift"]["ci_low"] > 0.05
    assert r02["model"]["sample_rows"] == 20000 and r02["model"]["population_rows"] > 1_000_000
    r01 = _results(tmp_path / "b", "01-hypothesis")
    assert r01["trigger"] == "bank_prior_success" and r01["stock"] > r01["new_per_month"] > 0
