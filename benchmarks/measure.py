"""Run one child measurement under guards and read back what it printed.

The parent watches each child: past the wall-clock limit, or once its resident memory passes the
memory limit, the child is killed and the run recorded as ``> T s`` / ``out of memory (> X GiB)``, so
pandas running out of memory at the largest scale ends that run, not the benchmark (or the machine).
Watching RSS rather than capping the address space (``RLIMIT_AS``) keeps the limit in real memory: a capped
pyarrow thread pool can hang instead of failing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIB = 1 << 30
POLL_S = 0.05


@dataclass(frozen=True)
class Guards:
    """The limits every child runs under."""

    timeout_s: float
    memory_gib: float

    def describe(self) -> str:
        return (f"a run is killed after {self.timeout_s:g} s or once its resident memory passes "
                f"{self.memory_gib:g} GiB (the parent polls /proc every {POLL_S * 1000:.0f} ms)")


@dataclass(frozen=True)
class Measurement:
    """One run: wall seconds, peak RSS in MiB and the result, or why there is none."""

    wall: float | None
    rss_mib: float | None
    result: dict[str, float] | None
    failure: str | None = None

    def to_json(self) -> dict:
        return {"wall": self.wall, "rss_mib": self.rss_mib, "failure": self.failure}


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def measure(computation: str, impl: str, folder: Path, guards: Guards) -> Measurement:
    """Run ``impl`` of ``computation`` on ``folder`` in a fresh process under ``guards``."""
    cmd = [sys.executable, "-m", "benchmarks.child", computation, impl, str(folder)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, text=True)
        start = time.monotonic()
        killed = None
        while child.poll() is None:
            if time.monotonic() - start > guards.timeout_s:
                killed = f"> {guards.timeout_s:g} s"
            elif _rss_bytes(child.pid) > guards.memory_gib * GIB:
                killed = f"out of memory (> {guards.memory_gib:g} GiB)"
            if killed:
                child.kill()
                child.wait()
                return Measurement(None, None, None, killed)
            time.sleep(POLL_S)
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().strip().splitlines(), err.read().strip().splitlines()
    if child.returncode == 0 and lines:
        got = json.loads(lines[-1])
        return Measurement(got["wall"], got["rss_mib"], got["result"])
    last = errors[-1] if errors else f"exit code {child.returncode}"
    if child.returncode < 0:
        last = f"killed by {signal.Signals(-child.returncode).name}: {last}"
    return Measurement(None, None, None, f"failed: {last}")
