"""01 challenges its own plan (issue #19): unwatchable guardrails, an effect far from the measured baseline,
a test longer than 12 months — each with what would fix it."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from cxlab import stats as cs
from cxlab.analyses.hypothesis import plan
from cxlab.analyses.plan_checks import challenge, months_for
from cxlab.catalog import load_catalog
from cxlab.data.connect import connect
from cxlab.report.plan_checks import sentences


@pytest.fixture(scope="module")
def demo_plan(small_demo):
    return plan(connect(small_demo), load_catalog("catalog"), "cc_salary")


def test_the_demo_plan_is_challenged_where_it_cannot_deliver(demo_plan):
    p = demo_plan
    found = {(c.kind, c.facts.get("metric")) for c in challenge(p)}
    rows = p.power_table.set_index("metric")
    for g in p.hypothesis.metrics.guardrails:  # each guardrail whose detectable change exceeds its margin is flagged
        margin = p.metrics[g].margin
        flagged = margin is not None and rows.loc[g, "mde_rel"] > margin
        assert (("guardrail_unpowered", g) in found or ("guardrail_cuped", g) in found) == flagged
    assert ("too_long", None) in found and p.months_needed > 12
    long = next(c for c in challenge(p) if c.kind == "too_long")
    # a 50/50 split needs fewer people in all than the card's 80/20 (sample sizes from cs.sample_size_proportions)
    nt, nc = cs.sample_size_proportions(p.baseline.estimate, p.expected_abs, 1.0, p.hypothesis.alpha, p.hypothesis.power)
    assert long.facts["months_50_50"] == pytest.approx(1 + (nt + nc - p.stock) / p.new_per_month)
    assert long.facts["months_50_50"] < long.facts["months"]
    words = sentences(challenge(p), {}, "en")
    assert any("a 50/50 split (about" in w and "Fix:" in w for w in words)
    assert all("Fix" in w for w in words)


def test_an_effect_far_from_the_measured_baseline_is_flagged(demo_plan):
    far = dataclasses.replace(demo_plan, expected_abs=demo_plan.baseline.estimate * 1.5)
    c = next(c for c in challenge(far) if c.kind == "effect_far")
    assert c.facts["relative"] == pytest.approx(1.5)
    assert "re-check the expected effect" in sentences([c], {}, "en")[0]
    assert "сверить ожидаемый эффект" in sentences([c], {}, "ru")[0]
    assert not any(c.kind == "effect_far" for c in challenge(demo_plan))  # +1 pp on ≈6% is within reach


def test_a_plan_that_holds_says_so(demo_plan):
    quick = dataclasses.replace(demo_plan, months_needed=3.0, power_table=pd.DataFrame(columns=demo_plan.power_table.columns))
    assert challenge(quick) == []
    assert sentences([], {}, "en")[0].startswith("Nothing to challenge")
    assert months_for(quick, 0.5) > 0 and math.isfinite(months_for(quick, 0.5))


def test_cuped_that_brings_a_guardrail_inside_its_margin_is_the_fix(demo_plan):
    g = demo_plan.hypothesis.metrics.guardrails[0]
    table = demo_plan.power_table.copy()
    table.loc[table.metric == g, ["mde_rel", "mde_cuped_rel"]] = [0.9, 0.3]
    c = next(c for c in challenge(dataclasses.replace(demo_plan, power_table=table)) if c.facts.get("metric") == g)
    assert c.kind == "guardrail_cuped" and "analyse this guardrail with CUPED" in sentences([c], {}, "en")[0]
