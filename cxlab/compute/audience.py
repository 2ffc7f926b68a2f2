"""Who a launch can reach, in the engine: the clients of a segment (after exclusive assignment by
priority), of a trigger at a snapshot, of 05's look-alikes or of 07's scored audience, and 03's waterfall — consent, contact cap, global control,
already holding the line — as flags per client and one aggregate of people left after each filter."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import ibis
import pandas as pd

from cxlab.catalog.cards import Metric, PlannedCampaign
from cxlab.catalog.load import Catalog
from cxlab.catalog.rules import evaluate_rules, quote
from cxlab.compute import base
from cxlab.compute import segments as sg
from cxlab.data.connect import Source
from cxlab.errors import CardError, DataError, NotApplicable, ParameterError

#: The waterfall a launch applies, in order (the 03 waterfall's filters, from the matched clients).
STEPS = ("matched", "not_control", "consent", "contact_cap", "not_holding")
#: The columns a scored audience (07's ``score_out``) must carry for a launch to take it.
SCORED_COLUMNS = ("client_id", "selected", "negative", "uplift")
#: The parquet key-value metadata key under which 07 records how a scored audience was made.
SCORED_KEY = b"cxlab_scored"


def product_line_of(metric: Metric) -> str:
    """The product line whose openings ``metric`` counts (a holdings proportion filtered on one line), or ''."""
    m = re.fullmatch(r"\s*product_line\s*=\s*'([^']*)'\s*", metric.filter or "")
    return m.group(1) if metric.type == "proportion" and metric.source == "holdings" and m else ""


@dataclass(frozen=True)
class Scored:
    """A scored audience written by 07: the file, its sha256, and what made it (the campaign learned
    from, the learner, the outcome metric, the top share, the scoring date, the data fingerprint)."""

    path: str
    sha256: str
    campaign: str
    learner: str
    metric: str
    product_line: str
    top_share: float
    snapshot: str
    data_fingerprint: str

    @property
    def rule(self) -> str:
        return f"top {self.top_share:.0%} by predicted uplift, negative group excluded"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_scored(path: str | Path) -> Scored:
    """What 07 recorded in a scored audience file (no rows are read), or a DataError naming the file and
    what is wrong: missing, not parquet, lacking :data:`SCORED_COLUMNS`, or without 07's record."""
    import hashlib

    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise DataError(f"scored audience {p}: no such file; write it with 07 (score_out=...) first")
    try:
        schema = pq.read_schema(p)
    except Exception as e:  # pyarrow raises several types for a file that is not parquet
        raise DataError(f"scored audience {p}: not a parquet file ({str(e).splitlines()[0]})") from None
    missing = [c for c in SCORED_COLUMNS if c not in schema.names]
    if missing:
        raise DataError(f"scored audience {p}: column(s) {', '.join(missing)} missing (has {', '.join(schema.names)}); "
                        "a launch takes the file 07 writes with score_out")
    raw = (schema.metadata or {}).get(SCORED_KEY)
    if raw is None:
        raise DataError(f"scored audience {p}: no record of the model that scored it (written by an older 07 or by hand); "
                        "score the base again with 07")
    meta = json.loads(raw)
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return Scored(str(p), h.hexdigest(), meta["campaign"], meta["learner"], meta["metric"], meta.get("product_line", ""),
                  float(meta["top_share"]), meta["snapshot"], meta["data_fingerprint"])


@dataclass(frozen=True)
class Target:
    """What a launch targets: a segment card (after exclusive assignment by priority), a trigger card,
    a product line's look-alikes, or 07's scored audience (its ``selected`` clients)."""

    kind: str
    name: str
    rule: str
    priority: int
    product_line: str
    scored: Scored | None = None

    @property
    def reason(self) -> str:
        if self.scored is not None:
            s = self.scored
            return (f"scored {self.name}: {s.rule} ({s.learner}-learner model of '{s.metric}' learned from campaign "
                    f"'{s.campaign}', scored at {s.snapshot})")
        return f"{self.kind} {self.name}: {self.rule}"

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"


T = TypeVar("T")


def memo(src: Source, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` once per open source and ``key``: several launches of one policy share the flags,
    base rates, plan and fingerprint instead of scanning the data again (the engine tables stay valid
    while the source is open)."""
    store: dict[Hashable, Any] = src.__dict__.setdefault("_cx_memo", {})
    if key not in store:
        store[key] = compute()
    return store[key]


def target_of(catalog: Catalog, segment: str = "", trigger: str = "", lookalike: str = "",
              scored: str | Path = "") -> Target:
    """The segment or trigger card to launch, the product line whose look-alike non-holders to launch, or
    07's scored audience file whose ``selected`` clients to launch (exactly one), or an error naming what
    is unknown or unusable."""
    if sum(map(bool, (segment, trigger, lookalike, str(scored)))) != 1:
        raise ParameterError("a launch targets exactly one of a segment, a trigger, a look-alike line or a scored "
                             "audience (give --segment, --trigger, --lookalike or --scored)")
    if scored:
        s = read_scored(scored)
        return Target("scored", Path(s.path).stem, s.rule, 1, s.product_line, s)
    if lookalike:
        return Target("lookalike", lookalike, f"non-holders of {lookalike} whose other lines look like its holders' "
                      "(05's look-alike score at least the holders' median, 12 months)", 1, lookalike)
    if segment:
        s = catalog.get("segments", segment)
        return Target("segment", s.name, s.rule, s.priority, s.product_line)
    t = catalog.get("triggers", trigger)
    return Target("trigger", t.name, t.rule, 1, t.target_line)


def planned_target(c: PlannedCampaign) -> dict[str, Any]:
    """A policy's planned campaign's target as :func:`target_of`'s arguments (a scored file's path is
    relative to the project root, like the CLI's paths)."""
    from cxlab.paths import resolve

    return {"segment": c.segment or "", "trigger": c.trigger or "", "scored": resolve(c.scored) if c.scored else ""}


def check_applies(src: Source, target: Target) -> None:
    """:class:`NotApplicable` when the target's product line is not in the data (the card is for other data)."""
    lines = base.product_lines(src)
    if target.kind == "scored" and not target.product_line:
        return
    if target.product_line not in lines:
        raise NotApplicable(f"the {target.kind} '{target.name}' sells {target.product_line}, which is not a product line of this "
                            f"data ({', '.join(lines) or 'none'}); pass a {target.kind} card for this data")


def flags(src: Source, catalog: Catalog, target: Target, snapshot: date, channel: str = "email",
          cap_messages: int = 2, cap_days: int = 30) -> ibis.Table:
    """Per client existing at ``snapshot`` (a temporary engine table): ``hit`` (the segment after
    exclusive assignment among the catalogue's segments, or the trigger fired), ``control``, ``consent``,
    ``capped`` and ``holds`` (the target's product line) — the columns of 03's waterfall."""
    cards = tuple(sorted((s.name, s.rule, s.priority, s.product_line) for s in catalog.segments.values()))
    return memo(src, ("flags", target, snapshot, channel, cap_messages, cap_days, cards),
                lambda: _flags(src, catalog, target, snapshot, channel, cap_messages, cap_days))


def _flags(src: Source, catalog: Catalog, target: Target, snapshot: date, channel: str, cap_messages: int,
           cap_days: int) -> ibis.Table:
    if target.kind == "segment":
        kept, _ = sg.applicable(list(catalog.segments.values()), base.product_lines(src))
        order = [s.name for s in sg.ordered(kept)]
        if target.name not in order:
            raise CardError(f"{catalog.files.get(('segments', target.name), catalog.path)}: field 'product_line': "
                            f"segment '{target.name}' sells '{target.product_line}', which this data has no products of")
        f = sg.flags(src, kept, snapshot, channel, cap_messages, cap_days)
        return f.select("client_id", hit=(f.assigned == order.index(target.name)).fill_null(False), control=f.control,
                        consent=f.consent, capped=f.capped, holds=f.holds)
    rules = {"holds": f"holds({quote(target.product_line)})"} if target.product_line else {}
    rules |= {"hit": target.rule} if target.kind == "trigger" else {}
    if src.has("consents"):
        rules["consent"] = f"opted_in({quote(channel)})"
    if src.has("communications"):
        rules["capped"] = f"count_communications({cap_days}) >= {cap_messages}"
    f = evaluate_rules(rules, src, [snapshot], where={"hit": f"trigger '{target.name}'"})
    f = f.mutate(**{k: ibis.literal(False) for k in ("consent", "capped", "holds") if k not in rules})
    if target.kind == "lookalike":
        f = f.mutate(hit=f.client_id.isin(lookalike_clients(src, target.product_line, snapshot).client_id))
    if target.scored is not None:
        f = f.mutate(hit=f.client_id.isin(scored_clients(src, target.scored).client_id))
    clients = src.table("clients")
    if "global_control" in clients.columns:
        f = f.join(clients.select("client_id", control=clients.global_control.cast("boolean").fill_null(False)), "client_id")
    else:
        f = f.mutate(control=ibis.literal(False))
    return src.cache(f.select("client_id", "hit", "control", "consent", "capped", "holds"))


def keep(f: ibis.Table, filters: sg.Filters) -> tuple[dict[str, ibis.BooleanValue | None], ibis.BooleanValue]:
    """The filters by step (None where the data cannot support one), and whether a client passes all of
    them but the global control (whose members pass to their own group, never contacted)."""
    tests = {"matched": f.hit, "not_control": ~f.control if filters.control else None,
             "consent": f.consent if filters.consent else None, "contact_cap": ~f.capped if filters.contact_cap else None,
             "not_holding": ~f.holds if filters.holding else None}
    rest = [v for k, v in tests.items() if v is not None and k not in ("matched", "not_control")]
    passing = f.hit
    for v in rest:
        passing = passing & v
    return tests, passing


def waterfall(src: Source, f: ibis.Table, filters: sg.Filters) -> pd.DataFrame:
    """People left after each filter (:data:`STEPS`, one query); a filter the data cannot support keeps
    everyone. ``global_control``: matched clients of the global control group (their own group)."""
    tests, _ = keep(f, filters)
    left = f.hit  # the first step, "matched", always applies
    aggs = {"matched": left.sum()}
    for step in STEPS[1:]:
        test = tests[step]
        if test is not None:
            left = left & test
        aggs[step] = left.sum()
    aggs["global_control"] = (f.hit & f.control).sum()
    row = src.con.execute(f.aggregate(**aggs)).iloc[0]
    return pd.DataFrame({"step": [*STEPS, "global_control"], "people": [int(row[s] or 0) for s in [*STEPS, "global_control"]]})




def scored_clients(src: Source, scored: Scored) -> ibis.Table:
    """The ``selected`` clients of 07's scored audience as an engine table of ``client_id`` (DuckDB reads
    the file; other engines get the selected ids as an arrow table, no pandas). Refused when the file was
    scored on other data (its data fingerprint is not this source's): its clients and features would be
    another data set's."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    here = memo(src, ("fingerprint",), src.fingerprint)
    if scored.data_fingerprint != here:
        raise DataError(f"scored audience {scored.path}: scored on data with fingerprint {scored.data_fingerprint}, "
                        f"but {src.description} has fingerprint {here}; score this data with 07 again (the same "
                        "campaign and seed give the same model) before launching from it")
    if src.con.name == "duckdb":
        t = src.con.read_parquet(scored.path)
        return t.filter(t.selected.fill_null(False)).select("client_id")
    ids = pq.read_table(scored.path, columns=["client_id", "selected"])
    ids = ids.filter(pc.fill_null(ids["selected"], False)).select(["client_id"])
    return ibis.memtable(ids)


def lookalike_clients(src: Source, line: str, snapshot: date, months: int = 12, min_cell: int = 20) -> ibis.Table:
    """Clients not holding ``line`` in the ``months`` before ``snapshot`` whose profile (the other lines
    they hold) scores at least the median score of the line's holders — 05's look-alikes
    (:func:`cxlab.analyses.client_base.lookalikes`), as an engine table of ``client_id``. The profile table is
    small (one row per combination of lines); the clients stay in the engine."""
    lines = base.product_lines(src)
    if line not in lines:
        raise ParameterError(f"look-alike: product line '{line}' is not in this data ({', '.join(lines)})")
    start, end = base.period(snapshot, months)
    mode = base.counting_mode(src)
    cells, _ = base.profile_cells(src, start, end, mode)
    others = [x for x in lines if x != line]
    prof = cells.groupby(others).apply(lambda g: pd.Series({"n": g.n.sum(), "holders": g.n[g[line]].sum()}),
                                       include_groups=False).reset_index()
    overall = prof.holders.sum() / max(int(cells.n.sum()), 1)
    prof["score"] = (prof.holders / prof.n).where(prof.n >= min_cell, overall)
    if prof.holders.sum() == 0:
        return src.table("clients").select("client_id").limit(0)
    srt = prof.sort_values("score", kind="stable")
    threshold = float(srt.score[srt.holders.cumsum() >= prof.holders.sum() / 2].iloc[0])
    like = prof[prof.score >= threshold][others].rename(columns={x: f"l{lines.index(x)}" for x in others})
    f = base._line_flags(src, start, end, mode, lines)
    f = f.filter(~f[f"l{lines.index(line)}"])
    keys = list(like.columns)
    if not keys:
        return f.select("client_id")
    m = ibis.memtable(like.astype(bool).reset_index(drop=True))
    return f.join(m, keys).select("client_id")
