"""Trigger backtest in the engine: at monthly snapshots, eligible clients (not holding the target line),
whether the trigger fired, and whether they opened the target line within the window.

One row per (client, snapshot) lives only in the engine; what comes back are counts per
(snapshot, fired), per-client sums for client-clustered intervals, days-to-conversion histograms and
covariate cells (the propensity model's bounded sample is drawn in :mod:`cxlab.compute.propensity`).
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd

from cxlab.catalog.cards import Trigger
from cxlab.catalog.rules import evaluate_rules, quote, snapshot_table
from cxlab.data.connect import Source
from cxlab.errors import DataError


def monthly_snapshots(src: Source, start: str = "", end: str = "", day: int = 1, window_days: int = 30) -> list[date]:
    """The ``day``-th of each month from ``start`` to ``end`` (defaults: from three months after the
    first event to the last month whose window the data still covers)."""
    e = src.table("events")
    first, last = (pd.Timestamp(v) for v in src.con.execute(e.aggregate(a=e.ts.min(), b=e.ts.max())).iloc[0])
    if pd.isna(first):
        raise DataError("the events table is empty: triggers are decided from events at monthly snapshots")
    lo = pd.Timestamp(start) if start else (first + pd.DateOffset(months=3)).replace(day=1)
    hi = pd.Timestamp(end) if end else last - pd.Timedelta(days=window_days)
    snaps = [d.date() for d in pd.date_range(lo.replace(day=day), hi, freq="MS") + pd.Timedelta(days=day - 1) if d <= hi]
    if not snaps:
        latest = (last - pd.Timedelta(days=window_days)).date()
        why = (f"the events run from {first.date()} to {last.date()}; a snapshot needs a {window_days}-day window of "
               f"data after it, so the latest possible is {latest}")
        if not start:
            why += f", and period_start defaults to three months after the first event ({lo.date()})"
        fix = (f"pass -p period_start=YYYY-MM-DD (and -p period_end=YYYY-MM-DD) between {first.date()} and {latest}"
               if latest >= first.date() else "this data is too short for the trigger's window")
        raise DataError(f"no monthly snapshot between {lo.date()} and {hi.date()}: {why}. {fix[0].upper() + fix[1:]}.")
    return snaps


def panel(src: Source, trigger: Trigger, snapshots: list[date], population: str = "") -> ibis.Table:
    """(client_id, snapshot, fired, converted, days) for eligible clients — an engine expression.

    Eligible: existing at the snapshot ``s`` and holding no open contract of the target line
    (``opened_at < s`` and ``closed_at`` null or ``>= s``). Converted: a contract of the target line
    opened in ``(s, s + window_days]``; ``days`` counts whole days from ``s`` to the first such opening.
    A hypothesis's ``population`` rule, when given, narrows ``fired`` to the clients it targets.
    """
    rules = {"fired": trigger.rule, "held": f"holds({quote(trigger.target_line)})"}
    where = {"fired": f"trigger '{trigger.name}'", "population": "hypothesis population"}
    if population:
        rules["population"] = population
    flags = evaluate_rules(rules, src, snapshots, where=where)
    if population:
        flags = flags.mutate(fired=flags.fired & flags.population).drop("population")
    eligible = flags.filter(~flags.held)
    h = src.table("holdings").join(src.table("products"), "product_id")
    h = h.filter(h.product_line == trigger.target_line).select("client_id", opened=h.opened_at.cast("timestamp"))
    # each opening beside the snapshots whose window holds it, not beside the eligible rows: the rules'
    # query is then read once (read twice, DuckDB materialises it, and under cxlab's memory cap that spills)
    snaps = snapshot_table(snapshots)
    snaps = snaps.mutate(end=snaps.snapshot + ibis.interval(days=trigger.window_days))  # once per snapshot, not per row
    j = h.join(snaps, [h.opened > snaps.snapshot, h.opened <= snaps.end])
    first = j.group_by(["client_id", "snapshot"]).aggregate(opened=j.opened.min())
    out = eligible.left_join(first, ["client_id", "snapshot"]).drop("client_id_right", "snapshot_right", "held")
    days = (out.opened.epoch_seconds() - out.snapshot.epoch_seconds()) / 86_400
    return out.mutate(converted=out.opened.notnull(), days=days.ceil().cast("int64")).drop("opened")


def counts(src: Source, p: ibis.Table) -> pd.DataFrame:
    """Per (snapshot, fired): eligible clients ``n`` and converters ``x_sum`` (one query)."""
    out = src.con.execute(p.group_by(["snapshot", "fired"]).aggregate(n=p.count(), x_sum=p.converted.sum())
                          .order_by(["snapshot", "fired"]))
    out["snapshot"] = pd.to_datetime(out.snapshot)
    return out


def clusters(src: Source, p: ibis.Table) -> pd.DataFrame:
    """Per ``fired``: sums over clients of their rows (``den``) and conversions (``num``) in that group,
    with squares and cross-products — a ratio metric per client, whose delta-method variance allows for
    a client appearing at several snapshots (column names of :func:`cxlab.stats.sufficient.from_row`)."""
    per = p.group_by(["fired", "client_id"]).aggregate(num=p.converted.sum(), den=p.count())
    num, den = per.num.cast("float64"), per.den.cast("float64")
    out = per.group_by("fired").aggregate(n=per.count(), num_sum=num.sum(), num_sum_sq=(num * num).sum(),
                                          den_sum=den.sum(), den_sum_sq=(den * den).sum(), num_den_sum=(num * den).sum())
    return src.con.execute(out.order_by("fired"))


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
    cells = j.group_by(fired=j.fired, **keys).aggregate(n=j.count(), x_sum=j.converted.sum())
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


def contacted(src: Source, p: ibis.Table, window_days: int) -> pd.DataFrame:
    """Per (snapshot, fired, campaign_id): eligible rows whose client was sent that campaign (treatment
    group only) in the conversion window ``(s, s + window_days]`` — ``contacted``; with ``n`` rows per
    (snapshot, fired). Empty when the data has no communications."""
    if not src.has("communications"):
        return pd.DataFrame(columns=["snapshot", "fired", "campaign_id", "contacted", "n"])
    c = src.table("communications")
    c = c.filter(c.group == "treatment").select("client_id", "campaign_id", sent=c.sent_at.cast("timestamp"))
    e = p.select("client_id", "snapshot", "fired", end=p.snapshot + ibis.interval(days=window_days))
    j = e.join(c, [e.client_id == c.client_id, c.sent > e.snapshot, c.sent <= e.end])
    hit = j.select("client_id", "snapshot", "fired", "campaign_id").distinct()
    per = hit.group_by(["snapshot", "fired", "campaign_id"]).aggregate(contacted=hit.count())
    sizes = p.group_by(["snapshot", "fired"]).aggregate(n=p.count())
    out = src.con.execute(per.join(sizes, ["snapshot", "fired"]).order_by(["snapshot", "fired", "campaign_id"]))
    out["snapshot"] = pd.to_datetime(out.snapshot)
    return out
