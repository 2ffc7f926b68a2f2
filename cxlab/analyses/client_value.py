"""The client base looking forward: who is still a client, how much each will buy, what each is worth.

One entry, :func:`client_value`:

1. the recency / frequency / monetary summary in the engine (:mod:`cxlab.compute.rfm`), with the last
   ``holdout_days`` held out;
2. BG/NBD, modified BG/NBD and Pareto/NBD fitted on the calibration counts and checked on the holdout
   (period transactions, calibration vs holdout, cumulative tracking); Gamma-Gamma for the spend per
   purchase with its independence check (:mod:`cxlab.stats.btyd`);
3. the chosen model refitted on the whole history and applied to every client *in the engine*: per-cell
   predictions (P(alive), expected purchases and P(no purchase) over the horizon, discounted purchases)
   are computed once per distinct (x, t_x, T) and joined back on integer keys, so a scored client never
   leaves the engine; value = discounted purchases × the Gamma-Gamma spend, computed in the engine too;
4. value and P(alive) by ABC class, by a client column (segment) and by product line; the "at risk"
   list (repeat clients whose P(alive) fell below a threshold, best past value first), exportable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import ClassVar

import ibis
import numpy as np
import pandas as pd

from cxlab.analyses.result import Result
from cxlab.compute import base, rfm
from cxlab.data.connect import Source
from cxlab.errors import NotApplicable, ParameterError
from cxlab.stats import btyd

#: Fewest repeat clients the models are fitted on.
MIN_REPEAT_CLIENTS = 20
#: Above this many distinct (x, t_x, T) cells the Pareto/NBD (whose likelihood calls ₂F₁ per cell, slow at
#: extreme parameters: 150 s on the 20,000-client demo's 16,500 cells) is compared only when it is the chosen model.
PARETO_MAX_CELLS = 5000
#: Days per "month" of the discounting steps (lifetimes uses 30).
MONTH_DAYS = 30.0


@dataclass(frozen=True)
class Diagnostics:
    """How well a model fitted on calibration describes the data (FHL 2005 figures 2–4)."""

    period_transactions: pd.DataFrame
    calibration_holdout: pd.DataFrame
    tracking: pd.DataFrame


@dataclass(frozen=True)
class ClientValue(Result):
    """What :func:`client_value` found. Fitted models are frozen records; frames are small."""

    title: ClassVar[str] = "Client value"

    split: rfm.Split
    model: str
    calibration: dict[str, btyd.Fit]
    comparison: pd.DataFrame
    diagnostics: Diagnostics
    scoring_fit: btyd.Fit
    gamma_gamma: btyd.GammaGamma | None
    independence: btyd.Correlation
    spend_fallback: float
    horizon_days: int
    monthly_discount: float
    p_alive_threshold: float
    base_facts: dict
    by_abc: pd.DataFrame
    by_segment: pd.DataFrame
    segment_column: str
    by_line: pd.DataFrame
    at_risk: dict
    cell_scores: pd.DataFrame = field(repr=False)
    calibration_cells: int = 0

    def facts(self) -> dict:
        """Raw values for the message templates."""
        f = self.scoring_fit
        gg = self.gamma_gamma
        return {**self.base_facts, "model": self.model, "params": f.params, "log_likelihood": f.log_likelihood,
                "calibration_end": self.split.calibration_end, "observation_end": self.split.observation_end,
                "holdout_weeks": self.split.holdout_duration, "horizon_days": self.horizon_days,
                "gamma_gamma": None if gg is None else {"p": gg.p, "q": gg.q, "v": gg.v, "mean_spend": gg.population_mean},
                "spend_frequency_r": self.independence.r, "independent": self.independence.independent,
                **self.at_risk}


def _cells(src: Source, s: ibis.Table, split: rfm.Split) -> tuple[pd.DataFrame, btyd.Cells]:
    frame = rfm.cells(src, s, split)
    return frame, btyd.Cells.of(frame.frequency, frame.recency, frame["T"], frame.n, frame.holdout_sum)


def _diagnostics(src: Source, f: btyd.Fit, s: ibis.Table, cells: btyd.Cells, split: rfm.Split, upto: int = 7) -> Diagnostics:
    pt = pd.DataFrame(btyd.period_transactions(f, cells, upto))
    ch = pd.DataFrame(btyd.calibration_holdout(f, cells, split.holdout_duration, upto))
    cohort = rfm.cohort_days(src, s, split)
    repeats = rfm.repeat_by_period(src, split, s)
    scale = split.period_days / split.unit_days
    end = rfm._period(split.observation_end, split.period_days)
    periods = np.arange(int(cohort.period.min()), end + 1)
    observed = repeats.set_index("period").repeats.reindex(periods, fill_value=0).cumsum().to_numpy()
    # a purchase in period p happens at time (p − p0) on the client's clock; the expectation at the end of p
    times = (periods - periods[0] + 1) * scale
    births = (cohort.period.to_numpy() - periods[0]) * scale
    expected = btyd.tracking(f, births, cohort.n.to_numpy(), times)
    step = max(1, int(round(7 / split.period_days)))  # weekly points are enough for a figure
    keep = np.r_[np.arange(0, len(periods), step), len(periods) - 1]
    keep = np.unique(keep)
    tr = pd.DataFrame({"start": rfm.period_start(periods[keep], split.period_days), "observed": observed[keep],
                       "expected": expected[keep],
                       "holdout": periods[keep] > rfm._period(split.calibration_end, split.period_days)})
    return Diagnostics(pt, ch, tr)


def _comparison(fits: dict[str, btyd.Fit], cells: btyd.Cells, duration: float) -> pd.DataFrame:
    if cells.holdout_sum is None:
        raise ValueError("cells without holdout sums: take them from rfm.cells with a holdout period")
    rows = []
    actual = float(cells.holdout_sum.sum())
    for name, f in fits.items():
        pred = float((btyd.conditional_expected_purchases(f, duration, cells.x, cells.t_x, cells.T) * cells.n).sum())
        rows.append({"model": name, **{f"param_{i}": v for i, v in enumerate(f.values)},
                     "params": ", ".join(f"{k} = {v:.3f}" for k, v in f.params.items()),
                     "log_likelihood": f.log_likelihood, "aic": f.aic, "holdout_predicted": pred,
                     "holdout_actual": actual, "holdout_error": pred / actual - 1 if actual else math.nan})
    return pd.DataFrame(rows).drop(columns=[c for c in ("param_0", "param_1", "param_2", "param_3")])


def _cell_scores(f: btyd.Fit, frame: pd.DataFrame, horizon: float, step: float, discount: float) -> pd.DataFrame:
    x, tx, T = frame.frequency.to_numpy(float), frame.recency.to_numpy(float), frame["T"].to_numpy(float)
    return pd.DataFrame({
        "frequency": frame.frequency.astype("int64"), "recency_periods": frame.recency_periods.astype("int64"),
        "T_periods": frame.T_periods.astype("int64"),
        "p_alive": btyd.p_alive(f, x, tx, T), "expected_purchases": btyd.conditional_expected_purchases(f, horizon, x, tx, T),
        "p_no_purchase": btyd.p_no_purchase(f, horizon, x, tx, T),
        "discounted_purchases": btyd.clv(f, 1.0, x, tx, T, horizon, step, discount),
        "alive_by_construction": btyd.no_repeat_flag(f, x)})


def scored(src: Source, result: ClientValue, product_line: str = "") -> ibis.Table:
    """Every client's forward-looking scores under ``result``'s model, as an engine expression
    (:func:`cxlab.compute.rfm.scored`, which names the columns)."""
    gg = result.gamma_gamma
    return rfm.scored(src, _scoring_split(result.split), result.cell_scores,
                      None if gg is None else (gg.p, gg.q, gg.population_mean), result.spend_fallback, product_line)


def _scoring_split(split: rfm.Split) -> rfm.Split:
    return rfm.Split(split.observation_end, split.observation_end, split.period_days, split.unit_days, split.events)


def at_risk(src: Source, result: ClientValue) -> ibis.Table:
    """The "at risk" list: repeat clients whose P(alive) is below the threshold, largest past value first
    (an engine expression; :func:`export_at_risk` writes it)."""
    return rfm.at_risk(scored(src, result), result.p_alive_threshold)


def export_at_risk(src: Source, result: ClientValue, path: str | Path) -> Path:
    """Write the at-risk list (``.parquet`` or ``.csv``) straight from the engine; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    expr = at_risk(src, result)
    if path.suffix == ".csv":
        src.con.to_csv(expr, path)
    elif path.suffix == ".parquet":
        src.con.to_parquet(expr, path)
    else:
        raise ParameterError(f"at-risk list {path}: the file must end in .parquet or .csv")
    return path


def _segment_column(src: Source, column: str) -> str:
    cols = src.table("clients").schema()
    if column:
        if column not in cols:
            raise ParameterError(f"segment_column '{column}' is not a column of clients (found: {', '.join(cols)})")
        return column
    texts = [c for c, t in cols.items() if c != "client_id" and (t.is_string() or t.is_boolean()) and c != "global_control"]
    return texts[0] if texts else ""


def client_value(src: Source, holdout_days: int = 182, period_days: int = 1, unit_days: float = 7.0,
                 model: str = "bgnbd", horizon_days: int = 365, monthly_discount: float = 0.01,
                 p_alive_threshold: float = 0.5, abc: tuple[float, float] | list[float] = (0.8, 0.95),
                 abc_months: int = 12, segment_column: str = "", calibration_end: date | None = None,
                 events: str = "") -> ClientValue:
    """Fit, check and apply the purchase and spend models; value and P(alive) by class, segment and line.

    Parameters
    ----------
    src : Source
        The data: contracts opened (``holdings.opened_at``, ``value``) are the purchases.
    holdout_days : int
        Days before the last purchase day held out to check the models (ignored with ``calibration_end``).
    period_days, unit_days : int, float
        Purchases are counted once per period of this many days; times are in units of ``unit_days``.
    events : str
        "" — purchases are the contracts opened; else the events of this type (e.g. ``card_spend``).
    model : str
        The model used to score clients: ``bgnbd``, ``mbgnbd`` or ``pareto_nbd`` (all three are compared).
    horizon_days, monthly_discount : int, float
        The horizon of expected purchases and value, and the discount rate per 30 days.
    p_alive_threshold : float
        Repeat clients with P(alive) below it are "at risk".
    """
    if model not in btyd.MODELS:
        raise ParameterError(f"model must be one of {', '.join(btyd.MODELS)}, got {model!r}")
    if not 0 < p_alive_threshold < 1:
        raise ParameterError(f"p_alive_threshold must be between 0 and 1, got {p_alive_threshold}")
    if horizon_days < MONTH_DAYS:
        raise ParameterError(f"horizon_days must be at least {MONTH_DAYS:.0f}, got {horizon_days}")
    split = rfm.default_split(src, holdout_days, period_days, unit_days, events)
    if calibration_end is not None:
        split = rfm.Split(calibration_end, split.observation_end, period_days, unit_days, events)
    s = rfm.summary(src, split)
    frame, cells = _cells(src, s, split)
    repeat = int(frame.loc[frame.frequency > 0, "n"].sum())
    if repeat < MIN_REPEAT_CLIENTS:
        raise NotApplicable(f"only {repeat} clients bought again before {split.calibration_end}; the purchase models "
                            f"need at least {MIN_REPEAT_CLIENTS} repeat buyers (pass -p events=TYPE to model an event "
                            "type as the purchases, or -p holdout_days=… for a longer calibration period)")
    names = [m for m in btyd.MODELS if m == model or m != "pareto_nbd" or len(frame) <= PARETO_MAX_CELLS]
    fits = {name: btyd.fit(name, cells) for name in names}
    comparison = _comparison(fits, cells, split.holdout_duration)
    diagnostics = _diagnostics(src, fits[model], s, cells, split)

    # the whole history: the model refitted, spend, per-cell scores
    full = _scoring_split(split)
    sf = rfm.summary(src, full)
    ff, fcells = _cells(src, sf, full)
    scoring_fit = btyd.fit(model, fcells, start=fits[model].values)
    mom = rfm.monetary_moments(src, sf).iloc[0]
    independence = btyd.spend_frequency_correlation(mom.n, mom.x_sum, mom.x_sum_sq, mom.m_sum, mom.m_sum_sq, mom.xm_sum)
    mc = rfm.monetary_cells(src, sf)
    mc = mc[mc.monetary > 0]
    gg = btyd.fit_gamma_gamma(mc.frequency, mc.monetary, mc.n) if int(mc.n.sum()) >= MIN_REPEAT_CLIENTS else None
    fallback = float((mc.monetary * mc.n).sum() / mc.n.sum()) if len(mc) else 0.0
    if gg is not None and not math.isfinite(gg.population_mean):
        gg = None
    horizon = horizon_days / unit_days
    step = MONTH_DAYS / unit_days
    scores = _cell_scores(scoring_fit, ff, horizon, step, monthly_discount)
    facts = rfm.summary_facts(src, sf).iloc[0]
    base_facts = {"clients": int(facts.clients), "repeat_clients": int(facts.repeat_clients),
                  "one_time_clients": int(facts.clients - facts.repeat_clients),
                  "repeat_purchases": int(facts.repeat_purchases)}
    partial = ClientValue(split, model, fits, comparison, diagnostics, scoring_fit, gg, independence, fallback,
                          horizon_days, monthly_discount, p_alive_threshold, base_facts, pd.DataFrame(), pd.DataFrame(),
                          "", pd.DataFrame(), {}, scores)
    t = scored(src, partial)
    totals = rfm.value_totals(src, t, p_alive_threshold)
    risk = {"expected_alive": float(totals.alive), "expected_purchases": float(totals.expected_purchases),
            "value": float(totals.value), "alive_by_construction": int(totals.by_construction),
            "at_risk_clients": int(totals.at_risk), "at_risk_past_value": float(totals.at_risk_past_value),
            "past_value": float(totals.past_value),
            "at_risk_past_share": float(totals.at_risk_past_value) / float(totals.past_value) if totals.past_value else math.nan}
    # by ABC class (turnover of the last abc_months), segment and product line
    snap = split.observation_end + pd.Timedelta(days=1)
    start, end = base.period(snap, abc_months)
    classes = base.client_classes(src, start, end, "opened" if events else base.counting_mode(src), abc)
    by_abc = rfm.value_by(src, t, classes, "group", p_alive_threshold)
    column = _segment_column(src, segment_column)
    by_segment = rfm.value_by(src, t, rfm.segment_groups(src, column), "segment", p_alive_threshold) if column else pd.DataFrame()
    by_line = rfm.value_by(src, t, base.lines_held(src, snap), "product_line", p_alive_threshold)
    return ClientValue(split, model, fits, comparison, diagnostics, scoring_fit, gg, independence, fallback,
                       horizon_days, monthly_discount, p_alive_threshold, base_facts, by_abc, by_segment, column,
                       by_line, risk, scores, len(frame))


__all__ = ["ClientValue", "Diagnostics", "at_risk", "client_value", "export_at_risk", "scored"]
