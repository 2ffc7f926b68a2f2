"""The 04 report's words and tables, built from a :class:`cxlab.analyses.retro.Retro` — the verdict
follows from the numbers through message templates; nothing is hand-written."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from cxlab.analyses.retro import Retro, best_arm
from cxlab.catalog.cards import Metric
from cxlab.report.format import format_value
from cxlab.report.i18n import t
from cxlab.report.markup import Md, escape_md, message_md


def _kind(r: Retro, metric: str) -> str:
    return "pp" if r.metrics[metric].type == "proportion" else "number"


def _level(r: Retro, metric: str) -> str:
    return "pct" if r.metrics[metric].type == "proportion" else "number"


def level(r: Retro, lang: str) -> str:
    """The confidence level of every interval, e.g. ``95%``."""
    return format_value(1 - r.alpha, "pct", lang, 0)


def verdict(r: Retro, lang: str) -> list[tuple[str, str]]:
    """(banner kind, sentence) pairs: SRM and balance first, then the primary result, guardrails, value
    and the A/A check."""
    out: list[tuple[str, str]] = []
    f = lambda v, k, d=None: format_value(v, k, lang, d)  # noqa: E731
    if r.srm.flagged:
        out.append(("bad", t("retro.verdict_srm", lang, p=f(r.srm.p_value, "number", 3))))
    if len(r.balance_flagged):
        out.append(("bad", t("retro.verdict_balance", lang, metrics=labels(r, r.balance_flagged.metric, lang))))
    name = r.campaign.metrics.primary
    metric = r.metrics[name]
    best = best_arm(r)
    values = dict(arm=best.arm, metric=metric.label_in(lang), level=level(r, lang), control=f(best.value_c, _level(r, name)),
                  treated=f(best.value_t, _level(r, name)), uplift=f(best.uplift, _kind(r, name)),
                  low=f(best.ci_low, _kind(r, name)), high=f(best.ci_high, _kind(r, name)), p=f(best.p_value, "number", 3))
    worse = (best.ci_high < 0) if metric.direction == "increase" else (best.ci_low > 0)
    better = (best.ci_low > 0) if metric.direction == "increase" else (best.ci_high < 0)
    key = "retro.verdict_win" if better else "retro.verdict_loss" if worse else "retro.verdict_flat"
    out.append(("good" if better else "bad" if worse else "warn", t(key, lang, **values)))
    guards = r.effects[r.effects.role == "guardrail"]
    harmed = sorted({r.metrics[m].label_in(lang) for m in guards[guards.verdict == "harm"].metric})
    unclear = sorted({r.metrics[m].label_in(lang) for m in guards[guards.verdict == "cannot_rule_out_harm"].metric} - set(harmed))
    if harmed:
        out.append(("bad", t("retro.verdict_guardrail_harm", lang, metrics=", ".join(harmed))))
    if unclear:
        out.append(("warn", t("retro.verdict_guardrail_unclear", lang, metrics=", ".join(unclear))))
    if not harmed and not unclear and len(guards):
        out.append(("good", t("retro.verdict_guardrails_ok", lang)))
    inc = r.incremental.set_index("arm")
    if better and best.arm in inc.index:
        row = inc.loc[best.arm]
        out.append(("info", t("retro.verdict_value", lang, arm=best.arm, level=level(r, lang), n=f(row.incremental, "number", 0),
                              low=f(row.incremental_low, "number", 0), high=f(row.incremental_high, "number", 0),
                              value=f(row.value, "money"), cost=f(row.cost, "money"))))
    inflated = aa_inflated(r)
    if inflated:
        out.append(("bad", t("retro.aa_inflated", lang, metrics=labels(r, inflated, lang))))
    return out


def labels(r: Retro, names: Iterable[str], lang: str) -> str:
    """Metric labels in the report's language, comma-separated, each once."""
    return ", ".join(dict.fromkeys(r.metrics[n].label_in(lang) if n in r.metrics else n for n in names))


def untestable(r: Retro) -> dict[str, list[str]]:
    """Reason → metrics that could not be tested for it (e.g. nobody varies)."""
    e = r.effects[r.effects.untestable != ""]
    return {reason: list(dict.fromkeys(part.metric)) for reason, part in e.groupby("untestable", sort=False)}


def aa_inflated(r: Retro) -> list[str]:
    """Metrics whose A/A false-positive rate is surely above α."""
    return [] if r.aa is None else list(r.aa.table[r.aa.table.status == "inflated"].metric)


def effects_table(r: Retro, names: list[str], lang: str) -> pd.DataFrame:
    """Per (metric, arm): people, levels, uplift with interval and p (adjusted where a family is read),
    relative lift, CUPED (within has-history strata when marked †), verdict."""
    e = r.effects[r.effects.metric.isin(names)]
    rows = []
    adjusted = bool((e.role == "secondary").any())
    for _, x in e.iterrows():
        k = _kind(r, x.metric)
        row = {
            t("retro.metric", lang): r.metrics[x.metric].label_in(lang), t("retro.arm", lang): x.arm,
            "n (T / C)": f"{format_value(x.people_t, 'int', lang)} / {format_value(x.people_c, 'int', lang)}",
            "T": format_value(x.value_t, _level(r, x.metric), lang), "C": format_value(x.value_c, _level(r, x.metric), lang),
            t("retro.uplift", lang): format_value(x.uplift, k, lang),
            t("retro.ci_header", lang, level=level(r, lang)): f"{format_value(x.ci_low, k, lang)} … {format_value(x.ci_high, k, lang)}",
            "p": format_value(x.p_value, "number", lang, 3),
        }
        if adjusted:
            row["p adj."] = format_value(x.p_adjusted, "number", lang, 3)
        mark = " †" if x.cuped_method == "strata" else ""
        rows.append(row | {
            "lift": format_value(x.lift, "pct", lang),
            "CUPED": f"{format_value(x.cuped_uplift, k, lang)} [{format_value(x.cuped_low, k, lang)} … {format_value(x.cuped_high, k, lang)}]{mark}",
            "Var ↓": format_value(x.variance_reduction, "pct", lang),
            "": t(f"retro.verdict_{x.verdict}", lang),
        })
    return pd.DataFrame(rows)


def quantile_step(r: Retro, names: list[str], lang: str) -> str:
    """The rounding step of the quantile metrics among ``names``, formatted (empty when there are none)."""
    e = r.effects[r.effects.metric.isin(names)]
    if "resolution" not in e or not e.resolution.notna().any():
        return ""
    step = float(e.resolution.max())
    return format_value(step, "int", lang) if step.is_integer() else format_value(step, "number", lang)


def balance_table(r: Retro, lang: str) -> pd.DataFrame:
    """The pre-period balance with metric labels in the report's language."""
    return r.balance.assign(metric=[r.metrics[m].label_in(lang) for m in r.balance.metric])


def caps_table(r: Retro, lang: str) -> pd.DataFrame:
    """Per capped metric: the percentile and the cap on the outcome and on the pre-period."""
    return pd.DataFrame([{t("retro.metric", lang): r.metrics[x.metric].label_in(lang),
                          "percentile": _percentile(x.percentile, lang),
                          "column": {"x": t("retro.window_after", lang), "pre": t("retro.window_before", lang)}[x.column],
                          "cap": format_value(x.cap, "number", lang)} for x in r.caps.itertuples()])


def strata_table(r: Retro, lang: str, threshold: float = 0.02) -> pd.DataFrame:
    """Per (metric, arm, stratum): people, share, the stratum's CUPED slope, effect and variance removed —
    for the metrics where CUPED removes at least ``threshold`` of the variance (elsewhere it hardly acts)."""
    acting = set(r.effects[r.effects.variance_reduction >= threshold].metric)
    return pd.DataFrame([{t("retro.metric", lang): r.metrics[x.metric].label_in(lang), t("retro.arm", lang): x.arm,
                          "stratum": t(f"retro.stratum_{x.stratum}", lang), "people": x.people,
                          "share": format_value(x.share, "pct", lang), "θ": format_value(x.theta, "number", lang, 3),
                          t("retro.uplift", lang): format_value(x.estimate, _kind(r, x.metric), lang),
                          "Var ↓": format_value(x.variance_reduction, "pct", lang)} for x in r.strata.itertuples()
                         if x.metric in acting])


def new_share(r: Retro) -> float:
    """Share of the analysed people in the ``new`` stratum (no full pre-period)."""
    first = r.strata[(r.strata.metric == r.strata.metric.iloc[0]) & (r.strata.arm == r.strata.arm.iloc[0])]
    new = first[first.stratum == "new"]
    return float(new.share.sum()) if len(first) else 0.0


def weak_cuped(r: Retro, lang: str, threshold: float = 0.02) -> str:
    """The metrics where CUPED removed under ``threshold`` of the variance, each with its pre/post
    correlation, as ``label (ρ = …)``; empty when there are none."""
    e = r.effects.dropna(subset=["variance_reduction"])
    weak = e[e.variance_reduction < threshold].groupby("metric", sort=False).pre_correlation.mean()
    return ", ".join(f"{r.metrics[m].label_in(lang)} (ρ = {format_value(rho, 'number', lang, 2)})" for m, rho in weak.items())


def exposure_table(r: Retro) -> pd.DataFrame:
    """Per arm: people analysed before any exclusion, and how many a competing campaign reached."""
    e = r.exposure.copy()
    e["share"] = e.exposed / e.people
    return e


def aa_table(r: Retro, lang: str) -> pd.DataFrame:
    """Per metric: fake splits, the false-positive rate with its interval, uniformity p, status."""
    a = r.aa.table
    return pd.DataFrame([{t("retro.metric", lang): r.metrics[x.metric].label_in(lang), t("retro.splits", lang): x.runs,
                          "FPR": format_value(x.false_positive_rate, "pct", lang),
                          t("retro.ci_header", lang, level=level(r, lang)): f"{format_value(x.fpr_low, 'pct', lang)} … {format_value(x.fpr_high, 'pct', lang)}",
                          "KS p": format_value(x.uniformity_p, "number", lang, 3),
                          "": t(f"retro.aa_{x.status}_status", lang)} for x in a.itertuples()])


def definitions(r: Retro, names: list[str], lang: str) -> Md:
    """Markdown lines with each metric's definition, counts and exclusions."""
    lines = []
    for n in names:
        m = r.metrics[n]
        extra = "; ".join(x for x in (m.counts, m.excludes and f"not: {m.excludes}") if x)
        lines.append("- " + message_md("retro.definition", lang, label=m.label_in(lang), description=m.description_in(lang),
                                       window=r.campaign.window_days) + (f" ({escape_md(extra)})" if extra else "") + _how(r, m, lang))
    return Md("\n".join(lines))


def _how(r: Retro, m: Metric, lang: str) -> Md:
    """The computation behind a capped, quantile or ratio metric, in a few words."""
    if m.type == "ratio":
        return Md(" " + message_md("retro.how_ratio", lang, num=r.metrics[m.numerator].label_in(lang), den=r.metrics[m.denominator].label_in(lang)))
    if m.type == "quantile":
        return Md(" " + message_md("retro.how_quantile", lang, q=format_value(m.quantile, "number", lang)))
    caps = r.caps[(r.caps.metric == m.name) & (r.caps.column == "x")]
    if len(caps):
        return Md(" " + message_md("retro.how_capped", lang, q=_percentile(m.winsorize, lang), cap=format_value(caps.cap.iloc[0], "number", lang)))
    return Md("")


def _percentile(share: float, lang: str) -> str:
    """0.99 → ``99``, 0.995 → ``99.5`` (a percentile's number)."""
    x = 100 * share
    return format_value(x, "int" if float(x).is_integer() else "number", lang, None if float(x).is_integer() else 1)


def people_table(r: Retro, lang: str) -> pd.DataFrame:
    """From communication rows to the people analysed, each step named in the report's language."""
    return pd.DataFrame({t("retro.step", lang): [t(f"retro.step_{s}", lang) for s in r.people.step],
                         "count": r.people["count"]})


def incremental_table(r: Retro, lang: str) -> pd.DataFrame:
    """Per arm: people, contacts, incremental contracts, value and ROI, each with its interval."""
    f = lambda v, k: format_value(v, k, lang)  # noqa: E731
    rows = []
    for _, x in r.incremental.iterrows():
        rows.append({
            t("retro.arm", lang): x.arm, "n": int(x.people), "contacts": int(x.contacts),
            "+contracts": f"{f(x.incremental, 'int')} [{f(x.incremental_low, 'int')} … {f(x.incremental_high, 'int')}]",
            "+value": f"{f(x.value, 'money')} [{f(x.value_low, 'money')} … {f(x.value_high, 'money')}]",
            "cost": f(x.cost, "money"), "ROI": f"{f(x.roi, 'pct')} [{f(x.roi_low, 'pct')} … {f(x.roi_high, 'pct')}]",
        })
    return pd.DataFrame(rows)


def watching_table(r: Retro, lang: str) -> pd.DataFrame:
    """Primary metric per arm: the fixed-horizon interval beside the always-valid one."""
    name = r.campaign.metrics.primary
    k = _kind(r, name)
    f = lambda v: format_value(v, k, lang)  # noqa: E731
    lv = level(r, lang)
    return pd.DataFrame([{t("retro.arm", lang): x.arm, t("retro.uplift", lang): f(x.uplift),
                          t("retro.fixed_ci", lang, level=lv): f"{f(x.ci_low)} … {f(x.ci_high)}",
                          t("retro.always_valid_ci", lang, level=lv): f"{f(x.always_valid_low)} … {f(x.always_valid_high)}"}
                         for _, x in r.primary.iterrows()])
