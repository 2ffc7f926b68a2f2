"""A/A on history: fake splits of the campaign's people give about α false positives and uniform p-values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxlab import cli
from cxlab.analyses.aa import aa
from cxlab.catalog import load_catalog
from cxlab.data import connect
from cxlab.errors import ParameterError

ROOT = Path(__file__).resolve().parents[2]


def test_fake_splits_are_null_for_the_primary_metric(small_demo):
    result = aa(connect(small_demo), load_catalog(ROOT / "catalog"), "cc_spring_2025", runs=300, progress=False)
    table = result.table.set_index("metric")
    assert set(table.index) >= {"cc_conversion", "card_spend", "unsubscribe_rate"}
    assert table.loc["cc_conversion", "status"] == "ok", table
    p = result.pvalues["cc_conversion"]
    assert len(p) == 300 and 0.35 < np.median(p) < 0.65  # uniform p-values have median 1/2
    # On ~1,500 people Welch's approximation is strained by sparse, skewed metrics: the check reports it
    # rather than hiding it (on the 50,000-client demo every metric is "ok").
    assert set(table.status) <= {"ok", "inflated", "conservative"}


def test_status_grades_the_false_positive_rate():
    from cxlab.analyses.aa import status

    assert status(0.07, 0.12, 0.05) == "inflated"
    assert status(0.01, 0.03, 0.05) == "conservative"
    assert status(0.03, 0.07, 0.05) == "ok"


def test_splits_follow_the_planned_control_share(small_demo):
    from cxlab.compute import retro

    cat = load_catalog(ROOT / "catalog")
    camp = cat.campaigns["cc_spring_2025"]
    src = connect(small_demo)
    crowd = retro.people(src, camp)
    people = retro.persons(src, camp, crowd, cat.metrics)
    t = [retro.values(src, people, cat.metrics[n]) for n in ("cc_conversion", "card_spend")]
    sums = retro.fake_split_sums(src, t, 50, 0.2, seed=4)
    conv = sums["cc_conversion"]
    share = conv[conv.fake == "control"].n.sum() / conv.n.sum()
    assert share == pytest.approx(0.2, abs=0.01)
    again = retro.fake_split_sums(src, t, 50, 0.2, seed=4)
    assert all(sums[k].equals(again[k]) for k in sums)
    # every metric sees the same split of the same people, and each its own sums
    assert (sums["card_spend"].n == conv.n).all()
    alone = retro.fake_split_sums(src, t[1:], 50, 0.2, seed=4)["card_spend"]
    assert alone.equals(sums["card_spend"])


def test_too_few_runs_is_refused(small_demo):
    with pytest.raises(ParameterError, match="--runs must be at least 20"):
        aa(connect(small_demo), load_catalog(ROOT / "catalog"), "cc_spring_2025", runs=5, progress=False)


def test_cli_prints_the_table(small_demo, capsys):
    assert cli.main(["aa", "--data", str(small_demo), "--campaign", "cc_spring_2025", "--runs", "40", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "false_positive_rate" in out and "cc_conversion" in out
