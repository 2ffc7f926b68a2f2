"""02's words on the model's interval against the rule, falls in trigger volume and contaminated months."""

from __future__ import annotations

import math

from cxlab.analyses.triggers import Backtest
from cxlab.report.format import format_value as f
from cxlab.report.i18n import t


def model_sentences(b: Backtest, lang: str = "en") -> list[str]:
    """The model-minus-rule conversion at equal volume with its interval, and whether it is beyond the noise."""
    m = b.model
    if not m or not math.isfinite(m.get("difference_low", math.nan)):
        return []
    out = [t("trigger_checks.model_difference", lang, d=f(m["difference"], "pp", lang), low=f(m["difference_low"], "pp", lang),
             high=f(m["difference_high"], "pp", lang))]
    if m["difference"] > 0 and not m["difference_low"] > 0:
        out.append(t("trigger_checks.model_noise", lang))
    return out


def warnings(b: Backtest, lang: str = "en") -> list[str]:
    """One sentence per month with a large fall in trigger volume or a campaign that reached fired and other rows unevenly."""
    out = [t("trigger_checks.volume_fall", lang, fired=f(r.fired, "int", lang), snapshot=r.snapshot.date().isoformat(),
             ratio=f(r.ratio, "pct", lang, 0), median=f(r.median_before, "int", lang))
           for r in b.volume_falls.itertuples()]
    out += [t("trigger_checks.contaminated", lang, snapshot=r.snapshot.date().isoformat(), campaign=r.campaign_id,
              share_fired=f(r.share_fired, "pct", lang), share_other=f(r.share_other, "pct", lang))
            for r in b.contaminated.itertuples()]
    return out
