"""cxlab diff on two runs' results.json written by hand: which figures moved, by how much, beyond or within."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxlab import cli
from cxlab.errors import CxlabError
from cxlab.report.i18n import catalogue
from cxlab.runner.diff import Change, diff_runs, flatten, render


def _est(estimate, low, high, **extra):
    return {"estimate": estimate, "ci_low": low, "ci_high": high, "method": "proportion (wilson)", **extra}


A = {
    "02-trigger-backtest": {
        "uplift": _est(0.044, 0.036, 0.052),        # → 0.047: moved, inside the old interval
        "lift": _est(3.0, 2.3, 3.8),                # → 4.2: outside the old interval
        "rate_fired": _est(0.058, 0.051, 0.066),    # unchanged
        "trigger": "salary_no_card",
        "suppressed_cells": 1,
    },
    "04-campaign-retro": {
        "effects": {"card_spend": {"email": {"uplift": -40.0, "ci_low": -120.0, "ci_high": 40.0, "lift": -0.18,
                                             "lift_low": -0.35, "lift_high": -0.01, "verdict": "no effect"}}},
        "incremental": [{"arm": "email", "incremental": 10.0, "incremental_low": 2.0, "incremental_high": 18.0}],
        "people": 1200,
    },
    "05-client-base": {"period": "2025"},
}
B = {
    "02-trigger-backtest": {
        "uplift": _est(0.047, 0.039, 0.055),
        "lift": _est(4.2, 3.9, 4.6),
        "rate_fired": _est(0.058, 0.051, 0.066),
        "trigger": "salary_no_card",
        "suppressed_cells": 3,                      # skipped: a count of hidden cells, not a figure
    },
    "04-campaign-retro": {
        # the new estimate -39 is inside the old interval, but the new interval [41, 60] lies above it: apart
        "effects": {"card_spend": {"email": {"uplift": -39.0, "ci_low": 41.0, "ci_high": 60.0, "lift": -0.18,
                                             "lift_low": -0.35, "lift_high": -0.01, "verdict": "positive"}}},
        "incremental": [{"arm": "email", "incremental": 10.0, "incremental_low": 2.0, "incremental_high": 18.0}],
        "people": 1250,
    },
    "06-campaign-launch": {"arms": 2},
}


def _write(folder: Path, runs: dict) -> Path:
    folder.mkdir(parents=True)
    for name, results in runs.items():
        (folder / f"{name}.results.json").write_text(json.dumps(results), encoding="utf-8")
    return folder


@pytest.fixture
def runs(tmp_path) -> tuple[Path, Path]:
    return _write(tmp_path / "reports" / "run-a", A), _write(tmp_path / "reports" / "run-b", B)


def _by_figure(d):
    return {(c.notebook, c.figure): c for c in d.changes}


def test_what_moved_by_how_much_and_whether_beyond(runs):
    d = diff_runs(*runs)
    changes = _by_figure(d)
    uplift = changes[("02-trigger-backtest", "uplift.estimate")]
    assert uplift.delta == pytest.approx(0.003) and uplift.relative == pytest.approx(0.003 / 0.044)
    assert uplift.old_interval == (0.036, 0.052) and uplift.beyond is False
    assert changes[("02-trigger-backtest", "lift.estimate")].beyond is True
    apart = changes[("04-campaign-retro", "effects.card_spend.email.uplift")]
    assert apart.beyond is True and 0 < apart.delta  # inside the old interval, but the intervals do not overlap
    people = changes[("04-campaign-retro", "people")]
    assert people.delta == 50 and people.beyond is None  # no interval: moved, nothing to say about beyond
    verdict = changes[("04-campaign-retro", "effects.card_spend.email.verdict")]
    assert (verdict.old, verdict.new, verdict.delta) == ("no effect", "positive", None)
    # unchanged figures, interval bounds and suppressed_cells are not changes
    assert not any("rate_fired" in f or f.endswith(("ci_low", "_high")) or "suppressed" in f for _, f in changes)
    assert {f for _, f in changes} == {"uplift.estimate", "lift.estimate", "effects.card_spend.email.uplift",
                                       "people", "effects.card_spend.email.verdict"}
    assert d.only_a == ["05-client-base"] and d.only_b == ["06-campaign-launch"]
    assert [c.beyond for c in d.changes] == [True, True, False, None, None]  # beyond first


@pytest.mark.parametrize("old, new, beyond", [
    ((1.0, 0.5, 1.5), (1.4, 1.0, 1.8), False),   # new estimate inside, intervals overlap
    ((1.0, 0.5, 1.5), (1.5, 1.2, 1.8), False),   # on the old bound: inside (closed interval)
    ((1.0, 0.5, 1.5), (1.6, 1.2, 1.8), True),    # new estimate outside the old interval
    ((1.0, 0.5, 1.5), (0.4, 0.1, 0.45), True),   # below, apart
    ((1.0, 0.5, 1.5), (1.2, 1.55, 1.9), True),   # estimate inside but intervals apart (an odd interval)
])
def test_the_rule(old, new, beyond):
    c = Change("n", "f", old[0], new[0], old[1:], new[1:])
    assert c.beyond is beyond


def test_list_rows_are_named_by_their_text_fields():
    flat = flatten({"base_rates": [{"segment": "savers", "product_line": "deposit", "rate": 0.1, "ci_low": 0.05,
                                    "ci_high": 0.15}, {"segment": "savers", "product_line": "card", "rate": 0.2}],
                    "mde_by_months": [{"months": 1, "mde": 0.2}]})
    row = flat["base_rates[segment=savers, product_line=deposit].rate"]
    assert (row.value, row.low, row.high) == (0.1, 0.05, 0.15)
    assert flat["base_rates[segment=savers, product_line=card].rate"].low is None
    assert flat["mde_by_months[0].mde"].value == 0.2


def test_identical_runs_say_nothing_moved(tmp_path):
    a, b = _write(tmp_path / "a", A), _write(tmp_path / "b", A)
    d = diff_runs(a, b)
    assert d.changes == [] and d.unchanged > 5
    assert "No headline figure moved" in render(d)


def test_cli_in_english_and_russian(runs, capsys, monkeypatch):
    monkeypatch.setenv("CXLAB_HOME", str(runs[0].parents[1]))
    assert cli.main(["diff", "run-a", "run-b"]) == 0  # run ids in reports/
    out = capsys.readouterr().out
    assert "5 figure(s) moved, 2 of them beyond their interval" in out
    assert "lift.estimate: 3 → 4.2 (+1.2 (+40.0%))  BEYOND the old interval [2.3, 3.8]" in out
    assert "uplift.estimate: 0.044 → 0.047 (+0.003 (+6.8%))  within the old interval [0.036, 0.052]" in out
    assert "05-client-base: only in run run-a" in out
    assert cli.main(["diff", str(runs[0]), str(runs[1]), "--lang", "ru"]) == 0
    out = capsys.readouterr().out
    assert "ЗА ПРЕДЕЛАМИ прежнего интервала [2,3; 3,8]" in out and "из них за пределами интервала: 2" in out


def test_not_a_run_folder_is_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["diff", str(tmp_path / "empty"), str(tmp_path / "nowhere")]) == 2
    assert "holds no *.results.json" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "00-x.results.json").write_text("{", encoding="utf-8")
    with pytest.raises(CxlabError, match=r"00-x\.results\.json: not valid JSON"):
        diff_runs(tmp_path / "bad", tmp_path / "bad")


def test_both_languages_have_the_same_diff_keys():
    en = {k for k in catalogue("en") if k.startswith("diff.")}
    assert en and en == {k for k in catalogue("ru") if k.startswith("diff.")}
