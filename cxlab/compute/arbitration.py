"""Arbitration across campaigns in the engine: who gets which campaign when several compete for the same
clients, under a contact policy (:class:`cxlab.catalog.cards.ContactPolicy`).

Each planned campaign brings its candidates (its audience after its own waterfall: consent, contact cap,
global control, already holding the line). The policy's rules then apply in a fixed order, each to the
rows the previous rules kept, and every row a rule removes is kept with its reason:

1. ``min_gap``: the client was sent something in the ``min_gap_days`` before the snapshot;
2. ``channel_cap``: more candidate campaigns on a channel than the channel's cap (highest priority kept);
3. ``type_cap``: more campaigns of a type (marketing) than the type's cap;
4. ``exclusive``: a client keeps one marketing campaign only, the highest priority;
5. ``max_audience``: a campaign keeps at most its maximum, chosen by a salted key (at random, reproducibly).

Transactional campaigns are exempt from every rule. Priorities tie-break by campaign order in the card.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd

from cxlab.catalog.cards import ContactPolicy
from cxlab.catalog.load import Catalog
from cxlab.compute import keys
from cxlab.compute import segments as sg
from cxlab.compute.audience import flags, keep, target_of
from cxlab.data.connect import Source

#: The policy's rules, in the order they apply.
RULES = ("min_gap", "channel_cap", "type_cap", "exclusive", "max_audience")


def candidates(src: Source, catalog: Catalog, policy: ContactPolicy, cap_messages: int = 2,
               cap_days: int = 30) -> ibis.Table:
    """Every campaign's audience after its own waterfall, stacked: ``client_id, k`` (the campaign's
    position in the card), ``priority, channel, type`` — a temporary engine table."""
    filters = sg.Filters.of(src)
    parts = []
    for k, c in enumerate(policy.campaigns):
        target = target_of(catalog, c.segment or "", c.trigger or "")
        f = flags(src, catalog, target, policy.snapshot, c.channel, cap_messages, cap_days)
        tests, passing = keep(f, filters)
        if tests["not_control"] is not None:
            passing = passing & tests["not_control"]
        parts.append(f.filter(passing).select("client_id", k=ibis.literal(k, "int64"), priority=ibis.literal(c.priority, "int64"),
                                              channel=ibis.literal(c.channel), type=ibis.literal(c.type)))
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return src.cache(out)


def _recent(src: Source, snapshot: date, days: int) -> ibis.Table:
    """Clients sent (not held out of) any communication in the ``days`` before ``snapshot``."""
    c = src.table("communications")
    ts = c.sent_at.cast("timestamp")
    end = ibis.timestamp(pd.Timestamp(snapshot).to_pydatetime())
    recent = c.filter((ts < end) & (ts >= end - ibis.interval(days=days)) & (c.group.cast("string") == "treatment"))
    return recent.select("client_id").distinct()


def apply(src: Source, policy: ContactPolicy, cands: ibis.Table) -> tuple[ibis.Table, ibis.Table]:
    """The rows the policy keeps (``client_id, k``) and the rows it drops (``client_id, k, reason``),
    both temporary engine tables; rule by rule as in :data:`RULES`."""
    rows = src.cache(cands.mutate(cx_exempt=cands.type == "transactional",
                                  cx_order=cands.priority * 1000 + cands.k))  # priority first, then card order
    dropped: list[ibis.Table] = []
    if policy.min_gap_days > 0 and src.has("communications"):
        recent = _recent(src, policy.snapshot, policy.min_gap_days)
        listed = rows.filter(~rows.cx_exempt & rows.client_id.isin(recent.client_id)).select("client_id", "k")
        rows = _drop_listed(src, rows, listed, "min_gap", dropped)
    for column, caps, reason in (("channel", policy.caps_per_channel, "channel_cap"),
                                 ("type", policy.caps_per_type, "type_cap")):
        if not caps:
            continue
        counted = rows.filter(~rows.cx_exempt)
        w = ibis.window(group_by=[counted.client_id, counted[column]], order_by=[counted.cx_order])
        ranked = counted.mutate(cx_rank=ibis.row_number().over(w).cast("int64") + 1)  # 1 = first
        cap = ibis.cases(*[(ranked[column] == name, n) for name, n in caps.items()], else_=ibis.null("int64"))
        over = ranked.filter(cap.notnull() & (ranked.cx_rank > cap)).select("client_id", "k")
        rows = _drop_listed(src, rows, over, reason, dropped)
    if policy.exclusive:
        counted = rows.filter(~rows.cx_exempt)
        w = ibis.window(group_by=counted.client_id, order_by=[counted.cx_order])
        ranked = counted.mutate(cx_rank=ibis.row_number().over(w).cast("int64"))
        rows = _drop_listed(src, rows, ranked.filter(ranked.cx_rank > 0).select("client_id", "k"), "exclusive", dropped)
    caps = {k: c.max_audience for k, c in enumerate(policy.campaigns) if c.max_audience}
    if caps:
        counted = rows.filter(~rows.cx_exempt).mutate(cx_key=keys.key(rows.client_id, policy.name, rows.k))
        w = ibis.window(group_by=counted.k, order_by=[counted.cx_key, counted.client_id])
        ranked = counted.mutate(cx_rank=ibis.row_number().over(w).cast("int64") + 1)  # 1 = first
        cap = ibis.cases(*[(ranked.k == k, n) for k, n in caps.items()], else_=ibis.null("int64"))
        rows = _drop_listed(src, rows, ranked.filter(cap.notnull() & (ranked.cx_rank > cap)).select("client_id", "k"),
                            "max_audience", dropped)
    kept = src.cache(rows.select("client_id", "k"))
    gone = dropped[0] if dropped else cands.select("client_id", "k", reason=ibis.literal("")).limit(0)
    for d in dropped[1:]:
        gone = gone.union(d)
    return kept, src.cache(gone)


def _drop_listed(src: Source, rows: ibis.Table, listed: ibis.Table, reason: str, dropped: list[ibis.Table]) -> ibis.Table:
    """Remove the (client_id, k) pairs of ``listed`` from ``rows``, recording them with ``reason``."""
    listed = src.cache(listed)
    dropped.append(listed.select("client_id", "k", reason=ibis.literal(reason)))
    return src.cache(rows.anti_join(listed, ["client_id", "k"]))


def counts(src: Source, cands: ibis.Table, dropped: ibis.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per campaign ``k``: candidates (``before``) and, per rule, people dropped — two small frames."""
    before = src.con.execute(cands.group_by("k").aggregate(before=cands.count()).order_by("k"))
    by_rule = src.con.execute(dropped.group_by(["k", "reason"]).aggregate(people=dropped.count()).order_by(["k", "reason"]))
    return before, by_rule
