"""Seeded pseudo-random keys computed in the engine, the same on every engine.

Samples and fake splits must not depend on the engine: each engine's own ``hash()`` differs (DuckDB's,
PostgreSQL's ``hashtext``, Spark's murmur3), but all three have ``md5`` and return the same lowercase
hex text. Keys are compared as text: hex strings of equal length order like the numbers they spell.
"""

from __future__ import annotations

import ibis

#: Hex digits of the key compared with a share (16^8 ≈ 4.3 billion buckets).
DIGITS = 8


@ibis.udf.scalar.builtin(name="md5")
def _md5(value: str) -> str:  # type: ignore[empty-body]  # an ibis builtin UDF: the engine supplies the body
    """The engine's md5 of a text, as 32 lowercase hex digits."""


def key(*parts: ibis.Value | str) -> ibis.StringValue:
    """md5 of the parts as text joined by ``|`` (integers and dates cast to text the same everywhere)."""
    texts = [ibis.literal(p) if isinstance(p, str) else p.cast("string") for p in parts]
    joined = texts[0]
    for t in texts[1:]:
        joined = joined.concat("|", t)
    return _md5(joined)


#: Independent keys one md5 holds: its 32 hex digits cut into :data:`DIGITS`-digit parts.
PARTS = 32 // DIGITS


def below(k: ibis.StringValue, share: float, part: ibis.IntegerValue | int = 0) -> ibis.BooleanValue:
    """True for about ``share`` of the keys (0 < share < 1): those whose hex digits ``part`` (0 … PARTS − 1:
    the first :data:`DIGITS`, the next, …) are below it. One md5 thus draws up to :data:`PARTS` independent
    keys: md5 is the cost of a key in every engine."""
    if not 0 < share < 1:
        raise ValueError(f"a share of keys must be between 0 and 1, got {share}")
    return k.substr(part * DIGITS, DIGITS) < f"{int(share * 16 ** DIGITS):0{DIGITS}x}"
