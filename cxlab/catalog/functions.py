"""The functions rules may call: a closed registry, nothing else is callable.

Client functions aggregate a client's rows in a window before each snapshot (``snapshot − days <= ts <
snapshot``) and return ``(client_id, snapshot, value)``; the rule compiler joins them back. Functions over
the same rows (events in a window, open contracts) name a shared scan instead: their calls become filtered
aggregates of one group-by over one scan (three event counts read events once, not three times). Row
functions compute a value from one row (metric filters).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis

from cxlab.data.connect import Source


@dataclass(frozen=True)
class FunctionSpec:
    """A registry entry: its parameters (name and type), what it means, and how to compute it."""

    name: str
    params: tuple[tuple[str, type], ...]
    doc: str
    client: Callable[..., ibis.Table | None] | None = None
    #: A key of :data:`SCANS` and the call's aggregate over that scan's rows (``agg(rows, *args)``).
    scan: str | None = None
    agg: Callable[..., ibis.Value] | None = None
    from_base: Callable[..., ibis.Value] | None = None
    row: Callable[..., ibis.Value] | None = None
    fill: Any = None
    column_args: bool = False

    def bind(self, args: tuple[Any, ...]) -> Call:
        if len(args) != len(self.params):
            sig = ", ".join(n for n, _ in self.params)
            raise ValueError(f"{self.name}({sig}) takes {len(self.params)} argument(s), got {len(args)}")
        for (pname, ptype), value in zip(self.params, args, strict=True):
            if ptype is int and not (isinstance(value, int) and 0 <= value <= 36_600):
                raise ValueError(f"{self.name}: '{pname}' must be a whole number of days from 0 to 36,600, got {value!r}")
            if ptype is str and not isinstance(value, str):
                raise ValueError(f"{self.name}: '{pname}' must be a quoted text, got {value!r}")
        return Call(self, args)


@dataclass(frozen=True)
class Call:
    """One call of a registry function with its literal arguments (hashable: shared calls are computed once)."""

    spec: FunctionSpec = field(hash=False, compare=False)
    args: tuple[Any, ...]
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.spec.name)

    def __hash__(self) -> int:
        return hash((self.name, self.args))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Call) and (self.name, self.args) == (other.name, other.args)

    def _way(self, fn: Callable[..., Any] | None, what: str) -> Callable[..., Any]:
        if fn is None:
            raise ValueError(f"{self.name} is not a {what} function")
        return fn

    def row(self, table: ibis.Table) -> ibis.Value:
        """This row function's value on ``table``'s rows."""
        return self._way(self.spec.row, "row")(table, *self.args)

    def client(self, src: Source, snaps: ibis.Table) -> ibis.Table | None:
        """This client function per (client, snapshot), or ``None`` when it is computed from the base row."""
        return self._way(self.spec.client, "client")(src, snaps, *self.args)

    def aggregate(self, rows: ibis.Table) -> ibis.Value:
        """This client function's aggregate over the rows of its shared scan (``spec.scan``)."""
        return self._way(self.spec.agg, "shared-scan")(rows, *self.args)

    def from_base(self, base: ibis.Table) -> ibis.Value:
        """This client function computed from the base row itself (e.g. ``tenure_days``)."""
        return self._way(self.spec.from_base, "base-row")(base, *self.args)


def _ts(col: ibis.Value) -> ibis.Value:
    return col.cast("timestamp")


def _in_window(t: ibis.Table, col: str, snaps: ibis.Table, days: int, starts: Sequence[int] = ()) -> ibis.Table:
    """Rows of ``t`` joined to each snapshot whose window ``[s − days, s)`` contains ``t[col]``, with the start
    of each window of ``starts`` days as ``cx_from_{d}``. Window starts are computed once per snapshot, not
    as ``snapshot − INTERVAL`` on every row (that was ~15% of the event scan at 100M events)."""
    ts = _ts(t[col])
    both = sorted({days, *starts})
    snaps = snaps.mutate(**{f"cx_from_{d}": snaps.snapshot - ibis.interval(days=d) for d in both})
    j = t.join(snaps, (ts >= snaps[f"cx_from_{days}"]) & (ts < snaps.snapshot))
    return j.drop(*(f"cx_from_{d}" for d in both if d not in starts))


def _events(src: Source, event_type: str) -> ibis.Table:
    e = src.table("events")
    return e.filter(e.event_type == event_type)


def _per_client(t: ibis.Table, value: ibis.Value) -> ibis.Table:
    return t.group_by(["client_id", "snapshot"]).aggregate(value=value)


def _event_rows(src: Source, snaps: ibis.Table, calls: list[Call]) -> ibis.Table:
    """Events of the calls' types joined to each snapshot whose longest window contains them (one scan),
    with the start of each call's window (``cx_from_{days}``, see :func:`_in_call`)."""
    e = src.table("events")
    e = e.filter(e.event_type.isin(sorted({c.args[0] for c in calls})))
    days = sorted({c.args[1] for c in calls})
    return _in_window(e, "ts", snaps, days[-1], starts=days)


def _in_call(j: ibis.Table, event_type: str, days: int) -> ibis.Value:
    """The rows of ``j`` (see :func:`_event_rows`) one call counts: its type, within its own window."""
    return (j.event_type == event_type) & (_ts(j.ts) >= j[f"cx_from_{days}"])


def _days_since_event(src: Source, snaps: ibis.Table, event_type: str) -> ibis.Table:
    e = _events(src, event_type)
    j = e.join(snaps, _ts(e.ts) < snaps.snapshot)
    last = j.group_by(["client_id", "snapshot"]).aggregate(last=_ts(j.ts).max())
    return last.select("client_id", "snapshot", value=last.snapshot.date().delta(last["last"].date(), unit="day"))


def _open_contracts(src: Source, snaps: ibis.Table, calls: list[Call]) -> ibis.Table:
    """Contracts (with their product) open at each snapshot: only those of the lines and products the calls
    name, unless one needs them all (``count_lines``). Joining every contract to every snapshot for one
    ``holds('credit_card')`` made the trigger backtest at 100M events 1.65× the hand-written SQL."""
    h = src.table("holdings").join(src.table("products"), "product_id")
    if all(c.name in ("holds", "holds_product") for c in calls):
        lines = sorted({c.args[0] for c in calls if c.name == "holds"})
        products = sorted({c.args[0] for c in calls if c.name == "holds_product"})
        named = [*([h.product_line.isin(lines)] if lines else []),
                 *([h.product_id.cast("string").isin(products)] if products else [])]
        h = h.filter(functools.reduce(operator.or_, named))
    open_ = _ts(h.opened_at) < snaps.snapshot
    if "closed_at" in h.columns:
        open_ &= h.closed_at.isnull() | (_ts(h.closed_at) >= snaps.snapshot)
    return h.join(snaps, open_)


def _opened(src: Source, snaps: ibis.Table, line: str, days: int) -> ibis.Table:
    h = src.table("holdings").join(src.table("products"), "product_id")
    j = _in_window(h.filter(h.product_line == line), "opened_at", snaps, days)
    return _per_client(j, j.count() > 0)


def _count_communications(src: Source, snaps: ibis.Table, days: int) -> ibis.Table:
    if not src.has("communications"):
        return _empty(snaps, "int64")
    c = src.table("communications")
    j = _in_window(c.filter(c.group == "treatment"), "sent_at", snaps, days)
    return _per_client(j, j.count())


def _opted_in(src: Source, snaps: ibis.Table, channel: str) -> ibis.Table:
    if not src.has("consents"):
        return _empty(snaps, "boolean")
    c = src.table("consents")
    yes = c.filter((c.channel == channel) & c.opted_in).select("client_id").distinct()
    j = yes.cross_join(snaps)
    return j.select("client_id", "snapshot", value=ibis.literal(True))


def _empty(snaps: ibis.Table, dtype: str) -> ibis.Table:
    """No rows of that kind in this data: every client gets the fill value."""
    return snaps.select(client_id=ibis.literal(None, "int64"), snapshot=snaps.snapshot,
                        value=ibis.literal(None, dtype)).filter(ibis.literal(False))


CLIENT_FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        FunctionSpec("count_events", (("event_type", str), ("days", int)),
                     "number of events of that type in the window", scan="events",
                     agg=lambda j, t, d: j.count(where=_in_call(j, t, d)), fill=0),
        FunctionSpec("sum_events", (("event_type", str), ("days", int)),
                     "sum of the events' value in the window (0 if none)", scan="events",
                     agg=lambda j, t, d: j.value.sum(where=_in_call(j, t, d)), fill=0.0),
        FunctionSpec("max_events", (("event_type", str), ("days", int)),
                     "largest event value in the window (null if none)", scan="events",
                     agg=lambda j, t, d: j.value.max(where=_in_call(j, t, d))),
        FunctionSpec("days_since_event", (("event_type", str),),
                     "days since the last event of that type before the snapshot (null if never)", _days_since_event),
        FunctionSpec("holds", (("product_line", str),),
                     "an open contract of that product line at the snapshot", scan="contracts",
                     agg=lambda j, line: j.count(where=j.product_line == line) > 0, fill=False),
        FunctionSpec("holds_product", (("product_id", str),),
                     "an open contract of that product at the snapshot", scan="contracts",
                     agg=lambda j, pid: j.count(where=j.product_id.cast("string") == pid) > 0, fill=False),
        FunctionSpec("count_lines", (), "number of distinct product lines held at the snapshot", scan="contracts",
                     agg=lambda j: j.product_line.nunique(), fill=0),
        FunctionSpec("tenure_days", (), "days since the client joined",
                     client=lambda src, snaps: None,
                     from_base=lambda base: base.snapshot.date().delta(base.joined_at.cast("timestamp").date(), unit="day")),
        FunctionSpec("opened", (("product_line", str), ("days", int)),
                     "a contract of that line opened in the window", _opened, fill=False),
        FunctionSpec("count_communications", (("days", int),),
                     "communications sent to the client (treatment rows) in the window", _count_communications, fill=0),
        FunctionSpec("opted_in", (("channel", str),), "the client agreed to be contacted on the channel",
                     _opted_in, fill=False),
    )
}

#: The shared scans: the rows every call of the scan's functions aggregates, given all those calls.
SCANS: dict[str, Callable[[Source, ibis.Table, list[Call]], ibis.Table]] = {
    "events": _event_rows, "contracts": _open_contracts}

ROW_FUNCTIONS: dict[str, FunctionSpec] = {
    "days_between": FunctionSpec(
        "days_between", (("start", str), ("end", str)), "whole days from one date column to another",
        row=lambda t, a, b: t[b].cast("timestamp").date().delta(t[a].cast("timestamp").date(), unit="day"),
        column_args=True,
    ),
}
