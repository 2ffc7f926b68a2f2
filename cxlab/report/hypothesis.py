"""The 01 report's tables and sentences, built from a :class:`cxlab.analyses.hypothesis.Plan`."""

from __future__ import annotations

import pandas as pd

from cxlab.analyses.hypothesis import Plan
from cxlab.report.format import format_value
from cxlab.report.i18n import t


def check_table(p: Plan, lang: str) -> pd.DataFrame:
    """The communication check: each question with the card's answer (— where missing)."""
    answers = p.hypothesis.communication_check.model_dump()
    return pd.DataFrame({t("hypothesis.question", lang): [t(f"hypothesis.q_{k}", lang) for k in answers],
                         t("hypothesis.answer", lang): [v if v and v.strip() else "—" for v in answers.values()]})


def missing_questions(p: Plan, lang: str) -> str:
    return ", ".join(t(f"hypothesis.q_{k}", lang) for k in p.hypothesis.missing_checks())


def metric_lines(p: Plan, names: list[str], lang: str) -> str:
    """Markdown bullets: each metric's label, definition and role."""
    out = []
    for n in names:
        m = p.metrics[n]
        margin = f", margin {format_value(m.margin, 'pct', lang)}" if m.margin else ""
        out.append(f"- **{m.label_in(lang)}** ({m.role}{margin}) — {m.description_in(lang)}")
    return "\n".join(out)


def sample_values(p: Plan, lang: str) -> dict[str, str]:
    h = p.hypothesis
    return {"effect": format_value(p.expected_abs, "pp", lang), "alpha": format_value(h.alpha, "number", lang),
            "power": format_value(h.power, "pct", lang, 0), "share": format_value(h.treatment_share, "pct", lang, 0),
            "nt": format_value(p.n_treatment, "int", lang), "nc": format_value(p.n_control, "int", lang),
            "months": format_value(p.months_needed, "number", lang, 1)}
