"""The 07 report's sentences and tables, built from a :class:`cxlab.analyses.uplift.Uplift`."""

from __future__ import annotations

import pandas as pd

from cxlab.analyses.uplift import ArmTargeting, Uplift
from cxlab.report.format import format_value
from cxlab.report.i18n import catalogue, t


def _f(value: object, kind: str, lang: str, digits: int | None = None) -> str:
    return format_value(value, kind, lang, digits)


def learner_name(name: str, lang: str) -> str:
    return t(f"uplift.learner_{name}", lang)


def _label(column: str, lang: str) -> str:
    """A column's header: ``uplift.col_<name>`` where the shared column labels have none, else the name."""
    own = catalogue(lang)
    key = f"uplift.col_{column}"
    return own[key] if key in own and f"columns.{column}" not in own else column


def _labels(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    return frame.rename(columns={c: _label(c, lang) for c in frame.columns})


def formats(lang: str, **kinds: str) -> dict[str, str]:
    """Table formats by column name, keyed by the headers :func:`_labels` gives."""
    return {_label(k, lang): v for k, v in kinds.items()}


def intro_values(u: Uplift, lang: str) -> dict[str, str]:
    return {"folds": str(u.folds), "sample": _f(u.sample_rows, "int", lang), "population": _f(u.population_rows, "int", lang),
            "limit": _f(u.campaign.uplift.sample_size, "int", lang), "metric": u.metric.label_in(lang),
            "features": ", ".join(f"`{f}`" for f in u.features)}


def verdict(a: ArmTargeting, lang: str) -> tuple[str, str]:
    """The arm's sentence and its banner kind: it follows from the shuffled-score check."""
    b = a.band
    values = {"qini": _f(b.qini.estimate, "number", lang, 3), "low": _f(b.qini.ci_low, "number", lang, 3),
              "high": _f(b.qini.ci_high, "number", lang, 3), "rlow": _f(b.random_low, "number", lang, 3),
              "rhigh": _f(b.random_high, "number", lang, 3), "p": _f(b.p_shuffled, "pct", lang, 1)}
    kind = {"better": "good", "random": "warn", "worse": "bad"}[a.verdict]
    return t(f"uplift.verdict_{a.verdict}", lang, **values), kind


def auc_values(a: ArmTargeting, lang: str) -> dict[str, str]:
    e = a.band.uplift_auc
    return {"auc": _f(e.estimate, "number", lang, 3), "low": _f(e.ci_low, "number", lang, 3), "high": _f(e.ci_high, "number", lang, 3)}


def deciles_table(a: ArmTargeting, lang: str) -> pd.DataFrame:
    d = a.deciles[["bin", "people", "n_treatment", "n_control", "score_mean", "rate_treatment", "rate_control", "uplift",
                   "ci_low", "ci_high"]]
    return _labels(d, lang)


DECILE_FORMATS = {"bin": "int", "people": "int", "n_treatment": "int", "n_control": "int", "rate_treatment": "pct",
                  "rate_control": "pct", "uplift": "pp", "ci_low": "pp", "ci_high": "pp", "score_mean": "pp"}


def at_k_table(a: ArmTargeting, lang: str) -> pd.DataFrame:
    return _labels(a.at_k, lang)


def calibration_values(a: ArmTargeting, lang: str) -> tuple[dict[str, str], str]:
    """The slope's figures and which sentence follows: ``ok`` (interval holds 1, excludes 0), ``off``
    (excludes 1) or ``none`` (holds 0: no demonstrable information)."""
    s = a.calibration.slope
    key = "none" if s.ci_low <= 0 <= s.ci_high else "ok" if s.ci_low <= 1 <= s.ci_high else "off"
    return ({"slope": _f(s.estimate, "number", lang, 2), "low": _f(s.ci_low, "number", lang, 2),
             "high": _f(s.ci_high, "number", lang, 2)}, key)


def profit_values(a: ArmTargeting, lang: str) -> dict[str, str]:
    p = a.profit
    if p is None:
        raise ValueError("profit_values needs a profit curve (the card gives no cost per contact and value per conversion)")
    return {"cost": _f(p.cost_per_contact, "money", lang, 2), "value": _f(p.value_per_conversion, "money", lang),
            "base": _f(p.contacted[-1], "int", lang), "best": _f(p.best_share.estimate, "pct", lang, 0),
            "low": _f(p.best_share.ci_low, "pct", lang, 0), "high": _f(p.best_share.ci_high, "pct", lang, 0),
            "profit": _f(p.best_profit.estimate, "money", lang), "plow": _f(p.best_profit.ci_low, "money", lang),
            "phigh": _f(p.best_profit.ci_high, "money", lang)}


def negative_values(a: ArmTargeting, lang: str) -> dict[str, str]:
    s = a.negative["share"]
    out = {"share": _f(s.estimate, "pct", lang, 1), "low": _f(s.ci_low, "pct", lang, 1), "high": _f(s.ci_high, "pct", lang, 1)}
    u = a.negative.get("uplift")
    if u is not None:
        out |= {"uplift": _f(u.estimate, "pp", lang), "ulow": _f(u.ci_low, "pp", lang), "uhigh": _f(u.ci_high, "pp", lang)}
    return out


def harmed_guardrails(u: Uplift, a: ArmTargeting, lang: str) -> str:
    labels = {m.name: m.label_in(lang) for m in u.guardrails}
    return ", ".join(labels[m] for m in a.guardrails.metric[a.guardrails.harm])


def guardrails_table(u: Uplift, a: ArmTargeting, lang: str) -> pd.DataFrame:
    labels = {m.name: m.label_in(lang) for m in u.guardrails}
    return _labels(a.guardrails.assign(metric=a.guardrails.metric.map(labels)), lang)


def profile_table(a: ArmTargeting, lang: str) -> pd.DataFrame:
    return _labels(a.profile, lang)


def learners_table(u: Uplift, a: ArmTargeting, lang: str) -> pd.DataFrame:
    return _labels(a.learners.assign(learner=[learner_name(n, lang) for n in a.learners.learner]), lang)


def assignment_table(u: Uplift, lang: str) -> pd.DataFrame:
    """Which arm the models give each group; the group's column is renamed, because ``assigned`` counts people
    elsewhere (03) and the privacy scan would read the arm names as counts."""
    frame = u.assignment.assign(assigned=[t("uplift.assigned_none", lang) if g == "none" else g for g in u.assignment.assigned])
    return _labels(frame.rename(columns={"assigned": "assigned_arm"}), lang)


def audience_random(u: Uplift) -> bool:
    """Every arm's model is no better than random: the audience's ranking is no better than chance."""
    return all(a.verdict != "better" for a in u.arms.values())


def audience_values(u: Uplift, lang: str) -> dict[str, str]:
    a = u.audience
    if a is None:
        raise ValueError("audience_values needs an audience (the run wrote none)")
    return {"date": a.snapshot, "clients": _f(a.clients, "int", lang), "path": a.path,
            "selected": _f(a.selected, "int", lang), "share": _f(a.top_share, "pct", lang, 0),
            "negative": _f(a.negative, "int", lang)}
