"""Numbers as analysts read them: thousands separators, percentages, and the Russian decimal comma."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

KINDS = ("number", "int", "pct", "pp", "money", "text")
_DEFAULT_DIGITS = {"number": 3, "int": 0, "pct": 1, "pp": 2, "money": 0, "text": 0}


def format_value(value: Any, kind: str = "number", lang: str = "en", digits: int | None = None) -> str:
    """``value`` as text; missing or hidden values become an em dash.

    ``pct`` takes a share (0.123 → 12.3%), ``pp`` a difference of shares in percentage points.
    """
    if kind not in KINDS:
        raise ValueError(f"format kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "text":
        return str(value)
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return "—"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "—"
    d = _DEFAULT_DIGITS[kind] if digits is None else digits
    if kind == "pct":
        text, suffix = f"{x * 100:,.{d}f}", "%"
    elif kind == "pp":
        text, suffix = f"{x * 100:+,.{d}f}", (" п.п." if lang == "ru" else " pp")
    elif kind in ("int", "money"):
        text, suffix = f"{x:,.{d}f}", ""
    else:
        text, suffix = (f"{x:,.{d}f}" if abs(x) >= 1 or x == 0 else f"{x:.{d}g}"), ""
    if lang == "ru":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text + suffix
