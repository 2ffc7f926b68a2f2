"""One measurement in a fresh process: ``python -m benchmarks.child COMPUTATION IMPL FOLDER``.

Imports and configuration (the catalogue cards) come before the clock; the wall time covers opening the
data and computing the result. Prints one JSON line: wall seconds, peak RSS (MiB) and the result.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from benchmarks.computations import COMPUTATIONS, PRELOAD

CATALOG = Path(__file__).resolve().parents[1] / "catalog"


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry over an exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status: peak RSS needs Linux")


def main(computation: str, impl: str, folder: Path) -> dict:
    for name in PRELOAD[impl]:
        importlib.import_module(name)
    module = COMPUTATIONS[computation]
    config = module.configure(CATALOG) if impl == "cxlab" else None
    start = time.perf_counter()
    result = module.cxlab(folder, config) if impl == "cxlab" else getattr(module, impl)(folder)
    wall = time.perf_counter() - start
    return {"wall": wall, "rss_mib": peak_rss_mib(), "result": result}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))))
