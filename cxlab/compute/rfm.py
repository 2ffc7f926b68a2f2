"""The per-client recency / frequency / monetary summary of a purchase log, computed in the engine.

This is the input of every buy-till-you-die model (:mod:`cxlab.stats.btyd`) and the step that makes peer
libraries run out of memory: lifetimes' ``summary_data_from_transaction_data`` and
``calibration_and_holdout_data`` pull every transaction into pandas. Here the summary is an Ibis expression
(one row per client, left in the engine) and the models read small frames of counts by distinct
``(frequency, recency, T)``.

Definition (lifetimes 0.11 ``utils._find_first_transactions`` / ``summary_data_from_transaction_data``, the
definition behind the published CDNOW summary ``cdnow_customers_summary.csv`` of Fader, Hardie & Lee 2005):

- purchases are the contracts opened (``holdings.opened_at``, value = ``holdings.value``), or the events of
  one type (``Split.events``: ``events.ts``, ``events.value``), and are aggregated
  per *period* of ``period_days`` days (1 = per day): several purchases in one period count as one, their
  values summed;
- ``first`` / ``last``: the first period with a purchase and the last one up to the calibration end;
- ``frequency`` = the number of *repeat* periods with a purchase in calibration (periods after the first);
- ``recency`` = last − first and ``T`` (age) = calibration end − first, in units of ``unit_days`` days
  (7 = weeks, as the CDNOW references use);
- ``monetary`` = the mean value per repeat period (0 without a repeat purchase), lifetimes'
  ``monetary_value`` and the ``zbar`` of ``cdnow_customers_summary_with_transactions.csv``;
- holdout: ``frequency_holdout`` / ``monetary_holdout`` count the periods with a purchase after the
  calibration end, up to the observation end; ``duration_holdout`` = observation end − calibration end.

Both ends are inclusive days: a purchase on ``calibration_end`` is in calibration (with periods longer than
a day, the calibration ends with the period that contains ``calibration_end``). Clients whose first
purchase is after the calibration end are not in the summary (lifetimes drops them the same way).
Periods are counted from 1970-01-01 (``period = days since 1970-01-01 // period_days``), the same on
every engine; times are whole periods × ``period_days`` / ``unit_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import numpy as np
import pandas as pd

from cxlab.data.connect import Source
from cxlab.errors import DataError, ParameterError

#: Day 0 of the period count.
ORIGIN = date(1970, 1, 1)


@dataclass(frozen=True)
class Split:
    """How the summary is taken: the calibration end, the observation end, period and time unit in days."""

    calibration_end: date
    observation_end: date
    period_days: int = 1
    unit_days: float = 7.0
    #: "" = purchases are the contracts opened (holdings); else the events of this type (ts, value).
    events: str = ""

    def __post_init__(self) -> None:
        if self.period_days < 1:
            raise ParameterError(f"period_days must be 1 or more, got {self.period_days}")
        if self.unit_days <= 0:
            raise ParameterError(f"unit_days must be positive, got {self.unit_days}")
        if self.observation_end < self.calibration_end:
            raise ParameterError(f"observation_end {self.observation_end} is before calibration_end {self.calibration_end}")

    @property
    def holdout_duration(self) -> float:
        """The holdout's length in time units (whole periods)."""
        return (_period(self.observation_end, self.period_days) - _period(self.calibration_end, self.period_days)) \
            * self.period_days / self.unit_days


def _period(day: date, period_days: int) -> int:
    return (pd.Timestamp(day) - pd.Timestamp(ORIGIN)).days // period_days


def default_split(src: Source, holdout_days: int, period_days: int = 1, unit_days: float = 7.0, events: str = "") -> Split:
    """Observation end = the last purchase day; calibration end ``holdout_days`` before it."""
    if events:
        e = src.table("events")
        last = src.con.execute(e.filter(e.event_type == events).ts.cast("timestamp").max())
        what = f"events: no event of type '{events}'"
    else:
        last = src.con.execute(src.table("holdings").opened_at.cast("timestamp").max())
        what = "holdings: no contract has an opened_at"
    if last is None or pd.isna(last):
        raise DataError(f"{what}, so there is no purchase log to summarise")
    end = pd.Timestamp(last).date()
    return Split(end - pd.Timedelta(days=holdout_days), end, period_days, unit_days, events)


def _per_period(src: Source, split: Split, product_line: str = "") -> ibis.Table:
    """``client_id, p, value``: one row per client and period with a purchase up to the observation end."""
    if split.events:
        h = src.table("events")
        h = h.filter(h.event_type == split.events)
        when = h.ts
    else:
        h = src.table("holdings")
        if product_line:
            p = src.table("products").select("product_id", "product_line")
            h = h.join(p.filter(p.product_line == product_line), "product_id")
        when = h.opened_at
    day = when.cast("timestamp").date()
    value = h.value.cast("float64").fill_null(0.0) if "value" in h.columns else ibis.literal(0.0)
    t = h.select("client_id", day=day, value=value)
    t = t.filter(t.day <= ibis.date(split.observation_end))
    idx = t.day.delta(ibis.date(ORIGIN), unit="day")
    t = t.select("client_id", "value", "day", p=idx if split.period_days == 1 else (idx / split.period_days).floor().cast("int64"))
    return t.group_by(["client_id", "p"]).aggregate(value=t.value.sum(), day=t.day.min())


def summary(src: Source, split: Split, product_line: str = "") -> ibis.Table:
    """Per client (first purchase up to the calibration end): the calibration summary and the holdout.

    Columns: ``client_id, first`` (the first purchase day), ``last`` (the first purchase day of the last
    calibration period), ``first_period`` (its period number), ``frequency``, ``recency_periods`` and
    ``T_periods`` (recency and age in whole periods: integer keys to join per-cell predictions on),
    ``recency``, ``T``, ``monetary``, ``first_value`` (the first period's value), ``frequency_holdout``,
    ``monetary_holdout``, ``duration_holdout``. An engine expression: one row per client, never executed
    here. ``product_line`` restricts the purchases to one line ("" = all).
    """
    per = _per_period(src, split, product_line)
    cal_end = _period(split.calibration_end, split.period_days)
    first = per.group_by("client_id").aggregate(p0=per.p.min())
    first = first.filter(first.p0 <= cal_end)
    j = per.join(first, "client_id")
    cal, hold = j.p <= cal_end, j.p > cal_end
    g = j.group_by("client_id").aggregate(
        p0=j.p0.min(), p1=ibis.ifelse(cal, j.p, ibis.null("int64")).max(), d0=j.day.min(),
        d1=ibis.ifelse(cal, j.day, ibis.null("date")).max(),
        periods=j.count(where=cal), total=ibis.ifelse(cal, j.value, 0.0).sum(),
        first_value=ibis.ifelse(j.p == j.p0, j.value, 0.0).sum(),
        h_periods=j.count(where=hold), h_total=ibis.ifelse(hold, j.value, 0.0).sum())
    scale = split.period_days / split.unit_days
    freq = (g.periods - 1).cast("int64")
    h_freq = g.h_periods.cast("int64")
    return g.select(
        "client_id", first=g.d0, last=g.d1, first_period=g.p0.cast("int64"), frequency=freq,
        recency_periods=(g.p1 - g.p0).cast("int64"), T_periods=(ibis.literal(cal_end) - g.p0).cast("int64"),
        recency=(g.p1 - g.p0).cast("float64") * scale, T=(ibis.literal(cal_end) - g.p0).cast("float64") * scale,
        monetary=ibis.ifelse(freq > 0, (g.total - g.first_value) / freq.cast("float64"), 0.0),
        first_value=g.first_value, frequency_holdout=h_freq,
        monetary_holdout=ibis.ifelse(h_freq > 0, g.h_total / h_freq.cast("float64"), 0.0),
        duration_holdout=ibis.literal(split.holdout_duration))


def period_start(p, period_days: int) -> pd.Series:
    """The first day of each period number in ``p`` (computed here, not in the engine: engines add
    intervals to dates differently)."""
    return (pd.Timestamp(ORIGIN) + pd.to_timedelta(pd.Series(p, dtype="int64") * period_days, unit="D")).dt.date


def _int_sum(v: ibis.IntegerValue) -> ibis.IntegerScalar:
    """Σ of an integer column, an int64 in the engine too. DuckDB and Postgres widen an integer sum to
    128 bits / numeric, which Ibis types as int64 and so never casts (those came back as Python objects);
    summed as float64 (exact: integer partial sums far below 2⁵³) and cast back, it is a plain int64."""
    return v.cast("float64").sum().cast("int64")


def _fetch(src: Source, expr: ibis.Table, batch_rows: int = 1_000_000) -> pd.DataFrame:
    """``expr``'s rows (numeric columns without nulls) read as Arrow batches into one numpy array per column.

    Ibis' ``execute`` copies a result several times on the way to pandas: on millions of cells that doubled
    the frame's share of the peak memory (issue #21, docs/benchmark.md)."""
    reader = src.con.to_pyarrow_batches(expr, chunk_size=batch_rows)
    parts: dict[str, list[np.ndarray]] = {f.name: [np.empty(0, f.type.to_pandas_dtype())] for f in reader.schema}
    for batch in reader:
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            parts[name].append(column.to_numpy())
    return pd.DataFrame({name: np.concatenate(parts.pop(name)) for name in list(parts)}, copy=False)


def cells(src: Source, summary_table: ibis.Table, split: Split) -> pd.DataFrame:
    """Clients counted by distinct ``(frequency, recency, T)``, with their holdout sums — the models' input.

    Columns: ``frequency, recency_periods, T_periods, recency, T, n, holdout_sum`` (Σ holdout purchases),
    ``holdout_sq`` (Σ of their squares), ordered by the keys. The likelihoods are sums over clients of a function of these three
    numbers, so counts by distinct triple are sufficient and much smaller than the base.
    """
    s = summary_table
    keys = ["frequency", "recency_periods", "T_periods"]
    out = _fetch(src, s.group_by(keys).aggregate(
        n=s.count(), holdout_sum=_int_sum(s.frequency_holdout),
        holdout_sq=_int_sum(s.frequency_holdout * s.frequency_holdout)).order_by(keys))
    out = out.astype({k: "int64" for k in [*keys, "n", "holdout_sum", "holdout_sq"]})
    scale = split.period_days / split.unit_days
    out.insert(3, "recency", out.recency_periods * scale)
    out.insert(4, "T", out.T_periods * scale)
    return out


def monetary_cells(src: Source, summary_table: ibis.Table, decimals: int = 2) -> pd.DataFrame:
    """Repeat clients counted by ``(frequency, monetary rounded to decimals)``: the Gamma-Gamma input.

    Columns ``frequency, monetary, n``. Rounding to cents changes the likelihood by far less than its
    sampling error and bounds the frame by the distinct amounts, not the clients.
    """
    s = summary_table.filter(summary_table.frequency > 0)
    # Engines add floating-point numbers in different orders, so a mean that sits on a half cent would round
    # either way. The repeat total is first rounded to whole units of 10^-decimals (stable: its error is far
    # below half a unit), then divided by the integer frequency (correctly rounded everywhere) and rounded
    # half up by floor: the same cells on every engine (22.345 → 22.35, as the published CDNOW file).
    scale = 10.0 ** decimals
    units = (s.monetary * s.frequency.cast("float64") * scale + 0.5).floor().cast("float64")
    m = (units / s.frequency.cast("float64") + 0.5).floor().cast("float64") / scale
    out = _fetch(src, s.group_by(["frequency", m.name("monetary")]).aggregate(n=s.count()).order_by(["frequency", "monetary"]))
    return out.astype({"frequency": "int64", "monetary": "float64", "n": "int64"})


def monetary_moments(src: Source, summary_table: ibis.Table) -> pd.DataFrame:
    """Σ over repeat clients of frequency, monetary, their squares and product (one row, column ``n`` too):
    the sufficient statistics of the Gamma-Gamma independence check (a correlation)."""
    s = summary_table.filter(summary_table.frequency > 0)
    x, m = s.frequency.cast("float64"), s.monetary
    return src.con.execute(s.aggregate(n=s.count(), x_sum=x.sum(), x_sum_sq=(x * x).sum(), m_sum=m.sum(),
                                       m_sum_sq=(m * m).sum(), xm_sum=(x * m).sum()))


def cohort_days(src: Source, summary_table: ibis.Table, split: Split) -> pd.DataFrame:
    """Clients by the period of their first purchase (``period, start, n``): the tracking plot's cohort."""
    s = summary_table
    out = src.con.execute(s.group_by(period=s.first_period).aggregate(n=s.count()).order_by("period"))
    out.insert(1, "start", period_start(out.period, split.period_days))
    return out.astype({"period": "int64", "n": "int64"})


def repeat_by_period(src: Source, split: Split, summary_table: ibis.Table, product_line: str = "") -> pd.DataFrame:
    """Repeat purchases (periods after each client's first) of the summary's clients, by period date, up to
    the observation end: ``period, start, repeats`` — the observed line of the cumulative tracking plot."""
    per = _per_period(src, split, product_line)
    first = summary_table.select("client_id", "first_period")
    j = per.join(first, "client_id")
    j = j.filter(j.p > j.first_period)
    out = src.con.execute(j.group_by(period=j.p).aggregate(repeats=j.count()).order_by("period"))
    out.insert(1, "start", period_start(out.period, split.period_days))
    return out.astype({"period": "int64", "repeats": "int64"})


def summary_facts(src: Source, summary_table: ibis.Table) -> pd.DataFrame:
    """One row: clients, repeat clients (frequency > 0), Σ frequency, Σ holdout purchases, mean T."""
    s = summary_table
    return src.con.execute(s.aggregate(clients=s.count(), repeat_clients=(s.frequency > 0).sum(),
                                       repeat_purchases=s.frequency.sum(), holdout_purchases=s.frequency_holdout.sum(),
                                       mean_T=s["T"].mean()))


__all__ = ["ORIGIN", "Split", "cells", "cohort_days", "default_split", "monetary_cells", "monetary_moments", "period_start",
           "repeat_by_period", "summary", "summary_facts"]


def scored(src: Source, split: Split, cell_scores: pd.DataFrame, gamma_gamma: tuple[float, float, float] | None,
           fallback: float, product_line: str = "") -> ibis.Table:
    """Every client's forward-looking scores, as an engine expression (nothing is pulled into pandas): the
    per-cell predictions ``cell_scores`` (keyed by frequency, recency_periods, T_periods) joined back to the
    clients, and the spend per purchase — Gamma-Gamma's posterior mean from ``gamma_gamma`` = (p, q, the
    population mean), or ``fallback`` for everyone.

    Columns: ``client_id, frequency, recency, T, monetary, past_value`` (Σ of all purchases), ``p_alive``,
    ``expected_purchases``, ``p_no_purchase`` (over the horizon), ``expected_spend``, ``value`` (discounted
    expected value over the horizon), ``alive_by_construction``.
    """
    s = summary(src, split, product_line)
    j = s.join(ibis.memtable(cell_scores), ["frequency", "recency_periods", "T_periods"])
    if gamma_gamma is not None:
        p, q, mean = gamma_gamma
        x = j.frequency.cast("float64")
        w = p * x / (p * x + (q - 1))
        spend = (1 - w) * mean + w * ibis.ifelse(j.frequency > 0, j.monetary, 0.0)
    else:
        spend = ibis.literal(fallback)
    past = j.first_value + j.monetary * j.frequency.cast("float64")
    return j.select("client_id", "frequency", "recency", "T", "monetary", past_value=past, p_alive=j.p_alive,
                    expected_purchases=j.expected_purchases, p_no_purchase=j.p_no_purchase,
                    expected_spend=spend, value=spend * j.discounted_purchases,
                    alive_by_construction=j.alive_by_construction)


def _at_risk(t: ibis.Table, threshold: float) -> ibis.BooleanValue:
    return (t.frequency > 0) & (t.p_alive < threshold)


def at_risk(t: ibis.Table, threshold: float) -> ibis.Table:
    """Repeat clients of a :func:`scored` table whose P(alive) is below ``threshold``, largest past value first."""
    t = t.filter(_at_risk(t, threshold))
    return t.order_by([ibis.desc(t.past_value), t.client_id])


def value_totals(src: Source, t: ibis.Table, threshold: float) -> pd.Series:
    """Sums over a :func:`scored` table: clients, expected alive, purchases and value, the clients alive by
    construction, the at-risk clients and their past value, and the past value of all."""
    risk = _at_risk(t, threshold)
    return src.con.execute(t.aggregate(
        clients=t.count(), alive=t.p_alive.sum(), expected_purchases=t.expected_purchases.sum(), value=t.value.sum(),
        by_construction=t.alive_by_construction.sum(), at_risk=risk.sum(),
        at_risk_past_value=ibis.ifelse(risk, t.past_value, 0.0).sum(), past_value=t.past_value.sum())).iloc[0]


def value_by(src: Source, t: ibis.Table, groups: ibis.Table, key: str, threshold: float) -> pd.DataFrame:
    """A :func:`scored` table summed per ``groups.key`` (``groups``: client_id, key): clients, mean and sum of
    P(alive), expected purchases, value, past value and the at-risk clients; value per client."""
    t = t.join(groups, "client_id")
    g = t.group_by(key).aggregate(clients=t.count(), p_alive=t.p_alive.mean(), alive=t.p_alive.sum(),
                                  expected_purchases=t.expected_purchases.sum(), value=t.value.sum(),
                                  past_value=t.past_value.sum(), at_risk=_at_risk(t, threshold).sum())
    out = src.con.execute(g.order_by(key)).rename(columns={key: "group"})
    out["value_per_client"] = out.value / out.clients
    out["group"] = out["group"].astype(str)
    return out.astype({"clients": "int64", "at_risk": "int64"})


def segment_groups(src: Source, column: str) -> ibis.Table:
    """client_id and the client column ``column`` as text, named ``segment``."""
    c = src.table("clients")
    return c.select("client_id", segment=c[column].cast("string"))
