"""The words of 01's challenges to its own plan (cxlab.analyses.plan_checks)."""

from __future__ import annotations

import math
from typing import Any

from cxlab.analyses.plan_checks import Challenge


def sentences(challenges: list[Challenge], metric_labels: dict[str, str], lang: str = "en") -> list[str]:
    """One sentence per challenge, with what would fix it; one saying so when there is none."""
    from cxlab.report.format import format_value as f
    from cxlab.report.i18n import t

    if not challenges:
        return [t("challenges.none", lang)]
    out = []
    for c in challenges:
        x: dict[str, Any] = c.facts
        if c.kind in ("guardrail_unpowered", "guardrail_cuped"):
            cuped = f(x["mde_cuped_rel"], "lift", lang)
            note = t("challenges.cuped_note", lang, cuped=cuped) if math.isfinite(x["mde_cuped_rel"]) else ""
            out.append(t(f"challenges.{c.kind}", lang, metric=metric_labels.get(x["metric"], x["metric"]),
                         mde=f(x["mde_rel"], "lift", lang), cuped=note if c.kind == "guardrail_unpowered" else cuped,
                         margin=f(x["margin"], "pct", lang, 0)))
        elif c.kind == "effect_far":
            out.append(t("challenges.effect_far", lang, effect=f(x["expected_abs"], "pp", lang),
                         baseline=f(x["baseline"], "pct", lang, 2), relative=f(x["relative"], "lift", lang),
                         target=f(x["target"], "pct", lang, 2)))
        else:
            even = x["months_50_50"]
            split = t("challenges.split", lang, months=f(even, "number", lang, 1 if even < 10 else 0)) \
                if x["share"] != 0.5 and math.isfinite(even) and even < x["months"] else ""
            out.append(t("challenges.too_long", lang, months=f(x["months"], "number", lang, 1 if x["months"] < 10 else 0),
                         long=x["long"], split=split, window=x["window"]))
    return out
