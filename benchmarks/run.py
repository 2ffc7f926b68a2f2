"""Benchmark cxlab's heavy computations three ways at three scales (``make bench``):

cxlab (the library's entry points, Ibis on DuckDB), a hand-written DuckDB SQL query doing the same work,
and plain pandas — trigger backtest, segment sizing and campaign retro at 1M, 10M and 100M events.
Each run is a fresh process (peak RSS is its own), implementations alternate within each repeat so the
machine's noise falls on all three, and the three results are cross-checked. Writes
benchmarks/results.md and benchmarks/scaling.png and prints the table.

    python -m benchmarks.run [--scales 1M 10M 100M] [--repeat N] [--timeout S] [--memory-gib G]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import report, scales
from benchmarks.agreement import disagreements
from benchmarks.computations import COMPUTATIONS, IMPLEMENTATIONS
from benchmarks.measure import Guards, Measurement, measure

HERE = Path(__file__).resolve().parent


@dataclass
class Cell:
    """One implementation of one computation at one scale: its runs and what they add up to."""

    runs: list[Measurement] = field(default_factory=list)

    @property
    def failure(self) -> str | None:
        return next((m.failure for m in self.runs if m.failure), None)

    @property
    def wall(self) -> float | None:
        """Median wall seconds of the successful runs (None when a run failed)."""
        return None if self.failure or not self.runs else statistics.median(m.wall for m in self.runs)

    @property
    def rss_mib(self) -> float | None:
        got = [m.rss_mib for m in self.runs if m.rss_mib is not None]
        return max(got) if got else None

    @property
    def result(self) -> dict[str, float] | None:
        return next((m.result for m in self.runs if m.result is not None), None)


@dataclass
class Row:
    """A computation at a scale: the three cells and whether their results agree."""

    computation: str
    scale: str
    clients: int
    events: int
    repeats: int
    cells: dict[str, Cell]
    agreement: str = ""


def _agreement(cells: dict[str, Cell]) -> str:
    """``yes`` when every implementation that finished matches cxlab, else what differs."""
    reference = cells["cxlab"].result
    if reference is None:
        return "no cxlab result"
    problems, compared = [], []
    for impl in IMPLEMENTATIONS[1:]:
        other = cells[impl].result
        if other is None:
            continue
        compared.append(impl)
        problems += [f"{impl}: {d}" for d in disagreements(reference, other)]
    if problems:
        return "NO — " + "; ".join(problems)
    return "yes" if len(compared) == len(IMPLEMENTATIONS) - 1 else f"yes ({' and '.join(['cxlab', *compared])})"


def bench(scale: str, folder: Path, repeats: int, guards: Guards, computations: list[str]) -> list[Row]:
    events, clients = scales.rows(folder, "events"), scales.rows(folder, "clients")
    out = []
    for name in computations:
        cells = {impl: Cell() for impl in IMPLEMENTATIONS}
        for r in range(repeats):
            for impl in IMPLEMENTATIONS:
                if cells[impl].failure:
                    continue  # out of memory or over time once: not again at this scale
                m = measure(name, impl, folder, guards)
                cells[impl].runs.append(m)
                shown = f"{m.wall:.2f} s, {m.rss_mib:.0f} MiB" if m.failure is None else m.failure
                print(f"  {scale:>4} {name:<8} {impl:<6} run {r + 1}/{repeats}: {shown}", file=sys.stderr, flush=True)
        row = Row(name, scale, clients, events, repeats, cells)
        row.agreement = _agreement(cells)
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", nargs="+", default=list(scales.CLIENTS), help="scales by events: 1M 10M 100M")
    p.add_argument("--repeat", type=int, default=0, help="runs per measurement (default per scale: 5 / 3 / 2)")
    p.add_argument("--timeout", type=float, default=1200, help="seconds before a run is killed")
    p.add_argument("--memory-gib", type=float, default=12, help="resident memory at which a run is killed")
    p.add_argument("--computations", nargs="+", default=list(COMPUTATIONS), choices=list(COMPUTATIONS))
    p.add_argument("--work", type=Path, default=HERE / ".work", help="where the demo data sets are kept")
    args = p.parse_args(argv)
    chosen = scales.parse(args.scales)
    guards = Guards(args.timeout, args.memory_gib)
    start = time.perf_counter()
    generating, rows = 0.0, []
    for scale in chosen:
        folder, spent = scales.demo(args.work, scale)
        generating += spent
        print(f"{scale} events: {folder}" + (f" (generated in {spent:.0f} s)" if spent else ""), file=sys.stderr, flush=True)
        rows += bench(scale, folder, args.repeat or scales.REPEATS[scale], guards, args.computations)
    total = time.perf_counter() - start
    (args.work / "last-run.json").write_text(json.dumps([report.as_json(r) for r in rows], indent=1))
    text = report.markdown(rows, guards, total, generating)
    report.plot(rows, HERE / "scaling.png")
    (HERE / "results.md").write_text(text)
    print(text)
    return 0 if all(r.agreement.startswith("yes") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
