"""What an import did: rows read, rows written per table, rows dropped and why, headline figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ImportSummary:
    """The account of one import, printed by ``cxlab import`` and pinned by the tests.

    ``dropped`` maps a reason to the number of source rows (or facts) not carried into the canonical
    tables, so nothing disappears silently; ``figures`` are the dataset's headline numbers, computed
    on the source file so they can be compared with its SOURCE.md; ``notes`` state the assumptions
    the mapping had to make (reconstructed dates, nominal times).
    """

    dataset: str
    out: Path
    rows_read: int
    tables: dict[str, int]
    dropped: dict[str, int] = field(default_factory=dict)
    figures: Mapping[str, float | int | str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"{self.dataset}: {self.rows_read:,} rows read → {self.out}"]
        lines += [f"  {name}: {n:,} rows written" for name, n in self.tables.items()]
        lines += [f"  dropped ({reason}): {n:,}" for reason, n in self.dropped.items()]
        lines += [f"  {k}: {_figure(v)}" for k, v in self.figures.items()]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def _figure(v: float | int | str) -> str:
    """Counts with thousands separators, amounts in cents, rates to six significant digits."""
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.2f}" if abs(v) >= 1000 else f"{v:.6g}"


def top_share(values: pd.Series, share: float = 0.2) -> float:
    """The share of the total held by the top ``share`` of clients by value (the Pareto figure of SOURCE.md)."""
    v = np.sort(values.to_numpy(float))[::-1]
    return float(v[: round(share * len(v))].sum() / v.sum())
