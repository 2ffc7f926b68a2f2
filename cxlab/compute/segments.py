"""Segment sizing in the engine: exclusive assignment by priority, overlaps, the reachable waterfall,
historical base rates, the value of a contract of each line and the white space (the sizing and the
campaign plan built on them are :mod:`cxlab.analyses.segments`).

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
from cxlab.catalog.cards import Segment
from cxlab.catalog.rules import evaluate_rules, quote
from cxlab.compute.base import holding_matrix, product_lines
from cxlab.data.connect import Source
from cxlab.errors import CardError, NotApplicable, ParameterError

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
    holds = ibis.cases(*[(f[f"s{i}"], f[f"h{lines.index(s.product_line)}"]) for i, s in enumerate(segs)], else_=False)  # the first match's line
    clients = src.table("clients")
    if "global_control" in clients.columns:
        f = f.join(clients.select("client_id", control=clients.global_control.cast("boolean").fill_null(False)), "client_id")
    else:
        f = f.mutate(control=ibis.literal(False))
    return src.cache(f.select("client_id", *[f"s{i}" for i in range(len(segs))], assigned=assigned, control=f.control,
                              consent=f.consent, capped=f.capped, holds=holds))


def tally(src: Source, f: ibis.Table, segments: Sequence[Segment], filters: Filters) -> pd.DataFrame:
    """Everything the overlaps, the flows, the reachable waterfall and the client count need, from ONE
    aggregate query over the flags of :func:`flags`: one row per assigned segment (indexed by its place in
    assignment order; ``-1``: clients no rule matched) with ``n`` clients, ``o_{i}_{j}`` (i ≤ j) clients
    matching the rules of both ``i`` and ``j``, and ``k_{step}`` people left after each filter of
    :data:`STEPS` (a filter the data cannot support keeps everyone, see :class:`Filters`)."""
    k = len(ordered(segments))
    f = f.mutate(group=f.assigned.fill_null(-1))
    tests = {"not_control": ~f.control if filters.control else None, "consent": f.consent if filters.consent else None,
             "contact_cap": ~f.capped if filters.contact_cap else None, "not_holding": ~f.holds if filters.holding else None}
    keep = f.assigned.notnull()
    aggs = {"n": f.count(), **{f"o_{i}_{j}": (f[f"s{i}"] & f[f"s{j}"]).sum() for i in range(k) for j in range(i, k)},
            "k_assigned": keep.sum()}
    for step in STEPS[1:]:
        keep = keep if tests[step] is None else keep & tests[step]
        aggs[f"k_{step}"] = keep.sum()
    got = src.con.execute(f.group_by("group").aggregate(**aggs)).set_index("group")
    return got.reindex(range(-1, k)).fillna(0).astype("int64")


def overlap(t: pd.DataFrame, segments: Sequence[Segment]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two square matrices of people from the :func:`tally`, rows and columns in assignment order:

    - overlap ``[a, b]``: clients matching both a's and b's rules before assignment (diagonal = raw size);
    - flow ``[a, b]``: clients matching a's rule who were assigned to b (diagonal = kept by a; off the
      diagonal, what a higher priority took away from a).
    """
    names = [s.name for s in ordered(segments)]
    k = len(names)
    over = [[int(t[f"o_{min(i, j)}_{max(i, j)}"].sum()) for j in range(k)] for i in range(k)]
    flow = [[int(t.at[j, f"o_{i}_{i}"]) for j in range(k)] for i in range(k)]
    return pd.DataFrame(over, index=names, columns=names), pd.DataFrame(flow, index=names, columns=names)


def sizes(over: pd.DataFrame, flow: pd.DataFrame, segments: Sequence[Segment]) -> pd.DataFrame:
    """Per segment: raw size, size after exclusive assignment, and how many higher priorities took."""
    segs = ordered(segments)
    raw = pd.Series(over.to_numpy().diagonal(), index=over.index)
    kept = pd.Series(flow.to_numpy().diagonal(), index=flow.index)
    return pd.DataFrame({"segment": [s.name for s in segs], "title": [s.title for s in segs],
                         "priority": [s.priority for s in segs], "product_line": [s.product_line for s in segs],
                         "raw": raw.to_numpy(), "assigned": kept.to_numpy(), "taken": (raw - kept).to_numpy()})


def waterfall(t: pd.DataFrame, segments: Sequence[Segment]) -> pd.DataFrame:
    """Per segment, people left after each filter in order (:data:`STEPS`), from the :func:`tally`:
    assigned → not in the global control group → opted in on the channel → under the contact cap → not
    already holding the line."""
    segs = ordered(segments)
    out = pd.DataFrame({"segment": [s.name for s in segs]})
    for step in STEPS:
        out[step] = [int(t.at[i, f"k_{step}"]) for i in range(len(segs))]
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


def clients(t: pd.DataFrame) -> int:
    """The clients existing at the snapshot of :func:`flags`, from the :func:`tally`."""
    return int(t.n.sum())


def white_space(src: Source, f: ibis.Table, segments: Sequence[Segment], snapshot: date) -> pd.DataFrame:
    """Per segment (after exclusive assignment), the product lines its clients hold at ``snapshot``."""
    segs = ordered(segments)
    names = ibis.cases(*[(f.assigned == i, s.name) for i, s in enumerate(segs)], else_=ibis.null("string"))
    groups = f.filter(f.assigned.notnull()).select("client_id", group=names)
    return holding_matrix(src, groups, snapshot, snapshot, "held")
