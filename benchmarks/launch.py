"""Benchmark of the launch: a contact policy arbitrating three campaigns on a demo, each launched (split,
balance, files written by the engine, registered card) — wall time and peak RSS, measured in a child
process so the numbers are the launch's own.

    python -m benchmarks.launch --data data/demo1m     # after: cxlab demo-data --clients 1000000 --out data/demo1m

The issue's bar (#17): 1M clients, 3 campaigns, under 60 s and under 1 GiB RSS on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(data: str, policy: str, memory_limit: str, queue) -> None:  # noqa: ANN001
    from cxlab.analyses.launch import launch_policy, load_policy
    from cxlab.catalog import load_catalog
    from cxlab.data.connect import connect

    with tempfile.TemporaryDirectory() as tmp:
        cat = Path(tmp) / "catalog"
        shutil.copytree(ROOT / "catalog", cat)
        start = time.perf_counter()
        src = connect(data)
        if memory_limit:  # DuckDB otherwise takes up to 80% of RAM for its buffers before it spills
            src.con.raw_sql(f"SET memory_limit = '{memory_limit}'")
        arb, launches = launch_policy(src, load_catalog(cat), load_policy(cat / "policies" / f"{policy}.yml"),
                                      out=Path(tmp) / "aud", owner="bench", approved_by="bench", catalog_dir=cat)
        seconds = time.perf_counter() - start
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB on Linux
        queue.put({"memory_limit": memory_limit or "DuckDB default", "seconds": seconds, "peak_rss_mib": rss, "before": int(arb.table.before.sum()),
                   "after": int(arb.table.after.sum()),
                   "audiences": {d.audience.campaign: d.audience.size for d in launches}})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--policy", default="demo_q4")
    p.add_argument("--memory-limit", default="", help="DuckDB's memory_limit, e.g. 500MB (default: DuckDB's own)")
    args = p.parse_args(argv)
    ctx = get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(args.data, args.policy, args.memory_limit, queue))
    proc.start()
    result = queue.get()
    proc.join()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
