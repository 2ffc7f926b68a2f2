"""02 recommends the model over the rule only beyond its interval, and flags falls in trigger volume and
months contaminated by another campaign (issue #19)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from cxlab.analyses.propensity import _volume_diff_ci
from cxlab.analyses.triggers import contamination, volume_falls
from cxlab.report.trigger_checks import model_sentences, warnings
from cxlab.report.triggers import model_verdict


def test_the_paired_bootstrap_matches_the_two_sample_interval_when_the_sets_are_disjoint():
    rng = np.random.default_rng(3)
    y = np.concatenate([rng.random(20_000) < 0.06, rng.random(20_000) < 0.05]).astype(int)
    top, fired = np.arange(20_000), np.zeros(40_000, bool)
    fired[20_000:] = True
    low, high = _volume_diff_ci(y, top, fired, seed=1)
    # reference: statsmodels' Wald interval for two independent proportions
    ref = confint_proportions_2indep(int(y[:20_000].sum()), 20_000, int(y[20_000:].sum()), 20_000, method="wald")
    assert low == pytest.approx(ref[0], abs=0.0015) and high == pytest.approx(ref[1], abs=0.0015)


def _model(diff, low, high, auc_m=0.8, auc_r=0.6):
    return {"precision_model": 0.05 + diff, "precision_rule": 0.05, "difference": diff, "difference_low": low,
            "difference_high": high, "auc_model": auc_m, "auc_rule": auc_r}


def test_the_model_is_recommended_only_beyond_its_interval():
    beyond = SimpleNamespace(model=_model(0.02, 0.003, 0.039))
    noise = SimpleNamespace(model=_model(0.01, -0.004, 0.024))
    assert model_verdict(beyond) == "triggers.model_better"
    assert model_verdict(noise) == "triggers.model_mixed"
    words = model_sentences(noise, "en")
    assert words[0].startswith("At the rule's volume the model's rows convert +1.00 pp") and "within the noise" in words[1]
    assert len(model_sentences(beyond, "en")) == 1


def test_a_large_fall_in_trigger_volume_is_flagged():
    monthly = pd.DataFrame({"snapshot": pd.date_range("2024-01-01", periods=6, freq="MS"),
                            "fired": [100, 110, 95, 105, 30, 100]})
    falls = volume_falls(monthly)
    assert list(falls.snapshot.dt.strftime("%Y-%m")) == ["2024-05"] and falls.ratio.iloc[0] == pytest.approx(30 / 102.5)
    assert volume_falls(monthly.assign(fired=[10, 11, 9, 10, 3, 10])).empty  # too few rows to call it a fall
    text = warnings(SimpleNamespace(volume_falls=falls, contaminated=contamination(pd.DataFrame())), "en")
    assert text == ["The trigger fired for only **30** rows at 2024-05-01, 29% of the median of the months before (102): "
                    "check the data feed or the rule before trusting that month."]


def test_a_month_a_campaign_reached_unevenly_is_flagged():
    s = pd.Timestamp("2025-03-01")
    contacts = pd.DataFrame({"snapshot": [s, s, s, s], "fired": [True, False, True, False],
                             "campaign_id": ["spring", "spring", "news", "news"],
                             "contacted": [40, 50, 90, 900], "n": [100, 1000, 100, 1000]})
    c = contamination(contacts)
    assert list(c.campaign_id) == ["spring"] and (c.share_fired.iloc[0], c.share_other.iloc[0]) == (0.4, 0.05)
    text = warnings(SimpleNamespace(volume_falls=volume_falls(pd.DataFrame({"snapshot": [], "fired": []})), contaminated=c), "ru")
    assert "кампания **spring** охватила 40,0% сработавших строк и 5,0% остальных" in text[0]
