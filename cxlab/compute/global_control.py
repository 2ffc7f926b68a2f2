"""The global control group against the rest of the base, computed in the engine.

The global control (``clients.global_control``) is held out of every campaign; comparing it with everyone
else measures what all communications together add. The comparison is by *assignment* (intention to
treat): every client outside the control counts, contacted or not, so the two groups stay the random
halves they were drawn as. Everything here returns small frames of counts and sums per group
(``group`` = ``control`` | ``outside``), ready for :mod:`cxlab.stats`.

- :func:`outcome_sums` — per group: people, contracts opened in ``[start, end)`` per person (sum and sum of
  squares), value per person, buyers (a contract opened) and re-buyers (contracts opened on two or more
  days), among clients existing at ``start``;
- :func:`line_sums` — contracts per person by product line;
- :func:`contacted` — how many of each group were sent something in the window (treatment rows);
- :func:`leakage` — control clients who were sent something, by campaign;
- :func:`drift` — month by month, the control against the rest on size, contracts and value per person;
- :func:`rotation` — a seeded, engine-drawn rotation: who leaves the control and who joins it.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd

from cxlab.compute import keys
from cxlab.compute.base import _contracts, _ts, monthly_windows
from cxlab.data.connect import Source
from cxlab.errors import DataError

GROUPS = ("control", "outside")


def has_control(src: Source) -> bool:
    return "global_control" in src.table("clients").columns


def population(src: Source, start: date) -> ibis.Table:
    """``client_id, group`` for clients existing at ``start`` (joined before it, or no join date)."""
    c = src.table("clients")
    if not has_control(src):
        raise DataError("clients: no column 'global_control', so there is no global control group to compare with")
    if "joined_at" in c.columns:
        c = c.filter(c.joined_at.isnull() | (c.joined_at.cast("timestamp") < _ts(start)))
    gc = c.global_control.cast("boolean").fill_null(False)
    return c.select("client_id", group=ibis.ifelse(gc, "control", "outside"))


def _per_client(src: Source, start: date, end: date) -> ibis.Table:
    h = _contracts(src)
    h = h.filter((h.opened >= _ts(start)) & (h.opened < _ts(end)))
    g = h.group_by("client_id").aggregate(contracts=h.count(), value=h.value.sum(), days=h.opened.date().nunique())
    j = population(src, start).left_join(g, "client_id")
    return j.select(j.client_id, j.group, contracts=j.contracts.fill_null(0), value=j.value.fill_null(0.0),
                    days=j.days.fill_null(0))


def outcome_sums(src: Source, start: date, end: date) -> pd.DataFrame:
    """Per group: ``n``, ``contracts_sum``, ``contracts_sq``, ``value_sum``, ``value_sq``, ``buyers``, ``rebuyers``."""
    t = _per_client(src, start, end)
    x, v = t.contracts.cast("float64"), t.value
    out = src.con.execute(t.group_by("group").aggregate(
        n=t.count(), contracts_sum=x.sum(), contracts_sq=(x * x).sum(), value_sum=v.sum(), value_sq=(v * v).sum(),
        buyers=(t.contracts > 0).sum(), rebuyers=(t.days >= 2).sum()).order_by("group"))
    return out.astype({"n": "int64", "buyers": "int64", "rebuyers": "int64"})


def line_sums(src: Source, start: date, end: date) -> pd.DataFrame:
    """Per group and product line: ``n`` (people in the group), ``x_sum`` / ``x_sum_sq`` (contracts of the line
    per person) and ``buyers``."""
    h = _contracts(src)
    h = h.filter((h.opened >= _ts(start)) & (h.opened < _ts(end)))
    per = h.group_by(["client_id", "product_line"]).aggregate(k=h.count())
    pop = population(src, start)
    j = per.join(pop, "client_id")
    k = j.k.cast("float64")
    got = src.con.execute(j.group_by(["group", "product_line"]).aggregate(x_sum=k.sum(), x_sum_sq=(k * k).sum(),
                                                                           buyers=j.count()))
    sizes = src.con.execute(pop.group_by("group").aggregate(n=pop.count()))
    lines = sorted(src.con.execute(src.table("products").product_line.cast("string").name("l").as_table().distinct()).l.dropna())
    grid = pd.MultiIndex.from_product([sorted(sizes.group), lines], names=["group", "product_line"]).to_frame(index=False)
    out = grid.merge(got, on=["group", "product_line"], how="left").fillna({"x_sum": 0.0, "x_sum_sq": 0.0, "buyers": 0})
    out = out.merge(sizes, on="group")
    return out[["group", "product_line", "n", "x_sum", "x_sum_sq", "buyers"]].astype({"n": "int64", "buyers": "int64"})


def _sends(src: Source, start: date, end: date) -> ibis.Table:
    c = src.table("communications")
    sent = c.sent_at.cast("timestamp")
    return c.filter((c.group == "treatment") & (sent >= _ts(start)) & (sent < _ts(end)))


def contacted(src: Source, start: date, end: date) -> pd.DataFrame:
    """Per group: ``n`` and ``contacted`` — people with at least one treatment row sent in the window."""
    pop = population(src, start)
    if not src.has("communications"):
        out = src.con.execute(pop.group_by("group").aggregate(n=pop.count()).order_by("group"))
        return out.assign(contacted=0).astype({"n": "int64", "contacted": "int64"})
    who = _sends(src, start, end).select("client_id").distinct().mutate(sent=ibis.literal(True))
    j = pop.left_join(who, "client_id")
    out = src.con.execute(j.group_by("group").aggregate(n=j.count(), contacted=j.sent.fill_null(False).sum()).order_by("group"))
    return out.astype({"n": "int64", "contacted": "int64"})


def leakage(src: Source, start: date, end: date) -> pd.DataFrame:
    """Control clients who were sent something in the window, by campaign: ``campaign_id, clients, rows,
    first_sent, last_sent`` (largest first; empty when nothing leaked)."""
    if not src.has("communications"):
        return pd.DataFrame(columns=["campaign_id", "clients", "rows", "first_sent", "last_sent"])
    c = src.table("clients")
    gc = c.filter(c.global_control.cast("boolean").fill_null(False)).select("client_id")
    s = _sends(src, start, end)
    j = s.join(gc, "client_id")
    sent = j.sent_at.cast("timestamp")
    out = src.con.execute(j.group_by("campaign_id").aggregate(clients=j.client_id.nunique(), rows=j.count(),
                                                              first_sent=sent.min(), last_sent=sent.max())
                          .order_by([ibis.desc("clients"), "campaign_id"]))
    return out.astype({"clients": "int64", "rows": "int64"})


def leaked_clients(src: Source, start: date, end: date) -> int:
    """How many different control clients were sent anything in the window."""
    if not src.has("communications"):
        return 0
    c = src.table("clients")
    gc = c.filter(c.global_control.cast("boolean").fill_null(False)).select("client_id")
    j = _sends(src, start, end).join(gc, "client_id")
    return int(src.con.execute(j.client_id.nunique()))


def drift(src: Source, snapshot: date, months: int) -> pd.DataFrame:
    """Month by month: clients existing at the month's start per group, and per group the contracts and the
    value opened in the month per person (sums and sums of squares) — how the control drifts from the base.

    Columns: ``month, group, n, x_sum, x_sum_sq, v_sum, v_sum_sq``.
    """
    windows = monthly_windows(snapshot, months)
    c = src.table("clients")
    if not has_control(src):
        raise DataError("clients: no column 'global_control', so there is no global control group to compare with")
    w = ibis.memtable(windows)
    joined = c.joined_at.cast("timestamp") if "joined_at" in c.columns else ibis.null("timestamp")
    cl = c.select("client_id", joined=joined, group=ibis.ifelse(c.global_control.cast("boolean").fill_null(False),
                                                                 "control", "outside"))
    pop = cl.join(w, cl.joined.isnull() | (cl.joined < w.start)).select("client_id", "group", "idx")
    h = _contracts(src).view()
    w2 = ibis.memtable(windows)
    opened = h.join(w2, (h.opened >= w2.start) & (h.opened < w2.end)).select("client_id", "value", "idx")
    per = opened.group_by(["client_id", "idx"]).aggregate(k=opened.count(), v=opened.value.sum())
    j = pop.left_join(per, ["client_id", "idx"])
    k, v = j.k.fill_null(0).cast("float64"), j.v.fill_null(0.0)
    out = src.con.execute(j.group_by([j.idx, j.group]).aggregate(n=j.count(), x_sum=k.sum(), x_sum_sq=(k * k).sum(),
                                                                 v_sum=v.sum(), v_sum_sq=(v * v).sum())
                          .order_by(["idx", "group"]))
    out = out.merge(windows[["idx", "start"]], on="idx")
    out.insert(0, "month", pd.to_datetime(out.pop("start")).dt.date)
    return out.drop(columns="idx").astype({"n": "int64"})


def joiners(src: Source, snapshot: date, months: int) -> pd.DataFrame:
    """Clients who joined in each of the ``months`` months before ``snapshot``, and how many of them were put
    in the control: ``month, joined, control`` — new clients must enter the control at its rate, or the
    control ages away from the base."""
    windows = monthly_windows(snapshot, months)
    c = src.table("clients")
    if "joined_at" not in c.columns or not has_control(src):
        return pd.DataFrame(columns=["month", "joined", "control"])
    w = ibis.memtable(windows)
    j = c.join(w, (c.joined_at.cast("timestamp") >= w.start) & (c.joined_at.cast("timestamp") < w.end))
    out = src.con.execute(j.group_by("idx").aggregate(joined=j.count(),
                                                      control=j.global_control.cast("boolean").fill_null(False).sum()))
    out = windows[["idx", "start"]].merge(out, on="idx", how="left").fillna({"joined": 0, "control": 0})
    out.insert(0, "month", pd.to_datetime(out.pop("start")).dt.date)
    return out.drop(columns="idx").astype({"joined": "int64", "control": "int64"})


def rotation(src: Source, when: date, release_share: float, seed: str) -> pd.DataFrame:
    """A rotation of the control drawn in the engine with seeded md5 keys (the same on every engine):
    ``release_share`` of the control leaves it, and as many clients as keep the control's share join it
    from the rest, drawn at random among clients existing at ``when``. Returns one row per move
    (``move`` = leave | join, ``clients``); :func:`rotation_members` gives the lists."""
    t = rotation_members(src, when, release_share, seed)
    out = src.con.execute(t.group_by("move").aggregate(clients=t.count()).order_by("move"))
    return out.astype({"clients": "int64"})


def rotation_members(src: Source, when: date, release_share: float, seed: str) -> ibis.Table:
    """``client_id, move`` (leave | join) of the rotation described in :func:`rotation` (an engine expression)."""
    pop = population(src, when)
    k = keys.key(pop.client_id, seed)
    sizes = src.con.execute(pop.group_by("group").aggregate(n=pop.count())).set_index("group").n
    n_control, n_outside = int(sizes.get("control", 0)), int(sizes.get("outside", 0))
    if n_control == 0 or n_outside == 0:
        raise DataError("the global control group or the rest of the base is empty: nothing to rotate")
    leaving = pop.filter((pop.group == "control") & keys.below(k, release_share)).select("client_id", move=ibis.literal("leave"))
    # joiners keep the control's size: the expected number leaving, drawn from the rest at that rate
    join_share = min(max(release_share * n_control / n_outside, 1e-9), 1 - 1e-9)
    k2 = keys.key(pop.client_id, seed + "|join")
    joining = pop.filter((pop.group == "outside") & keys.below(k2, join_share)).select("client_id", move=ibis.literal("join"))
    return leaving.union(joining)


__all__ = ["GROUPS", "contacted", "drift", "has_control", "joiners", "leakage", "leaked_clients", "line_sums", "outcome_sums",
           "population", "rotation", "rotation_members"]
