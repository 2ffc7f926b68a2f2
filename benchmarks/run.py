"""Benchmark the trigger backtest (12 monthly snapshots) three ways on demo data of growing size:
cxlab (Ibis on DuckDB), a hand-written DuckDB SQL query doing the same work, and plain pandas.

Each measurement runs in a fresh process so its peak RSS is its own; the three run in the same session and
are reported as ratios, since the machine is noisy. Writes benchmarks/results.md and prints it.

    python benchmarks/run.py [--clients 20000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
SNAPSHOTS = [f"2024-{m:02d}-01" for m in range(4, 13)] + ["2025-01-01", "2025-02-01", "2025-03-01"]
IMPLS = ("cxlab", "sql", "pandas")
TRIGGER = None  # the salary_no_card card, loaded before the clock starts

SQL = """
with snaps as (select unnest(cast(? as timestamp[])) as s),
base as (select c.client_id, s from read_parquet('{clients}') c, snaps where c.joined_at <= s),
held as (select distinct b.client_id, b.s from base b join read_parquet('{holdings}') h using (client_id)
         join read_parquet('{products}') p using (product_id)
         where p.product_line = 'credit_card' and h.opened_at < b.s and (h.closed_at is null or h.closed_at >= b.s)),
fired as (select e.client_id, sn.s from read_parquet('{events}') e join snaps sn
          on e.ts >= sn.s - interval 30 day and e.ts < sn.s
          where e.event_type = 'salary_deposit' group by 1, 2 having max(e.value) >= 3000),
conv as (select b.client_id, b.s from base b join read_parquet('{holdings}') h using (client_id)
         join read_parquet('{products}') p using (product_id)
         where p.product_line = 'credit_card' and h.opened_at > b.s and h.opened_at <= b.s + interval 30 day
         group by 1, 2)
select b.s as snapshot, f.client_id is not null as fired, count(*) as n, count(c.client_id) as x_sum
from base b anti join held h using (client_id, s)
left join fired f using (client_id, s) left join conv c using (client_id, s)
group by 1, 2 order by 1, 2
"""


def table(folder: Path, name: str) -> Path:
    """A demo table: its file, or the folder of its parts when the demo was written in chunks."""
    one = folder / f"{name}.parquet"
    return one if one.exists() else folder / name


def run_cxlab(folder: Path) -> list:
    from cxlab.compute import triggers as ct
    from cxlab.data import connect

    src = connect(folder)  # counted: opening the files is part of the work, as in the SQL query
    out = ct.counts(src, ct.panel(src, TRIGGER, SNAPSHOTS))
    return out[["n", "x_sum"]].to_numpy().tolist()


def run_sql(folder: Path) -> list:
    import duckdb

    files = {name: table(folder, name) for name in ("clients", "holdings", "products", "events")}
    sql = SQL.format(**{name: f"{p}/*.parquet" if p.is_dir() else p for name, p in files.items()})
    rows = duckdb.connect().execute(sql, [SNAPSHOTS]).fetchall()
    return [[n, x] for _, _, n, x in rows]


def run_pandas(folder: Path) -> list:
    """What an analyst writes today: load the tables, loop over snapshots, filter and merge."""
    import pandas as pd

    clients = pd.read_parquet(table(folder, "clients"), columns=["client_id", "joined_at"])
    products = pd.read_parquet(table(folder, "products"))
    holdings = pd.read_parquet(table(folder, "holdings")).merge(products, on="product_id")
    cards = holdings[holdings.product_line == "credit_card"]
    events = pd.read_parquet(table(folder, "events"), columns=["client_id", "event_type", "ts", "value"])
    salary = events[events.event_type == "salary_deposit"]
    out = []
    for snap in SNAPSHOTS:
        s = pd.Timestamp(snap)
        base = clients[clients.joined_at <= s][["client_id"]]
        held = cards[(cards.opened_at < s) & (cards.closed_at.isna() | (cards.closed_at >= s))].client_id.unique()
        base = base[~base.client_id.isin(held)]
        window = salary[(salary.ts >= s - pd.Timedelta(days=30)) & (salary.ts < s)]
        fired = window.groupby("client_id").value.max()
        fired = set(fired[fired >= 3000].index)
        conv = set(cards[(cards.opened_at > s) & (cards.opened_at <= s + pd.Timedelta(days=30))].client_id)
        is_fired = base.client_id.isin(fired)
        is_conv = base.client_id.isin(conv)
        for flag in (False, True):
            m = is_fired == flag
            out.append([int(m.sum()), int((m & is_conv).sum())])
    return out


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry over an exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(impl: str, folder: Path) -> None:
    """Run one implementation and print its wall time (libraries already imported), peak RSS and result."""
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    if impl == "cxlab":  # reading the catalogue card is configuration, not computation
        from cxlab.catalog import load_catalog

        global TRIGGER
        TRIGGER = load_catalog(HERE.parent / "catalog").triggers["salary_no_card"]
    start = time.perf_counter()
    result = {"cxlab": run_cxlab, "sql": run_sql, "pandas": run_pandas}[impl](folder)
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "rss_mib": peak_rss_mib(), "result": result}))


def measure(impl: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", impl, str(folder)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"wall": None, "rss_mib": None, "result": None, "error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, nargs="+", default=[20_000, 100_000])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--child", nargs=2, metavar=("IMPL", "FOLDER"))
    args = p.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    from cxlab.data.demo import generate

    rows = []
    for n in args.clients:
        folder = WORK / f"demo-{n}"
        if not (folder / "truth.json").exists():
            generate(folder, clients=n, seed=7)
        events = json.loads((folder / "truth.json").read_text())["rows"]["events"]
        runs = {impl: [measure(impl, folder) for _ in range(args.repeat)] for impl in IMPLS}
        results = {impl: runs[impl][0]["result"] for impl in IMPLS}
        agree = results["cxlab"] == results["sql"] == results["pandas"]
        med = {impl: statistics.median(r["wall"] for r in runs[impl]) for impl in IMPLS}
        rss = {impl: max(r["rss_mib"] for r in runs[impl]) for impl in IMPLS}
        rows.append(f"| {n:,} | {events:,} | {med['cxlab']:.2f} | {med['sql']:.2f} | {med['pandas']:.2f} | "
                    f"{med['cxlab'] / med['sql']:.2f} | {med['pandas'] / med['cxlab']:.1f} | "
                    f"{rss['cxlab']:.0f} / {rss['sql']:.0f} / {rss['pandas']:.0f} | {'yes' if agree else 'NO'} |")
    table = "\n".join([
        "# Benchmark: trigger backtest, 12 monthly snapshots (`make bench`)", "",
        f"Median of {args.repeat} runs, each in a fresh process (wall seconds, including reading the parquet files).", "",
        "| clients | events | cxlab s | SQL s | pandas s | cxlab / SQL | pandas / cxlab | peak RSS MiB (cxlab / SQL / pandas) | same counts |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|", *rows, ""])
    (HERE / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
