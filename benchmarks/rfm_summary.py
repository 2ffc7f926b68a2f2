"""Peak memory and time of the client-value engine work on a demo folder, in a fresh process.

``python -m benchmarks.rfm_summary FOLDER [--threads N] [--memory-limit 1GB]`` opens the demo, computes the
recency / frequency / monetary summary with a 26-week holdout in the engine (DuckDB), reads back the
counts by distinct (x, t_x, T), the monetary cells and moments, and fits the BG/NBD and the Gamma-Gamma on
them — what 08-client-value asks of the engine, without the per-client scoring — and prints one JSON line:
clients, cells, wall seconds and the process's peak RSS (VmHWM). Peer libraries (lifetimes'
``summary_data_from_transaction_data``) build the same summary in pandas from every transaction.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.child import peak_rss_mib


def main(folder: Path, threads: int, memory_limit: str) -> dict:
    from cxlab.compute import rfm
    from cxlab.data import connect
    from cxlab.stats import btyd

    start = time.perf_counter()
    src = connect(folder)
    src.con.raw_sql(f"SET threads = {threads}")
    if memory_limit:
        src.con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    split = rfm.default_split(src, holdout_days=182)
    s = src.cache(rfm.summary(src, split))
    cells = rfm.cells(src, s, split)
    money = rfm.monetary_cells(src, s)
    moments = rfm.monetary_moments(src, s)
    summary_s = time.perf_counter() - start
    fit = btyd.fit("bgnbd", btyd.Cells.of(cells.frequency, cells.recency, cells["T"], cells.n, cells.holdout_sum))
    money = money[money.monetary > 0]
    gg = btyd.fit_gamma_gamma(money.frequency, money.monetary, money.n)
    return {"clients": int(cells.n.sum()), "cells": len(cells), "monetary_cells": len(money),
            "repeat_clients": int(moments.n.iloc[0]), "summary_s": round(summary_s, 2),
            "wall_s": round(time.perf_counter() - start, 2), "peak_rss_mib": round(peak_rss_mib(), 1),
            "bgnbd": {k: round(v, 4) for k, v in fit.params.items()}, "gamma_gamma": [round(gg.p, 4), round(gg.q, 4), round(gg.v, 4)]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB's memory_limit ('' = cxlab's own: CXLAB_DUCKDB_MEMORY, else 512MB)")
    args = parser.parse_args()
    print(json.dumps(main(args.folder, args.threads, args.memory_limit)))
