"""The 06 report's tables, built from a launch's results, with every label from the message catalogue.

Each function returns ``(frame, people)``: the frame to show (columns in the report's language) and the
names of its columns that count people, for :meth:`cxlab.report.context.Report.table` to suppress.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from cxlab.analyses.launch import Arbitration, Audience, Launch
from cxlab.compute import arbitration as ca
from cxlab.report.format import format_value
from cxlab.report.i18n import t


def _labelled(frame: pd.DataFrame, lang: str, people: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    names = {c: t(f"launch.col_{c}", lang) for c in frame.columns}
    return frame.rename(columns=names), [names[c] for c in people if c in names]


def waterfall_table(a: Audience, lang: str) -> tuple[pd.DataFrame, list[str]]:
    """People left after each filter, with the global control as its own line."""
    frame = a.waterfall.assign(step=[t(f"launch.step_{s}", lang) for s in a.waterfall.step])
    return _labelled(frame, lang, ["people"])


def split_table(a: Audience, lang: str) -> tuple[pd.DataFrame, list[str]]:
    """Per arm: planned share, people and realised share (global control last, no share)."""
    return _labelled(a.split.assign(arm=[t("launch.step_global_control", lang) if x == "global_control" else x
                                         for x in a.split.arm]), lang, ["people"])


def balance_table(a: Audience, lang: str) -> tuple[pd.DataFrame, list[str]]:
    """Per metric and treatment arm: the SMD against control, the means, the flag and the fair-split rate."""
    return _labelled(a.balance[["metric", "arm", "smd", "mean_t", "mean_c", "flagged", "false_alarm_rate"]], lang, [])


def fair_rate(a: Audience, lang: str) -> str:
    """The largest rate at which a fair split of this size crosses 0.1, as text."""
    rate = float(a.balance.false_alarm_rate.max()) if len(a.balance) else 0.0
    return format_value(rate, "pct", lang, 2)


def plan_table(a: Audience, lang: str, registration: Any | None, planned: dict[str, Any], metrics: tuple[str, list, list],
               window: int, pre_days: int) -> tuple[pd.DataFrame, list[str]]:
    """The plan as field / value rows: registered when written, else what would be registered."""
    r = registration
    f = lambda v, k="number", d=None: format_value(v, k, lang, d)  # noqa: E731
    rows = [("hypothesis", (r.hypothesis if r else planned.get("hypothesis")) or "—"),
            ("audience", a.target.label), ("snapshot", a.snapshot.isoformat()), ("salt", a.salt),
            ("stratify", a.stratify or "—"), ("analysis", r.analysis if r else planned["analysis"]),
            ("alpha", f(r.alpha if r else planned["alpha"])),
            ("arms", ", ".join(f"{k} {f(v, 'pct', 0)}" for k, v in a.arms.items())),
            ("metrics", f"{metrics[0]} / {', '.join(metrics[1]) or '—'} / {', '.join(metrics[2]) or '—'}"),
            ("window", str(window)), ("pre_period", str(pre_days)),
            ("planned_size", f(a.size, "int")), ("baseline", f(planned.get("baseline"), "pct", 2)),
            ("mde", f(planned.get("mde"), "pp", 2)),
            ("launch_date", (r.launch_date.isoformat() if r else planned.get("launch_date", "—"))),
            ("owner", (r.owner if r else planned.get("owner")) or "—"),
            ("sign_off", f"{r.sign_off.by}, {r.sign_off.at.isoformat()}" if r else "—")]
    frame = pd.DataFrame({"field": [t(f"launch.field_{k}", lang) for k, _ in rows], "value": [v for _, v in rows]})
    return _labelled(frame, lang, [])


def arbitration_table(arb: Arbitration, lang: str) -> tuple[pd.DataFrame, list[str]]:
    """Per campaign: candidates before, people each rule dropped, after, and the base rate."""
    cols = ["campaign", "priority", "type", "channel", "before", *ca.RULES, "after", "base_rate"]
    return _labelled(arb.table[cols], lang, ["before", *ca.RULES, "after"])


def costs_table(arb: Arbitration, lang: str) -> tuple[pd.DataFrame, list[str]]:
    """Per campaign and rule: people dropped and the expected incremental contracts they cost."""
    frame = arb.costs.assign(rule=[t(f"launch.col_{r}", lang) for r in arb.costs.rule])
    return _labelled(frame, lang, ["people"])


def files_table(done: Launch | None, lang: str) -> tuple[pd.DataFrame, list[str]]:
    """The files a launch wrote (none for a dry run)."""
    rows = [] if done is None else [*[str(p) for p in done.files.values()], str(done.card)]
    return _labelled(pd.DataFrame({"file": rows}), lang, [])


def deviations_table(registration: dict[str, Any], lang: str) -> tuple[pd.DataFrame, list[str]]:
    """04 against the registered plan: each deviation with what was registered and what happened."""
    rows = []
    for d in registration["deviations"]:
        what, _, metric = d["what"].partition(":")
        rows.append({"what": t(f"launch.dev_{what}", lang) + (f" ({metric})" if metric else ""),
                     "registered": str(d["registered"]), "realised": str(d["realised"])})
    return _labelled(pd.DataFrame(rows, columns=["what", "registered", "realised"]), lang, [])
