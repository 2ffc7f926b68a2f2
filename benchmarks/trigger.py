"""Trigger backtest over 12 monthly snapshots: card ``salary_no_card`` (salary ≥ 3,000 in 30 days, no credit
card → a credit card within 30 days), counted per (snapshot, fired) among eligible clients.

Result: ``{snapshot}/{fired}/n`` (eligible clients) and ``…/x_sum`` (converters).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.layout import scan, table_path

TITLE = "trigger backtest (12 monthly snapshots)"
SNAPSHOTS = [f"2024-{m:02d}-01" for m in range(4, 13)] + ["2025-01-01", "2025-02-01", "2025-03-01"]
CARD = "salary_no_card"

SQL = """
with snaps as (select unnest([{snapshots}]) as s),
base as (select c.client_id, s from {clients} c, snaps where c.joined_at is null or c.joined_at <= s),
cards as (select h.client_id, h.opened_at, h.closed_at from {holdings} h join {products} p using (product_id)
          where p.product_line = 'credit_card'),
held as (select distinct b.client_id, b.s from base b join cards h using (client_id)
         where h.opened_at < b.s and (h.closed_at is null or h.closed_at >= b.s)),
fired as (select e.client_id, sn.s from {events} e join snaps sn on e.ts >= sn.s - interval 30 day and e.ts < sn.s
          where e.event_type = 'salary_deposit' group by 1, 2 having max(e.value) >= 3000),
conv as (select distinct b.client_id, b.s from base b join cards h using (client_id)
         where h.opened_at > b.s and h.opened_at <= b.s + interval 30 day)
select strftime(b.s, '%Y-%m-%d') as snapshot, f.client_id is not null as fired, count(*) as n, count(c.client_id) as x_sum
from base b anti join held h using (client_id, s)
left join fired f using (client_id, s) left join conv c using (client_id, s)
group by 1, 2
"""


def configure(catalog: Path) -> Any:
    """The trigger card (reading the catalogue is configuration, outside the clock)."""
    from cxlab.catalog import load_catalog

    return load_catalog(catalog).triggers[CARD]


def _key(snapshot: str, fired: bool, what: str) -> str:
    return f"{snapshot}/{'fired' if fired else 'not_fired'}/{what}"


def cxlab(folder: Path, card: Any) -> dict[str, float]:
    """The library's entry points, as notebook 02 calls them."""
    from cxlab.compute import triggers as ct
    from cxlab.data import connect

    src = connect(folder)  # counted: opening the files is part of the work, as in the SQL query
    out = ct.counts(src, ct.panel(src, card, SNAPSHOTS))
    result = {}
    for row in out.itertuples():
        snap = row.snapshot.strftime("%Y-%m-%d")
        result[_key(snap, bool(row.fired), "n")] = int(row.n)
        result[_key(snap, bool(row.fired), "x_sum")] = int(row.x_sum)
    return result


def sql(folder: Path) -> dict[str, float]:
    """One hand-written DuckDB query."""
    import duckdb

    tables = {t: scan(folder, t) for t in ("clients", "holdings", "products", "events")}
    snapshots = ", ".join(f"timestamp '{s}'" for s in SNAPSHOTS)  # literals: a Python list parameter imports pandas
    rows = duckdb.connect().execute(SQL.format(snapshots=snapshots, **tables)).fetchall()
    result = {}
    for snap, fired, n, x in rows:
        result[_key(snap, fired, "n")] = n
        result[_key(snap, fired, "x_sum")] = x
    return result


def pandas(folder: Path) -> dict[str, float]:
    """What an analyst writes today: load the tables, loop over snapshots, filter and compare sets."""
    import pandas as pd

    clients = pd.read_parquet(table_path(folder, "clients"), columns=["client_id", "joined_at"])
    products = pd.read_parquet(table_path(folder, "products"))
    holdings = pd.read_parquet(table_path(folder, "holdings")).merge(products, on="product_id")
    cards = holdings[holdings.product_line == "credit_card"]
    events = pd.read_parquet(table_path(folder, "events"), columns=["client_id", "event_type", "ts", "value"])
    salary = events[events.event_type == "salary_deposit"]
    result = {}
    for snap in SNAPSHOTS:
        s = pd.Timestamp(snap)
        base = clients[clients.joined_at.isna() | (clients.joined_at <= s)][["client_id"]]
        held = cards[(cards.opened_at < s) & (cards.closed_at.isna() | (cards.closed_at >= s))].client_id.unique()
        base = base[~base.client_id.isin(held)]
        window = salary[(salary.ts >= s - pd.Timedelta(days=30)) & (salary.ts < s)]
        top = window.groupby("client_id").value.max()
        fired = top[top >= 3000].index
        conv = cards[(cards.opened_at > s) & (cards.opened_at <= s + pd.Timedelta(days=30))].client_id.unique()
        is_fired = base.client_id.isin(fired)
        is_conv = base.client_id.isin(conv)
        for flag in (False, True):
            m = is_fired == flag
            if m.any():
                result[_key(snap, flag, "n")] = int(m.sum())
                result[_key(snap, flag, "x_sum")] = int((m & is_conv).sum())
    return result
