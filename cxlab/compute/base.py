"""The shape of the client base and its white space, computed in the engine.

Turnover and holdings are counted over a *period* ``[start, end)`` in one of two ways, because the
canonical ``holdings`` table carries two kinds of contract:

- ``held`` — ongoing contracts (accounts, cards, loans) whose ``value`` is a revenue per contract: a
  contract counts when it is open at any time in the period (``opened_at < end`` and ``closed_at`` null
  or ``>= start``). With ``start == end`` this is "open at that moment".
- ``opened`` — purchases (retail invoice lines, orders) whose ``value`` is the amount paid once: a
  contract counts when it was opened in the period (``start <= opened_at < end``).

:func:`counting_mode` picks ``opened`` when no contract was ever closed (purchase logs) and ``held``
otherwise. Every function returns a small pandas frame (or a dataclass of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import ibis
import pandas as pd

from cxlab.data.connect import Source
from cxlab.errors import DataError, NotApplicable

#: How contracts are counted in a period (see the module docstring).
MODES = ("held", "opened")


def _ts(when: date | datetime | str) -> ibis.Value:
    return ibis.timestamp(pd.Timestamp(when).to_pydatetime())


def counting_mode(src: Source) -> str:
    """``opened`` when no holding has a ``closed_at`` (a purchase log), else ``held``."""
    h = src.table("holdings")
    if "closed_at" not in h.columns:
        return "opened"
    return "held" if src.con.execute(h.closed_at.notnull().any()) else "opened"


def period(snapshot: date, months: int) -> tuple[date, date]:
    """The ``months`` months before ``snapshot``: ``[snapshot − months months, snapshot)``."""
    if months < 0:
        raise ValueError(f"months must be 0 or more, got {months}")
    return (pd.Timestamp(snapshot) - pd.DateOffset(months=months)).date(), snapshot


def monthly_windows(snapshot: date, months: int) -> pd.DataFrame:
    """``months`` consecutive one-month windows ending at ``snapshot`` (``idx`` 0 = the oldest)."""
    if months < 2:
        raise ValueError(f"month-over-month views need at least 2 months, got {months}")
    ends = [pd.Timestamp(snapshot) - pd.DateOffset(months=k) for k in range(months - 1, -1, -1)]
    starts = [e - pd.DateOffset(months=1) for e in ends]
    return pd.DataFrame({"idx": range(months), "start": pd.Series(starts, dtype="datetime64[us]"),
                         "end": pd.Series(ends, dtype="datetime64[us]")})


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")


def _contracts(src: Source) -> ibis.Table:
    h = src.table("holdings").join(src.table("products").select("product_id", "product_line"), "product_id")
    cols = {"opened": h.opened_at.cast("timestamp"),
            "closed": h.closed_at.cast("timestamp") if "closed_at" in h.columns else ibis.null("timestamp"),
            "value": h.value.cast("float64").fill_null(0.0) if "value" in h.columns else ibis.literal(0.0)}
    return h.select("client_id", "product_line", **cols)


def _counted(c: ibis.Table, start: ibis.Value, end: ibis.Value, mode: str) -> ibis.BooleanValue:
    _check_mode(mode)
    if mode == "opened":
        return (c.opened >= start) & (c.opened < end)
    return (c.opened < end) & (c.closed.isnull() | (c.closed >= start))


def counted(src: Source, start: date, end: date, mode: str) -> ibis.Table:
    """Contracts counted in ``[start, end)``: ``client_id, product_line, opened, closed, value``."""
    c = _contracts(src)
    return c.filter(_counted(c, _ts(start), _ts(end), mode))


def clients_at(src: Source, when: date) -> ibis.Table:
    """Clients existing at ``when`` (joined on or before it, or no join date): ``client_id``."""
    c = src.table("clients")
    if "joined_at" in c.columns:
        c = c.filter(c.joined_at.isnull() | (c.joined_at.cast("timestamp") <= _ts(when)))
    return c.select("client_id")


def client_turnover(src: Source, start: date, end: date, mode: str) -> ibis.Table:
    """``client_id, turnover`` for every client existing at ``end``; clients without contracts have 0."""
    per = counted(src, start, end, mode)
    per = per.group_by("client_id").aggregate(turnover=per.value.sum())
    j = clients_at(src, end).left_join(per, "client_id")
    return j.select(j.client_id, turnover=j.turnover.fill_null(0.0))


def _ranked(t: ibis.Table) -> ibis.Table:
    """Adds ``r`` (0-based rank, largest turnover first, ties by client), ``cum`` and ``n``, ``total``."""
    order = [ibis.desc(t.turnover), t.client_id]
    return t.mutate(r=ibis.row_number().over(order_by=order), cum=t.turnover.cumsum(order_by=order),
                    n=t.count().over(), total=t.turnover.sum().over())


@dataclass
class ValueShape:
    """How concentrated the turnover is."""

    summary: dict
    pareto: pd.DataFrame
    abc: pd.DataFrame


def abc_class(ranked: ibis.Table, abc: tuple[float, float]) -> ibis.Value:
    """A while the turnover of better clients is below ``abc[0]`` of the total, B below ``abc[1]``, else C."""
    before = (ranked.cum - ranked.turnover) / ranked.total
    return ibis.cases((before < abc[0], "A"), (before < abc[1], "B"), else_="C")


def _check_abc(abc: tuple[float, float] | list[float]) -> tuple[float, float]:
    if len(abc) != 2 or not 0 < abc[0] < abc[1] < 1:
        raise ValueError(f"abc must be two cumulative turnover shares 0 < a < b < 1, got {list(abc)}")
    return float(abc[0]), float(abc[1])


def value_shape(src: Source, start: date, end: date, mode: str, top_share: float = 0.2,
                abc: tuple[float, float] | list[float] = (0.8, 0.95), points: int = 100) -> ValueShape:
    """Pareto curve (share of turnover made by the best x% of clients), Gini, top-share, ABC classes."""
    if not 0 < top_share < 1:
        raise ValueError(f"top_share must be between 0 and 1, got {top_share}")
    abc = _check_abc(abc)
    t = _ranked(client_turnover(src, start, end, mode))
    top = lambda share: ibis.ifelse(t.r < (t.n * share).ceil(), t.turnover, 0.0).sum()  # noqa: E731
    s = src.con.execute(t.aggregate(clients=t.count(), turnover_total=t.turnover.sum(), rx=(t.r * t.turnover).sum(),
                                    top=top(top_share), top_1pct=top(0.01),
                                    with_turnover=(t.turnover > 0).sum())).iloc[0]
    n, total = int(s.clients), float(s.turnover_total or 0.0)
    if n == 0 or total <= 0:
        h = src.table("holdings")
        if "value" not in h.columns or int(src.con.execute(h.aggregate(v=(h.value.notnull() & (h.value != 0)).sum())).v.iloc[0] or 0) == 0:
            raise NotApplicable("no contract in holdings has a value, and this report ranks clients by the value of "
                                "their contracts: import the values into holdings.value to run it")
        raise DataError(f"no turnover between {start} and {end}: no client holds a contract with a value in that "
                        "period; pass -p snapshot=YYYY-MM-DD (and -p months=N) inside the span of the data's contracts")
    summary = {"clients": n, "clients_with_turnover": int(s.with_turnover), "turnover_total": total,
               "gini": 1 - 1 / n - 2 * float(s.rx) / (n * total), "top_share": top_share,
               "top_share_of_turnover": float(s.top) / total, "top_1pct_share_of_turnover": float(s["top_1pct"]) / total,
               "start": start, "end": end, "mode": mode}
    bucket = (t.r * points / t.n).floor().cast("int64")
    pareto = src.con.execute(t.group_by(bucket=bucket).aggregate(client_share=(t.r + 1).max() / t.n.max(),
                                                                 turnover_share=t.cum.max() / t.total.max())
                             .order_by("bucket")).drop(columns="bucket")
    pareto = pd.concat([pd.DataFrame({"client_share": [0.0], "turnover_share": [0.0]}), pareto], ignore_index=True)
    k = t.mutate(abc=abc_class(t, abc))
    out = src.con.execute(k.group_by("abc").aggregate(clients=k.count(), turnover=k.turnover.sum(),
                                                      min_turnover=k.turnover.min()).order_by("abc"))
    out["client_share"] = out.clients / n
    out["turnover_share"] = out.turnover / total
    summary["abc_sizes"] = dict(zip(out.abc, out.clients.astype(int), strict=True))
    return ValueShape(summary, pareto, out[["abc", "clients", "client_share", "turnover", "turnover_share", "min_turnover"]])


def client_classes(src: Source, start: date, end: date, mode: str, abc: tuple[float, float] | list[float] = (0.8, 0.95)) -> ibis.Table:
    """``client_id, group`` with each existing client's ABC class (an engine expression)."""
    t = _ranked(client_turnover(src, start, end, mode))
    return t.select("client_id", group=abc_class(t, _check_abc(abc)))


def product_lines(src: Source) -> list[str]:
    """The product lines of the products table, sorted."""
    p = src.table("products")
    return sorted(src.con.execute(p.product_line.cast("string").name("line").as_table().distinct()).line.dropna())


def _client_flags(src: Source, snapshot: date, start: date, end: date, mode: str, active_days: int,
                  top_share: float) -> ibis.Table:
    """Per existing client: active, repeat, lines held in the period, top tier — the funnel's inputs."""
    s = _ts(snapshot)
    c = _contracts(src)
    before = c.filter(c.opened < s)
    seen = before.filter(before.opened >= s - ibis.interval(days=active_days)).select("client_id")
    if src.has("events"):
        e = src.table("events")
        ets = e.ts.cast("timestamp")
        seen = seen.union(e.filter((ets >= s - ibis.interval(days=active_days)) & (ets < s)).select("client_id"))
    active = seen.distinct().mutate(active=ibis.literal(True))
    repeat = before.group_by("client_id").aggregate(days=before.opened.date().nunique())
    held = c.filter(_counted(c, _ts(start), _ts(end), mode))
    lines = held.group_by("client_id").aggregate(lines=held.product_line.nunique())
    ranked = _ranked(client_turnover(src, start, end, mode))
    top = ranked.select("client_id", top=(ranked.r < (ranked.n * top_share).ceil()) & (ranked.turnover > 0))
    j = clients_at(src, snapshot)
    for part in (active, repeat, lines, top):
        j = j.left_join(part, "client_id").drop("client_id_right")
    return j.select("client_id", active=j.active.fill_null(False), repeat=j.days.fill_null(0) >= 2,
                    lines=j.lines.fill_null(0), top=j.top.fill_null(False))


#: The funnel's steps in order; each keeps the clients of the previous one that also meet its test.
FUNNEL_STEPS = ("all", "active", "repeat", "multi_line", "top")


def funnel(src: Source, snapshot: date, start: date, end: date, mode: str, active_days: int = 90,
           top_share: float = 0.2) -> pd.DataFrame:
    """Nested counts of people: all → active → repeat → multi-line → top tier.

    active: an event or a contract opened in the ``active_days`` before the snapshot; repeat: contracts
    opened on two or more days before it; multi-line: two or more product lines counted in the period;
    top: among the ``top_share`` of clients with the largest turnover in the period. With a single
    product line in the data the multi-line step is left out (it would be empty by construction).
    """
    f = _client_flags(src, snapshot, start, end, mode, active_days, top_share)
    steps = [s for s in FUNNEL_STEPS if s != "multi_line" or len(product_lines(src)) > 1]
    tests = {"all": f.client_id.notnull(), "active": f.active, "repeat": f.repeat, "multi_line": f.lines >= 2, "top": f.top}
    keep, aggs = tests["all"], {}
    for step in steps:
        keep = keep & tests[step]
        aggs[step] = keep.sum()
    row = src.con.execute(f.aggregate(**aggs)).iloc[0]
    out = pd.DataFrame({"step": steps, "clients": [int(row[s]) for s in steps]})
    out["share_of_all"] = out.clients / max(int(out.clients.iloc[0]), 1)
    out["share_of_previous"] = out.clients / out.clients.shift(1).fillna(out.clients.iloc[0]).clip(lower=1)
    return out


def _per_window(src: Source, windows: pd.DataFrame, mode: str) -> ibis.Table:
    """Contracts counted in each monthly window: the contract columns plus ``idx``."""
    c = _contracts(src).view()  # a fresh relation: the window table joins on its columns
    w = ibis.memtable(windows)
    return c.join(w, _counted(c, w.start, w.end, mode)).select("client_id", "product_line", "value", "idx")


def _flow(src: Source, cur: ibis.Table, value: str, months: int) -> ibis.Table:
    """Each client's ``value`` in window ``idx`` (``cur``) beside the previous window's (``prev``), for the
    windows 0 to ``months`` − 1 (window 0 has no previous one: its ``prev`` is null)."""
    a = cur.select("client_id", "idx", cur_v=cur[value], prev_v=ibis.null(cur[value].type()))
    b = cur.select("client_id", idx=cur.idx + 1, cur_v=ibis.null(cur[value].type()), prev_v=cur[value])
    u = a.union(b)
    g = u.group_by(["client_id", "idx"]).aggregate(cur=u.cur_v.max(), prev=u.prev_v.max())
    return g.filter(g.idx < months)


def _by_window(windows: pd.DataFrame, out: pd.DataFrame, counts: list[str], flows: list[str]) -> pd.DataFrame:
    """``windows`` with ``out``'s columns by ``idx``: ``counts`` 0 where a window has none, ``flows`` (which
    compare with the window before) missing in the first window."""
    frame = windows.merge(out, on="idx", how="left").fillna({c: 0 for c in counts})
    frame = frame.astype({c: "int64" for c in counts} | {c: "Int64" for c in flows})
    frame.loc[frame.idx == 0, flows] = pd.NA
    frame.insert(0, "month", frame.pop("start").dt.date)
    return frame.drop(columns=["end"])


def top_tier_flow(src: Source, snapshot: date, months: int, mode: str, top_share: float = 0.2) -> pd.DataFrame:
    """Month by month: the top tier's size, who entered it, who left it and who stayed (people).

    The top tier of a month is the ``top_share`` of clients with turnover in that month who have the most.
    """
    windows = monthly_windows(snapshot, months)
    j = _per_window(src, windows, mode)
    per = j.group_by(["client_id", "idx"]).aggregate(turnover=j.value.sum())
    per = per.filter(per.turnover > 0)
    order = [ibis.desc(per.turnover), per.client_id]
    ranked = per.mutate(r=ibis.row_number().over(group_by="idx", order_by=order), n=per.count().over(group_by="idx"))
    top = ranked.filter(ranked.r < (ranked.n * top_share).ceil()).mutate(top=ibis.literal(1))
    g = _flow(src, src.cache(top.select("client_id", "idx", "top")), "top", months)  # the ranking read twice
    out = src.con.execute(g.group_by("idx").aggregate(
        top=g.cur.notnull().sum(),
        stayed=(g.cur.notnull() & g.prev.notnull()).sum(),
        entered=(g.cur.notnull() & g.prev.isnull()).sum(),
        left=(g.cur.isnull() & g.prev.notnull()).sum()))
    return _by_window(windows, out, ["top"], ["stayed", "entered", "left"])


def lines_flow(src: Source, snapshot: date, months: int, mode: str) -> pd.DataFrame:
    """Month by month: clients counting more (wider), as many, or fewer (narrower) product lines than in
    the month before, among clients with a contract counted in either month; and the mean number of lines."""
    windows = monthly_windows(snapshot, months)
    j = _per_window(src, windows, mode)
    per = j.group_by(["client_id", "idx"]).aggregate(lines=j.product_line.nunique())
    g = _flow(src, per, "lines", months)
    cur, prev = g.cur.fill_null(0), g.prev.fill_null(0)
    out = src.con.execute(g.group_by("idx").aggregate(
        clients=g.cur.notnull().sum(), mean_lines=g.cur.mean(),
        wider=(cur > prev).sum(), same=(cur == prev).sum(), narrower=(cur < prev).sum()))
    return _by_window(windows, out, ["clients"], ["wider", "same", "narrower"])


def _line_flags(src: Source, start: date, end: date, mode: str, lines: list[str]) -> ibis.Table:
    """``client_id`` and ``l0, l1, …`` (one boolean per line in ``lines``) for every client existing at ``end``."""
    h = counted(src, start, end, mode)
    flags = h.group_by("client_id").aggregate(**{f"l{i}": (h.product_line == line).any() for i, line in enumerate(lines)})
    j = clients_at(src, end).left_join(flags, "client_id").drop("client_id_right")
    return j.select("client_id", **{f"l{i}": j[f"l{i}"].fill_null(False) for i in range(len(lines))})


def holding_matrix(src: Source, groups: ibis.Table | None, start: date, end: date, mode: str) -> pd.DataFrame:
    """Per group (``groups``: ``client_id, group``; None = everyone) and product line: people holding it.

    Long format: ``group, product_line, clients, holders, share``; ``share`` = holders / clients of the
    group. Clients outside ``groups`` are left out.
    """
    lines = product_lines(src)
    f = _line_flags(src, start, end, mode, lines)
    f = f.mutate(group=ibis.literal("all")) if groups is None else f.join(groups, "client_id")
    wide = src.con.execute(f.group_by("group").aggregate(clients=f.count(), **{
        f"l{i}": f[f"l{i}"].sum() for i in range(len(lines))}).order_by("group"))
    long = wide.melt(id_vars=["group", "clients"], var_name="col", value_name="holders")
    long["product_line"] = long.col.map({f"l{i}": line for i, line in enumerate(lines)})
    long["share"] = long.holders / long.clients
    return long[["group", "product_line", "clients", "holders", "share"]].sort_values(["group", "product_line"], ignore_index=True)


def next_line(src: Source, snapshot: date) -> pd.DataFrame:
    """Which product line a client opened next after each line: ``from_line, to_line, clients, share``.

    For every client, the first opening of each line before the snapshot, in time order (ties by line
    name); ``to_line`` is the next new line, or missing when the client has opened none since; ``share``
    is of the clients who opened ``from_line``.
    """
    c = _contracts(src)
    c = c.filter(c.opened < _ts(snapshot))
    first = c.group_by(["client_id", "product_line"]).aggregate(first=c.opened.min())
    w = ibis.window(group_by="client_id", order_by=[first["first"], first.product_line])
    seq = first.mutate(to_line=first.product_line.lead().over(w))
    out = src.con.execute(seq.group_by(from_line=seq.product_line, to_line=seq.to_line)
                          .aggregate(clients=seq.count()).order_by(["from_line", "to_line"]))
    out["share"] = out.clients / out.groupby("from_line").clients.transform("sum")
    return out


def profile_cells(src: Source, start: date, end: date, mode: str) -> tuple[pd.DataFrame, list[str]]:
    """People per combination of product lines held in the period (the look-alike model's input)."""
    lines = product_lines(src)
    f = _line_flags(src, start, end, mode, lines)
    keys = [f"l{i}" for i in range(len(lines))]
    cells = src.con.execute(f.group_by(keys).aggregate(n=f.count()).order_by(keys))
    return cells.rename(columns=dict(zip(keys, lines, strict=True))), lines


def lines_held(src: Source, snapshot: date) -> ibis.Table:
    """client_id and each product line the client opened a contract of before ``snapshot`` (one row per pair)."""
    return counted(src, date(1900, 1, 1), snapshot, "opened").select("client_id", "product_line").distinct()
