"""Run one child measurement under guards and read back what it printed.

Every child has a wall-clock limit (killed past it); the pandas child also gets an address-space limit
(``RLIMIT_AS``), so running out of memory ends that child with a MemoryError (or kills it) instead of the
machine. Either is recorded as a failure with its limit, and the benchmark goes on.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIB = 1 << 30


@dataclass(frozen=True)
class Guards:
    """The limits every child runs under."""

    timeout_s: float
    pandas_memory_gib: float

    def describe(self) -> str:
        return (f"each run is killed after {self.timeout_s:.0f} s; the pandas process may address at most "
                f"{self.pandas_memory_gib:g} GiB (RLIMIT_AS)")


@dataclass(frozen=True)
class Measurement:
    """One run: wall seconds, peak RSS in MiB and the result, or why there is none."""

    wall: float | None
    rss_mib: float | None
    result: dict[str, float] | None
    failure: str | None = None

    def to_json(self) -> dict:
        return {"wall": self.wall, "rss_mib": self.rss_mib, "failure": self.failure}


def _limit_memory(gib: float) -> None:
    limit = int(gib * GIB)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def measure(computation: str, impl: str, folder: Path, guards: Guards) -> Measurement:
    """Run ``impl`` of ``computation`` on ``folder`` in a fresh process under ``guards``."""
    limited = impl == "pandas"
    cmd = [sys.executable, "-m", "benchmarks.child", computation, impl, str(folder)]
    preexec = (lambda: _limit_memory(guards.pandas_memory_gib)) if limited else None
    out_of_memory = f"out of memory (> {guards.pandas_memory_gib:g} GiB)"
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=guards.timeout_s,
                              preexec_fn=preexec, check=False)
    except subprocess.TimeoutExpired:
        return Measurement(None, None, None, f"> {guards.timeout_s:.0f} s")
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        got = json.loads(lines[-1])
        if "error" in got:
            return Measurement(None, got["rss_mib"], None, out_of_memory if got["error"] == "out of memory" else got["error"])
        return Measurement(got["wall"], got["rss_mib"], got["result"])
    if limited and (done.returncode < 0 or "MemoryError" in done.stderr or "bad_alloc" in done.stderr):
        return Measurement(None, None, None, out_of_memory)  # an allocation failed in native code and aborted
    last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
    if done.returncode < 0:
        last = f"killed by {signal.Signals(-done.returncode).name}: {last}"
    return Measurement(None, None, None, f"failed: {last}")
