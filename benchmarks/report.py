"""The benchmark's outputs: the markdown table with ratios and targets, and the log-log scaling plot."""

from __future__ import annotations

import itertools
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.computations import COMPUTATIONS, IMPLEMENTATIONS
from benchmarks.scales import CLIENTS

if TYPE_CHECKING:
    from benchmarks.measure import Guards
    from benchmarks.run import Cell, Row

LABEL = {"cxlab": "cxlab", "sql": "SQL", "pandas": "pandas"}
#: Issue #20's bars on cxlab's overhead over the hand-written SQL: seconds above it at 1M events (where the
#: fixed cost dominates), the ratio at 10M and 100M.
MAX_SECONDS_OVER_SQL = {"1M": 0.2}
MAX_CXLAB_OVER_SQL = {"10M": 1.3, "100M": 1.1}
#: The benchmark issue's bars on pandas and memory.
MIN_PANDAS_OVER_CXLAB = 10.0
PANDAS_TARGET_SCALE = "10M"
MAX_CXLAB_RSS_MIB = 4 * 1024
RSS_TARGET_SCALE = "100M"


def _seconds(cell: Cell) -> str:
    return cell.failure if cell.failure else f"{cell.wall:.2f}"


def _ratio(a: Cell, b: Cell, digits: int) -> str:
    if a.wall is None or b.wall is None:
        return "—"
    return f"{a.wall / b.wall:.{digits}f}"


def _rss(cell: Cell) -> str:
    return "—" if cell.rss_mib is None else f"{cell.rss_mib:,.0f}"


def _commit() -> str:
    root = Path(__file__).resolve().parents[1]
    got = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return got.stdout.strip() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / (1 << 20)
    return float("nan")


def _targets(rows: list[Row]) -> list[str]:
    lines = []
    for r in rows:
        c, s = r.cells["cxlab"], r.cells["sql"]
        if c.wall is None or s.wall is None:
            continue
        if r.scale in MAX_SECONDS_OVER_SQL:
            over, limit = c.wall - s.wall, MAX_SECONDS_OVER_SQL[r.scale]
            verdict = "met" if over <= limit else "**missed**"
            lines.append(f"- {r.computation} at {r.scale} events: cxlab − SQL = {over:+.2f} s (≤ +{limit} s): {verdict}")
        elif r.scale in MAX_CXLAB_OVER_SQL:
            ratio, limit = c.wall / s.wall, MAX_CXLAB_OVER_SQL[r.scale]
            verdict = "met" if ratio <= limit else "**missed**"
            lines.append(f"- {r.computation} at {r.scale} events: cxlab / SQL = {ratio:.2f} (≤ {limit}): {verdict}")
    for r in rows:
        if r.scale != PANDAS_TARGET_SCALE:
            continue
        c, pd_ = r.cells["cxlab"], r.cells["pandas"]
        if pd_.failure:
            lines.append(f"- {r.computation} at {r.scale} events: pandas {pd_.failure}: met (pandas cannot do it)")
        elif c.wall is not None and pd_.wall is not None:
            ratio = pd_.wall / c.wall
            verdict = "met" if ratio >= MIN_PANDAS_OVER_CXLAB else "**missed**"
            lines.append(f"- {r.computation} at {r.scale} events: pandas / cxlab = {ratio:.1f} (≥ {MIN_PANDAS_OVER_CXLAB:g}): {verdict}")
    for r in rows:
        rss = r.cells["cxlab"].rss_mib
        if r.scale == RSS_TARGET_SCALE and rss is not None:
            verdict = "met" if rss <= MAX_CXLAB_RSS_MIB else "**missed**"
            lines.append(f"- {r.computation} at {r.scale} events: cxlab peak RSS {rss / 1024:.2f} GiB (≤ 4 GiB): {verdict}")
    return lines


def _growth(rows: list[Row]) -> list[str]:
    """Per computation and implementation, how much the time grows from one scale to the next."""
    scales = [s for s in CLIENTS if any(r.scale == s for r in rows)]
    if len(scales) < 2:
        return ["(one scale only)"]
    steps = list(itertools.pairwise(scales))
    head = "| computation | implementation | " + " | ".join(f"{a} → {b} (× events)" for a, b in steps) + " |"
    out = [head, "|---|---|" + "---:|" * len(steps)]
    by = {(r.computation, r.scale): r for r in rows}
    for name in COMPUTATIONS:
        for impl in IMPLEMENTATIONS:
            cells = []
            for a, b in steps:
                ra, rb = by.get((name, a)), by.get((name, b))
                if ra is None or rb is None or ra.cells[impl].wall is None or rb.cells[impl].wall is None:
                    cells.append("—")
                    continue
                cells.append(f"× {rb.cells[impl].wall / ra.cells[impl].wall:.1f} (× {rb.events / ra.events:.1f})")
            if any(c != "—" for c in cells):
                out.append(f"| {name} | {LABEL[impl]} | " + " | ".join(cells) + " |")
    return out


def markdown(rows: list[Row], guards: Guards, total_s: float, generating_s: float) -> str:
    repeats = ", ".join(f"{s}: {n}" for s, n in dict((r.scale, r.repeats) for r in rows).items())
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("duckdb", "ibis-framework", "pandas", "pyarrow"))
    table = ["| computation | events | clients | cxlab s | SQL s | pandas s | cxlab / SQL | pandas / cxlab | "
             "peak RSS MiB cxlab / SQL / pandas | same numbers |", "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        c, s, p = (r.cells[i] for i in IMPLEMENTATIONS)
        table.append(f"| {r.computation} | {r.events:,} | {r.clients:,} | {_seconds(c)} | {_seconds(s)} | {_seconds(p)} | "
                     f"{_ratio(c, s, 2)} | {_ratio(p, c, 1)} | {_rss(c)} / {_rss(s)} / {_rss(p)} | {r.agreement} |")
    computations = "\n".join(f"- **{name}**: {m.TITLE}." for name, m in COMPUTATIONS.items() if any(r.computation == name for r in rows))
    return "\n".join([
        "# Benchmark: cxlab vs hand-written DuckDB SQL vs pandas (`make bench`)", "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {_commit()} on {os.cpu_count()} cores, "
        f"{_memory_gib():.0f} GiB RAM ({platform.python_implementation()} {platform.python_version()}; {versions}). "
        "Other work shared the machine, so read the ratios within a run rather than the absolute times.", "",
        "Scales are set by **events**, the cost driver: the demo generator writes ≈ 89 events per client, so 1M, 10M "
        "and 100M events are " + ", ".join(f"{n:,}" for n in CLIENTS.values()) + " clients (seed 7).", "",
        computations, "",
        "Each number is the median wall time of fresh processes (repeats per scale — " + repeats + "), with the "
        "libraries imported and the catalogue cards read before the clock; the time includes opening the parquet "
        "files. Peak RSS is the process's VmHWM (the largest over its repeats). Implementations alternate within each "
        f"repeat. Guards: {guards.describe()}. *Same numbers*: every count equal and every sum within 1e-9 "
        "relative across the implementations that finished.", "",
        *table, "",
        "## Targets", "", *_targets(rows), "",
        "## How cost grows", "",
        "Time at the larger scale over time at the smaller one, beside the growth in events; `scaling.png` plots "
        "time against events (log-log).", "",
        *_growth(rows), "",
        "![time against events, log-log](scaling.png)", "",
        f"The whole run took {total_s / 60:.1f} minutes, {generating_s / 60:.1f} of them generating demo data.", ""])


def plot(rows: list[Row], path: Path) -> None:
    """Wall time against events, log-log: one panel per computation, one line per implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in COMPUTATIONS if any(r.computation == n for r in rows)]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], names, strict=True):
        mine = sorted((r for r in rows if r.computation == name), key=lambda r: r.events)
        for impl, marker in zip(IMPLEMENTATIONS, "os^", strict=True):
            pts = [(r.events, r.cells[impl].wall) for r in mine if r.cells[impl].wall is not None]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker=marker, label=LABEL[impl])
            for r in mine:
                if r.cells[impl].failure:
                    ax.annotate(f"{LABEL[impl]}: {r.cells[impl].failure}", (r.events, ax.get_ylim()[1]), fontsize=7,
                                ha="right", va="top")
        ax.set(xscale="log", yscale="log", title=name, xlabel="events")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("wall seconds (median)")
    axes[0][-1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def as_json(row: Row) -> dict:
    return {"computation": row.computation, "scale": row.scale, "clients": row.clients, "events": row.events,
            "agreement": row.agreement, "cells": {impl: [m.to_json() for m in cell.runs] for impl, cell in row.cells.items()}}
