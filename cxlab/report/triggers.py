"""The 02 report's tables and sentences, built from a :class:`cxlab.analyses.triggers.Backtest`."""

from __future__ import annotations

import pandas as pd

from cxlab.analyses.triggers import Backtest
from cxlab.report.format import format_value
from cxlab.report.i18n import t


def summary_table(b: Backtest, lang: str) -> pd.DataFrame:
    """Fired vs not fired: eligible rows, conversion and its interval."""
    f = lambda v: format_value(v, "pct", lang, 2)  # noqa: E731
    return pd.DataFrame({
        t("triggers.group", lang): [t("triggers.fired", lang), t("triggers.other", lang)],
        "n": [b.rate_fired.n_treatment, b.rate_other.n_treatment],
        t("triggers.rate", lang): [f(b.rate_fired.estimate), f(b.rate_other.estimate)],
        "95% CI": [f"{f(b.rate_fired.ci_low)} … {f(b.rate_fired.ci_high)}", f"{f(b.rate_other.ci_low)} … {f(b.rate_other.ci_high)}"],
    })


def summary_values(b: Backtest, lang: str) -> dict[str, str]:
    """The numbers of the summary sentence, formatted."""
    f = lambda v, k: format_value(v, k, lang)  # noqa: E731
    lift = b.lift
    return {"fired_rate": format_value(b.rate_fired.estimate, "pct", lang, 2),
            "other_rate": format_value(b.rate_other.estimate, "pct", lang, 2),
            "uplift": f(b.diff.estimate, "pp"), "low": f(b.diff.ci_low, "pp"), "high": f(b.diff.ci_high, "pp"),
            "lift": f(lift.estimate if lift else None, "pct"), "lift_low": f(lift.ci_low if lift else None, "pct"),
            "lift_high": f(lift.ci_high if lift else None, "pct")}


def monthly_table(b: Backtest) -> pd.DataFrame:
    """Per snapshot: eligible, fired, coverage, both rates and the uplift with its interval."""
    m = b.monthly.copy()
    m["snapshot"] = m.snapshot.dt.strftime("%Y-%m-%d")
    return m


def model_values(b: Backtest, lang: str) -> dict[str, str]:
    """The numbers of the model sentence, formatted."""
    m = b.model
    pct = lambda v: format_value(v, "pct", lang, 2)  # noqa: E731
    n = lambda v: format_value(v, "int", lang)  # noqa: E731
    return {"test_from": m["test_from"], "sample": n(m["sample_rows"]), "population": n(m["population_rows"]),
            "train": n(m["train_rows"]), "test": n(m["test_rows"]), "k": n(m["volume"]), "pm": pct(m["precision_model"]),
            "pr": pct(m["precision_rule"]), "base": pct(m["base_rate"]), "auc_m": format_value(m["auc_model"], "number", lang, 3),
            "auc_r": format_value(m["auc_rule"], "number", lang, 3)}
