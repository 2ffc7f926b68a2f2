"""Campaign retrospective in the engine: communications de-duplicated to people, per-person outcomes
from metric cards, and per-arm sufficient statistics (see :mod:`cxlab.stats.sufficient` for the names).

The unit is the person: a person's anchor is their first communication of the campaign; a person found
in more than one arm, or in the global control group, is excluded and counted. People who also received
a competing campaign in their window are counted per arm, and excluded when asked.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from cxlab.catalog.cards import Campaign, Metric
from cxlab.catalog.rules import compile_filter
from cxlab.compute import keys
from cxlab.data.connect import Source
from cxlab.errors import DataError
from cxlab.metrics import Kind, Mean, Sums, aggregate, kind, sum_exprs

SECONDS_PER_DAY = 86_400
#: A quantile metric's value table keeps at most this many distinct values (coarser steps beyond).
MAX_LEVELS = 20_000


@dataclass(frozen=True)
class People:
    """The campaign's people (one row each: client_id, arm, t0, rows), how rows became people, and per
    arm how many also received a competing campaign in their window (``exposure``: arm, people,
    exposed; ``competitors``: the competing campaigns by people reached)."""

    table: ibis.Table
    summary: pd.DataFrame
    exposure: pd.DataFrame = field(default_factory=pd.DataFrame)
    competitors: pd.DataFrame = field(default_factory=pd.DataFrame)


def people(src: Source, campaign: Campaign, exclude_competing: bool = False) -> People:
    """De-duplicate the campaign's communications to people and say what was merged or dropped; with
    ``exclude_competing``, people who received a competing campaign in their window are dropped too."""
    c = src.table("communications")
    c = c.filter(c.campaign_id.isin(campaign.campaign_ids))
    arm = c.arm.fill_null(c.group) if "arm" in c.columns else c.group
    c = c.mutate(cx_arm=arm.cast("string"), cx_ts=c.sent_at.cast("timestamp"))
    per = c.group_by("client_id").aggregate(arms=c.cx_arm.nunique(), arm=c.cx_arm.min(), t0=c.cx_ts.min(),
                                            rows=c.count())
    if "global_control" in src.table("clients").columns:
        cl = src.table("clients").select("client_id", gc=src.table("clients").global_control.fill_null(False))
        per = per.left_join(cl, "client_id").drop("client_id_right")
        per = per.mutate(gc=per.gc.fill_null(False))
    else:
        per = per.mutate(gc=ibis.literal(False))
    per = src.cache(per)  # one row per person, read by every later query: de-duplicated once
    by_arm = src.con.execute(per.group_by("arm").aggregate(  # per arm: the counts, and which arms the rows name
        rows=per.rows.sum(), people=per.count(), repeated=(per.rows > 1).sum(),
        several_arms=(per.arms > 1).sum(), global_control=(per.gc & (per.arms == 1)).sum(),
    ))
    stats = by_arm.drop(columns="arm").sum()
    if int(stats["people"]) == 0:
        raise DataError(f"campaign '{campaign.name}': no communications with campaign_id in {campaign.campaign_ids}")
    unknown = set(by_arm.arm.dropna()) - set(campaign.arms)
    if unknown:
        raise DataError(f"campaign '{campaign.name}': communications name arms {sorted(unknown)} that the card "
                        f"does not plan (arms: {list(campaign.arms)})")
    clean = per.filter((per.arms == 1) & ~per.gc).select("client_id", "arm", "t0", "rows")
    kept = int(stats["people"]) - int(stats["several_arms"]) - int(stats["global_control"])
    exposed, exposure, competitors = _competing(src, campaign, clean)
    dropped = int(exposure.exposed.sum()) if exclude_competing else 0
    if exclude_competing:
        clean = clean.anti_join(exposed, "client_id")
    summary = pd.DataFrame([
        {"step": "rows", "count": int(stats["rows"])},
        {"step": "people", "count": int(stats["people"])},
        {"step": "people_with_several_rows", "count": int(stats["repeated"])},
        {"step": "excluded_several_arms", "count": int(stats["several_arms"])},
        {"step": "excluded_global_control", "count": int(stats["global_control"])},
        {"step": "excluded_competing", "count": dropped},
        {"step": "analysed", "count": kept - dropped},
    ])
    return People(clean, summary, exposure, competitors)


def _competing(src: Source, campaign: Campaign, crowd: ibis.Table) -> tuple[ibis.Table, pd.DataFrame, pd.DataFrame]:
    """People sent (not held out of) another campaign matching ``competing_campaigns`` within their
    window (t0, t0 + W]: the table of those people, per-arm counts, and the campaigns by people reached."""
    c = src.table("communications")
    other = c.filter(~c.campaign_id.isin(campaign.campaign_ids) & (c.group.cast("string") == "treatment"))
    other = other.filter(ibis.or_(*(other.campaign_id.cast("string").like(p) for p in campaign.competing_campaigns)))
    sent = other.select("client_id", "campaign_id", cx_ts=other.sent_at.cast("timestamp"))
    j = _in_span(sent, crowd, campaign.window_days, 0)  # [t0, t0 + W] in the join; the send at t0 is not after it
    j = src.cache(j.filter(j.cx_ts > j.cx_t0).select("client_id", "campaign_id"))  # read three times: one scan
    exposed = j.select("client_id").distinct()
    marked = crowd.left_join(exposed.mutate(hit=ibis.literal(1)), "client_id")
    exposure = src.con.execute(marked.group_by("arm").aggregate(
        people=marked.count(), exposed=marked.hit.notnull().sum()).order_by("arm"))
    top = j.group_by("campaign_id").aggregate(people=j.client_id.nunique())
    competitors = src.con.execute(top.order_by([ibis.desc("people"), "campaign_id"]).limit(10))
    return exposed, exposure, competitors


def _metric_rows(src: Source, source: str, metrics: Sequence[Metric]) -> ibis.Table:
    """The rows of ``source`` (holdings or events) that any of ``metrics`` counts: every column, plus
    ``cx_ts`` and ``cx_value``."""
    if source == "holdings":
        t = src.table("holdings").join(src.table("products"), "product_id")
        ts = "opened_at"
    else:
        t = src.table("events")
        ts = "ts"
    conditions = [compile_filter(m.filter, t, f"metric '{m.name}' filter") for m in metrics if m.filter]
    if len(conditions) == len(metrics):  # the plain conditions, so the engine can push them into the scan
        t = t.filter(functools.reduce(operator.or_, conditions))
    value = t.value.cast("float64").fill_null(0.0) if "value" in t.columns else ibis.literal(0.0)
    return t.mutate(cx_ts=t[ts].cast("timestamp"), cx_value=value)


def _keeps(metric: Metric, t: ibis.Table) -> ibis.BooleanValue:
    """Whether the metric's filter keeps a row of ``t`` (every row without a filter)."""
    if not metric.filter:
        return ibis.literal(True)
    return compile_filter(metric.filter, t, f"metric '{metric.name}' filter").fill_null(False)


def _source_rows(src: Source, metric: Metric) -> tuple[ibis.Table, str]:
    """The rows a metric counts, with their timestamp column name."""
    t = _metric_rows(src, metric.rows_from, [metric])
    return t.select("client_id", "cx_ts", "cx_value"), "cx_ts"


def period_values(src: Source, metric: Metric, anchors: ibis.Table, periods: range, window_days: int) -> ibis.Table:
    """Per person, the metric in consecutive windows around the anchor ``t0``: column ``p{k}`` covers
    ``(t0 + k·W, t0 + (k+1)·W]`` — ``p0`` is the measurement window, negative ``k`` the pre-period."""
    rows, _ = _source_rows(src, metric)
    j = _in_span(rows, anchors, periods.stop * window_days, max(-periods.start, 0) * window_days)
    seconds = j.cx_ts.epoch_seconds() - j.cx_t0.epoch_seconds()
    k = ((seconds - 1) / (window_days * SECONDS_PER_DAY)).floor().cast("int64")  # (t0, t0 + W] → 0
    j = j.mutate(cx_k=k).filter(lambda t: (t.cx_k >= periods.start) & (t.cx_k < periods.stop))
    wide = j.group_by("client_id").aggregate(**{
        _col(p): _aggregate_where(metric, j, j.cx_k == p) for p in periods
    })
    out = anchors.select("client_id", "arm").left_join(wide, "client_id").drop("client_id_right")
    return out.mutate(**{_col(p): out[_col(p)].fill_null(0.0) for p in periods})


def _as_float(value: ibis.Value) -> ibis.Value:
    """A number or a flag as float64 (PostgreSQL cannot cast a boolean to double: flags become 1.0 / 0.0)."""
    return ibis.ifelse(value, 1.0, 0.0) if value.type().is_boolean() else value.cast("float64")


def _col(p: int) -> str:
    return f"p{p}" if p >= 0 else f"m{-p}"


def _aggregate_where(metric: Metric, j: ibis.Table, cond: ibis.BooleanValue) -> ibis.Value:
    if metric.aggregate == "any":
        return _as_float(cond.sum() > 0)
    if metric.aggregate == "count":
        return cond.sum().cast("float64")
    return ibis.ifelse(cond, j.cx_value, 0.0).sum()


def _in_span(rows: ibis.Table, anchors: ibis.Table, after_days: int, before_days: int) -> ibis.Table:
    """``rows`` (with ``cx_ts``) joined to their person's anchor ``cx_t0`` where ``cx_ts`` is in
    ``[cx_from, cx_to]`` = ``[t0 − before_days, t0 + after_days]``. The span is in the join's condition, not
    a filter after it, so DuckDB skips the rows outside every person's span while scanning (at 100M events,
    ~9 in 10 of them); its bounds are computed once per person, not on every row joined."""
    a = anchors.select("client_id", cx_t0=anchors.t0, cx_from=anchors.t0 - ibis.interval(days=before_days),
                       cx_to=anchors.t0 + ibis.interval(days=after_days))
    on = [rows.client_id == a.client_id, rows.cx_ts >= a.cx_from, rows.cx_ts <= a.cx_to]
    return rows.join(a, on).select(rows, a.cx_t0, a.cx_from, a.cx_to)


def _windows(j: ibis.Table) -> tuple[ibis.BooleanValue, ibis.BooleanValue]:
    """Whether a row of :func:`_in_span` falls in the measurement window ``(t0, cx_to]`` and in the
    pre-period ``[cx_from, t0)`` (with the span's ``after_days`` = W and ``before_days`` = P)."""
    return (j.cx_ts > j.cx_t0) & (j.cx_ts <= j.cx_to), (j.cx_ts >= j.cx_from) & (j.cx_ts < j.cx_t0)


def person_values(src: Source, metrics: Sequence[Metric], anchors: ibis.Table, window_days: int, pre_days: int,
                  covariate: str | None = None, by: str | None = None, base: ibis.Table | None = None) -> ibis.Table:
    """Per person: ``x{i}`` (metric ``i`` in the window after t0) and ``pre{i}`` (the same metric over the
    pre-period, or the client column ``covariate``), with ``arm`` and optionally a breakdown ``by``.
    Metrics reading the same table share one pass over its rows: one join to the people, one group-by.
    ``base``: the rows the values are put beside (one per person of ``anchors``, with ``client_id, arm``
    and any columns of its own, such as :func:`strata`); the anchors' ``client_id, arm`` by default."""
    base = anchors.select("client_id", "arm") if base is None else base
    if covariate or by:
        clients = src.table("clients")
        cols = [c for c in (covariate, by) if c]
        missing = [c for c in cols if c not in clients.columns]
        if missing:
            raise DataError(f"clients has no column {missing} (needed as covariate / breakdown); "
                            f"columns: {', '.join(clients.columns)}")
        base = base.left_join(clients.select("client_id", *dict.fromkeys(cols)), "client_id").drop("client_id_right")
    by_source: dict[str, list[int]] = {}
    for i, metric in enumerate(metrics):
        by_source.setdefault(metric.rows_from, []).append(i)
    joined = base
    per_metric: dict[int, ibis.Table] = {}  # metric i → the group-by holding its sums
    for k, (source, idx) in enumerate(by_source.items()):
        rows = _metric_rows(src, source, [metrics[i] for i in idx])
        j = _in_span(rows, anchors, window_days, max(pre_days, 1))
        j = j.filter(lambda t: operator.or_(*_windows(t)))  # other rows add nothing
        after, before = _windows(j)
        aggs = {}
        for i in idx:  # each metric's filter on the few rows left after the join, not on the whole table
            keeps = _keeps(metrics[i], j)
            aggs[f"x{i}"] = _aggregate_where(metrics[i], j, after & keeps)
            aggs[f"pre{i}"] = _aggregate_where(metrics[i], j, before & keeps)
        g = j.group_by("client_id").aggregate(**aggs)
        joined = joined.left_join(g, "client_id", rname=f"{{name}}_{k}")  # keys not kept: unique names
        per_metric |= dict.fromkeys(idx, g)
    values = {}  # one select over one chain of joins: fewer nested queries for Ibis to compile than join-by-join
    for i in range(len(metrics)):
        g = per_metric[i]
        values[f"x{i}"] = g[f"x{i}"].fill_null(0.0)
        values[f"pre{i}"] = _as_float(base[covariate]).fill_null(0.0) if covariate else g[f"pre{i}"].fill_null(0.0)
    return joined.select(*(base[c] for c in base.columns), **values)


def outcomes(src: Source, metric: Metric, anchors: ibis.Table, window_days: int, pre_days: int,
             covariate: str | None = None, by: str | None = None) -> ibis.Table:
    """Per person: ``x`` (the metric in the window after t0) and ``pre`` (the same metric over the
    pre-period, or the client column ``covariate``), with ``arm`` and optionally a breakdown ``by``."""
    return person_values(src, [metric], anchors, window_days, pre_days, covariate, by).rename(x="x0", pre="pre0")


def strata(src: Source, campaign: Campaign, anchors: ibis.Table) -> ibis.Table:
    """Per person: ``client_id, arm`` and ``stratum`` = ``new`` without a full pre-period, else ``history`` —
    by the card's ``new_clients`` rule over the clients table, or else ``joined_at`` after the pre-period's
    start; ``all`` when neither can tell (no rule, no ``joined_at``, no pre-period)."""
    clients = src.table("clients")
    base = anchors.select("client_id", "arm", "t0")
    if campaign.new_clients:
        flag = compile_filter(campaign.new_clients, clients, f"campaign '{campaign.name}' new_clients")
        j = base.left_join(clients.select("client_id", cx_new=flag), "client_id")
        new = j.cx_new.fill_null(False)
    elif "joined_at" in clients.columns and campaign.pre_period_days > 0:
        j = base.left_join(clients.select("client_id", "joined_at"), "client_id")
        start = j.t0 - ibis.interval(days=campaign.pre_period_days)
        new = j.joined_at.cast("timestamp").notnull() & (j.joined_at.cast("timestamp") > start)
    else:
        return base.select("client_id", "arm", stratum=ibis.literal("all"))
    return j.select("client_id", "arm", stratum=ibis.ifelse(new, "new", "history"))


@dataclass(frozen=True)
class Persons:
    """Every metric a campaign reads, per person, computed in one pass per source table and kept in the
    engine (a temporary table): ``client_id, arm, stratum`` and ``x{i}, pre{i}`` for the metric ``i``
    of ``columns`` (metric name → i). Each metric's :class:`Values` are expressions over it."""

    table: ibis.Table
    columns: dict[str, int]


def persons(src: Source, campaign: Campaign, crowd: People, metrics: Mapping[str, Metric]) -> Persons:
    """The per-person table of every non-ratio metric in ``metrics`` (include a ratio's parts)."""
    plain = [m for m in metrics.values() if kind(m).reads_rows]
    t = person_values(src, plain, crowd.table, campaign.window_days, campaign.pre_period_days, campaign.covariate,
                      base=strata(src, campaign, crowd.table))
    t = src.cache(t)
    return Persons(t, {m.name: i for i, m in enumerate(plain)})


@dataclass(frozen=True)
class Values:
    """One metric per person, ready to sum: the kind's columns (``x, pre``; a ratio metric: ``num, den``) as
    expressions over the per-person table ``source``, winsorised columns already capped (``caps``: column →
    the cap used). Metrics over one ``source`` are summed side by side in one query (:func:`arm_stats`)."""

    source: ibis.Table
    columns: dict[str, ibis.Value]
    metric: Metric
    caps: dict[str, float]

    @property
    def kind(self) -> Kind:
        return kind(self.metric)

    @property
    def table(self) -> ibis.Table:
        """``client_id, arm, stratum`` and the kind's columns."""
        return self.source.select("client_id", "arm", "stratum", **self.columns)


def values(src: Source, people: Persons, metric: Metric) -> Values:
    """The metric's per-person values, capped when the metric is winsorised."""
    def column(name: str) -> int:
        if name not in people.columns:
            raise ValueError(f"metric '{name}' is not in this per-person table (computed: {', '.join(people.columns)})")
        return people.columns[name]

    columns, caps = capped(src, people.table, kind(metric).columns(people.table, column), metric.winsorize)
    return Values(people.table, columns, metric, caps)


def capped(src: Source, t: ibis.Table, columns: dict[str, ibis.Value],
           percentile: float | None) -> tuple[dict[str, ibis.Value], dict[str, float]]:
    """``columns`` (expressions over ``t``) with ``x`` and ``pre`` capped at their ``percentile`` over all of
    ``t`` (interpolated, computed in the engine) — never per arm, which would shrink the effect; no cap when
    ``percentile`` is None."""
    if not percentile:
        return columns, {}
    row = src.con.execute(t.aggregate(x=columns["x"].quantile(percentile), pre=columns["pre"].quantile(percentile))).iloc[0]
    caps = {k: float(row[k]) for k in ("x", "pre")}
    return columns | {k: ibis.least(columns[k], cap) for k, cap in caps.items()}, caps


def side_by_side(values: Sequence[Values], keep: Sequence[str]) -> ibis.Table:
    """The columns of each metric ``i`` of ``values`` as ``{column}{i}`` (``x0, pre0, num1``…) beside
    ``keep``: one projection of the per-person table they share, which sums read without a join."""
    source = values[0].source
    if any(v.source is not source for v in values):
        raise ValueError("metrics summed side by side must come from one per-person table")
    return source.select(*keep, **{f"{c}{i}": e for i, v in enumerate(values) for c, e in v.columns.items()})


def _by_metric(out: pd.DataFrame, values: Sequence[Values], keys: Sequence[str], sums: Callable[[Kind], Sums]) -> dict[str, pd.DataFrame]:
    """Per metric: ``keys``, ``n`` and its sums, renamed back from ``{sum}{i}``."""
    return {v.metric.name: out[[*keys, "n", *(f"{s}{i}" for s in sums(v.kind))]].rename(columns={f"{s}{i}": s for s in sums(v.kind)})
            for i, v in enumerate(values)}


def arm_stats(src: Source, values: Sequence[Values]) -> dict[str, pd.DataFrame]:
    """Per metric, per (arm, stratum): its sufficient statistics — every metric of ``values`` in one query
    over their per-person table; sum over strata for an arm."""
    if not values:
        return {}
    wide = side_by_side(values, ("arm", "stratum"))
    aggs: dict[str, ibis.Value] = {"n": wide.count()}
    for i, v in enumerate(values):
        aggs |= sum_exprs(wide, v.kind.sums, suffix=str(i))
    out = src.con.execute(wide.group_by(["arm", "stratum"]).aggregate(**aggs).order_by(["arm", "stratum"]))
    return _by_metric(out, values, ("arm", "stratum"), lambda k: k.sums)


def value_counts(src: Source, v: Values) -> tuple[pd.DataFrame, float]:
    """Per (arm, value): people — the value table of a quantile metric, values rounded to the metric's
    resolution, coarsened by powers of 10 while more than MAX_LEVELS distinct values remain; returns the
    step used."""
    step = v.metric.resolution
    while True:
        # floor(x + ½), not round(): engines round halves differently (PostgreSQL's double round is half-even)
        t = v.table.mutate(value=(v.table.x / step + 0.5).floor().cast("float64") * step)
        if src.con.execute(t.value.nunique()) <= MAX_LEVELS:
            break
        step *= 10
    return src.con.execute(t.group_by(["arm", "value"]).aggregate(people=t.count()).order_by(["arm", "value"])), step


def segment_stats(src: Source, campaign: Campaign, metric: Metric, crowd: People, column: str) -> pd.DataFrame:
    """Per (segment value, arm): sufficient statistics of the metric, for the heterogeneity view."""
    t = outcomes(src, metric, crowd.table, campaign.window_days, campaign.pre_period_days, by=column)
    t = t.mutate(segment=t[column].cast("string").fill_null("(missing)"))
    return src.con.execute(aggregate(t, ["segment", "arm"], Mean.outcome_sums))


def trend_stats(src: Source, campaign: Campaign, metric: Metric, crowd: People, pre_periods: int = 3) -> pd.DataFrame:
    """Per (period, arm): sufficient statistics of the metric in consecutive windows around the send
    (period −k … −1 before, 0 the measurement window), plus per-person change post − mean(pre)."""
    periods = range(-pre_periods, 1)
    wide = src.cache(period_values(src, metric, crowd.table, periods, campaign.window_days))  # read five times
    parts = [wide.select("arm", period=ibis.literal(p), x=wide[_col(p)]) for p in periods]
    long = functools.reduce(ibis.Table.union, parts)
    pre_mean = sum(wide[_col(p)] for p in periods if p < 0) / pre_periods
    change = wide.select("arm", period=ibis.literal(99), x=wide[_col(0)] - pre_mean)
    frame = src.con.execute(aggregate(long.union(change), ["period", "arm"], Mean.outcome_sums))
    frame["period"] = frame["period"].astype(int)
    return frame


def score_bins(src: Source, campaign: Campaign, metric: Metric, crowd: People, bins: int = 10) -> pd.DataFrame:
    """Per score bin (1 = highest scores): treated and control people and their outcome sums."""
    column = campaign.score_column
    c = src.table("communications")
    if not column or column not in c.columns:
        raise DataError(f"communications has no score column '{column}'")
    c = c.filter(c.campaign_id.isin(campaign.campaign_ids))
    scores = c.group_by("client_id").aggregate(score=c[column].max())
    t = outcomes(src, metric, crowd.table, campaign.window_days, campaign.pre_period_days)
    t = t.join(scores, "client_id").filter(lambda r: r.score.notnull())
    # equal scores are split between bins in a seeded pseudo-random order (not by id, which may follow the
    # arm), the same on every engine
    order = [ibis.desc(t.score), keys.key(t.client_id, "score_bins"), t.client_id]
    t = t.mutate(bin=(ibis.ntile(bins).over(order_by=order) + 1))
    treated = t.arm != campaign.control_arm
    out = t.group_by("bin").aggregate(
        n_t=treated.sum(), y_t=ibis.ifelse(treated, t.x, 0.0).sum(),
        n_c=(~treated).sum(), y_c=ibis.ifelse(treated, 0.0, t.x).sum(),
        score_min=t.score.min(), score_max=t.score.max(),
    ).order_by("bin")
    return src.con.execute(out)


def sends(src: Source, campaign: Campaign, crowd: People) -> pd.DataFrame:
    """Communications rows and people per arm (the cost base: every row sent costs a contact)."""
    t = crowd.table
    return src.con.execute(t.group_by("arm").aggregate(people=t.count(), rows=t.rows.sum()).order_by("arm"))


def people_by(src: Source, crowd: People, column: str) -> pd.DataFrame:
    """People per (value of a client column, arm): the input of a per-dimension sample-ratio check."""
    clients = src.table("clients")
    if column not in clients.columns:
        raise DataError(f"clients has no column '{column}' to check the split by; columns: {', '.join(clients.columns)}")
    t = crowd.table.join(clients.select("client_id", column), "client_id")
    t = t.mutate(segment=t[column].cast("string").fill_null("(missing)"))
    return src.con.execute(t.group_by(["segment", "arm"]).aggregate(people=t.count()).order_by(["segment", "arm"]))


def fake_split_sums(src: Source, values: Sequence[Values], runs: int, control_share: float,
                    seed: int) -> dict[str, pd.DataFrame]:
    """Per metric, per (run, fake arm): its sufficient statistics — every split of every metric in ONE
    query, arms from seeded keys that every engine computes alike (:mod:`cxlab.compute.keys`); the A/A
    check's input (:mod:`cxlab.analyses.aa`).

    One md5 of (client, block, seed) holds the keys of :data:`~cxlab.compute.keys.PARTS` runs (block =
    run // PARTS), and the people are summed per (block, each of those runs' arms) before the sums are
    spread to the runs: the engine hashes and groups people × runs / PARTS rows, not people × runs."""
    wide = side_by_side(values, ("client_id",))
    blocks = ibis.memtable(pd.DataFrame({"block": np.arange(-(-runs // keys.PARTS), dtype=np.int64)}))
    hashed = wide.cross_join(blocks)
    hashed = hashed.mutate(k=keys.key(hashed.client_id, hashed.block, str(seed)))
    flags = [f"control{p}" for p in range(keys.PARTS)]
    hashed = hashed.mutate(**{f: keys.below(hashed.k, control_share, p) for p, f in enumerate(flags)})
    aggs: dict[str, ibis.Value] = {"n": hashed.count()}
    for i, v in enumerate(values):
        aggs |= sum_exprs(hashed, v.kind.outcome_sums, suffix=str(i))
    cells = hashed.group_by(["block", *flags]).aggregate(**aggs)
    run = np.arange(runs, dtype=np.int64)
    parts = ibis.memtable(pd.DataFrame({"block": run // keys.PARTS, "part": run % keys.PARTS, "run": run}))
    j = cells.join(parts, "block")
    control = ibis.cases(*((j.part == p, j[f]) for p, f in enumerate(flags)))
    j = j.mutate(fake=ibis.ifelse(control, "control", "treatment"))
    out = src.con.execute(j.group_by(["run", "fake"]).aggregate(**{name: j[name].sum() for name in aggs})
                          .order_by(["run", "fake"]))
    return _by_metric(out, values, ("run", "fake"), lambda k: k.outcome_sums)


def restricted(src: Source, people: ibis.Table, client_ids: pd.Series) -> ibis.Table:
    """``people`` (client_id, arm, t0, rows) kept to ``client_ids`` (chosen outside the engine: the matched
    clients), computed once into the engine."""
    kept = ibis.memtable(pd.DataFrame({"client_id": client_ids}))
    return src.cache(people.join(kept, "client_id").select("client_id", "arm", "t0", "rows"))
