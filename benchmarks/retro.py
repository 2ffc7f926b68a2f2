"""Campaign retrospective of ``cc_spring_2025``, as notebook 04 computes it through :mod:`cxlab.compute.retro`:
communications de-duplicated to people (first send, one arm, global control out); per arm, how many people
also received a competing campaign (``push_%``, ``black_friday_%``) in their 30-day window, and the ten
competing campaigns that reached most of them; and per arm and has-history stratum (``new``: joined within
the 90-day pre-period), the sufficient statistics of seven of the card's metrics (the primary, the count
and sum secondaries and four guardrails — the per-person kinds every other metric is built from) over the
30-day window with the 90-day pre-period as covariate: n, Σx, Σx², Σpre, Σpre², Σx·pre. All three
implementations compute all of it.

Result: ``people/{step}`` (rows → people), ``exposure/{arm}/{people|exposed}``, ``competitors/{campaign}``
and ``{metric}/{arm}/{stratum}/{statistic}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.layout import scan, table_path

TITLE = "campaign retro (people, exposure to competing campaigns, 7 metrics × 3 arms × 2 has-history strata)"
CAMPAIGN = "cc_spring_2025"
WINDOW_DAYS, PRE_DAYS = 30, 90
COMPETING = ("push_%", "black_friday_%")
STATS = ("n", "x_sum", "x_sum_sq", "pre_sum", "pre_sum_sq", "x_pre_sum")
#: Seven of the card's metrics with the per-person columns the SQL computes for each.
METRICS = {"cc_conversion": "(cc_{w} > 0)::double", "cards_opened": "cc_{w}::double",
           "card_spend": "coalesce(spend_{w}, 0)", "unsubscribe_rate": "(unsub_{w} > 0)::double",
           "complaint_rate": "(complaint_{w} > 0)::double", "early_closure": "(early_{w} > 0)::double",
           "other_line_openings": "(other_{w} > 0)::double"}

PEOPLE_SQL = """
create temp table per as
select m.client_id, m.arms, m.arm, m.t0, m.rows, coalesce(c.global_control, false) as gc, c.joined_at
from (select client_id, count(distinct arm) as arms, min(arm) as arm, min(sent_at) as t0, count(*) as rows
      from (select client_id, coalesce(arm, "group") as arm, sent_at from {communications} where campaign_id = '{campaign}')
      group by client_id) m
left join {clients} c using (client_id)
"""

SUMMARY_SQL = """
select sum(rows), count(*), count(*) filter (where rows > 1), count(*) filter (where arms > 1),
       count(*) filter (where gc and arms = 1) from per
"""

EXPOSURE_SQL = """
create temp table hit as
select distinct p.client_id, m.campaign_id
from {communications} m join (select client_id, t0 from per where arms = 1 and not gc) p using (client_id)
where m.campaign_id <> '{campaign}' and m."group" = 'treatment' and ({competing})
  and m.sent_at > p.t0 and m.sent_at <= p.t0 + interval {window} day
"""

ARM_EXPOSURE_SQL = """
select p.arm, count(*), count(e.client_id)
from (select client_id, arm from per where arms = 1 and not gc) p left join (select distinct client_id from hit) e using (client_id)
group by p.arm
"""

COMPETITORS_SQL = "select campaign_id, count(distinct client_id) as n from hit group by campaign_id order by n desc, campaign_id limit 10"

STATS_SQL = """
with people as (select client_id, arm, t0,
                       case when joined_at is not null and joined_at::timestamp > t0 - interval {pre} day
                            then 'new' else 'history' end as stratum
                from per where arms = 1 and not gc),
hw as (select p.client_id,
              h.opened_at > p.t0 and h.opened_at <= p.t0 + interval {window} day as post,
              h.opened_at >= p.t0 - interval {pre} day and h.opened_at < p.t0 as pre,
              r.product_line = 'credit_card' as cc,
              h.closed_at is not null and date_diff('day', h.opened_at::date, h.closed_at::date) < 90 as early,
              r.product_line not in ('credit_card', 'current_account') as other
       from {holdings} h join {products} r using (product_id) join people p using (client_id)),
hm as (select client_id,
              count(*) filter (where post and cc) as cc_x, count(*) filter (where pre and cc) as cc_pre,
              count(*) filter (where post and early) as early_x, count(*) filter (where pre and early) as early_pre,
              count(*) filter (where post and other) as other_x, count(*) filter (where pre and other) as other_pre
       from hw where post or pre group by client_id),
ew as (select p.client_id, e.event_type, coalesce(e.value, 0) as value,
              e.ts > p.t0 and e.ts <= p.t0 + interval {window} day as post,
              e.ts >= p.t0 - interval {pre} day and e.ts < p.t0 as pre
       from {events} e join people p using (client_id)
       where e.event_type in ('card_spend', 'unsubscribe', 'complaint')),
em as (select client_id,
              sum(value) filter (where post and event_type = 'card_spend') as spend_x,
              sum(value) filter (where pre and event_type = 'card_spend') as spend_pre,
              count(*) filter (where post and event_type = 'unsubscribe') as unsub_x,
              count(*) filter (where pre and event_type = 'unsubscribe') as unsub_pre,
              count(*) filter (where post and event_type = 'complaint') as complaint_x,
              count(*) filter (where pre and event_type = 'complaint') as complaint_pre
       from ew where post or pre group by client_id),
person as (select arm, stratum, {person} from people left join hm using (client_id) left join em using (client_id))
select arm, stratum, count(*) as n, {sums} from person group by arm, stratum
"""


@dataclass(frozen=True)
class Config:
    """The campaign card and its metric cards, in the card's order."""

    campaign: Any
    metrics: list[Any]


def configure(catalog: Path) -> Config:
    """The campaign card and its metrics from the catalogue (outside the clock)."""
    from cxlab.catalog import load_catalog

    cat = load_catalog(catalog)
    card = cat.campaigns[CAMPAIGN]
    names = set(card.metrics.names)
    if not set(METRICS) <= names or (card.window_days, card.pre_period_days) != (WINDOW_DAYS, PRE_DAYS):
        raise ValueError(f"the {CAMPAIGN} card changed ({sorted(names)}, {card.window_days} / {card.pre_period_days} "
                         "days); update benchmarks/retro.py (METRICS and the hand-written rules)")
    return Config(card, [cat.metrics[n] for n in METRICS])


def cxlab(folder: Path, config: Config) -> dict[str, float]:
    """``people``, the per-person table and each metric's sums, as ``cxlab.analyses.retro`` calls them."""
    from cxlab.compute import retro as cr
    from cxlab.data import connect

    src = connect(folder)
    crowd = cr.people(src, config.campaign)
    result = {f"people/{r.step}": int(r.count) for r in crowd.summary.itertuples() if r.step != "excluded_competing"}
    result |= _exposure(crowd.exposure.itertuples(index=False), crowd.competitors.itertuples(index=False))
    people = cr.persons(src, config.campaign, crowd, {m.name: m for m in config.metrics})
    sums = cr.arm_stats(src, [cr.values(src, people, metric) for metric in config.metrics])
    for metric in config.metrics:
        for row in sums[metric.name].itertuples(index=False):
            for stat in STATS:
                result[f"{metric.name}/{row.arm}/{row.stratum}/{stat}"] = _number(getattr(row, stat))
    return result


def _exposure(arms: Any, competitors: Any) -> dict[str, float]:
    """``exposure/{arm}/…`` from (arm, people, exposed) rows and ``competitors/{campaign}`` from (campaign, people)."""
    result: dict[str, float] = {}
    for arm, people, exposed in arms:
        result |= {f"exposure/{arm}/people": int(people), f"exposure/{arm}/exposed": int(exposed)}
    return result | {f"competitors/{campaign}": int(people) for campaign, people in competitors}


def _number(value: Any) -> float:
    return int(value) if float(value).is_integer() else float(value)


def _people_summary(values: tuple) -> dict[str, float]:
    rows, people, repeated, several, gc = (int(v) for v in values)
    return {"people/rows": rows, "people/people": people, "people/people_with_several_rows": repeated,
            "people/excluded_several_arms": several, "people/excluded_global_control": gc,
            "people/analysed": people - several - gc}


def sql(folder: Path) -> dict[str, float]:
    """Hand-written DuckDB: people into a temporary table, then one query for every metric and arm."""
    import duckdb

    tables = {t: scan(folder, t) for t in ("communications", "clients", "holdings", "products", "events")}
    con = duckdb.connect()
    con.execute(PEOPLE_SQL.format(campaign=CAMPAIGN, **tables))
    result = _people_summary(con.execute(SUMMARY_SQL).fetchone())
    competing = " or ".join(f"m.campaign_id like '{p}'" for p in COMPETING)
    con.execute(EXPOSURE_SQL.format(campaign=CAMPAIGN, competing=competing, window=WINDOW_DAYS, **tables))
    result |= _exposure(con.execute(ARM_EXPOSURE_SQL).fetchall(), con.execute(COMPETITORS_SQL).fetchall())
    person = ", ".join(f"{expr.format(w='x')} as {m}_x, {expr.format(w='pre')} as {m}_pre" for m, expr in METRICS.items())
    sums = ", ".join(f"sum({m}_x) as {m}__x_sum, sum({m}_x * {m}_x) as {m}__x_sum_sq, sum({m}_pre) as {m}__pre_sum, "
                     f"sum({m}_pre * {m}_pre) as {m}__pre_sum_sq, sum({m}_x * {m}_pre) as {m}__x_pre_sum" for m in METRICS)
    cur = con.execute(STATS_SQL.format(window=WINDOW_DAYS, pre=PRE_DAYS, person=person, sums=sums, **tables))
    columns = [d[0] for d in cur.description]
    for values in cur.fetchall():
        row = dict(zip(columns, values, strict=True))
        for m in METRICS:
            result[f"{m}/{row['arm']}/{row['stratum']}/n"] = int(row["n"])
            for stat in STATS[1:]:
                result[f"{m}/{row['arm']}/{row['stratum']}/{stat}"] = _number(row[f"{m}__{stat}"])
    return result


def pandas(folder: Path) -> dict[str, float]:
    """What an analyst writes today: group the sends by client, merge the rows onto people, mask windows."""
    import pandas as pd

    sends = pd.read_parquet(table_path(folder, "communications"), columns=["client_id", "campaign_id", "sent_at", "group", "arm"])
    comm = sends[sends.campaign_id == CAMPAIGN].assign(arm=lambda t: t.arm.fillna(t.group))
    per = comm.groupby("client_id").agg(arms=("arm", "nunique"), arm=("arm", "min"), t0=("sent_at", "min"), rows=("arm", "size"))
    clients = pd.read_parquet(table_path(folder, "clients"), columns=["client_id", "global_control", "joined_at"]).set_index("client_id")
    per["gc"] = clients.global_control.reindex(per.index).fillna(False).astype(bool)
    result = _people_summary((per.rows.sum(), len(per), (per.rows > 1).sum(), (per.arms > 1).sum(),
                              (per.gc & (per.arms == 1)).sum()))
    people = per[(per.arms == 1) & ~per.gc][["arm", "t0"]]
    days = pd.Timedelta(days=1)
    joined = clients.joined_at.reindex(people.index)
    people["stratum"] = (joined.notna() & (joined > people.t0 - PRE_DAYS * days)).map({True: "new", False: "history"})
    other = sends[(sends.campaign_id != CAMPAIGN) & (sends.group == "treatment")
                  & sends.campaign_id.str.fullmatch("|".join(p.replace("_", ".").replace("%", ".*") for p in COMPETING))]  # LIKE
    other = other[["client_id", "campaign_id", "sent_at"]].merge(people[["t0"]], left_on="client_id", right_index=True)
    hit = other[(other.sent_at > other.t0) & (other.sent_at <= other.t0 + WINDOW_DAYS * days)][["client_id", "campaign_id"]].drop_duplicates()
    exposed = people.index.isin(hit.client_id)
    arms = people.assign(exposed=exposed).groupby("arm").agg(people=("exposed", "size"), exposed=("exposed", "sum"))
    top = hit.groupby("campaign_id").client_id.nunique().reset_index(name="n").sort_values(["n", "campaign_id"], ascending=[False, True]).head(10)
    result |= _exposure(arms.itertuples(), top.itertuples(index=False))
    holdings = pd.read_parquet(table_path(folder, "holdings")).merge(pd.read_parquet(table_path(folder, "products")), on="product_id")
    holdings = holdings.merge(people, left_on="client_id", right_index=True).rename(columns={"opened_at": "ts"})
    events = pd.read_parquet(table_path(folder, "events"), columns=["client_id", "event_type", "ts", "value"])
    events = events[events.event_type.isin(["card_spend", "unsubscribe", "complaint"])]
    events = events.merge(people, left_on="client_id", right_index=True)
    early = holdings.closed_at.notna() & ((holdings.closed_at.dt.normalize() - holdings.ts.dt.normalize()) < 90 * days)
    rows = {"cc_conversion": (holdings, holdings.product_line == "credit_card", "any"),
            "cards_opened": (holdings, holdings.product_line == "credit_card", "count"),
            "card_spend": (events, events.event_type == "card_spend", "sum"),
            "unsubscribe_rate": (events, events.event_type == "unsubscribe", "any"),
            "complaint_rate": (events, events.event_type == "complaint", "any"),
            "early_closure": (holdings, early, "any"),
            "other_line_openings": (holdings, ~holdings.product_line.isin(["credit_card", "current_account"]), "any")}
    for name, (t, mask, how) in rows.items():
        post = mask & (t.ts > t.t0) & (t.ts <= t.t0 + WINDOW_DAYS * days)
        pre = mask & (t.ts >= t.t0 - PRE_DAYS * days) & (t.ts < t.t0)
        frame = people[["arm", "stratum"]].assign(x=_per_person(t[post], how, people.index), pre=_per_person(t[pre], how, people.index))
        frame = frame.assign(x_sq=frame.x ** 2, pre_sq=frame.pre ** 2, x_pre=frame.x * frame.pre)
        sums = frame.groupby(["arm", "stratum"]).agg(n=("x", "size"), x_sum=("x", "sum"), x_sum_sq=("x_sq", "sum"), pre_sum=("pre", "sum"),
                                        pre_sum_sq=("pre_sq", "sum"), x_pre_sum=("x_pre", "sum"))
        for (arm, stratum), row in sums.iterrows():
            for stat in STATS:
                result[f"{name}/{arm}/{stratum}/{stat}"] = _number(row[stat])
    return result


def _per_person(rows: Any, how: str, people: Any) -> Any:
    """The metric per person (0 for people without rows): any row, the number of rows, or the sum of value."""
    g = rows.groupby("client_id")
    value = g.size() > 0 if how == "any" else g.size() if how == "count" else g.value.sum()
    return value.astype(float).reindex(people, fill_value=0.0)
