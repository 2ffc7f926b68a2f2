"""Segment sizing at 2025-12-01, as notebook 03 computes it through :mod:`cxlab.compute.segments`: the demo's
five segment cards assigned exclusively by priority, their pairwise overlaps and what each priority took
from the others, and the reach waterfall (global control, e-mail consent, contact cap of 2 treatment
messages in 30 days, already holding the segment's line).

Result: ``overlap/{a}/{b}``, ``flow/{a}/{b}`` and ``reach/{segment}/{step}`` — people.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.layout import scan, table_path

TITLE = "segment sizing (5 segments, overlaps, reach waterfall)"
SNAPSHOT = "2025-12-01"
#: The demo's segment cards in assignment order (priority 1 first) and each one's product line; the SQL and
#: pandas versions hand-code their rules, the cxlab version reads the cards (the cross-check ties them).
SEGMENTS = {"travellers": "insurance", "savers": "investment", "digital_active": "investment",
            "salary_earners": "credit_card", "borrowers": "insurance"}
STEPS = ("assigned", "not_control", "consent", "contact_cap", "not_holding")

SQL = """
with params as (select timestamp '{snapshot}' as s),
base as (select c.client_id, coalesce(c.global_control, false) as control from {clients} c, params
         where c.joined_at is null or c.joined_at <= s),
ev as (select e.client_id,
              count(*) filter (where e.event_type = 'travel_booking') as travel,
              count(*) filter (where e.event_type = 'app_login' and e.ts >= s - interval 30 day) as logins,
              count(*) filter (where e.event_type = 'salary_deposit' and e.ts >= s - interval 35 day) as salary
       from {events} e, params
       where e.ts >= s - interval 90 day and e.ts < s and e.event_type in ('travel_booking', 'app_login', 'salary_deposit')
       group by e.client_id),
held as (select h.client_id,
                bool_or(p.product_line = 'deposit') as deposit,
                bool_or(p.product_line in ('consumer_loan', 'mortgage')) as borrower,
                bool_or(p.product_line = 'insurance') as insurance,
                bool_or(p.product_line = 'investment') as investment,
                bool_or(p.product_line = 'credit_card') as credit_card
         from {holdings} h join {products} p using (product_id), params
         where h.opened_at < s and (h.closed_at is null or h.closed_at >= s)
         group by h.client_id),
consent as (select distinct client_id from {consents} where channel = 'email' and opted_in),
sent as (select m.client_id, count(*) as n from {communications} m, params
         where m."group" = 'treatment' and m.sent_at >= s - interval 30 day and m.sent_at < s group by m.client_id),
f as (select b.control,
             coalesce(ev.travel, 0) >= 1 as s0, coalesce(held.deposit, false) as s1, coalesce(ev.logins, 0) >= 4 as s2,
             coalesce(ev.salary, 0) >= 1 as s3, coalesce(held.borrower, false) as s4,
             consent.client_id is not null as consent, coalesce(sent.n, 0) >= 2 as capped,
             coalesce(held.insurance, false) as insurance, coalesce(held.investment, false) as investment,
             coalesce(held.credit_card, false) as credit_card
      from base b left join ev using (client_id) left join held using (client_id)
      left join consent using (client_id) left join sent using (client_id)),
a as (select *, case when s0 then 0 when s1 then 1 when s2 then 2 when s3 then 3 when s4 then 4 end as assigned from f)
select s0, s1, s2, s3, s4, assigned, control, consent, capped,
       case assigned when 0 then insurance when 1 then investment when 2 then investment
                     when 3 then credit_card when 4 then insurance else false end as holds,
       count(*) as people
from a group by all
"""


@dataclass(frozen=True)
class Config:
    """The segment cards in assignment order and the snapshot."""

    segments: list[Any]
    snapshot: Any


def configure(catalog: Path) -> Config:
    """The demo's segment cards from the catalogue (outside the clock)."""
    from datetime import date

    from cxlab.catalog import load_catalog
    from cxlab.compute import segments as sg

    cards = [s for s in load_catalog(catalog).segments.values() if s.name in SEGMENTS]
    ordered = sg.ordered(cards)
    if [s.name for s in ordered] != list(SEGMENTS) or any(SEGMENTS[s.name] != s.product_line for s in ordered):
        raise ValueError(f"the demo segment cards changed: {[(s.name, s.product_line) for s in ordered]}; "
                         f"update benchmarks/segments.py (SEGMENTS and the hand-written rules)")
    return Config(ordered, date.fromisoformat(SNAPSHOT))


def cxlab(folder: Path, config: Config) -> dict[str, float]:
    """``flags`` → ``tally`` → ``overlap`` and ``waterfall``, as ``cxlab.analyses.segments.size`` calls them."""
    from cxlab.compute import segments as sg
    from cxlab.data import connect

    src = connect(folder)
    filters = sg.Filters.of(src)
    f = sg.flags(src, config.segments, config.snapshot)
    counts = sg.tally(src, f, config.segments, filters)
    over, flow = sg.overlap(counts, config.segments)
    reach = sg.waterfall(counts, config.segments)
    result = {}
    for a in over.index:
        for b in over.columns:
            result[f"overlap/{a}/{b}"] = int(over.loc[a, b])
            result[f"flow/{a}/{b}"] = int(flow.loc[a, b])
    for row in reach.itertuples(index=False):
        for step in STEPS:
            result[f"reach/{row.segment}/{step}"] = int(getattr(row, step))
    return result


def _from_cells(cells: list[tuple]) -> dict[str, float]:
    """Overlaps, flows and the waterfall from people counted per combination of flags (a few hundred cells)."""
    names = list(SEGMENTS)
    result = {f"{kind}/{a}/{b}": 0 for kind in ("overlap", "flow") for a in names for b in names}
    result |= {f"reach/{s}/{step}": 0 for s in names for step in STEPS}
    for *s, assigned, control, consent, capped, holds, people in cells:
        for i, a in enumerate(names):
            if not s[i]:
                continue
            for j, b in enumerate(names):
                result[f"overlap/{a}/{b}"] += people if s[j] else 0
                result[f"flow/{a}/{b}"] += people if assigned == j else 0
        if assigned is None:
            continue
        seg = names[assigned]
        keep = [True, not control, consent, not capped, not holds]
        for k, step in enumerate(STEPS):
            result[f"reach/{seg}/{step}"] += people if all(keep[: k + 1]) else 0
    return result


def sql(folder: Path) -> dict[str, float]:
    """One hand-written DuckDB query counting people per combination of flags; the rest is arithmetic."""
    import duckdb

    tables = {t: scan(folder, t) for t in ("clients", "events", "holdings", "products", "consents", "communications")}
    cells = duckdb.connect().execute(SQL.format(snapshot=SNAPSHOT, **tables)).fetchall()
    return _from_cells(cells)


def pandas(folder: Path) -> dict[str, float]:
    """What an analyst writes today: load the tables, build one flag column per rule, count with masks."""
    import numpy as np
    import pandas as pd

    s = pd.Timestamp(SNAPSHOT)
    day = pd.Timedelta(days=1)
    clients = pd.read_parquet(table_path(folder, "clients"), columns=["client_id", "joined_at", "global_control"])
    f = clients[clients.joined_at.isna() | (clients.joined_at <= s)].copy()
    events = pd.read_parquet(table_path(folder, "events"), columns=["client_id", "event_type", "ts"])
    recent = events[(events.ts >= s - 90 * day) & (events.ts < s)]
    logins = recent[(recent.event_type == "app_login") & (recent.ts >= s - 30 * day)].groupby("client_id").size()
    travellers = recent[recent.event_type == "travel_booking"].client_id.unique()
    salaried = recent[(recent.event_type == "salary_deposit") & (recent.ts >= s - 35 * day)].client_id.unique()
    holdings = pd.read_parquet(table_path(folder, "holdings")).merge(pd.read_parquet(table_path(folder, "products")), on="product_id")
    open_ = holdings[(holdings.opened_at < s) & (holdings.closed_at.isna() | (holdings.closed_at >= s))]
    holders = {line: open_[open_.product_line == line].client_id.unique() for line in open_.product_line.unique()}
    held = {line: f.client_id.isin(holders.get(line, [])) for line in ("deposit", "consumer_loan", "mortgage", *set(SEGMENTS.values()))}
    consents = pd.read_parquet(table_path(folder, "consents"))
    comms = pd.read_parquet(table_path(folder, "communications"), columns=["client_id", "group", "sent_at"])
    sent = comms[(comms.group == "treatment") & (comms.sent_at >= s - 30 * day) & (comms.sent_at < s)].groupby("client_id").size()
    flags = [f.client_id.isin(travellers), held["deposit"], f.client_id.isin(logins[logins >= 4].index),
             f.client_id.isin(salaried), held["consumer_loan"] | held["mortgage"]]
    assigned = pd.Series(np.select(flags, range(len(flags)), default=-1), index=f.index)
    lines = list(SEGMENTS.values())
    holds = pd.Series(np.select([assigned == i for i in range(len(lines))], [held[line] for line in lines], False), index=f.index)
    keep = [assigned >= 0, ~f.global_control.fillna(False).astype(bool),
            f.client_id.isin(consents[(consents.channel == "email") & consents.opted_in].client_id),
            ~f.client_id.isin(sent[sent >= 2].index), ~holds]
    names = list(SEGMENTS)
    result = {}
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            result[f"overlap/{a}/{b}"] = int((flags[i] & flags[j]).sum())
            result[f"flow/{a}/{b}"] = int((flags[i] & (assigned == j)).sum())
    for i, seg in enumerate(names):
        mask = assigned == i
        for step, test in zip(STEPS, keep, strict=True):
            mask = mask & test
            result[f"reach/{seg}/{step}"] = int(mask.sum())
    return result
