"""The 02 report's tables and sentences, built from a :class:`cxlab.analyses.triggers.Backtest`."""

from __future__ import annotations

import pandas as pd

from cxlab.analyses.triggers import Backtest
from cxlab.catalog.load import Catalog
from cxlab.report.format import format_value
from cxlab.report.i18n import t
from cxlab.report.markup import message_md


def catalogue_metrics(catalog: Catalog, trigger: str, lang: str) -> str:
    """The primary metric of every hypothesis built on ``trigger``, with its catalogue definition, so the
    reader sees what a campaign on this trigger will be judged by beside the backtest's conversion."""
    lines = []
    for h in sorted(catalog.hypotheses.values(), key=lambda h: h.id):
        if h.trigger == trigger and h.metrics.primary in catalog.metrics:
            m = catalog.metrics[h.metrics.primary]
            lines.append("- " + message_md("triggers.catalogue_metric", lang, hypothesis=h.id, label=m.label_in(lang),
                                           description=m.description_in(lang), window=m.window_days))
    return "\n".join([t("triggers.catalogue_metrics", lang), *lines]) if lines else t("triggers.catalogue_none", lang)


def summary_table(b: Backtest, lang: str) -> pd.DataFrame:
    """Fired vs not fired: eligible rows, conversion and its interval."""
    f = lambda v: format_value(v, "pct", lang, 2)  # noqa: E731
    return pd.DataFrame({
        t("triggers.group", lang): [t("triggers.fired", lang), t("triggers.other", lang)],
        "n": [b.rate_fired.n_treatment, b.rate_other.n_treatment],
        t("triggers.rate", lang): [f(b.rate_fired.estimate), f(b.rate_other.estimate)],
        t("triggers.interval", lang): [f"{f(b.rate_fired.ci_low)} … {f(b.rate_fired.ci_high)}", f"{f(b.rate_other.ci_low)} … {f(b.rate_other.ci_high)}"],
    })


def summary_values(b: Backtest, lang: str) -> dict[str, str]:
    """The numbers of the summary sentence, formatted."""
    f = lambda v, k: format_value(v, k, lang)  # noqa: E731
    lift = b.lift
    return {"fired_rate": format_value(b.rate_fired.estimate, "pct", lang, 2),
            "other_rate": format_value(b.rate_other.estimate, "pct", lang, 2),
            "uplift": f(b.diff.estimate, "pp"), "low": f(b.diff.ci_low, "pp"), "high": f(b.diff.ci_high, "pp"),
            "lift": f(lift.estimate if lift else None, "pct"), "lift_low": f(lift.ci_low if lift else None, "pct"),
            "lift_high": f(lift.ci_high if lift else None, "pct"),
            "c_low": f(b.diff_clustered.ci_low if b.diff_clustered else None, "pp"),
            "c_high": f(b.diff_clustered.ci_high if b.diff_clustered else None, "pp")}


def monthly_table(b: Backtest) -> pd.DataFrame:
    """Per snapshot: eligible, fired, coverage, both rates and the uplift with its interval."""
    m = b.monthly[["snapshot", "eligible", "fired", "coverage", "rate_fired", "rate_other", "uplift", "ci_low", "ci_high"]].copy()
    m["snapshot"] = m.snapshot.dt.strftime("%Y-%m-%d")
    return m


def stability(b: Backtest) -> dict[str, int]:
    """How many months the uplift's interval lies above zero, straddles it, or lies below."""
    m = b.monthly.dropna(subset=["ci_low"])
    return {"n": len(m), "above": int((m.ci_low > 0).sum()), "below": int((m.ci_high < 0).sum()),
            "unclear": int(((m.ci_low <= 0) & (m.ci_high >= 0)).sum())}


def monthly_labels(lang: str) -> dict[str, str]:
    """Titles, legends and axis labels of the month-by-month figure."""
    keys = {"fired": "fired", "other": "other", "interval": "interval", "title": "monthly_chart", "rate": "rate",
            "uplift_point": "uplift_point", "pooled": "pooled", "uplift_axis": "uplift_axis"}
    return {k: t(f"triggers.{v}", lang) for k, v in keys.items()}


def model_labels(lang: str) -> dict[str, str]:
    """Titles and axis labels of the model-vs-rule figure."""
    keys = ("calibration", "predicted", "observed", "gains", "targeted", "reached", "random", "model", "rule")
    return {k: t(f"triggers.fig_{k}", lang) for k in keys}


def model_values(b: Backtest, lang: str) -> dict[str, str]:
    """The numbers of the model sentence, formatted."""
    m = b.model
    pct = lambda v: format_value(v, "pct", lang, 2)  # noqa: E731
    n = lambda v: format_value(v, "int", lang)  # noqa: E731
    return {"test_from": m["test_from"], "sample": n(m["sample_rows"]), "population": n(m["population_rows"]),
            "train": n(m["train_rows"]), "test": n(m["test_rows"]), "converters": n(m["test_converters"]),
            "features": n(m["features"]), "k": n(m["volume"]), "rule_k": n(m["rule_volume"]), "pm": pct(m["precision_model"]),
            "pr": pct(m["precision_rule"]), "base": pct(m["base_rate"]), "auc_m": format_value(m["auc_model"], "number", lang, 3),
            "auc_r": format_value(m["auc_rule"], "number", lang, 3),
            "lm": format_value(m["lift_model"], "number", lang, 1), "lr": format_value(m["lift_rule"], "number", lang, 1)}


def model_verdict(b: Backtest) -> str:
    """The message key of the model's verdict: better on both counts, better only in AUC, or not better."""
    m = b.model
    at_volume = m["precision_model"] > m["precision_rule"]
    overall = m["auc_model"] > m["auc_rule"]
    if at_volume and overall:
        return "triggers.model_better"
    return "triggers.model_mixed" if overall else "triggers.model_not_better"


def half_conversion_days(b: Backtest) -> dict[bool, float]:
    """Per ``fired``: the first day after the snapshot by which half of the window's conversions happened."""
    out = {}
    for flag, part in b.curves.groupby("fired"):
        final = part.cumulative_rate.iloc[-1]
        out[bool(flag)] = float(part.days[part.cumulative_rate >= final / 2].iloc[0]) if final > 0 else float("nan")
    return out
