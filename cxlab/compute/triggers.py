"""Trigger backtest in the engine: at monthly snapshots, eligible clients (not holding the target line),
whether the trigger fired, and whether they opened the target line within the window.

One row per (client, snapshot) lives only in the engine; what comes back are counts per
(snapshot, fired), days-to-conversion histograms, covariate cells and a bounded, seeded model sample.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd

from cxlab.catalog.cards import Trigger
from cxlab.catalog.rules import evaluate_rules
from cxlab.data.connect import Source
from cxlab.errors import DataError

#: Event types whose 30- and 90-day counts feed the propensity model (the most frequent ones).
MAX_EVENT_TYPES = 10


def monthly_snapshots(src: Source, start: str = "", end: str = "", day: int = 1, window_days: int = 30) -> list[date]:
    """The ``day``-th of each month from ``start`` to ``end`` (defaults: from three months after the
    first event to the last month whose window the data still covers)."""
    e = src.table("events")
    first, last = (pd.Timestamp(v) for v in src.con.execute(e.aggregate(a=e.ts.min(), b=e.ts.max())).iloc[0])
    lo = pd.Timestamp(start) if start else (first + pd.DateOffset(months=3)).replace(day=1)
    hi = pd.Timestamp(end) if end else last - pd.Timedelta(days=window_days)
    snaps = [d.date() for d in pd.date_range(lo.replace(day=day), hi, freq="MS") + pd.Timedelta(days=day - 1) if d <= hi]
    if not snaps:
        raise DataError(f"no snapshot between {lo.date()} and {hi.date()}: the data is too short for a "
                        f"{window_days}-day window")
    return snaps


def panel(src: Source, trigger: Trigger, snapshots: list[date]) -> ibis.Table:
    """(client_id, snapshot, fired, converted, days) for eligible clients — an engine expression."""
    flags = evaluate_rules({"fired": trigger.rule, "held": f"holds('{trigger.target_line}')"}, src, snapshots,
                           where={"fired": f"trigger '{trigger.name}'"})
    eligible = flags.filter(~flags.held)
    h = src.table("holdings").join(src.table("products"), "product_id")
    h = h.filter(h.product_line == trigger.target_line).select("client_id", opened=h.opened_at.cast("timestamp"))
    j = eligible.select("client_id", "snapshot").join(h, "client_id")
    j = j.filter((j.opened > j.snapshot) & (j.opened <= j.snapshot + ibis.interval(days=trigger.window_days)))
    first = j.group_by(["client_id", "snapshot"]).aggregate(opened=j.opened.min())
    out = eligible.left_join(first, ["client_id", "snapshot"]).drop("client_id_right", "snapshot_right", "held")
    days = (out.opened.epoch_seconds() - out.snapshot.epoch_seconds()) / 86_400
    return out.mutate(converted=out.opened.notnull(), days=days.ceil().cast("int64")).drop("opened")


def counts(src: Source, p: ibis.Table) -> pd.DataFrame:
    """Per (snapshot, fired): eligible clients ``n`` and converters ``x_sum`` (one query)."""
    out = src.con.execute(p.group_by(["snapshot", "fired"]).aggregate(n=p.count(), x_sum=p.converted.cast("int64").sum())
                          .order_by(["snapshot", "fired"]))
    out["snapshot"] = pd.to_datetime(out.snapshot)
    return out


def days_to_convert(src: Source, p: ibis.Table) -> pd.DataFrame:
    """Per (fired, days after the snapshot): converters, for cumulative conversion curves."""
    c = p.filter(p.converted)
    return src.con.execute(c.group_by(["fired", "days"]).aggregate(converted=c.count()).order_by(["fired", "days"]))


def covariate_cells(src: Source, p: ibis.Table, covariates: list[str]) -> pd.DataFrame:
    """Per (fired, covariate values): n and converters — the aggregated input of a logistic regression."""
    clients = src.table("clients")
    missing = [c for c in covariates if c not in clients.columns]
    if missing:
        raise DataError(f"clients has no column(s) {missing} to adjust for; columns: {', '.join(clients.columns)}")
    j = p.join(clients.select("client_id", *covariates), "client_id")
    keys = {c: j[c].cast("string").fill_null("(missing)") for c in covariates}
    cells = j.group_by(fired=j.fired, **keys).aggregate(n=j.count(), x_sum=j.converted.cast("int64").sum())
    return src.con.execute(cells.order_by(["fired", *covariates]))  # a fixed order: the fit is then reproducible


def default_covariates(src: Source, limit: int = 3) -> list[str]:
    """Up to ``limit`` text columns of clients with 2–12 distinct values (bands, regions, segments)."""
    clients = src.table("clients")
    found = []
    for name, dtype in clients.schema().items():
        if name == "client_id" or not dtype.is_string():
            continue
        if 2 <= src.con.execute(clients[name].nunique()) <= 12:
            found.append(name)
        if len(found) == limit:
            break
    return found


def model_sample(src: Source, p: ibis.Table, size: int, seed: int) -> tuple[pd.DataFrame, int]:
    """A bounded, seeded sample of (client, snapshot) rows with features built in the engine:
    counts of each frequent event type in the 30 and 90 days before the snapshot, product lines held,
    tenure — plus ``fired`` and ``converted``; and how many rows it was drawn from. The sample is a
    deterministic hash of the row keys and the seed."""
    total = int(src.con.execute(p.count()))
    rows = p
    if total > size:
        key = (p.client_id.cast("string").concat(p.snapshot.cast("string"), ibis.literal(str(seed)))).hash()
        rows = p.filter((key.abs() % total) < size)
    e = src.table("events")
    types = src.con.execute(e.group_by("event_type").aggregate(n=e.count()).order_by(ibis.desc("n"))
                            .limit(MAX_EVENT_TYPES)).event_type.tolist()
    keys = rows.select("client_id", "snapshot")
    j = e.filter(e.event_type.isin(types)).join(keys, "client_id")
    j = j.filter((j.ts.cast("timestamp") >= j.snapshot - ibis.interval(days=90)) & (j.ts.cast("timestamp") < j.snapshot))
    recent = j.ts.cast("timestamp") >= j.snapshot - ibis.interval(days=30)
    feats = {}
    value = j.value.cast("float64").fill_null(0.0)
    for i, t in enumerate(types):
        is_t = j.event_type == t
        feats[f"e{i}_90"] = is_t.cast("int64").sum()
        feats[f"e{i}_30"] = (is_t & recent).cast("int64").sum()
        feats[f"e{i}_max30"] = ibis.ifelse(is_t & recent, value, 0.0).max()
    agg = j.group_by(["client_id", "snapshot"]).aggregate(**feats)
    out = rows.left_join(agg, ["client_id", "snapshot"]).drop("client_id_right", "snapshot_right")
    clients = src.table("clients")
    if "joined_at" in clients.columns:
        out = out.join(clients.select("client_id", "joined_at"), "client_id")
        out = out.mutate(tenure_days=out.snapshot.epoch_seconds() / 86_400 - out.joined_at.cast("timestamp").epoch_seconds() / 86_400).drop("joined_at")
    frame = src.con.execute(out.order_by(["snapshot", "client_id"]))
    names = {f"e{i}_{w}": f"{t}_{w}d" for i, t in enumerate(types) for w in (30, 90)}
    names |= {f"e{i}_max30": f"{t}_max_value_30d" for i, t in enumerate(types)}
    frame = frame.rename(columns=names).fillna({v: 0 for v in names.values()})
    frame["snapshot"] = pd.to_datetime(frame.snapshot)
    return frame, total
