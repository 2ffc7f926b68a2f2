"""The 01 report's tables and sentences, built from a :class:`cxlab.analyses.hypothesis.Plan`."""

from __future__ import annotations

import math

import pandas as pd

from cxlab.analyses.hypothesis import Plan
from cxlab.report.format import format_value
from cxlab.report.i18n import t
from cxlab.report.markup import Md, escape_md, message_md

#: A test longer than this many months is called too long.
LONG_MONTHS = 12


def check_table(p: Plan, lang: str) -> pd.DataFrame:
    """The communication check: each question with the card's answer (— where missing)."""
    answers = p.hypothesis.communication_check.model_dump()
    return pd.DataFrame({t("hypothesis.question", lang): [t(f"hypothesis.q_{k}", lang) for k in answers],
                         t("hypothesis.answer", lang): [v if v and v.strip() else "—" for v in answers.values()]})


def missing_questions(p: Plan, lang: str) -> str:
    """The unanswered questions of the communication check, as one phrase."""
    return ", ".join(t(f"hypothesis.q_{k}", lang) for k in p.hypothesis.missing_checks())


def metric_lines(p: Plan, names: list[str], lang: str) -> Md:
    """Markdown bullets: each metric's label, role (and tolerated worsening) and definition."""
    out = []
    for n in names:
        m = p.metrics[n]
        role = t(f"hypothesis.role_{m.role}", lang)
        if m.margin:
            role += ", " + t("hypothesis.margin", lang, margin=format_value(m.margin, "pct", lang))
        out.append(f"- **{escape_md(m.label_in(lang))}** ({escape_md(role)}) — {escape_md(m.description_in(lang))}")
    return Md("\n".join(out))


def primary_definition(p: Plan, lang: str) -> Md:
    """The primary metric's label and definition, to print beside the baseline."""
    m = p.metrics[p.hypothesis.metrics.primary]
    return message_md("hypothesis.metric_definition", lang, label=m.label_in(lang), definition=m.description_in(lang))


def baseline_values(p: Plan, lang: str) -> dict[str, str]:
    """The numbers of the baseline sentence, formatted."""
    pct = lambda v: format_value(v, "pct", lang, 2)  # noqa: E731
    return {"n": str(len(p.flow)), "first": p.flow.snapshot.iloc[0].date().isoformat(),
            "last": p.flow.snapshot.iloc[-1].date().isoformat(), "rate": pct(p.baseline.estimate),
            "low": pct(p.baseline.ci_low), "high": pct(p.baseline.ci_high), "window": str(p.trigger.window_days)}


def flow_values(p: Plan, lang: str) -> dict[str, str]:
    """The numbers of the flow sentence, formatted."""
    n = lambda v: format_value(v, "int", lang)  # noqa: E731
    return {"fired": n(p.flow.n.mean()), "first": p.flow.snapshot.iloc[0].date().isoformat(), "stock": n(p.stock),
            "new": n(p.new_per_month)}


def flow_table(p: Plan, lang: str) -> tuple[pd.DataFrame, str]:
    """Per snapshot: clients fired and those fired for the first time; and the name of the people column."""
    fired = t("hypothesis.col_fired", lang)
    frame = pd.DataFrame({t("hypothesis.col_snapshot", lang): p.flow.snapshot.dt.strftime("%Y-%m-%d"),
                          fired: p.flow.n.astype(int), t("hypothesis.col_new", lang): p.flow.new.astype(int)})
    return frame, fired


def sample_values(p: Plan, lang: str) -> dict[str, str]:
    """The numbers of the sample-size and duration sentences, formatted."""
    h = p.hypothesis
    mde12 = p.mde_table.set_index("months").mde.get(LONG_MONTHS, math.nan)
    return {"effect": format_value(p.expected_abs, "pp", lang), "alpha": format_value(h.alpha, "number", lang),
            "power": format_value(h.power, "pct", lang, 0), "share": format_value(h.treatment_share, "pct", lang, 0),
            "nt": format_value(p.n_treatment, "int", lang), "nc": format_value(p.n_control, "int", lang),
            "total": format_value(p.n_treatment + p.n_control, "int", lang),
            "months": format_value(p.months_needed, "number", lang, 1 if p.months_needed < 10 else 0),
            "weeks": format_value(p.weeks_needed, "int", lang), "window": str(p.trigger.window_days),
            "stock": format_value(p.stock, "int", lang), "long": str(LONG_MONTHS),
            "mde12": format_value(mde12, "pp", lang), "mde1": format_value(p.mde_table.mde.iloc[0], "pp", lang)}


def duration_verdict(p: Plan) -> tuple[str, str]:
    """The message key and banner kind of the duration verdict."""
    if p.n_treatment + p.n_control <= p.stock:
        return "hypothesis.duration_now", "good"
    if not math.isfinite(p.months_needed):
        return "hypothesis.duration_never", "bad"
    if p.months_needed > LONG_MONTHS:
        return "hypothesis.duration_long", "bad"
    return "hypothesis.duration_ok", "good"


def duration_advice(p: Plan) -> str | None:
    """The message key of advice for a test too long to run, or None when its length is fine."""
    if duration_verdict(p)[1] == "good":
        return None
    return "hypothesis.duration_advice" if p.hypothesis.treatment_share == 0.5 else "hypothesis.duration_advice_split"


def figure_labels(lang: str) -> dict[str, str]:
    """Titles and axis labels of the sample-size and duration figure."""
    keys = ("size_title", "mde_title", "expected", "uplift", "people", "months", "mde")
    return {k: t(f"hypothesis.fig_{k}", lang) for k in keys}


def power_table(p: Plan, lang: str) -> pd.DataFrame:
    """Per other metric: level, spread, ρ² with its pre-period, and the detectable change at the planned
    size — absolute and relative to the level, plainly and with CUPED."""
    rows = []
    for x in p.power_table.itertuples():
        kind = "pp" if x.type == "proportion" else "number"
        level = "pct" if x.type == "proportion" else "number"
        rows.append({t("hypothesis.metric", lang): p.metrics[x.metric].label_in(lang), "n": x.people,
                     t("hypothesis.level", lang): format_value(x.level, level, lang, 2 if level == "pct" else None),
                     "sd": format_value(x.sd, "number", lang), "ρ²": format_value(x.rho2, "number", lang, 2),
                     "MDE": f"{format_value(x.mde, kind, lang)} ({format_value(x.mde_rel, 'pct', lang)})",
                     "MDE CUPED": f"{format_value(x.mde_cuped, kind, lang)} ({format_value(x.mde_cuped_rel, 'pct', lang)})"})
    return pd.DataFrame(rows)
