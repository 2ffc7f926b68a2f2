"""The 02 report's tables and sentences, built from a :class:`cxlab.analyses.triggers.Backtest`."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from cxlab.analyses.triggers import Backtest
from cxlab.catalog.load import Catalog
from cxlab.report.context import Report
from cxlab.report.format import format_value
from cxlab.report.i18n import t
from cxlab.report.markup import message_md
from cxlab.report.privacy import Cells, carry, hide_estimate, plain, small_share

#: Month by month: eligible rows = fired + not fired; each group's conversions are its rate's numerator.
MONTHLY = Cells(people=("eligible", "fired", "not_fired"),
                successes={"converted_fired": "fired", "converted_other": "not_fired"},
                safe=("snapshot",), totals=(("eligible", "fired", "not_fired"),),
                derived={"coverage": ("eligible", "fired"),
                         "rate_fired": ("fired", "converted_fired"), "rate_fired_low": ("fired", "converted_fired"),
                         "rate_fired_high": ("fired", "converted_fired"),
                         "rate_other": ("not_fired", "converted_other"), "rate_other_low": ("not_fired", "converted_other"),
                         "rate_other_high": ("not_fired", "converted_other")})
#: Fired vs not: the rows of each group (adding up to the eligible rows) and how many converted (their
#: total is shown nowhere).
SUMMARY = Cells(people=("n",), successes={"x_sum": "n"}, margins=("n",))


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


def summary_table(b: Backtest, rep: Report) -> pd.DataFrame:
    """Fired vs not fired: eligible rows, conversion and its interval — small cells hidden first."""
    lang = rep.lang
    f = lambda v: format_value(v, "pct", lang, 2)  # noqa: E731
    raw = pd.DataFrame({"group": [t("triggers.fired", lang), t("triggers.other", lang)],
                        "n": [b.rate_fired.n_treatment, b.rate_other.n_treatment],
                        "x_sum": [int(b.monthly.converted_fired.sum()), int(b.monthly.converted_other.sum())],
                        "rate": [b.rate_fired.estimate, b.rate_other.estimate],
                        "ci_low": [b.rate_fired.ci_low, b.rate_other.ci_low], "ci_high": [b.rate_fired.ci_high, b.rate_other.ci_high]})
    x = rep.suppress(raw, cells=SUMMARY)
    frame = pd.DataFrame({t("triggers.group", lang): x.group, "n": x.n.astype("Int64"), t("triggers.rate", lang): x.rate.map(f),
                          t("triggers.interval", lang): [f"{f(lo)} … {f(hi)}" for lo, hi in zip(x.ci_low, x.ci_high, strict=True)]})
    return carry(x, frame, {"n": "n"})


def hidden_groups(b: Backtest, rep: Report) -> dict[str, bool]:
    """Whether the pooled conversion of the fired and of the other rows gives a small count away."""
    return {"fired": small_share(b.rate_fired.n_treatment, b.monthly.converted_fired.sum(), rep.min_cell_size),
            "other": small_share(b.rate_other.n_treatment, b.monthly.converted_other.sum(), rep.min_cell_size)}


def summary_values(b: Backtest, rep: Report) -> dict[str, str]:
    """The numbers of the summary sentence, formatted; "—" where a group's conversions are too few."""
    lang = rep.lang
    hidden = hidden_groups(b, rep)
    both = hidden["fired"] or hidden["other"]
    f = lambda v, k: "—" if both else format_value(v, k, lang)  # noqa: E731
    lift = b.lift
    return {"fired_rate": "—" if hidden["fired"] else format_value(b.rate_fired.estimate, "pct", lang, 2),
            "other_rate": "—" if hidden["other"] else format_value(b.rate_other.estimate, "pct", lang, 2),
            "uplift": f(b.diff.estimate, "pp"), "low": f(b.diff.ci_low, "pp"), "high": f(b.diff.ci_high, "pp"),
            "lift": f(lift.estimate if lift else None, "lift"), "lift_low": f(lift.ci_low if lift else None, "lift"),
            "lift_high": f(lift.ci_high if lift else None, "lift"),
            "c_low": f(b.diff_clustered.ci_low if b.diff_clustered else None, "pp"),
            "c_high": f(b.diff_clustered.ci_high if b.diff_clustered else None, "pp")}


def monthly_table(b: Backtest, rep: Report) -> pd.DataFrame:
    """Per snapshot: eligible, fired, coverage, both rates and the uplift with its interval — judged with
    the conversions behind each rate, which are not shown."""
    m = rep.suppress(b.monthly.reset_index(drop=True), cells=MONTHLY)
    m["snapshot"] = m.snapshot.dt.strftime("%Y-%m-%d")
    keep = m.attrs
    m = m[["snapshot", "eligible", "fired", "coverage", "rate_fired", "rate_other", "uplift", "ci_low", "ci_high"]]
    m.attrs = keep
    return m


def monthly_shown(b: Backtest, rep: Report) -> pd.DataFrame:
    """The monthly frame with small cells hidden, for figures and sentences (not counted again)."""
    return plain(rep.suppress(b.monthly.reset_index(drop=True), cells=MONTHLY, count=False))


def headline(b: Backtest, rep: Report) -> dict:
    """results.json's figures: the monthly uplift of months whose groups are too small hidden, and the
    pooled rates and everything compared with them where a group's conversions are too few."""
    m = monthly_shown(b, rep)
    out = b.headline | {"monthly_uplift": m[["snapshot", "uplift", "ci_low", "ci_high"]]}
    hidden = hidden_groups(b, rep)
    if hidden["fired"]:
        out["rate_fired"] = hide_estimate(out["rate_fired"])
    if hidden["other"]:
        out["rate_not_fired"] = hide_estimate(out["rate_not_fired"])
    if hidden["fired"] or hidden["other"]:
        for key in ("uplift", "lift", "uplift_clustered", "adjusted"):
            out[key] = hide_estimate(out[key])
    return out


def curves(b: Backtest, rep: Report) -> pd.DataFrame:
    """The cumulative conversion curves, without a group whose conversions are too few."""
    hidden = hidden_groups(b, rep)
    c = b.curves.copy()
    c.loc[c.fired.map({True: hidden["fired"], False: hidden["other"]}).astype(bool), "cumulative_rate"] = float("nan")
    return c


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


def coverage_values(b: Backtest, rep: Report) -> dict[str, str]:
    """The numbers of the coverage sentence, counts under the floor as "<k"."""
    return {"mean": rep.count(b.monthly.fired.mean()), "share": rep.fmt(b.monthly.coverage.mean(), "pct"),
            "low": rep.count(b.monthly.fired.min()), "high": rep.count(b.monthly.fired.max())}


def _model(b: Backtest) -> dict[str, Any]:
    if b.model is None:
        raise ValueError("this backtest has no model comparison (it was run without one)")
    return b.model


def model_values(b: Backtest, rep: Report) -> dict[str, str]:
    """The numbers of the model sentence, formatted (counts of people under the floor as "<k")."""
    lang = rep.lang
    m = _model(b)
    pct = lambda v: format_value(v, "pct", lang, 2)  # noqa: E731
    n = lambda v: format_value(v, "int", lang)  # noqa: E731
    return {"test_from": m["test_from"], "sample": n(m["sample_rows"]), "population": n(m["population_rows"]),
            "train": n(m["train_rows"]), "test": n(m["test_rows"]), "converters": rep.count(m["test_converters"]),
            "features": n(m["features"]), "k": n(m["volume"]), "rule_k": n(m["rule_volume"]), "pm": pct(m["precision_model"]),
            "pr": pct(m["precision_rule"]), "base": pct(m["base_rate"]), "auc_m": format_value(m["auc_model"], "number", lang, 3),
            "auc_r": format_value(m["auc_rule"], "number", lang, 3),
            "lm": format_value(m["lift_model"], "number", lang, 1), "lr": format_value(m["lift_rule"], "number", lang, 1)}


def model_verdict(b: Backtest) -> str:
    """The message key of the model's verdict: better on both counts, better only in AUC, or not better."""
    m = _model(b)
    # better at equal volume only when the difference is beyond its interval (noise otherwise)
    at_volume = m["precision_model"] > m["precision_rule"] and m.get("difference_low", math.nan) > 0
    overall = m["auc_model"] > m["auc_rule"]
    if at_volume and overall:
        return "triggers.model_better"
    return "triggers.model_mixed" if overall else "triggers.model_not_better"


def half_conversion_days(b: Backtest, rep: Report | None = None) -> dict[bool, float]:
    """Per ``fired``: the first day after the snapshot by which half of the window's conversions happened
    (with ``rep``, NaN for a group whose conversions are too few)."""
    out = {}
    for flag, part in (curves(b, rep) if rep is not None else b.curves).groupby("fired"):
        final = part.cumulative_rate.iloc[-1]
        out[bool(flag)] = float(part.days[part.cumulative_rate >= final / 2].iloc[0]) if final > 0 else float("nan")
    return out
