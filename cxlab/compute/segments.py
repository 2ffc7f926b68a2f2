"""Segment sizing in the engine: exclusive assignment by priority, overlaps, the reachable waterfall,
historical base rates, and the expected incremental contracts and value of a campaign to each segment.

A client belongs to the first segment (lowest ``priority``) whose rule matches at the snapshot. Every
count is of people; rows per client never leave the engine — one aggregate query per question.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import pandas as pd

from cxlab import stats as cs
from cxlab.catalog.cards import Hypothesis, Segment
from cxlab.catalog.rules import evaluate_rules, quote
from cxlab.compute.base import holding_matrix, product_lines
from cxlab.data.connect import Source
from cxlab.errors import CardError, DataError, NotApplicable, ParameterError

#: The reachable waterfall's filters, in the order they are applied.
STEPS = ("assigned", "not_control", "consent", "contact_cap", "not_holding")


def ordered(segments: Sequence[Segment]) -> list[Segment]:
    """Segments in assignment order: by priority (1 first), then name; empty or duplicate names fail."""
    if not segments:
        raise CardError("no segments to size: the catalogue has no segment cards (catalog/segments/*.yml)")
    names = [s.name for s in segments]
    if len(set(names)) != len(names):
        raise CardError(f"segment names must be unique, got {names}")
    return sorted(segments, key=lambda s: (s.priority, s.name))


def applicable(segments: Sequence[Segment], lines: Sequence[str]) -> tuple[list[Segment], list[Segment]]:
    """Segments whose product line exists in the data, and those left out (cards written for other data)."""
    kept = [s for s in segments if s.product_line in lines]
    return kept, [s for s in segments if s.product_line not in lines]


def applicable_or_skip(segments: Sequence[Segment], lines: Sequence[str], named: bool = False,
                       folder: str = "catalog") -> tuple[list[Segment], list[Segment]]:
    """:func:`applicable`, but a report with no segment for this data's product lines cannot run: skipped
    (:class:`NotApplicable`) when the cards were taken from the catalogue, an error naming the parameter
    when the user named them (``named``)."""
    kept, dropped = applicable(segments, lines)
    if not kept:
        have = ", ".join(sorted(lines)) or "none"
        if named:
            raise ParameterError(f"segments={','.join(s.name for s in segments)}: no card is for a product line of this "
                                 f"data (its lines: {have}); pass segment cards whose product_line is one of them")
        raise NotApplicable(f"no segment card in {folder}/segments/ is for a product line of this data ({have}); "
                            "write one there (or export one with the segment builder) to run this report")
    return kept, dropped


@dataclass(frozen=True)
class Filters:
    """Which reachability filters this data supports; the others are skipped (and the report says why)."""

    control: bool
    consent: bool
    contact_cap: bool
    holding: bool

    @classmethod
    def of(cls, src: Source) -> Filters:
        """What ``src`` allows: a global-control column, consents, communications, and two or more
        product lines (with one line every buyer holds it: the campaign is for repeat purchases)."""
        return cls("global_control" in src.table("clients").columns, src.has("consents"), src.has("communications"),
                   len(product_lines(src)) > 1)

    def skipped(self) -> list[str]:
        return [name for name, on in (("not_control", self.control), ("consent", self.consent),
                                      ("contact_cap", self.contact_cap), ("not_holding", self.holding)) if not on]


def flags(src: Source, segments: Sequence[Segment], snapshot: date, channel: str = "email", cap_messages: int = 2,
          cap_days: int = 30) -> ibis.Table:
    """Per client existing at ``snapshot``, computed once into a temporary engine table (the overlap, the
    waterfall, the client count and the white space all read it, so the rules run once, not four times):

    ``s0, s1, …`` whether each segment's rule matches (in assignment order), ``assigned`` (index of the
    first match, null for none), ``control`` (in the global control group), ``consent`` (opted in on
    ``channel``), ``capped`` (``cap_messages`` or more communications in the last ``cap_days`` days) and
    ``holds`` (already holds the product line of the assigned segment).
    """
    segs = ordered(segments)
    if cap_messages < 1 or cap_days < 1:
        raise ValueError(f"the contact cap needs cap_messages >= 1 and cap_days >= 1, got {cap_messages} in {cap_days}")
    lines = sorted({s.product_line for s in segs})
    rules = {f"s{i}": s.rule for i, s in enumerate(segs)}
    rules |= {f"h{k}": f"holds({quote(line)})" for k, line in enumerate(lines)}
    if src.has("consents"):
        rules["consent"] = f"opted_in({quote(channel)})"
    if src.has("communications"):
        rules["capped"] = f"count_communications({cap_days}) >= {cap_messages}"
    where = {f"s{i}": f"segment '{s.name}'" for i, s in enumerate(segs)}
    f = evaluate_rules(rules, src, [snapshot], where=where)
    f = f.mutate(**{k: ibis.literal(False) for k in ("consent", "capped") if k not in rules})  # filters skipped
    assigned = ibis.cases(*[(f[f"s{i}"], i) for i in range(len(segs))], else_=ibis.null("int64"))
    holds = ibis.cases(*[(assigned == i, f[f"h{lines.index(s.product_line)}"]) for i, s in enumerate(segs)], else_=False)
    clients = src.table("clients")
    if "global_control" in clients.columns:
        f = f.join(clients.select("client_id", control=clients.global_control.cast("boolean").fill_null(False)), "client_id")
    else:
        f = f.mutate(control=ibis.literal(False))
    return src.cache(f.select("client_id", *[f"s{i}" for i in range(len(segs))], assigned=assigned, control=f.control,
                              consent=f.consent, capped=f.capped, holds=holds))


def overlap(src: Source, f: ibis.Table, segments: Sequence[Segment]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two square matrices of people from ONE aggregate query, rows and columns in assignment order:

    - overlap ``[a, b]``: clients matching both a's and b's rules before assignment (diagonal = raw size);
    - flow ``[a, b]``: clients matching a's rule who were assigned to b (diagonal = kept by a; off the
      diagonal, what a higher priority took away from a).
    """
    segs = ordered(segments)
    k = len(segs)
    aggs = {f"o_{i}_{j}": (f[f"s{i}"] & f[f"s{j}"]).sum() for i in range(k) for j in range(i, k)}
    aggs |= {f"t_{i}_{j}": (f[f"s{i}"] & (f.assigned == j)).sum() for i in range(k) for j in range(k)}
    row = src.con.execute(f.aggregate(**aggs)).iloc[0]
    names = [s.name for s in segs]
    over = pd.DataFrame([[int(row[f"o_{min(i, j)}_{max(i, j)}"]) for j in range(k)] for i in range(k)], index=names, columns=names)
    flow = pd.DataFrame([[int(row[f"t_{i}_{j}"]) for j in range(k)] for i in range(k)], index=names, columns=names)
    return over, flow


def sizes(over: pd.DataFrame, flow: pd.DataFrame, segments: Sequence[Segment]) -> pd.DataFrame:
    """Per segment: raw size, size after exclusive assignment, and how many higher priorities took."""
    segs = ordered(segments)
    raw = pd.Series(over.to_numpy().diagonal(), index=over.index)
    kept = pd.Series(flow.to_numpy().diagonal(), index=flow.index)
    return pd.DataFrame({"segment": [s.name for s in segs], "title": [s.title for s in segs],
                         "priority": [s.priority for s in segs], "product_line": [s.product_line for s in segs],
                         "raw": raw.to_numpy(), "assigned": kept.to_numpy(), "taken": (raw - kept).to_numpy()})


def waterfall(src: Source, f: ibis.Table, segments: Sequence[Segment], filters: Filters) -> pd.DataFrame:
    """Per segment, people left after each filter in order (:data:`STEPS`): assigned → not in the global
    control group → opted in on the channel → under the contact cap → not already holding the line.
    A filter the data cannot support keeps everyone (see :class:`Filters`)."""
    segs = ordered(segments)
    g = f.filter(f.assigned.notnull())
    tests = {"assigned": g.assigned.notnull(), "not_control": ~g.control if filters.control else None,
             "consent": g.consent if filters.consent else None,
             "contact_cap": ~g.capped if filters.contact_cap else None,
             "not_holding": ~g.holds if filters.holding else None}
    keep, aggs = None, {}
    for step in STEPS:
        test = tests[step]
        keep = test if keep is None else keep if test is None else keep & test
        aggs[f"k_{step}"] = keep.sum()
    got = src.con.execute(g.group_by("assigned").aggregate(**aggs)).set_index("assigned")
    out = pd.DataFrame({"segment": [s.name for s in segs]})
    for step in STEPS:
        out[step] = [int(got[f"k_{step}"].get(i, 0)) for i in range(len(segs))]
    return out


def base_rates(src: Source, segments: Sequence[Segment], snapshot: date, history_days: int = 60,
               alpha: float = 0.05, exclude_holders: bool = True) -> tuple[pd.DataFrame, date]:
    """Historical conversion of each segment to its product line, with a Wilson interval.

    At ``s0 = snapshot − history_days``, segments are assigned exclusively as today; among assigned
    clients (not holding the segment's line at ``s0`` when ``exclude_holders``), the rate is the share
    who opened a contract of that line in ``(s0, s0 + history_days]``. Returns the table and ``s0``.
    """
    if history_days < 1:
        raise ValueError(f"history_days must be at least 1, got {history_days}")
    segs = ordered(segments)
    s0 = snapshot - timedelta(days=history_days)
    f = flags(src, segs, s0)
    start = ibis.timestamp(pd.Timestamp(s0).to_pydatetime())
    h = src.table("holdings").join(src.table("products").select("product_id", "product_line"), "product_id")
    opened = h.opened_at.cast("timestamp")
    h = h.filter((opened > start) & (opened <= start + ibis.interval(days=history_days)))
    bought = h.group_by("client_id").aggregate(**{f"b{i}": (h.product_line == s.product_line).any() for i, s in enumerate(segs)})
    eligible = f.assigned.notnull()
    if exclude_holders:
        eligible &= ~f.holds
    j = f.filter(eligible).left_join(bought, "client_id")
    converted = ibis.cases(*[(j.assigned == i, j[f"b{i}"].fill_null(False)) for i in range(len(segs))], else_=False)
    got = src.con.execute(j.group_by("assigned").aggregate(n=j.count(), x_sum=converted.sum())).set_index("assigned")
    rows = []
    for i, s in enumerate(segs):
        n, x = int(got.n.get(i, 0)), int(got.x_sum.get(i, 0))
        est = cs.proportion_ci(cs.ProportionStats(n, x), alpha=alpha) if n else None
        rows.append({"segment": s.name, "product_line": s.product_line, "n": n, "x_sum": x,
                     "rate": est.estimate if est else math.nan, "ci_low": est.ci_low if est else math.nan,
                     "ci_high": est.ci_high if est else math.nan})
    return pd.DataFrame(rows), s0


def line_values(src: Source, lines: Sequence[str]) -> dict[str, float]:
    """Mean ``holdings.value`` of each product line's contracts (NaN where the line has no values)."""
    h = src.table("holdings")
    if "value" not in h.columns:
        return {line: math.nan for line in lines}
    h = h.join(src.table("products").select("product_id", "product_line"), "product_id")
    got = src.con.execute(h.filter(h.product_line.isin(list(lines)) & h.value.notnull())
                          .group_by("product_line").aggregate(mean=h.value.mean())).set_index("product_line")["mean"]
    return {line: float(got.get(line, math.nan)) for line in lines}


@dataclass(frozen=True)
class Uplift:
    """The uplift a campaign is assumed to add: relative (× base rate) or absolute (+ share), with a range."""

    kind: str
    estimate: float
    low: float
    high: float
    source: str

    def __post_init__(self) -> None:
        if self.kind not in ("relative", "absolute"):
            raise ValueError(f"uplift kind must be relative or absolute, got {self.kind!r}")
        if not self.low <= self.estimate <= self.high:
            raise ValueError(f"the uplift range must hold its estimate: {self.low} <= {self.estimate} <= {self.high}")

    @classmethod
    def of(cls, hypothesis: Hypothesis | None, uplift: float, low: float, high: float) -> Uplift:
        """From a hypothesis card's expected effect (range: half to one and a half times it), or from the
        parameters (a relative uplift and its range)."""
        if hypothesis is None:
            return cls("relative", uplift, low, high, "parameters")
        e = hypothesis.expected_effect
        kind, size = ("relative", e.relative) if e.relative is not None else ("absolute", e.absolute)
        size = size if e.sign == "+" else -size
        return cls(kind, size, min(0.5 * size, 1.5 * size), max(0.5 * size, 1.5 * size), f"hypothesis {hypothesis.id}")

    def contracts(self, reach: int, rate: float) -> float:
        """Incremental contracts among ``reach`` people converting at ``rate`` without the campaign."""
        return reach * (rate * self.estimate if self.kind == "relative" else self.estimate)


def confidence(x_sum: int, estimate: float, low: float, high: float) -> str:
    """How far the expected incremental contracts can be trusted, from the *whole* range ``low … high``
    (the base rate's interval and the uplift's assumed range together): ``high`` when the range's
    half-width is under half the estimate, ``medium`` under the estimate itself, else ``low`` (also with
    no conversions at all or no estimate)."""
    if not x_sum or not estimate or math.isnan(estimate):
        return "low"
    half = (high - low) / 2 / abs(estimate)
    return "high" if half < 0.5 else "medium" if half < 1.0 else "low"


def plan(reach: pd.DataFrame, rates: pd.DataFrame, uplift: Uplift, values: dict[str, float]) -> pd.DataFrame:
    """The prioritisation table: per segment, reachable people, base rate and interval, expected
    incremental contracts and value with their ranges, and a confidence label — best value first.

    Range: low = low base rate × low uplift, high = high base rate × high uplift (relative); for an
    absolute uplift only the uplift's range applies.
    """
    rows = []
    for (_, r), (_, b) in zip(reach.iterrows(), rates.iterrows(), strict=True):
        n = int(r["not_holding"])
        rel = uplift.kind == "relative"
        value = values.get(b.product_line, math.nan)
        contracts = uplift.contracts(n, b.rate)
        low = n * (b.ci_low * uplift.low if rel else uplift.low)
        high = n * (b.ci_high * uplift.high if rel else uplift.high)
        rows.append({"segment": r.segment, "product_line": b.product_line, "reach": n, "base_rate": b.rate,
                     "rate_low": b.ci_low, "rate_high": b.ci_high, "contracts": contracts, "contracts_low": low,
                     "contracts_high": high, "value_per_contract": value, "value": contracts * value,
                     "value_low": low * value, "value_high": high * value,
                     "confidence": confidence(int(b.x_sum), contracts, low, high)})
    out = pd.DataFrame(rows)
    key = "value" if out.value.notna().any() else "contracts"
    return out.sort_values([key, "reach"], ascending=False, na_position="last", ignore_index=True)


@dataclass
class Sizing:
    """Everything the 03 report shows about a set of segments at a snapshot."""

    segments: list[Segment]
    snapshot: date
    history_start: date
    filters: Filters
    uplift: Uplift
    sizes: pd.DataFrame
    overlap: pd.DataFrame
    flow: pd.DataFrame
    reach: pd.DataFrame
    rates: pd.DataFrame
    plan: pd.DataFrame
    white_space: pd.DataFrame
    clients: int
    unassigned: int

    @property
    def steps(self) -> list[str]:
        """The waterfall steps this data supports, in order."""
        return [s for s in STEPS if s not in self.filters.skipped()]

    def cards(self) -> pd.DataFrame:
        """The segment cards in assignment order, as written."""
        return pd.DataFrame([{"priority": s.priority, "segment": s.name, "title": s.title, "rule": s.rule,
                              "product_line": s.product_line, "owner": s.owner} for s in self.segments])


def size(src: Source, segments: Sequence[Segment], snapshot: date, uplift: Uplift, channel: str = "email",
         cap_messages: int = 2, cap_days: int = 30, history_days: int = 60, value_per_contract: float = 0.0,
         alpha: float = 0.05) -> Sizing:
    """Size ``segments`` at ``snapshot``: assignment, overlaps, reach, base rates, the campaign plan and
    the white space of each segment (product lines held at the snapshot)."""
    if not src.has("holdings") or not src.has("products"):
        raise DataError("segment sizing needs the holdings and products tables")
    segs = ordered(segments)
    filters = Filters.of(src)
    f = flags(src, segs, snapshot, channel, cap_messages, cap_days)
    over, flow = overlap(src, f, segs)
    table = sizes(over, flow, segs)
    reach = waterfall(src, f, segs, filters)
    rates, s0 = base_rates(src, segs, snapshot, history_days, alpha, filters.holding)
    lines = sorted({s.product_line for s in segs})
    values = {line: value_per_contract for line in lines} if value_per_contract > 0 else line_values(src, lines)
    n_clients = int(src.con.execute(f.count()))
    names = ibis.cases(*[(f.assigned == i, s.name) for i, s in enumerate(segs)], else_=ibis.null("string"))
    groups = f.filter(f.assigned.notnull()).select("client_id", group=names)
    ws = holding_matrix(src, groups, snapshot, snapshot, "held")
    return Sizing(segs, snapshot, s0, filters, uplift, table, over, flow, reach, rates, plan(reach, rates, uplift, values),
                  ws, n_clients, n_clients - int(table.assigned.sum()))
