"""Money and units (issue #19): two decimals for money with its currency, whole people, no float noise
(5.55e-17), p-values below 1e-300 shown as "< 1e-300" and never stored as an exact 0, relative lifts
above +100% as a multiple."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from cxlab import stats as cs
from cxlab.report.format import format_value as f


def test_money_has_two_decimals_and_its_currency():
    assert f(1234.5, "money") == "1,234.50"
    assert f(1234.5, "money", currency="GBP") == "1,234.50\u00a0GBP"
    assert f(1234.5, "money", "ru", currency="₽") == "1\u00a0234,50\u00a0₽"
    assert f(-0.001, "money") == "0.00"  # no "-0.00"


def test_people_are_whole():
    assert f(1234.6, "int") == "1,235" and f(7.0, "int") == "7"


def test_float_noise_is_zero():
    assert f(5.55e-17, "number") == "0.000" and f(-2.8e-17, "number") == "0.000"
    assert f(0.00123, "number") == "0.00123"  # a real small number keeps its digits


def test_p_values():
    # 2·Φ(−40) = 7.3e-350 underflows a double: scipy returns exactly 0 (python -c "from scipy.stats import norm; print(2*norm.sf(40))")
    assert 2 * norm.sf(40) == 0.0
    assert f(0.0, "pvalue") == "< 1e-300" and f(1e-305, "pvalue") == "< 1e-300"
    assert f(4.33e-7, "pvalue") == "4.33e-07" and f(0.0456, "pvalue") == "0.046" and f(0.5, "pvalue", "ru") == "0,500"


def test_an_underflowed_p_value_is_stored_as_the_bound_not_zero():
    e = cs.proportion_diff(cs.ProportionStats(100_000, 90_000), cs.ProportionStats(100_000, 10_000))
    assert e.p_value == cs.P_FLOOR > 0 and e.to_dict()["p_value"] == 1e-300
    assert cs.srm_check({"a": 100_000, "b": 10}, {"a": 0.5, "b": 0.5}).p_value == cs.P_FLOOR
    assert cs.floor_p(0.03) == 0.03 and cs.floor_p(None) is None and math.isnan(cs.floor_p(math.nan))


def test_relative_lifts_above_100_percent_are_multiples():
    assert f(0.451, "lift") == "+45.1%" and f(-0.2, "lift") == "-20.0%"
    assert f(19.365, "lift") == "×20.4" and f(1.0, "lift") == "×2.0" and f(1.5, "lift", "ru") == "×2,5"


def test_a_wilson_bound_at_zero_successes_is_exactly_zero():
    # statsmodels' Wilson bounds at 0/7 and 57/57 are float noise, not 0 and 1:
    # python -c "from statsmodels.stats.proportion import proportion_confint as c; print(c(0, 7, method='wilson'), c(57, 57, method='wilson'))"
    # → (2.7755575615628914e-17, 0.354…) (0.936…, 0.9999999999999998)
    assert cs.proportion_ci(cs.ProportionStats(7, 0)).ci_low == 0.0
    assert cs.proportion_ci(cs.ProportionStats(57, 57)).ci_high == 1.0
    # elsewhere unchanged: c(3, 57, method='wilson') → (0.018060295633661655, 0.1436955039716353)
    assert cs.proportion_ci(cs.ProportionStats(57, 3)).ci_low == pytest.approx(0.018060295633661655, rel=1e-12)
