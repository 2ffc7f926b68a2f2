"""Numbers as analysts read them: thousands separators, percentages, and the Russian decimal comma.

Kinds: ``number`` (3 significant digits below 1, float noise under 1e-12 shown as 0), ``int`` (whole
people: rounded, never a fraction), ``pct`` (a share: 0.123 → 12.3%), ``pp`` (a difference of shares in
percentage points), ``money`` (two decimals, with the currency when one is set), ``pvalue`` (three
significant digits; below 1e-300 — including a p-value that underflowed to 0 — shown as "< 1e-300"),
``lift`` (a relative change: +12.3%, and from +100% on as a multiple of the base, ×2.5), ``text``.
"""

from __future__ import annotations

import math
import re
from typing import Any

KINDS = ("number", "int", "pct", "pp", "money", "pvalue", "lift", "text")
_DEFAULT_DIGITS = {"number": 3, "int": 0, "pct": 1, "pp": 2, "money": 2, "pvalue": 3, "lift": 1, "text": 0}
#: Below this a p-value is shown as "< 1e-300" (doubles underflow near 1e-308; 0 means "too small to compute").
P_FLOOR = 1e-300
#: Float noise: a "number" smaller than this in absolute value is 0 (a difference of equal sums, 5.55e-17).
NOISE = 1e-12


def _localise(text: str, lang: str) -> str:
    return text.replace(",", "\u00a0").replace(".", ",") if lang == "ru" else text


_SEPARATOR = re.compile(r"(?<=\d)([.,])(?=\d)")


def localise_numbers(text: str, lang: str) -> str:
    """The numbers inside ``text`` (an English-formatted tick label, "1,250.5" or "12.5%") written as
    :func:`format_value` writes them in ``lang``; the letters and other marks are left as they are."""
    if lang == "en":
        return text
    return _SEPARATOR.sub(lambda m: "\u00a0" if m.group(1) == "," else ",", text)


def format_value(value: Any, kind: str = "number", lang: str = "en", digits: int | None = None,
                 currency: str = "") -> str:
    """``value`` as text; missing or hidden values become an em dash.

    ``pct`` takes a share (0.123 → 12.3%), ``pp`` a difference of shares in percentage points, ``lift`` a
    relative change (0.5 → +50.0%, 1.5 → ×2.5), ``pvalue`` a p-value, ``money`` an amount in ``currency``.
    """
    if kind not in KINDS:
        raise ValueError(f"format kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "text":
        return str(value)
    import pandas as pd  # here, not at the top: the index page formats nothing and needs no pandas

    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return "—"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "—"
    d = _DEFAULT_DIGITS[kind] if digits is None else digits
    if kind == "pvalue":
        if x < P_FLOOR:
            return "< " + _localise("1e-300", lang)
        return _localise(f"{x:.{d}f}" if x >= 10 ** -d else f"{x:.{d}g}", lang)
    if kind == "lift":
        if x >= 1:  # +100% and more: a multiple of the base reads better than +1,936.5%
            return "×" + _localise(f"{1 + x:,.{d}f}", lang)
        return _localise(f"{x * 100:+,.{d}f}", lang) + "%"
    if kind == "pct":
        text, suffix = f"{x * 100:,.{d}f}", "%"
    elif kind == "pp":
        text, suffix = f"{x * 100:+,.{d}f}", (" п.п." if lang == "ru" else " pp")
    elif kind == "int":
        text, suffix = f"{round(x):,d}", ""
    elif kind == "money":
        text, suffix = f"{x:,.{d}f}", (f"\u00a0{currency}" if currency else "")
    else:
        if abs(x) < NOISE:
            x = 0.0
        text, suffix = (f"{x:,.{d}f}" if abs(x) >= 1 or x == 0 else f"{x:.{d}g}"), ""
    if text.startswith("-") and float(text.replace(",", "").replace("-", "") or 0) == 0:
        text = text[1:]  # no "-0.00"
    return _localise(text, lang) + suffix
