"""The benchmark's scales, named by events (the cost driver), and the demo data behind each.

The demo generator writes ≈ 89 events per client, so 1M, 10M and 100M events are 11,250, 112,500 and
1,125,000 clients.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.layout import table_path

CLIENTS = {"1M": 11_250, "10M": 112_500, "100M": 1_125_000}
#: Repeats per scale (median taken): fewer at the biggest, where one run takes long. With 5 / 3 / 2, ratios near
#: a bar flipped between two runs of the same code (the trigger at 10M: 1.27, then 1.47).
REPEATS = {"1M": 9, "10M": 7, "100M": 3}
SEED = 7


def parse(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in CLIENTS]
    if unknown:
        raise SystemExit(f"unknown scale(s) {unknown}: choose from {', '.join(CLIENTS)} (e.g. SCALES=\"1M 10M\")")
    return sorted(dict.fromkeys(names), key=CLIENTS.get)


def demo(work: Path, scale: str) -> tuple[Path, float]:
    """The demo folder of ``scale`` (generated when missing, seed 7) and the seconds spent generating it."""
    from cxlab.data.demo import generate

    folder = work / f"demo-{CLIENTS[scale]}"
    if (folder / "truth.json").exists():
        return folder, 0.0
    start = time.perf_counter()
    generate(folder, clients=CLIENTS[scale], seed=SEED)
    return folder, time.perf_counter() - start


def rows(folder: Path, table: str) -> int:
    """Rows of a table from the parquet footers (one file or a folder of parts)."""
    path = table_path(folder, table)
    parts = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return sum(pq.read_metadata(p).num_rows for p in parts)
