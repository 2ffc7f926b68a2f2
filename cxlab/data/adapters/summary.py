"""What an import did: rows read, rows written per table, rows dropped and why, headline figures."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImportSummary:
    dataset: str
    out: str
    rows_read: int
    tables: dict[str, int]
    dropped: dict[str, int] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.dataset}: {self.rows_read:,} rows read → {self.out}"]
        lines += [f"  {name}: {n:,} rows" for name, n in self.tables.items()]
        lines += [f"  dropped ({reason}): {n:,}" for reason, n in self.dropped.items()]
        lines += [f"  {k}: {v:,.6g}" for k, v in self.figures.items()]
        return "\n".join(lines)
