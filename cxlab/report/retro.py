"""The 04 report's words and tables, built from a :class:`cxlab.analyses.retro.Retro` — the verdict
follows from the numbers through message templates; nothing is hand-written."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar

import pandas as pd

from cxlab.analyses.retro import Retro
from cxlab.catalog.cards import Metric
from cxlab.metrics import kind
from cxlab.report.context import Report
from cxlab.report.format import format_value
from cxlab.report.i18n import t
from cxlab.report.markup import Md, escape_md, message_md
from cxlab.report.privacy import Cells, carry, plain

T = TypeVar("T")


def _part(value: T | None, what: str) -> T:
    """A part of the retrospective that only some runs compute (the A/A check, targeting, the trend):
    the report's tables of it are shown only when it is there."""
    if value is None:
        raise ValueError(f"this retrospective has no {what}")
    return value


#: Per (metric, arm): the arm's and the control's people, and those with the outcome (where the metric
#: counts people); every other number of the row comes from them. The arms' people add up to the people
#: analysed: which arms are hidden is decided once, in the split table (:func:`arm_marks`), and every
#: table of arms follows it, so two tables cannot be combined to work a small arm out.
EFFECTS = Cells(people=("people_t", "people_c"), successes={"x_t": "people_t", "x_c": "people_c"}, margins=False)
#: Pre-period levels per (metric, arm), judged with the people and the pre-period outcomes behind them.
BALANCE = Cells(people=("people_t", "people_c"), successes={"pre_x_t": "people_t", "pre_x_c": "people_c"},
                margins=False)
#: People per arm (the arms add up to the people analysed); rows sent and planned share beside.
SENDS = Cells(people=("people",), safe=("planned",))
#: Per breakdown value: people, the split check on them.
SRM_SEGMENTS = Cells(people=("people",), groups=("breakdown",))
#: Per arm: people, and those a competing campaign reached.
EXPOSURE = Cells(people=("people",), successes={"exposed": "people"}, margins=("exposed",))
#: People per competing campaign: one person can get several, nothing adds up.
COMPETITORS = Cells(people=("people",), margins=False)
#: Per (metric, arm, stratum): the stratum's people; history + new = the arm's people.
STRATA = Cells(people=("people",), groups=("metric", "arm"))
#: Per arm: people treated, the contacts and the contracts and value built on the primary uplift.
INCREMENTAL = Cells(people=("people", "people_c"), successes={"x_t": "people", "x_c": "people_c"},
                    margins=False, derived={"contacts": ("people",), "cost": ("people",)})
#: Per breakdown value and arm: people and converters of each side; the values of a breakdown add up
#: to the arm's (and the control's) people.
HETEROGENEITY = Cells(people=("people_t", "people_c"), successes={"x_t": "people_t", "x_c": "people_c"},
                      groups=("breakdown", "arm"))
#: Per score decile: people and converters of each side; the deciles add up to the arms.
QINI = Cells(people=("n_treatment", "n_control"), successes={"y_t": "n_treatment", "y_c": "n_control"}, safe=("bin",))
#: The same for a primary metric that sums an amount (spend): its outcome sums count nobody.
QINI_SUMS = Cells(people=("n_treatment", "n_control"), safe=("bin",))
#: From communication rows to people: the people found = those analysed + those excluded (three ways).
PEOPLE_STEPS = Cells(people=("people", "people_with_several_rows", "excluded_several_arms", "excluded_global_control",
                             "excluded_competing", "analysed"),
                     totals=(("people", "analysed", "excluded_several_arms", "excluded_global_control", "excluded_competing"),),
                     margins=False, safe=("rows",))


def _kind(r: Retro, metric: str) -> str:
    return kind(r.metrics[metric]).diff_format


def _level(r: Retro, metric: str) -> str:
    return kind(r.metrics[metric]).level_format


def level(r: Retro, lang: str) -> str:
    """The confidence level of every interval, e.g. ``95%``."""
    return format_value(1 - r.alpha, "pct", lang, 0)


def verdict(r: Retro, rep: Report) -> list[tuple[str, str]]:
    """(banner kind, sentence) pairs: SRM and balance first, then the primary result of every arm (by the
    registered analysis), the two best arms head to head, the guardrails with the arms they concern, the
    variant to roll out and why, its value and the A/A check. The figures quoted are those the tables
    show (small cells hidden)."""
    lang = rep.lang
    out: list[tuple[str, str]] = []
    f = rep.fmt  # amounts in the data's currency
    h = r.health
    if h.srm.flagged:
        out.append(("bad", t("retro.verdict_srm", lang, p=f(h.srm.p_value, "pvalue"))))
    if len(h.balance_flagged):
        out.append(("bad", t("retro.verdict_balance", lang, metrics=labels(r, h.balance_flagged.metric, lang))))
    name = r.campaign.metrics.primary
    metric = r.metrics[name]
    dk, lk = _kind(r, name), _level(r, name)
    shown = effects(r, rep, [name], count=False).set_index("arm")
    decided = r.effects.decided()
    for arm in _arm_order(r):
        x, d = shown.loc[arm], decided.loc[arm]
        hidden = pd.isna(x.uplift)  # an arm hidden for its small cells stays hidden in every analysis
        values = dict(arm=arm, metric=metric.label_in(lang), level=level(r, lang), control=f(x.value_c, lk),
                      treated=f(x.value_t, lk), uplift=f(math.nan if hidden else d.uplift, dk),
                      low=f(math.nan if hidden else d.ci_low, dk), high=f(math.nan if hidden else d.ci_high, dk),
                      p=f(math.nan if hidden else d.p_value, "pvalue"))
        kind_ = {"win": "good", "loss": "bad", "flat": "warn"}[d.outcome]
        out.append((kind_, t(f"retro.verdict_{d.outcome}", lang, **values)))
    duel = head_to_head_values(r, rep)
    if duel:
        out.append(("info", t("retro.h2h_apart" if duel["separated"] else "retro.h2h_together", lang, **duel)))
    if h.registration:
        dev = h.registration["deviations"]
        out.append(("warn" if dev else "good", t("launch.verdict_registration", lang, analysis=h.registration["analysis"],
                                                  deviations=len(dev), what=", ".join(d["what"] for d in dev) or "—")))
    guards = r.effects.table[r.effects.table.role == "guardrail"]
    harmed = _in_arms(r, guards[guards.verdict == "harm"], lang)
    unclear = _in_arms(r, guards[guards.verdict == "cannot_rule_out_harm"], lang)
    if harmed:
        out.append(("bad", t("retro.verdict_guardrail_harm", lang, metrics=harmed)))
    if unclear:
        out.append(("warn", t("retro.verdict_guardrail_unclear", lang, metrics=unclear)))
    if not harmed and not unclear and len(guards):
        out.append(("good", t("retro.verdict_guardrails_ok", lang)))
    chosen = r.effects.recommended()
    if chosen is None:
        out.append(("warn", t("retro.recommend_none", lang, metric=metric.label_in(lang))))
    else:
        others = [a for a in _arm_order(r) if a != chosen]
        key = "retro.recommend_only" if not others else \
            "retro.recommend_apart" if duel and duel["separated"] and duel["best"] == chosen else \
            "retro.recommend_larger" if duel and duel["best"] == chosen else "retro.recommend_safe"
        uplift = math.nan if pd.isna(shown.loc[chosen].uplift) else decided.loc[chosen].uplift
        out.append(("good", t(key, lang, arm=chosen, metric=metric.label_in(lang), uplift=f(uplift, dk),
                              other=(duel or {}).get("second", ", ".join(others)))))
        inc = incremental(r, rep, count=False).set_index("arm")
        if chosen in inc.index:
            row = inc.loc[chosen]
            out.append(("info", t("retro.verdict_value", lang, arm=chosen, level=level(r, lang), n=f(row.incremental, "number", 0),
                                  low=f(row.incremental_low, "number", 0), high=f(row.incremental_high, "number", 0),
                                  value=f(row.value, "money"), cost=f(row.cost, "money"))))
    inflated = aa_inflated(r)
    if inflated:
        out.append(("bad", t("retro.aa_inflated", lang, metrics=labels(r, inflated, lang))))
    return out


def _arm_order(r: Retro) -> list[str]:
    """The treatment arms with a primary effect, in the card's order."""
    present = set(r.effects.primary.arm)
    return [a for a in r.campaign.treatment_arms if a in present]


def _in_arms(r: Retro, rows: pd.DataFrame, lang: str) -> str:
    """``label in arm, arm; label in arm``: each metric of ``rows`` with the arms it concerns."""
    return "; ".join(t("retro.metric_in_arms", lang, metric=r.metrics[m].label_in(lang), arms=", ".join(part.arm))
                     for m, part in rows.groupby("metric", sort=False))


def head_to_head_values(r: Retro, rep: Report) -> dict[str, object] | None:
    """The head-to-head for a sentence, its figures formatted; hidden (None) when either arm is (its
    difference would give a small arm's level away)."""
    duel = r.effects.head_to_head
    if duel is None:
        return None
    shown = effects(r, rep, [r.campaign.metrics.primary], count=False).set_index("arm")
    if shown.loc[[duel.best, duel.second]].uplift.isna().any():
        return None
    dk = _kind(r, r.campaign.metrics.primary)
    facts = duel.facts()
    return facts | {"metric": r.metrics[r.campaign.metrics.primary].label_in(rep.lang),
                    "difference": format_value(facts["difference"], dk, rep.lang),
                    "low": format_value(facts["low"], dk, rep.lang), "high": format_value(facts["high"], dk, rep.lang),
                    "p_adjusted": format_value(facts["p_adjusted"], "pvalue", rep.lang),
                    "level": format_value(facts["level"], "pct", rep.lang, 1)}


def labels(r: Retro, names: Iterable[str], lang: str) -> str:
    """Metric labels in the report's language, comma-separated, each once."""
    return ", ".join(dict.fromkeys(r.metrics[n].label_in(lang) if n in r.metrics else n for n in names))


def untestable(r: Retro) -> dict[str, list[str]]:
    """Reason → metrics that could not be tested for it (e.g. nobody varies)."""
    e = r.effects.table[r.effects.table.untestable != ""]
    return {reason: list(dict.fromkeys(part.metric)) for reason, part in e.groupby("untestable", sort=False)}


def aa_inflated(r: Retro) -> list[str]:
    """Metrics whose A/A false-positive rate is surely above α."""
    return [] if r.aa is None else list(r.aa.table[r.aa.table.status == "inflated"].metric)


def arm_marks(r: Retro, rep: Report, frame: pd.DataFrame, treated: tuple[str, ...], control: tuple[str, ...] = ()) -> pd.DataFrame:
    """``frame`` (a row per arm, or per metric and arm) marked with the arms the split table hides: its
    ``treated`` columns where its arm is hidden, its ``control`` columns everywhere if the control is."""
    sends = rep.suppress(r.health.sends.reset_index(drop=True), cells=SENDS, count=False)
    hidden = set(sends.arm[sends.people.isna()])
    small = {a for a, n in zip(r.health.sends.arm, r.health.sends.people, strict=True) if 1 <= n < rep.min_cell_size}
    frame = frame.reset_index(drop=True)
    ctrl = r.campaign.control_arm
    for attr, arms in (("cx_hidden", hidden), ("cx_small", small)):
        marks = {c: set(frame.index[frame.arm.isin(arms).to_numpy()]) for c in treated}
        marks |= {c: set(frame.index) if ctrl in arms else set() for c in control}
        frame.attrs[attr] = {c: v for c, v in marks.items() if v}
    return frame


def effects(r: Retro, rep: Report, names: list[str] | None = None, count: bool = True) -> pd.DataFrame:
    """The effects of ``names`` (all when None) with small cells hidden (:data:`EFFECTS`), the arms hidden
    as in the split table."""
    e = r.effects.table if names is None else r.effects.table[r.effects.table.metric.isin(names)]
    return rep.suppress(arm_marks(r, rep, e, ("people_t",), ("people_c",)), cells=EFFECTS, count=count)


def _n(rep: Report, shown: pd.DataFrame, label: object, column: str) -> str:
    """A count as a table's text shows it: "<k" where it is small, "—" where hidden beside a small one."""
    value = shown.at[label, column]
    if not pd.isna(value):
        return format_value(value, "int", rep.lang)
    return f"<{rep.min_cell_size}" if label in shown.attrs.get("cx_small", {}).get(column, ()) else "—"


def effects_table(r: Retro, names: list[str], rep: Report) -> pd.DataFrame:
    """Per (metric, arm): people, levels, uplift with interval and p (adjusted where a family is read),
    relative lift, CUPED (within has-history strata when marked †), verdict — every number judged by
    :data:`EFFECTS` before it is written."""
    lang = rep.lang
    e = effects(r, rep, names)
    rows = []
    adjusted = bool((e.role == "secondary").any())
    for label, x in e.iterrows():
        k = _kind(r, x.metric)
        row = {
            t("retro.metric", lang): r.metrics[x.metric].label_in(lang), t("retro.arm", lang): x.arm,
            "n (T / C)": f"{_n(rep, e, label, 'people_t')} / {_n(rep, e, label, 'people_c')}",
            "T": format_value(x.value_t, _level(r, x.metric), lang), "C": format_value(x.value_c, _level(r, x.metric), lang),
            t("retro.uplift", lang): format_value(x.uplift, k, lang),
            t("retro.ci_header", lang, level=level(r, lang)): f"{format_value(x.ci_low, k, lang)} … {format_value(x.ci_high, k, lang)}",
            "p": format_value(x.p_value, "pvalue", lang),
        }
        if adjusted:
            row[t("columns.p_adj", lang)] = format_value(x.p_adjusted, "pvalue", lang)
        mark = " †" if x.cuped_method == "strata" else ""
        if x.role == "guardrail":
            row[t("retro.margin", lang)] = _margin(r, x, lang)
        rows.append(row | {
            t("columns.lift", lang): format_value(x.lift, "pct", lang),
            "CUPED": f"{format_value(x.cuped_uplift, k, lang)} [{format_value(x.cuped_low, k, lang)} … {format_value(x.cuped_high, k, lang)}]{mark}",
            t("columns.variance_reduction", lang): format_value(x.variance_reduction, "pct", lang),
            "": t("retro.verdict_not_significant_adjusted" if x.verdict == "not_significant" and x.role == "secondary"
                  and pd.notna(x.ci_low) and pd.notna(x.ci_high) and (x.ci_low > 0 or x.ci_high < 0) else f"retro.verdict_{x.verdict}", lang),
        })
    return pd.DataFrame(rows)


def _margin(r: Retro, x: pd.Series, lang: str) -> str:
    """A guardrail's tolerated worsening: its share of the control level and that change in the metric's
    units, signed the harmful way (—  for a metric without a margin, or with its control hidden)."""
    m = r.metrics[x.metric]
    if not m.margin or pd.isna(x.value_c):
        return "—"
    sign = 1 if m.direction == "decrease" else -1
    return t("retro.margin_value", lang, margin=format_value(m.margin, "pct", lang, 0),
             absolute=format_value(sign * m.margin * abs(x.value_c), _kind(r, x.metric), lang))


def quantile_step(r: Retro, names: list[str], lang: str) -> str:
    """The rounding step of the quantile metrics among ``names``, formatted (empty when there are none)."""
    e = r.effects.table[r.effects.table.metric.isin(names)]
    if "resolution" not in e or not e.resolution.notna().any():
        return ""
    step = float(e.resolution.max())
    return format_value(step, "int", lang) if step.is_integer() else format_value(step, "number", lang)


def balance_table(r: Retro, rep: Report) -> pd.DataFrame:
    """The pre-period balance with metric labels in the report's language, judged with the people and
    pre-period outcomes behind each level (:data:`BALANCE`, not shown)."""
    b = rep.suppress(r.health.balance.reset_index(drop=True), cells=BALANCE)
    b = b.assign(metric=[t("retro.balance_covariate", rep.lang, metric=r.metrics[m].label_in(rep.lang),
                           days=r.health.pre_period_days) for m in b.metric])
    keep = b.attrs
    b = b[["metric", "arm", "pre_t", "pre_c", "difference", "p_value"]]
    b.attrs = keep
    return b


def caps_table(r: Retro, lang: str) -> pd.DataFrame:
    """Per capped metric: the percentile and the cap on the outcome and on the pre-period."""
    return pd.DataFrame([{t("retro.metric", lang): r.metrics[x.metric].label_in(lang),
                          "percentile": _percentile(x.percentile, lang),
                          "column": {"x": t("retro.window_after", lang), "pre": t("retro.window_before", lang)}[x.column],
                          "cap": format_value(x.cap, "number", lang)} for x in r.effects.caps.itertuples()])


def strata_table(r: Retro, rep: Report, threshold: float = 0.02) -> pd.DataFrame:
    """Per (metric, arm, stratum): people, share, the stratum's CUPED slope, effect and variance removed —
    for the metrics where CUPED removes at least ``threshold`` of the variance (elsewhere it hardly acts);
    small strata hidden first (:data:`STRATA`)."""
    lang = rep.lang
    acting = set(r.effects.table[r.effects.table.variance_reduction >= threshold].metric)
    if r.effects.strata.empty:
        return pd.DataFrame()
    shown = rep.suppress(arm_marks(r, rep, r.effects.strata[r.effects.strata.metric.isin(acting)], ("people",)), cells=STRATA)
    frame = pd.DataFrame([{t("retro.metric", lang): r.metrics[x.metric].label_in(lang), t("retro.arm", lang): x.arm,
                          "stratum": t(f"retro.stratum_{x.stratum}", lang), "people": x.people,
                          "share": format_value(x.share, "pct", lang), "θ": format_value(x.theta, "number", lang, 3),
                          t("retro.uplift", lang): format_value(x.estimate, _kind(r, x.metric), lang),
                          t("columns.variance_reduction", lang): format_value(x.variance_reduction, "pct", lang)} for x in shown.itertuples()])
    if frame.empty:
        return frame
    frame["people"] = frame["people"].astype("Int64")
    return carry(shown, frame, {"people": "people"}, groups={t("retro.metric", lang): "metric", t("retro.arm", lang): "arm"})


def new_share(r: Retro) -> float:
    """Share of the analysed people in the ``new`` stratum (no full pre-period)."""
    first = r.effects.strata[(r.effects.strata.metric == r.effects.strata.metric.iloc[0]) & (r.effects.strata.arm == r.effects.strata.arm.iloc[0])]
    new = first[first.stratum == "new"]
    return float(new.share.sum()) if len(first) else 0.0


def weak_cuped(r: Retro, lang: str, threshold: float = 0.02) -> str:
    """The metrics where CUPED removed under ``threshold`` of the variance, each with its pre/post
    correlation, as ``label (ρ = …)``; empty when there are none."""
    e = r.effects.table.dropna(subset=["variance_reduction"])
    weak = e[e.variance_reduction < threshold].groupby("metric", sort=False).pre_correlation.mean()
    return ", ".join(f"{r.metrics[m].label_in(lang)} (ρ = {format_value(rho, 'number', lang, 2)})" for m, rho in weak.items())


def exposure_table(r: Retro, rep: Report) -> pd.DataFrame:
    """Per arm: people analysed before any exclusion, and how many a competing campaign reached (small
    cells hidden)."""
    e = r.health.exposure.copy()
    e["share"] = e.exposed / e.people
    return rep.suppress(arm_marks(r, rep, e, ("people",)), cells=EXPOSURE)


def aa_table(r: Retro, lang: str) -> pd.DataFrame:
    """Per metric: fake splits, the false-positive rate with its interval, uniformity p, status."""
    a = _part(r.aa, "A/A check").table
    return pd.DataFrame([{t("retro.metric", lang): r.metrics[x.metric].label_in(lang), t("retro.splits", lang): x.runs,
                          "FPR": format_value(x.false_positive_rate, "pct", lang),
                          t("retro.ci_header", lang, level=level(r, lang)):
                              f"{format_value(x.fpr_low, 'pct', lang)} … {format_value(x.fpr_high, 'pct', lang)}",
                          "KS p": format_value(x.uniformity_p, "number", lang, 3),
                          "": t(f"retro.aa_{x.status}_status", lang)} for x in a.itertuples()])


def definitions(r: Retro, names: list[str] | None, lang: str) -> Md:
    """Markdown lines with each metric's definition, counts and exclusions (every metric of the card
    when ``names`` is None)."""
    names = r.campaign.metrics.names if names is None else names
    lines = []
    for n in names:
        m = r.metrics[n]
        counts, excludes = m.in_lang("counts", lang), m.in_lang("excludes", lang)
        extra = "; ".join(x for x in (counts, excludes and t("retro.excludes", lang, what=excludes)) if x)
        lines.append("- " + message_md("retro.definition", lang, label=m.label_in(lang), description=m.description_in(lang),
                                       window=r.campaign.window_days) + (f" ({escape_md(extra)})" if extra else "") + _how(r, m, lang))
    return Md("\n".join(lines))


def _how(r: Retro, m: Metric, lang: str) -> Md:
    """The computation behind a capped, quantile or ratio metric, in a few words."""
    if m.type == "ratio":
        num, den = kind(m).parts
        return Md(" " + message_md("retro.how_ratio", lang, num=r.metrics[num].label_in(lang), den=r.metrics[den].label_in(lang)))
    if m.type == "quantile":
        return Md(" " + message_md("retro.how_quantile", lang, q=format_value(m.quantile, "number", lang)))
    caps = r.effects.caps[(r.effects.caps.metric == m.name) & (r.effects.caps.column == "x")]
    if len(caps) and m.winsorize is not None:  # caps come only from a metric's winsorize
        return Md(" " + message_md("retro.how_capped", lang, q=_percentile(m.winsorize, lang), cap=format_value(caps.cap.iloc[0], "number", lang)))
    return Md("")


def _percentile(share: float, lang: str) -> str:
    """0.99 → ``99``, 0.995 → ``99.5`` (a percentile's number)."""
    x = 100 * share
    return format_value(x, "int" if float(x).is_integer() else "number", lang, None if float(x).is_integer() else 1)


def people_steps(r: Retro, rep: Report, count: bool = True) -> pd.DataFrame:
    """The steps from rows to people as one row (a column per step), small cells hidden by
    :data:`PEOPLE_STEPS` (an exclusion of a few people must not be the difference of two shown counts)."""
    row = pd.DataFrame([dict(zip(r.health.people.step, r.health.people["count"], strict=True))])
    return rep.suppress(row, cells=PEOPLE_STEPS, count=count)


def people_values(r: Retro, rep: Report) -> dict[str, object]:
    """Step → count for sentences and results.json, None where hidden."""
    row = people_steps(r, rep, count=False).iloc[0]
    return {k: (None if pd.isna(v) else int(v)) for k, v in row.items()}


def people_table(r: Retro, rep: Report) -> pd.DataFrame:
    """From communication rows to the people analysed, each step named in the report's language."""
    lang = rep.lang
    row = people_steps(r, rep)
    frame = pd.DataFrame({t("retro.step", lang): [t(f"retro.step_{s}", lang) for s in r.health.people.step],
                          "count": pd.array([row.iloc[0][s] for s in r.health.people.step], dtype="Int64")})
    hidden = row.attrs.get("cx_hidden", {})
    frame.attrs["cx_hidden"] = {"count": {i for i, s in enumerate(r.health.people.step) if 0 in hidden.get(s, ())}}
    frame.attrs["cx_cells"] = Cells(people=("count",), margins=False)
    return frame


def incremental(r: Retro, rep: Report, count: bool = True) -> pd.DataFrame:
    """Per arm: people, contacts, incremental contracts, value and ROI — judged with the primary metric's
    people and converters of both sides (:data:`INCREMENTAL`)."""
    p = r.effects.primary[["arm", "people_c", "x_t", "x_c"]]
    frame = arm_marks(r, rep, r.value.table.merge(p, on="arm", how="left", sort=False), ("people",), ("people_c",))
    return rep.suppress(frame, cells=INCREMENTAL, count=count)


def incremental_table(r: Retro, rep: Report) -> pd.DataFrame:
    """Per arm: people, contacts, incremental contracts, value and ROI, each with its interval."""
    lang = rep.lang
    f = rep.fmt  # amounts in the data's currency
    rows = []
    shown = incremental(r, rep)
    for _, x in shown.iterrows():
        rows.append({
            t("retro.arm", lang): x.arm, "n": x.people, "contacts": f(x.contacts, "int"),
            t("columns.incremental_contracts", lang): f"{f(x.incremental, 'int')} [{f(x.incremental_low, 'int')} … {f(x.incremental_high, 'int')}]",
            t("columns.incremental_value", lang): f"{f(x.value, 'money')} [{f(x.value_low, 'money')} … {f(x.value_high, 'money')}]",
            t("columns.cost", lang): f(x.cost, "money"), "ROI": f"{f(x.roi, 'pct')} [{f(x.roi_low, 'pct')} … {f(x.roi_high, 'pct')}]",
        })
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["n"] = frame["n"].astype("Int64")
    return carry(shown, frame, {"n": "people"})


def watching_table(r: Retro, rep: Report) -> pd.DataFrame:
    """Primary metric per arm: the fixed-horizon interval beside the always-valid one (small arms hidden)."""
    lang = rep.lang
    name = r.campaign.metrics.primary
    k = _kind(r, name)
    f = lambda v: format_value(v, k, lang)  # noqa: E731
    lv = level(r, lang)
    return pd.DataFrame([{t("retro.arm", lang): x.arm, t("retro.uplift", lang): f(x.uplift),
                          t("retro.fixed_ci", lang, level=lv): f"{f(x.ci_low)} … {f(x.ci_high)}",
                          t("retro.always_valid_ci", lang, level=lv): f"{f(x.always_valid_low)} … {f(x.always_valid_high)}"}
                         for _, x in effects(r, rep, [name], count=False).iterrows()])


def headline(r: Retro, rep: Report) -> dict:
    """results.json's figures (:func:`cxlab.analyses.retro.headline`) with every count of people and
    everything built on a small one hidden by the same declarations as the tables. Each effect also
    carries its arms' people with the outcome (``x_t``, ``x_c``), the counts it is judged by."""
    h = dict(r.facts())
    h["people"] = people_values(r, rep)
    sends = rep.suppress(r.health.sends.reset_index(drop=True), cells=SENDS, count=False)
    h["srm"] = {**h["srm"], "observed": {a: (None if pd.isna(n) else int(n)) for a, n in zip(sends.arm, sends.people, strict=True)}}
    e = effects(r, rep, count=False)
    keys = ("people_t", "people_c", "x_t", "x_c", "value_t", "value_c", "uplift", "ci_low", "ci_high", "p_value",
            "lift", "lift_low", "lift_high", "cuped_uplift", "cuped_low", "cuped_high", "variance_reduction",
            "cuped_method", "chance_to_beat", "always_valid_low", "always_valid_high", "p_adjusted", "verdict")
    out: dict = {}
    for _, row in e.iterrows():
        out.setdefault(row.metric, {})[row.arm] = {k: (None if pd.isna(row[k]) else row[k]) for k in keys}
    h["effects"] = out
    inc = incremental(r, rep, count=False)
    h["incremental"] = inc[list(r.value.table.columns)]
    if len(r.effects.strata):
        h["strata"] = rep.suppress(arm_marks(r, rep, r.effects.strata, ("people",)), cells=STRATA, count=False)
    exposure = rep.suppress(arm_marks(r, rep, r.health.exposure, ("people",)), cells=EXPOSURE, count=False)
    h["competing"] = {**h["competing"], "by_arm": exposure}
    if r.trend is not None and h.get("did"):
        did = rep.suppress(arm_marks(r, rep, r.trend.did.merge(r.health.sends[["arm", "people"]], on="arm", how="left", sort=False), ("people",)),
                           cells=Cells(people=("people",), margins=False), count=False)
        h["did"] = {**h["did"], "by_arm": did[list(r.trend.did.columns)]}
    return h


def heterogeneity(r: Retro, rep: Report) -> pd.DataFrame:
    """Effects by breakdown value with small cells hidden (:data:`HETEROGENEITY`), for the forest and
    the table; the rows whose people are hidden are dropped from the figure."""
    return rep.suppress(arm_marks(r, rep, r.heterogeneity.table, ("people_t",), ("people_c",)), cells=HETEROGENEITY)


HETEROGENEITY_COLUMNS = ["breakdown", "segment", "arm", "people_t", "people_c", "uplift", "ci_low", "ci_high",
                         "p_value", "p_adjusted"]


def qini_bins(r: Retro, rep: Report) -> pd.DataFrame:
    """The score deciles with small cells hidden (:data:`QINI`); with the control arm hidden in the split
    table, both sides' people are (either side's total would give the control away)."""
    targeting = _part(r.targeting, "targeting")
    bins = targeting.bins.reset_index(drop=True)
    sends = rep.suppress(r.health.sends.reset_index(drop=True), cells=SENDS, count=False)
    if sends.people[sends.arm == r.campaign.control_arm].isna().any():
        bins.attrs["cx_hidden"] = {"n_treatment": set(bins.index), "n_control": set(bins.index)}
    return rep.suppress(bins, cells=QINI if targeting.binary else QINI_SUMS)


def qini_formats(r: Retro) -> dict[str, str]:
    """The decile table's formats: rates and points for conversions, plain numbers for amounts."""
    rate, diff = ("pct", "pp") if _part(r.targeting, "targeting").binary else ("number", "number")
    return {"bin": "int", "n_treatment": "int", "n_control": "int", "rate_treatment": rate, "rate_control": rate, "uplift": diff}


def heterogeneity_formats(r: Retro) -> dict[str, str]:
    """The segment table's formats: the primary metric's difference format for the effect columns."""
    k = "pp" if _kind(r, r.campaign.metrics.primary) == "pp" else "number"
    return {"people_t": "int", "people_c": "int", "uplift": k, "ci_low": k, "ci_high": k}


def qini_axis(r: Retro, rep: Report) -> str:
    """The qini figure's vertical axis: incremental conversions, or the incremental amount."""
    return rep.t("retro.incremental_conversions" if _part(r.targeting, "targeting").binary else "retro.incremental_outcome")


def primary_is_rate(r: Retro) -> bool:
    """The primary metric is a share of people (its figures read in points)."""
    return r.metrics[r.campaign.metrics.primary].type == "proportion"


def people_words(r: Retro, rep: Report) -> dict[str, str]:
    """Step → count as a sentence shows it ("<k" where small, "—" where hidden beside it)."""
    return {k: rep.count(v) for k, v in people_values(r, rep).items()}


def history_facts(r: Retro, rep: Report) -> dict[str, object]:
    """The share of new people and the rule that makes a person new, for ``retro.history_share``."""
    c = r.campaign
    return {"share": new_share(r), "rule": c.new_clients or rep.t("retro.history_rule_joined", days=c.pre_period_days)}


def figure_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A suppressed frame as plain floats for a figure."""
    return plain(frame)


def did_table(r: Retro, rep: Report) -> pd.DataFrame:
    """Difference in differences per arm, hidden where the arm's people are too few."""
    per_arm = _part(r.trend, "trend").did
    did = rep.suppress(arm_marks(r, rep, per_arm.merge(r.health.sends[["arm", "people"]], on="arm", how="left", sort=False), ("people",)),
                       cells=Cells(people=("people",), margins=False))
    keep = did.attrs
    did = did[list(per_arm.columns)]
    did.attrs = keep
    return did


def trend(r: Retro, rep: Report) -> pd.DataFrame:
    """The per-period means of each arm for the trend figure, hidden where a cell has too few people."""
    shown = plain(rep.suppress(_part(r.trend, "trend").trend.reset_index(drop=True), cells=Cells(people=("n",), margins=False), count=False))
    return shown.dropna(subset=["mean"]).reset_index(drop=True)
