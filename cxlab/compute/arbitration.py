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
from cxlab.compute.audience import flags, keep, planned_target, target_of
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
        target = target_of(catalog, **planned_target(c))
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
    both temporary engine tables; rule by rule as in :data:`RULES`.

    One table, one column per rule, no self-joins: a rule ranks only the rows still alive after the rules
    before it, by a running count of alive rows in its window (so the query's plan grows by one window per
    rule — Spark's plan for a chain of anti-joins doubled with each rule and exhausted the driver)."""
    t = cands.mutate(cx_exempt=cands.type == "transactional",
                     cx_order=cands.priority * 1000 + cands.k)  # priority first, then card order
    t = t.mutate(cx_alive=~t.cx_exempt)
    outs: list[str] = []

    def running(t: ibis.Table, group_by: list[str], order_by: list[str]) -> ibis.IntegerValue:
        w = ibis.window(group_by=[t[c] for c in group_by], order_by=[t[c] for c in order_by], preceding=None, following=0)
        return ibis.ifelse(t.cx_alive, 1, 0).sum().over(w)

    def rule(t: ibis.Table, reason: str, out: ibis.BooleanValue) -> ibis.Table:
        t = t.mutate(**{f"cx_{reason}": t.cx_alive & out})
        outs.append(reason)
        return t.mutate(cx_alive=t.cx_alive & ~t[f"cx_{reason}"])

    if policy.min_gap_days > 0 and src.has("communications"):
        recent = _recent(src, policy.snapshot, policy.min_gap_days)
        t = rule(t, "min_gap", t.client_id.isin(recent.client_id))
    for column, caps, reason in (("channel", policy.caps_per_channel, "channel_cap"),
                                 ("type", policy.caps_per_type, "type_cap")):
        if caps:
            cap = ibis.cases(*[(t[column] == name, n) for name, n in caps.items()], else_=ibis.null("int64"))
            t = rule(t, reason, cap.notnull() & (running(t, ["client_id", column], ["cx_order"]) > cap))
    if policy.exclusive:
        t = rule(t, "exclusive", running(t, ["client_id"], ["cx_order"]) > 1)
    audience_caps = {k: c.max_audience for k, c in enumerate(policy.campaigns) if c.max_audience}
    if audience_caps:
        t = t.mutate(cx_key=keys.key(t.client_id, policy.name, t.k))
        cap = ibis.cases(*[(t.k == k, n) for k, n in audience_caps.items()], else_=ibis.null("int64"))
        t = rule(t, "max_audience", cap.notnull() & (running(t, ["k"], ["cx_key", "client_id"]) > cap))
    reasons = [r for r in RULES if r in outs]
    reason = ibis.cases(*[(t[f"cx_{r}"], r) for r in reasons], else_=ibis.null("string")) if reasons else ibis.null("string")
    t = src.cache(t.select("client_id", "k", cx_reason=reason))
    kept = src.cache(t.filter(t.cx_reason.isnull()).select("client_id", "k"))
    gone = src.cache(t.filter(t.cx_reason.notnull()).select("client_id", "k", reason=t.cx_reason))
    return kept, gone


def counts(src: Source, cands: ibis.Table, dropped: ibis.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per campaign ``k``: candidates (``before``) and, per rule, people dropped — two small frames."""
    before = src.con.execute(cands.group_by("k").aggregate(before=cands.count()).order_by("k"))
    by_rule = src.con.execute(dropped.group_by(["k", "reason"]).aggregate(people=dropped.count()).order_by(["k", "reason"]))
    return before, by_rule
