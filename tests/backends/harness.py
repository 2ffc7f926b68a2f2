"""The engine-equality harness: the compute layer of every notebook on one source, and a comparison.

:func:`compute_all` runs what notebooks 00–05 and 07 (and ``cxlab aa``, and 06's launch) ask the engine for on the small demo
with the demo catalogue, and returns every result as a named pandas frame. :func:`assert_same` compares
two such runs: counts (integers, booleans, text, dates) must be equal exactly, floats to 1e-9 relative —
the only difference engines may show is the order in which they add floating-point numbers. DuckDB on
the parquet folder is the reference the other engines are held to.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlab.analyses import hypothesis as ah
from cxlab.analyses.segments import sizing as segment_sizing
from cxlab.catalog import load_catalog
from cxlab.compute import base, overview, propensity, retro, rfm
from cxlab.compute import global_control as gcc
from cxlab.compute import hypothesis as ch
from cxlab.compute import triggers as ct
from cxlab.compute.retro import fake_split_sums
from cxlab.data.connect import Source
from cxlab.data.validate import validate

ROOT = Path(__file__).resolve().parents[2]
#: Relative tolerance of float columns (sums of squares of spend reach 1e9: their last digits may differ).
RTOL = 1e-9
#: Trigger cards of the demo catalogue whose panels are compared (the first also feeds 01 and the model).
TRIGGERS = ("salary_no_card", "travel_insurance", "inflow_deposit")
#: Rows of the propensity model's sample compared (its features are row level: kept small).
MODEL_ROWS = 1500


def _frame(value: Any) -> pd.DataFrame:
    """A result as a frame: frames as they are, a dict or a dataclass of scalars as one row."""
    if isinstance(value, pd.DataFrame):
        return value.reset_index() if not isinstance(value.index, pd.RangeIndex) else value
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return pd.DataFrame([{k: (str(v) if isinstance(v, (dict, list, tuple)) else v) for k, v in value.items()}])
    return pd.DataFrame({"value": [value]})


def _overview(src: Source) -> dict[str, Any]:
    as_of = overview.as_of_date(src)
    check = validate(src, now=datetime(2030, 1, 1))
    return {
        "00.table_sizes": overview.table_sizes(src), "00.date_ranges": overview.date_ranges(src),
        "00.as_of": as_of, "00.validation": check.to_frame(), "00.validation_summary": check.summary(),
        "00.lines_per_client": overview.lines_per_client(src, as_of),
        "00.holders_by_line": overview.holders_by_line(src, as_of),
        "00.contracts_by_month": overview.contracts_by_month(src, since=overview.first_event_day(src)),
        "00.events_by_month": overview.events_by_month(src),
    }


def _triggers(src: Source, catalog) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in TRIGGERS:
        trigger = catalog.get("triggers", name)
        snaps = ct.monthly_snapshots(src, "", "", trigger.snapshot_day, trigger.window_days)
        p = ct.panel(src, trigger, snaps)
        covariates = ct.default_covariates(src)
        out |= {f"02.{name}.counts": ct.counts(src, p), f"02.{name}.clusters": ct.clusters(src, p),
                f"02.{name}.days_to_convert": ct.days_to_convert(src, p),
                f"02.{name}.covariate_cells": ct.covariate_cells(src, p, covariates)}
    trigger = catalog.get("triggers", TRIGGERS[0])
    snaps = ct.monthly_snapshots(src, "", "", trigger.snapshot_day, trigger.window_days)
    sample, total = propensity.sample(src, ct.panel(src, trigger, snaps), MODEL_ROWS, seed=1)
    out |= {"02.model_sample": sample, "02.model_population": total}
    plan = ah.plan(src, catalog, "cc_salary")
    h = plan.hypothesis
    out["01.flow"] = plan.flow
    panel = ct.panel(src, plan.trigger, list(plan.flow.snapshot.dt.date), h.population or "")
    out["01.flow_with_population"] = ch.flow(src, panel)
    chosen = [catalog.get("metrics", n) for n in [*h.metrics.secondary, *h.metrics.guardrails]]
    out |= {f"01.history.{name}": frame for name, frame in ch.history(src, panel, chosen, catalog.metrics).items()}
    return out


def _segments(src: Source, catalog, as_of: date) -> dict[str, Any]:
    sizing = segment_sizing(src, catalog, snapshot=as_of).sizing
    return {"03.sizes": sizing.sizes, "03.overlap": sizing.overlap, "03.flow": sizing.flow, "03.reach": sizing.reach,
            "03.base_rates": sizing.rates, "03.plan": sizing.plan, "03.white_space": sizing.white_space,
            "03.clients": {"clients": sizing.clients, "unassigned": sizing.unassigned}}


def _base(src: Source, as_of: date, months: int = 12) -> dict[str, Any]:
    mode = base.counting_mode(src)
    start, end = base.period(as_of, months)
    shape = base.value_shape(src, start, end, mode)
    cells, _ = base.profile_cells(src, start, end, mode)
    return {
        "05.mode": mode, "05.value_shape": shape.summary, "05.pareto": shape.pareto, "05.abc": shape.abc,
        "05.funnel": base.funnel(src, as_of, start, end, mode),
        "05.top_tier_flow": base.top_tier_flow(src, as_of, months, mode),
        "05.lines_flow": base.lines_flow(src, as_of, months, mode),
        "05.white_space_by_abc": base.holding_matrix(src, base.client_classes(src, start, end, mode), start, end, mode),
        "05.holders_by_line": base.holding_matrix(src, None, start, end, mode),
        "05.next_line": base.next_line(src, as_of), "05.profile_cells": cells,
    }


def _rfm(src: Source) -> dict[str, Any]:
    split = rfm.default_split(src, holdout_days=182)
    weekly = rfm.Split(split.calibration_end, split.observation_end, period_days=7, unit_days=7)
    s = rfm.summary(src, split)
    out = {"rfm.split": dataclasses.asdict(split), "rfm.summary": src.con.execute(s.order_by("client_id")),
           "rfm.summary_weekly": src.con.execute(rfm.summary(src, weekly).order_by("client_id")),
           "rfm.summary_line": src.con.execute(rfm.summary(src, split, base.product_lines(src)[0]).order_by("client_id")),
           "rfm.cells": rfm.cells(src, s, split), "rfm.monetary_cells": rfm.monetary_cells(src, s),
           "rfm.monetary_moments": rfm.monetary_moments(src, s), "rfm.cohort_days": rfm.cohort_days(src, s, split),
           "rfm.repeat_by_period": rfm.repeat_by_period(src, split, s), "rfm.facts": rfm.summary_facts(src, s)}
    return out


def _global_control(src: Source, as_of: date) -> dict[str, Any]:
    start, end = base.period(as_of, 12)
    return {"09.outcome_sums": gcc.outcome_sums(src, start, end), "09.line_sums": gcc.line_sums(src, start, end),
            "09.contacted": gcc.contacted(src, start, end), "09.leakage": gcc.leakage(src, start, end),
            "09.leaked_clients": gcc.leaked_clients(src, start, end), "09.drift": gcc.drift(src, end, 6),
            "09.joiners": gcc.joiners(src, end, 24), "09.rotation": gcc.rotation(src, end, 0.25, "r"),
            "09.rotation_members": src.con.execute(gcc.rotation_members(src, end, 0.25, "r").order_by("client_id"))}


def _retro(src: Source, catalog, campaign_name: str = "cc_spring_2025") -> dict[str, Any]:
    campaign = catalog.get("campaigns", campaign_name)
    crowd = retro.people(src, campaign)
    m = campaign.metrics
    out: dict[str, Any] = {"04.people": crowd.summary, "04.sends": retro.sends(src, campaign, crowd),
                           "04.exposure": crowd.exposure, "04.competitors": crowd.competitors,
                           "04.people_excluding_competing": retro.people(src, campaign, exclude_competing=True).summary}
    metrics = catalog.metrics_for(m.names)
    people = retro.persons(src, campaign, crowd, metrics)
    vals = {name: retro.values(src, people, metrics[name]) for name in m.names}  # the card's, not a ratio's parts
    on_sums = [v for v in vals.values() if v.metric.type != "quantile"]
    out |= {f"04.arm_stats.{name}": cells for name, cells in retro.arm_stats(src, on_sums).items()}  # one query, as 04
    for name, values in vals.items():
        metric = values.metric
        if metric.type == "quantile":
            out[f"04.value_counts.{name}"], step = retro.value_counts(src, values)
            out[f"04.value_counts_step.{name}"] = pd.DataFrame({"step": [step]})
        if values.caps:
            out[f"04.caps.{name}"] = pd.DataFrame([values.caps])
        if metric.type in ("mean", "ratio"):
            out[f"aa.fake_split_sums.{name}"] = fake_split_sums(src, [values], 20, campaign.arms[campaign.control_arm], seed=3)[name]
    primary = catalog.get("metrics", m.primary)
    for column in campaign.segments:
        out[f"04.segment_stats.{column}"] = retro.segment_stats(src, campaign, primary, crowd, column)
        out[f"04.people_by.{column}"] = retro.people_by(src, crowd, column)
    out["04.trend_stats"] = retro.trend_stats(src, campaign, catalog.get("metrics", "card_spend"), crowd)
    out["04.score_bins"] = retro.score_bins(src, campaign, primary, crowd)
    values = retro.values(src, people, primary)
    out["aa.fake_split_sums"] = fake_split_sums(src, [values], 40, campaign.arms[campaign.control_arm], seed=3)[primary.name]
    return out


def _launch(src: Source, catalog) -> dict[str, Any]:
    """06: the audience's flags and waterfall, the arm of every person (plain and stratified by deciles
    of the pre-period), the split over many salts, the balance sums and the arbitration of demo_q4."""
    from cxlab.analyses import launch as lh
    from cxlab.compute import arbitration as ca
    from cxlab.compute import split

    out: dict[str, Any] = {}
    snap = date(2025, 10, 1)
    for stratify in ("", "deciles"):
        a = lh.audience(src, catalog, "h", trigger="salary_no_card", hypothesis="cc_salary", snapshot=snap,
                        arms={"control": 0.2, "email": 0.4, "sms": 0.4}, salt="harness-1", stratify=stratify)
        tag = stratify or "plain"
        out[f"06.{tag}.arms"] = src.con.execute(a.table.order_by("client_id"))
        out[f"06.{tag}.split"] = a.split
        out[f"06.{tag}.balance"] = a.balance
    out["06.waterfall"] = a.waterfall
    g = a.table.filter(a.table.arm != split.GLOBAL_CONTROL)
    out["06.split_counts"] = split.split_counts(src, g, {"control": 0.5, "treatment": 0.5}, [f"s{i}" for i in range(20)])
    metrics = [catalog.get("metrics", n) for n in ("cc_conversion", "card_spend")]
    out["06.balance_sums"] = split.balance_sums(src, g, metrics, snap, 90)
    policy = lh.load_policy(ROOT / "catalog" / "policies" / "demo_q4.yml")
    cands = ca.candidates(src, catalog, policy)
    kept, dropped = ca.apply(src, policy, cands)
    out["06.arbitration.kept"] = src.con.execute(kept.order_by(["k", "client_id"]))
    out["06.arbitration.dropped"] = src.con.execute(dropped.order_by(["k", "client_id", "reason"]))
    return out
def _uplift(src: Source, catalog, campaign_name: str = "cc_spring_2025") -> dict[str, Any]:
    """07's engine work: the seeded training sample with the card's features (rule expressions at the send)."""
    from cxlab.compute import uplift as cu

    campaign = catalog.get("campaigns", campaign_name)
    crowd = retro.people(src, campaign)
    metrics = [catalog.get("metrics", campaign.metrics.primary), catalog.get("metrics", "unsubscribe_rate")]
    frame, total = cu.training_sample(src, campaign, crowd, metrics, MODEL_ROWS, seed=0)
    return {"07.training_sample": frame, "07.training_total": pd.DataFrame({"total": [total]})}


def compute_all(src: Source, catalog_dir: Path = ROOT / "catalog") -> dict[str, pd.DataFrame]:
    """Every engine result the notebooks use, by name (``NN.what``), on ``src`` (the demo's tables)."""
    catalog = load_catalog(catalog_dir)
    results = _overview(src)
    as_of = results["00.as_of"]
    results |= _triggers(src, catalog) | _segments(src, catalog, as_of) | _base(src, as_of) | _retro(src, catalog)
    results |= _launch(src, catalog) | _rfm(src) | _global_control(src, as_of) | _uplift(src, catalog)
    return {name: _frame(value) for name, value in results.items()}


def _kind(s: pd.Series) -> str:
    """How a column is compared: ``float`` to a tolerance, ``time`` and ``exact`` value by value."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
        return "exact"
    if pd.api.types.is_float_dtype(s):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(s) or (len(s.dropna()) and s.dropna().map(
            lambda v: isinstance(v, (date, datetime, pd.Timestamp))).all()):
        return "time"
    return "exact"


def _naive(s: pd.Series) -> pd.Series:
    """Dates and timestamps as naive datetimes (an engine may return UTC-aware ones or ``date`` objects)."""
    t = pd.to_datetime(s)
    return t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t


def _column_diff(ref: pd.Series, got: pd.Series) -> pd.Series:
    """True where the two columns differ (positions), under the column's comparison rule."""
    kind = _kind(ref)
    if kind == "float" or (kind == "exact" and pd.api.types.is_float_dtype(got)):
        a, b = ref.astype("float64").to_numpy(), pd.to_numeric(got, errors="coerce").astype("float64").to_numpy()
        both_nan = np.isnan(a) & np.isnan(b)
        if kind == "exact":  # a count must be the same integer, whatever type the engine returns it as
            return pd.Series(~(both_nan | (a == b)), index=ref.index)
        scale = np.nanmax(np.abs(a)) if np.isfinite(a).any() else 0.0
        close = np.isclose(a, b, rtol=RTOL, atol=RTOL * scale)  # atol: sums that cancel to about zero
        return pd.Series(~(both_nan | close), index=ref.index)
    if kind == "time":
        a, b = _naive(ref), _naive(got)
        return ~((a == b) | (a.isna() & b.isna()))
    a, b = ref.astype(object), got.astype(object)
    na_a, na_b = a.isna().to_numpy(), b.isna().to_numpy()
    same = np.array([x == y for x, y in zip(a.astype(str), b.astype(str), strict=True)], dtype=bool)
    return pd.Series(~((na_a & na_b) | (~na_a & ~na_b & same)), index=ref.index)


def differences(reference: dict[str, pd.DataFrame], other: dict[str, pd.DataFrame], limit: int = 5) -> list[str]:
    """Every difference between two runs, as lines naming the result, the column and the rows."""
    problems = []
    for name in sorted(set(reference) | set(other)):
        if name not in other or name not in reference:
            problems.append(f"{name}: only in the {'reference' if name in reference else 'other'} run")
            continue
        ref, got = reference[name].reset_index(drop=True), other[name].reset_index(drop=True)
        if list(ref.columns) != list(got.columns):
            problems.append(f"{name}: columns differ: {list(ref.columns)} != {list(got.columns)}")
            continue
        if len(ref) != len(got):
            problems.append(f"{name}: {len(ref)} rows in the reference, {len(got)} in the other run")
            continue
        for col in ref.columns:
            bad = _column_diff(ref[col], got[col])
            if bad.any():
                rows = list(np.flatnonzero(bad.to_numpy())[:limit])
                pairs = ", ".join(f"row {i}: {ref[col].iloc[i]!r} != {got[col].iloc[i]!r}" for i in rows)
                problems.append(f"{name}.{col}: {int(bad.sum())} of {len(ref)} rows differ ({pairs})")
    return problems


def assert_same(reference: dict[str, pd.DataFrame], other: dict[str, pd.DataFrame], engine: str) -> None:
    """Fail with every difference listed when ``other`` (run on ``engine``) is not the reference."""
    problems = differences(reference, other)
    assert not problems, f"{engine} differs from DuckDB in {len(problems)} place(s):\n  " + "\n  ".join(problems)
