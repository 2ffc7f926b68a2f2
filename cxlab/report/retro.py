"""The 04 report's words and tables, built from a :class:`cxlab.analyses.retro.Retro` — the verdict
follows from the numbers through message templates; nothing is hand-written."""

from __future__ import annotations

import pandas as pd

from cxlab.analyses.retro import Retro, best_arm
from cxlab.report.format import format_value
from cxlab.report.i18n import t


def _kind(r: Retro, metric: str) -> str:
    return "pp" if r.metrics[metric].type == "proportion" else "number"


def _level(r: Retro, metric: str) -> str:
    return "pct" if r.metrics[metric].type == "proportion" else "number"


def verdict(r: Retro, lang: str) -> list[tuple[str, str]]:
    """(banner kind, sentence) pairs: SRM first, then the primary result, guardrails and value."""
    out: list[tuple[str, str]] = []
    f = lambda v, k, d=None: format_value(v, k, lang, d)  # noqa: E731
    if r.srm.flagged:
        out.append(("bad", t("retro.verdict_srm", lang, p=f(r.srm.p_value, "number", 3))))
    name = r.campaign.metrics.primary
    metric = r.metrics[name]
    best = best_arm(r)
    values = dict(arm=best.arm, metric=metric.label_in(lang), control=f(best.value_c, _level(r, name)),
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
        out.append(("info", t("retro.verdict_value", lang, arm=best.arm, n=f(row.incremental, "number", 0),
                              low=f(row.incremental_low, "number", 0), high=f(row.incremental_high, "number", 0),
                              value=f(row.value, "money"), cost=f(row.cost, "money"))))
    return out


def effects_table(r: Retro, names: list[str], lang: str) -> pd.DataFrame:
    """Per (metric, arm): people, levels, uplift with interval and p, relative lift, CUPED, verdict."""
    e = r.effects[r.effects.metric.isin(names)]
    rows = []
    for _, x in e.iterrows():
        k = _kind(r, x.metric)
        rows.append({
            t("retro.metric", lang): r.metrics[x.metric].label_in(lang), t("retro.arm", lang): x.arm,
            "n (T / C)": f"{format_value(x.people_t, 'int', lang)} / {format_value(x.people_c, 'int', lang)}",
            "T": format_value(x.value_t, _level(r, x.metric), lang), "C": format_value(x.value_c, _level(r, x.metric), lang),
            t("retro.uplift", lang): format_value(x.uplift, k, lang),
            "95% CI": f"{format_value(x.ci_low, k, lang)} … {format_value(x.ci_high, k, lang)}",
            "p": format_value(x.p_value, "number", lang, 3),
            "lift": format_value(x.lift, "pct", lang),
            "CUPED": f"{format_value(x.cuped_uplift, k, lang)} [{format_value(x.cuped_low, k, lang)} … {format_value(x.cuped_high, k, lang)}]",
            "Var ↓": format_value(x.variance_reduction, "pct", lang),
            "": t(f"retro.verdict_{x.verdict}", lang),
        })
    return pd.DataFrame(rows)


def definitions(r: Retro, names: list[str], lang: str) -> str:
    """Markdown lines with each metric's definition, counts and exclusions."""
    lines = []
    for n in names:
        m = r.metrics[n]
        extra = "; ".join(x for x in (m.counts, m.excludes and f"not: {m.excludes}") if x)
        lines.append("- " + t("retro.definition", lang, label=m.label_in(lang), description=m.description_in(lang),
                                window=r.campaign.window_days) + (f" ({extra})" if extra else ""))
    return "\n".join(lines)


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
    return pd.DataFrame([{t("retro.arm", lang): x.arm, t("retro.uplift", lang): f(x.uplift),
                          t("retro.fixed_ci", lang): f"{f(x.ci_low)} … {f(x.ci_high)}",
                          t("retro.always_valid_ci", lang): f"{f(x.always_valid_low)} … {f(x.always_valid_high)}"}
                         for _, x in r.primary.iterrows()])
