"""The 04 report's words for a campaign with a matched comparison group (``control: matched``)."""

from __future__ import annotations

import pandas as pd

from cxlab.analyses.matched import SMD_BALANCED, Matched
from cxlab.report.format import format_value


def values(m: Matched, lang: str) -> dict[str, str]:
    """The figures of the matched section's sentences, formatted."""
    f = lambda v: format_value(v, "int", lang)  # noqa: E731
    c = m.campaign
    bad = m.balance[m.balance.smd_after.abs() >= SMD_BALANCED]
    return {"matched_c": f(m.matched * c.matching.ratio), "features": ", ".join(f"`{n}`" for n in [*c.features.columns, *c.features.expressions]),
            "treated": f(m.treated), "start": str(c.send_start), "end": str(c.send_end), "sample": f(m.treated_sample),
            "pool": f(m.pool), "pool_sample": f(m.pool_sample), "matched": f(m.matched),
            "unmatched": f(m.treated_sample - m.matched), "caliper": format_value(m.caliper, "number", lang, 3),
            "max_after": format_value(m.balance.smd_after.abs().max(), "number", lang, 3),
            "max_before": format_value(m.balance.smd_before.abs().max(), "number", lang, 3),
            "features_bad": ", ".join(sorted(set(bad.feature)))}


def balance_table(m: Matched) -> pd.DataFrame:
    return m.balance[["arm", "feature", "mean_t", "mean_pool", "mean_matched", "smd_before", "smd_after", "ks_before", "ks_after"]]


def placebo_table(m: Matched, labels: dict[str, str]) -> pd.DataFrame:
    p = m.placebo
    columns = ["arm", "metric", "treated", "matched", "difference", "ci_low", "ci_high", "p_value"]
    return p.assign(metric=p.metric.map(lambda n: labels.get(n, n)))[columns]


def control_zero(r) -> bool:
    """Nobody in the comparison group has the primary outcome: the data may record it only on contact."""
    p = r.primary
    return bool(len(p)) and bool((p.value_c == 0).all())
