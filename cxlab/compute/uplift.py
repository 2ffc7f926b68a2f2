"""Engine work for uplift models and matched comparison groups: the bounded training sample of a
campaign's people with their outcomes and the card's features, the features of the base at a scoring
date (streamed in batches), and pools of clients not contacted.

Features are the card's ``features.columns`` (client columns) and ``features.expressions`` (rule-language
expressions evaluated per client at the snapshot, :func:`cxlab.catalog.rules.evaluate_expressions`), both
computed in the engine. Only the sample comes into pandas: at most ``size`` people, the ``size`` smallest
keys of (client, seed) (:func:`cxlab.compute.keys.key`) — deterministic and the same on every engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

import ibis
import pandas as pd

from cxlab.catalog.cards import Campaign, Features, Metric
from cxlab.catalog.rules import evaluate_expressions, evaluate_rules
from cxlab.compute import keys
from cxlab.compute.retro import People, person_values
from cxlab.data.connect import Source
from cxlab.errors import DataError


def _check_columns(src: Source, features: Features, where: str) -> None:
    clients = src.table("clients")
    missing = [c for c in features.columns if c not in clients.columns]
    if missing:
        raise DataError(f"{where}: features.columns names {missing}, which the clients table does not have; "
                        f"its columns: {', '.join(clients.columns)}")


def features_at(src: Source, features: Features, snapshot: date | str, people: ibis.Table | None = None,
                where: str = "features") -> ibis.Table:
    """``client_id`` and every declared feature at ``snapshot`` (for ``people`` only, when given): client
    columns as they are (flags as 0/1) and expressions evaluated before the snapshot."""
    _check_columns(src, features, where)
    clients = src.table("clients")
    cols = clients.select("client_id", *features.columns)
    cols = cols.mutate(**{c: ibis.ifelse(cols[c], 1, 0) for c in features.columns if cols[c].type().is_boolean()})
    out = cols if people is None else people.select("client_id").join(cols, "client_id")
    if features.expressions:
        values = evaluate_expressions(features.expressions, src, [snapshot],
                                      where={k: f"{where}.expressions.{k}" for k in features.expressions})
        values = values.drop("snapshot")
        values = values.mutate(**{k: ibis.ifelse(values[k], 1, 0) for k in features.expressions
                                  if values[k].type().is_boolean()})
        out = out.left_join(values, "client_id").drop("client_id_right")
    return out


def training_sample(src: Source, campaign: Campaign, crowd: People, metrics: Sequence[Metric], size: int,
                    seed: int) -> tuple[pd.DataFrame, int]:
    """At most ``size`` of the campaign's people: ``client_id``, ``arm``, ``y{i}`` (metric ``i`` in the
    window after the send, e.g. conversion and the guardrails) and the features at ``send_start``; and
    how many people there were in all."""
    t = crowd.table
    total = int(src.con.execute(t.count()))
    if total > size:
        t = t.mutate(cx_key=keys.key(t.client_id, "uplift", str(seed)))
        t = t.order_by(["cx_key", "client_id"]).limit(size).drop("cx_key")
    t = src.cache(t)
    values = person_values(src, list(metrics), t, campaign.window_days, max(campaign.pre_period_days, 1))
    values = values.select("client_id", "arm", **{f"y{i}": values[f"x{i}"] for i in range(len(metrics))})
    feats = features_at(src, campaign.features, campaign.send_start, t, f"campaign '{campaign.name}'")
    out = values.join(feats, "client_id")
    frame = src.con.execute(out.order_by("client_id"))
    return frame, total


def scoring_batches(src: Source, features: Features, snapshot: date | str, audience: str = "",
                    batch_rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """The features of every client existing at ``snapshot`` (those the ``audience`` rule keeps, when
    given), in batches of at most ``batch_rows`` rows: memory stays bounded by the batch."""
    people = None
    if audience:
        flags = evaluate_rules({"audience": audience}, src, [snapshot], where={"audience": "audience"})
        people = flags.filter(flags.audience).select("client_id")
    else:
        c = src.table("clients")
        if "joined_at" in c.columns:
            c = c.filter(c.joined_at.isnull() | (c.joined_at.cast("timestamp") <= pd.Timestamp(snapshot)))
        people = c.select("client_id")
    expr = features_at(src, features, snapshot, people, "scoring").order_by("client_id")
    for batch in src.con.to_pyarrow_batches(expr, chunk_size=batch_rows):
        yield batch.to_pandas()


def last_date(src: Source) -> pd.Timestamp:
    """The day after the latest event: the default date at which the base is scored."""
    e = src.table("events")
    return pd.Timestamp(src.con.execute(e.ts.cast("timestamp").max())).normalize() + pd.Timedelta(days=1)


def not_contacted(src: Source, campaign: Campaign, size: int, seed: int) -> tuple[ibis.Table, int]:
    """Clients with no communication of the campaign from the pre-period's start to the end of the last
    window (and kept by the card's ``matching.pool`` rule), existing at ``send_start`` — clients contacted
    only later are candidates; a bounded, seeded sample of at most ``size`` of them and the pool's size.
    Each gets the anchor ``t0`` = ``send_start``."""
    c = src.table("communications")
    start = pd.Timestamp(campaign.send_start) - pd.Timedelta(days=max(campaign.pre_period_days, 1))
    end = pd.Timestamp(campaign.send_end) + pd.Timedelta(days=campaign.window_days + 1)
    sent = c.filter(c.campaign_id.isin(campaign.campaign_ids) & (c.sent_at.cast("timestamp") >= start)
                    & (c.sent_at.cast("timestamp") < end)).select("client_id").distinct()
    clients = src.table("clients")
    pool = clients
    if "joined_at" in clients.columns:
        pool = pool.filter(pool.joined_at.isnull() | (pool.joined_at.cast("timestamp") <= pd.Timestamp(campaign.send_start)))
    if "global_control" in clients.columns:
        pool = pool.filter(~pool.global_control.fill_null(False))
    pool = pool.select("client_id").anti_join(sent, "client_id")
    if campaign.matching.pool:
        flags = evaluate_rules({"pool": campaign.matching.pool}, src, [campaign.send_start],
                               where={"pool": f"campaign '{campaign.name}' matching.pool"})
        pool = pool.join(flags.filter(flags.pool).select("client_id"), "client_id")
    total = int(src.con.execute(pool.count()))
    if total == 0:
        raise DataError(f"campaign '{campaign.name}': no client outside the campaign to match with "
                        f"(every client was contacted between {start:%Y-%m-%d} and {end:%Y-%m-%d})")
    if total > size:
        pool = pool.mutate(cx_key=keys.key(pool.client_id, "matching", str(seed)))
        pool = pool.order_by(["cx_key", "client_id"]).limit(size).drop("cx_key")
    t0 = ibis.literal(pd.Timestamp(campaign.send_start)).cast("timestamp")
    return src.cache(pool.mutate(arm=ibis.literal(campaign.control_arm), t0=t0, rows=ibis.literal(0, "int64"))), total

