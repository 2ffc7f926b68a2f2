"""Do two implementations give the same numbers? Counts must be equal, sums equal to 1e-9 relative."""

from __future__ import annotations

RELATIVE = 1e-9


def disagreements(reference: dict[str, float], other: dict[str, float], limit: int = 3) -> list[str]:
    """Up to ``limit`` keys (of the union) where ``other`` differs from ``reference``, each with both values."""
    found = []
    for key in sorted(reference.keys() | other.keys()):
        a, b = reference.get(key), other.get(key)
        if a is None or b is None:
            same = False
        elif isinstance(a, int) and isinstance(b, int):
            same = a == b
        else:
            same = abs(a - b) <= RELATIVE * max(abs(a), abs(b))
        if not same:
            found.append(f"{key}: {a} vs {b}")
            if len(found) == limit:
                break
    return found
