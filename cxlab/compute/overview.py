"""A first look at a data source: table sizes, date ranges, product lines per client, activity by month.

Every function runs in the engine and returns a small pandas frame.
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import pandas as pd

from cxlab.data.connect import Source
from cxlab.data.contract import TABLES


def table_sizes(src: Source) -> pd.DataFrame:
    """Rows, columns and distinct clients of every canonical table present."""
    rows = []
    for name, contract in TABLES.items():
        if not src.has(name):
            continue
        t = src.table(name)
        clients = t.client_id.nunique() if "client_id" in t.columns else ibis.literal(None, "int64")
        n, k = src.con.execute(t.aggregate(n=t.count(), k=clients)).iloc[0]
        rows.append({"table": name, "rows": int(n), "columns": len(t.columns),
                     "clients": None if pd.isna(k) else int(k), "required": contract.required})
    return pd.DataFrame(rows)


def date_ranges(src: Source) -> pd.DataFrame:
    """First and last value of every timestamp column of the canonical tables."""
    rows = []
    for name, contract in TABLES.items():
        if not src.has(name):
            continue
        t = src.table(name)
        for col in contract.columns:
            if col.kind == "timestamp" and col.name in t.columns:
                lo, hi = src.con.execute(t.aggregate(lo=t[col.name].min(), hi=t[col.name].max())).iloc[0]
                rows.append({"table": name, "column": col.name, "first": lo, "last": hi})
    return pd.DataFrame(rows)


def as_of_date(src: Source) -> date:
    """The day after the last holding opened or event seen: the natural "today" of the data."""
    ends = []
    for name, col in (("holdings", "opened_at"), ("events", "ts")):
        if src.has(name):
            ends.append(src.con.execute(src.table(name)[col].max()))
    last = max(pd.Timestamp(e) for e in ends if e is not None and not pd.isna(e))
    return (last + pd.Timedelta(days=1)).date()


def _open_at(holdings: ibis.Table, when: date | datetime) -> ibis.Table:
    ts = ibis.timestamp(pd.Timestamp(when).to_pydatetime())
    open_ = (holdings.opened_at.cast("timestamp") < ts)
    if "closed_at" in holdings.columns:
        open_ &= holdings.closed_at.isnull() | (holdings.closed_at.cast("timestamp") >= ts)
    return holdings.filter(open_)


def lines_per_client(src: Source, as_of: date | None = None) -> pd.DataFrame:
    """How many clients hold 0, 1, 2, … distinct product lines at ``as_of`` (clients with none count as 0)."""
    as_of = as_of or as_of_date(src)
    held = _open_at(src.table("holdings"), as_of).join(src.table("products"), "product_id")
    per_client = held.group_by("client_id").aggregate(lines=held.product_line.nunique())
    clients = src.table("clients").select("client_id")
    joined = clients.left_join(per_client, "client_id")
    lines = joined.lines.fill_null(0)
    out = src.con.execute(joined.group_by(lines=lines).aggregate(clients=joined.count()).order_by("lines"))
    out["share"] = out.clients / out.clients.sum()
    return out


def first_event_day(src: Source) -> date:
    """The day of the first event: where behaviour data, and so the analysable period, starts."""
    return pd.Timestamp(src.con.execute(src.table("events").ts.min())).date()


def _by_month(src: Source, t: ibis.Table, ts: str, key: str, rows: str) -> pd.DataFrame:
    """Rows (named ``rows``) and distinct clients per calendar month of ``ts`` and value of ``key``.

    Counted in two plain group-bys, per (month, key, client) and then per (month, key), rather than with
    COUNT(DISTINCT): DuckDB keeps a distinct set per group in memory (4 GB for 89M events of 1M clients),
    while a plain aggregate spills to disk under the memory limit. Null clients are not counted as clients,
    as COUNT(DISTINCT) would not."""
    month = t[ts].cast("timestamp").truncate("M").cast("date")
    per = t.group_by(month=month, **{key: t[key]}, client_id=t.client_id).aggregate(_rows=t.count())
    out = src.con.execute(
        per.group_by(["month", key])
        .aggregate(**{rows: per._rows.sum()}, clients=per.client_id.count())
        .order_by(["month", key])
    )
    out["month"] = pd.to_datetime(out["month"])
    return out


def contracts_by_month(src: Source, since: date | None = None) -> pd.DataFrame:
    """Contracts opened per calendar month and product line (long format), from ``since`` on."""
    h = src.table("holdings").join(src.table("products"), "product_id")
    if since is not None:
        h = h.filter(h.opened_at.cast("timestamp") >= ibis.timestamp(pd.Timestamp(since).to_pydatetime()))
    return _by_month(src, h, "opened_at", "product_line", "contracts")


def events_by_month(src: Source) -> pd.DataFrame:
    """Event rows and distinct clients per calendar month and event type (long format)."""
    return _by_month(src, src.table("events"), "ts", "event_type", "events")


def holders_by_line(src: Source, as_of: date | None = None) -> pd.DataFrame:
    """Clients holding each product line at ``as_of``, and their share of all clients (most held first)."""
    as_of = as_of or as_of_date(src)
    held = _open_at(src.table("holdings"), as_of).join(src.table("products"), "product_id")
    n_clients = src.con.execute(src.table("clients").count())
    out = src.con.execute(
        held.group_by("product_line").aggregate(clients=held.client_id.nunique())
        .order_by([ibis.desc("clients"), "product_line"])  # ties by name: every engine lists them alike
    )
    out["share"] = out.clients / n_clients
    return out
