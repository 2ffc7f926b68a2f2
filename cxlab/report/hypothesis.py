"""The 01 report's tables and sentences, built from a :class:`cxlab.analyses.hypothesis.Plan`."""

from __future__ import annotations

import math

import pandas as pd

from cxlab.analyses.hypothesis import Plan
from cxlab.metrics import KINDS
from cxlab.report.context import Report
from cxlab.report.format import format_value
from cxlab.report.i18n import t
from cxlab.report.markup import Md, escape_md, message_md
from cxlab.report.privacy import Cells, carry, hide_estimate, small_share

#: What the frames of a :class:`Plan` count, by their results.json key (and in their tables).
CELLS = {
    # planned sizes grow with the months: cumulative, they add up to nothing
    "mde_by_months": Cells(people=("people",), safe=("months",), margins=False),
    # the fired clients of one snapshot; x_sum of them have the outcome (a rate's numerator)
    "other_metrics_mde": Cells(people=("people",), successes={"x_sum": "people"}, margins=False),
    # clients fire again month after month: the months add up to nothing; the first-timers are disjoint
    # and their total (stock + new per month × months) can be worked out from the sentence beside
    "flow": Cells(people=("n", "new"), successes={"x_sum": "n"}, margins=("new",), safe=("snapshot",)),
}


def cells(key: str) -> Cells | None:
    """The declaration of the headline figure ``key`` (None: judged by its column names)."""
    return CELLS.get(key)

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


def baseline_hidden(p: Plan, rep: Report) -> bool:
    """Whether the baseline (conversions of the fired clients) gives a small count away — then the sample
    size, the MDE and the duration, which are functions of it, are hidden too."""
    return small_share(p.flow.n.sum(), p.flow.x_sum.sum(), rep.min_cell_size)


def baseline_values(p: Plan, rep: Report) -> dict[str, str]:
    """The numbers of the baseline sentence, formatted ("—" where the conversions are too few)."""
    lang = rep.lang
    hidden = baseline_hidden(p, rep)
    pct = lambda v: "—" if hidden else format_value(v, "pct", lang, 2)  # noqa: E731
    return {"n": str(len(p.flow)), "first": p.flow.snapshot.iloc[0].date().isoformat(),
            "last": p.flow.snapshot.iloc[-1].date().isoformat(), "rate": pct(p.baseline.estimate),
            "low": pct(p.baseline.ci_low), "high": pct(p.baseline.ci_high), "window": str(p.trigger.window_days)}


def flow_values(p: Plan, rep: Report) -> dict[str, str]:
    """The numbers of the flow sentence, formatted (counts under the floor as "<k")."""
    return {"fired": rep.count(p.flow.n.mean()), "first": p.flow.snapshot.iloc[0].date().isoformat(),
            "stock": rep.count(p.stock), "new": rep.count(p.new_per_month)}


def flow_table(p: Plan, rep: Report) -> pd.DataFrame:
    """Per snapshot: clients fired and those fired for the first time, small counts hidden first."""
    lang = rep.lang
    shown = rep.suppress(p.flow[["snapshot", "n", "x_sum", "new"]].reset_index(drop=True), cells=CELLS["flow"])
    fired, new = t("hypothesis.col_fired", lang), t("hypothesis.col_new", lang)
    frame = pd.DataFrame({t("hypothesis.col_snapshot", lang): shown.snapshot.dt.strftime("%Y-%m-%d"),
                          fired: shown.n.astype("Int64"), new: shown.new.astype("Int64")})
    return carry(shown, frame, {fired: "n", new: "new"})


def sample_values(p: Plan, rep: Report) -> dict[str, str]:
    """The numbers of the sample-size and duration sentences, formatted (observed counts under the floor
    as "<k"; planned sizes are not people yet)."""
    lang = rep.lang
    h = p.hypothesis
    mde12 = p.mde_table.set_index("months").mde.get(LONG_MONTHS, math.nan)
    out = {"effect": format_value(p.expected_abs, "pp", lang), "alpha": format_value(h.alpha, "number", lang),
            "power": format_value(h.power, "pct", lang, 0), "share": format_value(h.treatment_share, "pct", lang, 0),
            "nt": format_value(p.n_treatment, "int", lang), "nc": format_value(p.n_control, "int", lang),
            "total": format_value(p.n_treatment + p.n_control, "int", lang),
            "months": format_value(p.months_needed, "number", lang, 1 if p.months_needed < 10 else 0),
            "weeks": format_value(p.weeks_needed, "int", lang), "window": str(p.trigger.window_days),
            "stock": rep.count(p.stock), "long": str(LONG_MONTHS),
            "mde12": format_value(mde12, "pp", lang), "mde1": format_value(p.mde_table.mde.iloc[0], "pp", lang)}
    if baseline_hidden(p, rep):  # all of them are functions of the baseline rate
        out |= {k: "—" for k in ("nt", "nc", "total", "months", "weeks", "mde12", "mde1")}
    return out


def target(p: Plan, rep: Report) -> str:
    """The rate the treated should reach: baseline + expected effect ("—" with the baseline hidden)."""
    return "—" if baseline_hidden(p, rep) else rep.fmt(p.baseline.estimate + p.expected_abs, "pct", 2)


def mde_table(p: Plan, rep: Report) -> pd.DataFrame:
    """The MDE by months; the split and the MDE hidden too when the baseline is."""
    m = p.mde_table.copy()
    if baseline_hidden(p, rep):
        m[["treatment", "control", "mde"]] = float("nan")
    return m


def headline(p: Plan, rep: Report) -> dict:
    """results.json's figures, with the baseline and what is computed from it hidden where the baseline's
    conversions are too few."""
    h = p.headline()
    if baseline_hidden(p, rep):
        h["baseline"] = hide_estimate(h["baseline"])
        h["sample_size"] = {k: None for k in h["sample_size"]}
        h["months_needed"] = h["weeks_needed"] = None
        h["mde_by_months"] = mde_table(p, rep)
        h["other_metrics_mde"] = p.power_table.assign(mde=float("nan"), mde_rel=float("nan"), mde_cuped=float("nan"),
                                                      mde_cuped_rel=float("nan"))
    h["other_metrics_mde"] = rep.suppress(h["other_metrics_mde"], cells=CELLS["other_metrics_mde"], count=False)
    return h


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


def power_table(p: Plan, rep: Report) -> pd.DataFrame:
    """Per other metric: level, spread, ρ² with its pre-period, and the detectable change at the planned
    size — absolute and relative to the level, plainly and with CUPED; small cells hidden first."""
    lang = rep.lang
    rows = []
    frame = p.power_table.reset_index(drop=True)
    if baseline_hidden(p, rep):  # planned at the primary's size, itself a function of the hidden baseline
        frame[["mde", "mde_rel", "mde_cuped", "mde_cuped_rel"]] = float("nan")
    shown = rep.suppress(frame, cells=CELLS["other_metrics_mde"])
    for x in shown.itertuples():
        kind, level = KINDS[x.type].diff_format, KINDS[x.type].level_format
        rows.append({t("hypothesis.metric", lang): p.metrics[x.metric].label_in(lang), "n": x.people,
                     t("hypothesis.level", lang): format_value(x.level, level, lang, 2 if level == "pct" else None),
                     "sd": format_value(x.sd, "number", lang), "ρ²": format_value(x.rho2, "number", lang, 2),
                     "MDE": f"{format_value(x.mde, kind, lang)} ({format_value(x.mde_rel, 'lift', lang)})",
                     "MDE CUPED": f"{format_value(x.mde_cuped, kind, lang)} ({format_value(x.mde_cuped_rel, 'lift', lang)})"})
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["n"] = frame["n"].astype("Int64")
    return carry(shown, frame, {"n": "people"})
