"""04's result in parts: the head-to-head of the two best arms against statsmodels / scipy and planted
effects, the variant recommended, the verdict naming each arm, a qini on a mean primary metric, and
Report.details (one escaped, suppressed <details> block)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from cxlab.analyses.retro import analyse, head_to_head
from cxlab.catalog import load_catalog
from cxlab.catalog.cards import Metric
from cxlab.data import connect
from cxlab.report import Report
from cxlab.report import retro as words

ROOT = Path(__file__).resolve().parents[2]


def card(**kw) -> Metric:
    return Metric(**({"name": "m", "label": "M", "description": "d", "window_days": 30} | kw))


def effects(uplifts: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"metric": "m", "arm": list(uplifts), "uplift": list(uplifts.values()), "untestable": ""})


def test_head_to_head_of_proportions_equals_statsmodels_with_bonferroni():
    sums = pd.DataFrame({"n": [4000, 4100, 3900], "x_sum": [120, 205, 168]}, index=["control", "a", "b"])
    duel = head_to_head(card(type="proportion", source="holdings", aggregate="any"), sums,
                        effects({"a": 205 / 4100 - 0.03, "b": 168 / 3900 - 0.03}), 0.05)
    # python -c "from statsmodels.stats.proportion import confint_proportions_2indep as c;
    #   print(c(205, 4100, 168, 3900, method='newcombe', compare='diff', alpha=0.05/3))"
    low, high = confint_proportions_2indep(205, 4100, 168, 3900, method="newcombe", compare="diff", alpha=0.05 / 3)
    _, p = proportions_ztest([205, 168], [4100, 3900])
    assert (duel.best, duel.second, duel.comparisons) == ("a", "b", 3)  # two arms against control, then one another
    assert duel.estimate.estimate == pytest.approx(205 / 4100 - 168 / 3900, rel=1e-12)
    assert (duel.estimate.ci_low, duel.estimate.ci_high) == pytest.approx((low, high), rel=1e-10)
    assert duel.p_adjusted == pytest.approx(min(1.0, 3 * p), rel=1e-10)


def test_head_to_head_of_means_equals_welch_and_follows_a_decreasing_metric():
    rng = np.random.default_rng(5)
    a, b = rng.gamma(2.0, 10.0, 900), rng.gamma(2.0, 12.0, 1100)
    sums = pd.DataFrame({"n": [len(a), len(b)], "x_sum": [a.sum(), b.sum()], "x_sum_sq": [(a**2).sum(), (b**2).sum()]},
                        index=["a", "b"])
    metric = card(type="mean", source="events", aggregate="sum", direction="decrease")
    duel = head_to_head(metric, sums, effects({"a": -1.0, "b": 1.0}), 0.1)
    # scipy.stats.ttest_ind(a, b, equal_var=False); Welch df and t.ppf(1 - 0.1 / 3 / 2, df) for the interval
    ref = sps.ttest_ind(a, b, equal_var=False)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = sps.t.ppf(1 - 0.1 / 3 / 2, df) * math.sqrt(va + vb)
    assert duel.best == "a"  # the smaller is better for a metric to lower
    assert duel.estimate.estimate == pytest.approx(a.mean() - b.mean(), rel=1e-9)
    assert (duel.estimate.ci_low, duel.estimate.ci_high) == pytest.approx((a.mean() - b.mean() - half, a.mean() - b.mean() + half), rel=1e-9)
    assert duel.p_adjusted == pytest.approx(min(1.0, 3 * ref.pvalue), rel=1e-9)


@pytest.mark.parametrize(("rate_b", "separated"), [(0.05, True), (0.03, False)])
def test_head_to_head_finds_a_planted_difference_and_no_planted_equality(rate_b, separated):
    rng = np.random.default_rng(17)
    n = 20_000
    x = {"control": rng.binomial(n, 0.02), "a": rng.binomial(n, 0.03), "b": rng.binomial(n, rate_b)}
    sums = pd.DataFrame({"n": n, "x_sum": list(x.values())}, index=list(x))
    up = {arm: x[arm] / n - x["control"] / n for arm in ("a", "b")}
    duel = head_to_head(card(type="proportion", source="holdings", aggregate="any"), sums, effects(up), 0.05)
    assert duel.separated is separated
    planted = rate_b - 0.03 if duel.best == "b" else 0.03 - rate_b
    assert duel.estimate.ci_low <= planted <= duel.estimate.ci_high


def test_head_to_head_needs_two_treatment_arms():
    sums = pd.DataFrame({"n": [100, 100], "x_sum": [5, 9]}, index=["control", "a"])
    assert head_to_head(card(type="proportion", source="holdings", aggregate="any"), sums, effects({"a": 0.04}), 0.05) is None


@pytest.fixture(scope="module")
def demo(small_demo):
    return analyse(connect(small_demo), load_catalog(ROOT / "catalog"), "cc_spring_2025")


def test_on_the_demo_the_planted_better_arm_leads_and_its_interval_covers_the_planted_gap(demo, small_truth):
    duel = demo.effects.head_to_head
    planted = small_truth["campaign"]["expected_uplift_abs"]
    assert (duel.best, duel.second) == ("email_offer", "email")
    assert duel.estimate.ci_low <= planted["email_offer"] - planted["email"] <= duel.estimate.ci_high
    assert demo.facts()["head_to_head"]["comparisons"] == 3


def test_the_verdict_names_the_arm_of_every_finding(demo):
    sentences = [s for _, s in words.verdict(demo, Report())]
    for arm in demo.campaign.treatment_arms:
        assert any(s.startswith(f"**{arm}**") for s in sentences), sentences
    guards = demo.effects.table[demo.effects.table.role == "guardrail"]
    for _, g in guards[guards.verdict == "harm"].iterrows():
        line = next(s for s in sentences if s.startswith("Guardrail harmed"))
        assert f"{demo.metrics[g.metric].label} in" in line and g.arm in line


def test_the_value_table_carries_the_data_s_currency(demo):
    # the verdict's value sentence formats with the same Report.fmt (shown only when an arm is recommended)
    table = words.incremental_table(demo, Report(currency="GBP"))
    assert table["cost"].str.endswith("\u00a0GBP").all(), table


def test_the_recommended_arm_wins_and_harms_no_guardrail(demo):
    chosen = demo.effects.recommended()
    decided = demo.effects.decided()
    if chosen is None:
        assert not ((decided.outcome == "win") & ~decided.index.isin(list(demo.effects.harmed()))).any()
    else:
        assert decided.loc[chosen, "outcome"] == "win" and chosen not in demo.effects.harmed()


def test_a_registered_cuped_analysis_decides_the_primary_verdict():
    """The table's verdict of the primary follows the registered analysis, never "not significant" beside
    a registered interval that excludes zero."""
    from cxlab.analyses.retro import Effects

    table = pd.DataFrame({"metric": "m", "role": "primary", "arm": ["a"], "uplift": [0.01], "ci_low": [-0.001],
                          "ci_high": [0.021], "p_value": [0.07], "verdict": ["significant"]})
    reg = {"analysis": "cuped", "primary": {"a": {"uplift": 0.011, "ci_low": 0.002, "ci_high": 0.02, "p_value": 0.01}}}
    e = Effects(table, "m", "increase", "holm", 0.05, pd.DataFrame(), pd.DataFrame(), reg)
    assert e.decided().loc["a", "outcome"] == "win" and e.recommended() == "a"
    assert e.facts()["analysis"] == "cuped"


def test_qini_on_a_mean_primary_metric_with_a_score(small_demo, tmp_path):
    """Regression: a qini with a mean primary metric broke 04 (its spend sums were checked as conversions)."""
    cat = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", cat)
    path = cat / "campaigns" / "cc_spring_2025.yml"
    c = yaml.safe_load(path.read_text())
    c["metrics"]["primary"], c["metrics"]["secondary"] = "card_spend", ["cc_conversion"]
    path.write_text(yaml.safe_dump(c))
    r = analyse(connect(small_demo), load_catalog(cat), "cc_spring_2025", aa_runs=0)
    q = r.targeting
    assert q is not None and not q.binary and math.isnan(q.qini) and math.isfinite(q.qini_area)
    assert q.bins.y_t.max() > q.bins.n_treatment.max()  # sums of spend, more than the people: not conversions
    rep = Report()
    shown = words.qini_bins(r, rep)
    assert len(shown) == 10 and words.qini_formats(r)["uplift"] == "number"
    rep.table(shown, columns=["bin", "n_treatment", "n_control", "rate_treatment", "rate_control", "uplift"], formats=words.qini_formats(r))
    assert "pp" not in rep.t("retro.qini_intro_sums", **q.facts())


def test_details_folds_escaped_and_suppressed_content(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cxlab.report import context

    shown: list = []
    monkeypatch.setattr(context, "_display", lambda obj=None, **kw: shown.append(obj))
    rep = Report()
    with rep.details("retro.details_health"):
        rep.say("retro.untestable", metrics="<script>alert(1)</script>", reason="**x**")
        rep.table(pd.DataFrame({"arm": ["a", "b"], "people": [3, 500]}), people="people")
        fig, _ = plt.subplots()
        rep.figure(fig)
    assert len(shown) == 1  # one block
    page = shown[0]["text/html"]
    assert page.startswith('<details class="cx-details"><summary>Details:') and page.endswith("</details>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;10" in page and ">3<" not in page  # the small count hidden inside the fold too
    assert '<img src="data:image/png;base64,' in page
    with pytest.raises(ValueError, match="nest"), rep.details("retro.details_aa"), rep.details("retro.details_aa"):
        pass
    assert rep._folded is None
