"""The 03 plan on the engine's counts: its arithmetic, its confidence label and where its uplift comes from."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlab.analyses import segments as sa
from cxlab.catalog import load_catalog


def test_plan_arithmetic_and_uplift_sources():
    reach = pd.DataFrame({"segment": ["s", "t"], "not_holding": [1000, 4000]})
    rates = pd.DataFrame({"segment": ["s", "t"], "product_line": ["y", "x"], "n": [500, 500], "x_sum": [50, 5],
                          "rate": [0.1, 0.01], "ci_low": [0.08, 0.004], "ci_high": [0.12, 0.02]})
    up = sa.Uplift("relative", 0.2, 0.1, 0.3, "parameters")
    plan = sa.plan(reach, rates, up, {"y": 10.0, "x": 50.0}).set_index("segment")
    assert plan.loc["s", "contracts"] == pytest.approx(1000 * 0.1 * 0.2)
    assert (plan.loc["s", "contracts_low"], plan.loc["s", "contracts_high"]) == pytest.approx((1000 * 0.08 * 0.1, 1000 * 0.12 * 0.3))
    assert plan.loc["t", "value"] == pytest.approx(4000 * 0.01 * 0.2 * 50)
    assert plan.index.tolist() == ["t", "s"]  # by value: t = 4000 × 1% × 20% × 50 = 400 > s = 200
    # confidence from the whole range (base-rate interval × the uplift's range): s spans 8 … 36 around 20,
    # a half-width of 70% of the estimate → medium (the base rate alone, ±20%, would have said high)
    assert plan.loc["s", "confidence"] == "medium" and plan.loc["t", "confidence"] == "low"
    narrow = sa.plan(reach, rates, sa.Uplift("relative", 0.2, 0.18, 0.22, "parameters"), {}).set_index("segment")
    assert narrow.loc["s", "confidence"] == "high"  # the same base rate with a narrow uplift assumption
    absolute = sa.Uplift("absolute", 0.01, 0.005, 0.015, "x")
    assert absolute.contracts(1000, 0.1) == pytest.approx(10.0)
    cat = load_catalog("catalog")
    h = sa.Uplift.of(cat.hypotheses["cc_salary"], 0.2, 0.1, 0.3)
    assert (h.kind, h.estimate, h.low, h.high) == ("absolute", 0.01, 0.005, 0.015)
    with pytest.raises(ValueError, match="range"):
        sa.Uplift("relative", 0.2, 0.3, 0.4, "parameters")
