"""Wall time of `cxlab run` on the demo four ways, in one invocation (``make bench-run``), written as a
markdown table into docs/run-timing.md between the ``bench-run`` markers:

1. each notebook in its own ``cxlab run NN`` (a fresh kernel and imports per notebook: how runs used to go),
2. serial cold: one ``cxlab run --force`` (one warm kernel for all the notebooks; the reference),
3. ``--jobs 2 --force`` (two warm kernels),
4. warm cache: the same command again, unchanged (every notebook reused).

Ratios are to the serial cold run of the same invocation, so a loaded machine inflates every row alike;
the load average at the start and the end is recorded beside them.

    python -m benchmarks.run_timing [--data data/demo] [--notebooks 00 01 02 03 04 05] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "run-timing.md"
BEGIN, END = "<!-- bench-run: begin -->", "<!-- bench-run: end -->"


def _cxlab(*args: str) -> float:
    """Seconds of wall time of one ``cxlab`` command (it must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cxlab", *args], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(data: str, notebooks: list[str], jobs: int) -> tuple[list[tuple[str, float]], str, str]:
    """The four timings, and the load average before and after."""
    before = _load()
    with tempfile.TemporaryDirectory(prefix="cxlab-bench-run-") as tmp:
        common = ["--data", data, "--quiet"]
        one_by_one = sum(_cxlab("run", nb, *common, "--out", f"{tmp}/each", "--force") for nb in notebooks)
        serial = _cxlab("run", *notebooks, *common, "--out", f"{tmp}/serial", "--force")
        parallel = _cxlab("run", *notebooks, *common, "--out", f"{tmp}/parallel", "--force", "--jobs", str(jobs))
        cached = _cxlab("run", *notebooks, *common, "--out", f"{tmp}/serial")
    rows = [("each notebook in its own `cxlab run` (a fresh kernel each)", one_by_one),
            ("serial cold: `cxlab run --force` (one warm kernel)", serial),
            (f"`--jobs {jobs} --force` ({jobs} warm kernels)", parallel),
            ("warm cache: the same run again, unchanged", cached)]
    return rows, before, _load()


def table(rows: list[tuple[str, float]], notebooks: list[str], data: str, before: str, after: str) -> str:
    reference = rows[1][1]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Notebooks {' '.join(notebooks)} on `{data}`, {stamp}, {os.cpu_count()} cores; load average "
             f"(1/5/15 min) {before} at the start, {after} at the end.", "",
             "| run | wall | ratio to serial cold |", "|---|---:|---:|"]
    lines += [f"| {name} | {seconds:.1f} s | {seconds / reference:.3f} |" for name, seconds in rows]
    return "\n".join(lines) + "\n"


def write(text: str) -> None:
    """Put ``text`` between the markers in docs/run-timing.md (appending the markers the first time)."""
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in doc:
        doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n## `make bench-run`\n\n" + block + "\n"
    DOC.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/demo", help="the data folder (default: data/demo)")
    p.add_argument("--notebooks", nargs="+", default=["00", "01", "02", "03", "04", "05"],
                   help="the notebooks (default: 00 to 05)")
    p.add_argument("--jobs", type=int, default=2, help="jobs of the parallel run (default: 2)")
    args = p.parse_args(argv)
    rows, before, after = measure(args.data, args.notebooks, args.jobs)
    text = table(rows, args.notebooks, args.data, before, after)
    write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
