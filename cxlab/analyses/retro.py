"""The campaign retrospective: engine sums (``cxlab.compute.retro``) → statistics (``cxlab.stats``) →
frames and figures a report shows. One call, :func:`analyse`; the notebook only presents the result."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats as sps

from cxlab import stats as cs
from cxlab.analyses.aa import AAResult, aa_on
from cxlab.analyses.result import Result
from cxlab.catalog.cards import Campaign, Metric
from cxlab.catalog.load import Catalog
from cxlab.compute import retro
from cxlab.data.connect import Source
from cxlab.errors import ParameterError
from cxlab.metrics import Comparable, Kind, Mean, Quantile, Ratio, kind
from cxlab.metrics.kinds import S

CORRECTIONS = ("holm", "fdr_bh")
#: Below this p-value a pre-period difference between arms means the split or the data is broken.
BALANCE_ALPHA = 0.001
#: A stratum needs this many people per arm for its own CUPED slope.
MIN_STRATUM = 20


@dataclass(frozen=True)
class Health(Result):
    """Can the comparison be trusted: rows to people, the split against the plan (overall and per
    breakdown value), the arms' pre-period balance, competing campaigns, the registered plan's deviations
    and, for a matched campaign, the matching."""

    title: ClassVar[str] = "Campaign retrospective: health"

    people: pd.DataFrame
    sends: pd.DataFrame
    #: the arms' planned shares of the people analysed (a matched campaign: treated arms and their matches)
    planned: dict[str, float]
    srm: cs.SRMResult
    srm_by_segment: pd.DataFrame
    balance: pd.DataFrame
    #: the pre-period window of the balance covariate, in days before each person's first send
    pre_period_days: int
    exposure: pd.DataFrame
    competitors: pd.DataFrame
    excluded_competing: bool
    #: against the registered plan (cards written by a launch), None without one
    registration: dict[str, Any] | None = None
    #: a ``control: matched`` campaign: the matching, balance and placebo (weaker evidence than randomisation)
    matched: Any = None

    @property
    def balance_flagged(self) -> pd.DataFrame:
        """Metrics whose pre-period level differs between arms beyond chance (p < BALANCE_ALPHA)."""
        return self.balance[self.balance.p_value < BALANCE_ALPHA]

    @property
    def exposure_p(self) -> float:
        """Chi-square p of 'exposed to a competing campaign' by arm: small means exposure depends on the arm."""
        e = self.exposure
        if e.empty or e.exposed.sum() == 0 or (e.exposed == e.people).all():
            return math.nan
        return float(sps.chi2_contingency(np.column_stack([e.exposed, e.people - e.exposed]))[1])

    def facts(self) -> dict[str, Any]:
        reg = self.registration or {}
        return {"srm_p": self.srm.p_value, "srm_flagged": bool(self.srm.flagged),
                "segments_flagged": int(self.srm_by_segment.flagged.sum()), "exposure_p": self.exposure_p,
                "exposure_flagged": bool(self.exposure_p < BALANCE_ALPHA), "exposed": int(self.exposure.exposed.sum()) if len(self.exposure) else 0,
                "pre_days": self.pre_period_days, "balance_alpha": BALANCE_ALPHA,
                "salt": reg.get("salt", ""), "by": reg.get("sign_off", {}).get("by", ""),
                "at": reg.get("sign_off", {}).get("at", ""), "deviations": len(reg.get("deviations", ()))}


@dataclass(frozen=True)
class HeadToHead(Result):
    """The two best treatment arms on the primary metric, one against the other: the difference with an
    interval at α / ``comparisons`` (Bonferroni over every comparison of the primary metric the report
    makes: each arm against control and this one) and its p-value multiplied likewise."""

    title: ClassVar[str] = "Campaign retrospective: head to head"

    best: str
    second: str
    estimate: cs.Estimate
    comparisons: int
    p_adjusted: float

    @property
    def separated(self) -> bool:
        """The corrected interval excludes zero: the better arm can be told apart from the other."""
        return self.estimate.ci_low > 0 or self.estimate.ci_high < 0

    def facts(self) -> dict[str, Any]:
        e = self.estimate
        return {"best": self.best, "second": self.second, "difference": e.estimate, "low": e.ci_low,
                "high": e.ci_high, "p": e.p_value, "p_adjusted": self.p_adjusted, "comparisons": self.comparisons,
                "separated": self.separated, "level": 1 - e.alpha}


@dataclass(frozen=True)
class Effects(Result):
    """Every metric of the card for every treatment arm against control (primary, secondaries behind it,
    guardrails against their margins), the CUPED strata and caps, the registered primary analysis, the
    head-to-head of the two best arms and the variant to roll out."""

    title: ClassVar[str] = "Campaign retrospective: effects"

    table: pd.DataFrame
    primary_metric: str
    direction: str
    correction: str
    alpha: float
    strata: pd.DataFrame
    caps: pd.DataFrame
    #: the registered primary analysis ("plain" or "cuped") and its per-arm figures, None without a plan
    registered: dict[str, Any] | None = None
    head_to_head: HeadToHead | None = None

    @property
    def primary(self) -> pd.DataFrame:
        return self.table[self.table.metric == self.primary_metric]

    @property
    def secondary_tests(self) -> int:
        return int(self.table[self.table.role == "secondary"].metric.nunique())

    def decided(self) -> pd.DataFrame:
        """Per treatment arm, the primary effect by the registered analysis: uplift, interval, p and whether
        it lies beyond its interval in the metric's direction (``win``), against it (``loss``) or neither."""
        p = self.primary.set_index("arm")[["uplift", "ci_low", "ci_high", "p_value"]].copy()
        registered = self.registered or {}
        for arm, reg in (registered.get("primary") or {}).items():
            if registered["analysis"] == "cuped" and arm in p.index:
                p.loc[arm, ["uplift", "ci_low", "ci_high", "p_value"]] = [reg["uplift"], reg["ci_low"], reg["ci_high"], reg["p_value"]]
        up = self.direction != "decrease"
        p["outcome"] = ["win" if (lo > 0 if up else hi < 0) else "loss" if (hi < 0 if up else lo > 0) else "flat"
                        for lo, hi in zip(p.ci_low, p.ci_high, strict=True)]
        return p

    def harmed(self) -> dict[str, list[str]]:
        """Arm → the guardrails it harmed (the interval wholly on the harmful side)."""
        g = self.table[(self.table.role == "guardrail") & (self.table.verdict == "harm")]
        return {arm: list(part.metric) for arm, part in g.groupby("arm", sort=False)}

    def recommended(self) -> str | None:
        """The variant to roll out: among the arms whose primary effect lies beyond its interval in the
        metric's direction and that harm no guardrail, the one with the larger effect; None when none does."""
        d = self.decided()
        ok = d[(d.outcome == "win") & ~d.index.isin(list(self.harmed()))]
        if ok.empty:
            return None
        return str(ok.uplift.idxmin() if self.direction == "decrease" else ok.uplift.idxmax())

    def facts(self) -> dict[str, Any]:
        return {"primary_metric": self.primary_metric, "tests": self.secondary_tests, "correction": self.correction,
                "alpha": self.alpha, "level": 1 - self.alpha, "recommended": self.recommended() or "",
                "analysis": (self.registered or {}).get("analysis", "plain")}


@dataclass(frozen=True)
class Value(Result):
    """Incremental contracts, value and ROI per arm, built on the primary uplift."""

    title: ClassVar[str] = "Campaign retrospective: value"

    table: pd.DataFrame
    cost_per_contact: float
    value_per_conversion: float

    def facts(self) -> dict[str, Any]:
        return {"value": self.value_per_conversion, "cost": self.cost_per_contact}


@dataclass(frozen=True)
class Trend(Result):
    """Difference in differences on one metric: per-window means, the DiD per arm and the pre-send slope
    of the gap between arms (parallel trends)."""

    title: ClassVar[str] = "Campaign retrospective: trend"

    metric: str
    trend: pd.DataFrame
    did: pd.DataFrame
    parallel: cs.Estimate | None
    periods: int = 3

    def facts(self) -> dict[str, Any]:
        p = self.parallel
        return {"periods": self.periods, "parallel_checked": p is not None,
                "parallel_drift": bool(p is not None and p.significant),
                "slope": p.estimate if p else math.nan, "low": p.ci_low if p else math.nan, "high": p.ci_high if p else math.nan}


@dataclass(frozen=True)
class Heterogeneity(Result):
    """The primary effect within each breakdown value, p-values adjusted for the number of tests."""

    title: ClassVar[str] = "Campaign retrospective: heterogeneity"

    table: pd.DataFrame
    correction: str
    alpha: float

    def facts(self) -> dict[str, Any]:
        return {"tests": int(len(self.table)), "correction": self.correction,
                "significant": int((self.table.p_adjusted < self.alpha).sum()) if len(self.table) else 0}


@dataclass(frozen=True)
class Targeting(Result):
    """The campaign's model score against the primary outcome: per decile, the qini curve and coefficient
    (normalised only for a proportion: the perfect curve needs outcomes of 0 or 1), uplift in the top 30%."""

    title: ClassVar[str] = "Campaign retrospective: targeting"

    bins: pd.DataFrame
    curve_people: np.ndarray
    curve_incremental: np.ndarray
    qini: float
    qini_area: float
    uplift_at_30: float
    binary: bool

    def facts(self) -> dict[str, Any]:
        return {"qini": self.qini, "area": self.qini_area, "top": self.uplift_at_30}


@dataclass(frozen=True)
class Retro(Result):
    """Everything the 04 report shows, in typed parts."""

    title: ClassVar[str] = "Campaign retrospective"

    campaign: Campaign
    metrics: dict[str, Metric]
    alpha: float
    health: Health
    effects: Effects
    value: Value
    trend: Trend | None
    heterogeneity: Heterogeneity
    targeting: Targeting | None
    aa: AAResult | None = None

    def facts(self) -> dict[str, Any]:
        return headline(self)

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"effects": self.effects.table, "sends": self.health.sends, "incremental": self.value.table}


def _compare(kind: Comparable[S], t: pd.Series, c: pd.Series, alpha: float) -> dict[str, Any]:
    """One arm against control on a proportion or mean metric: levels, absolute and relative uplift,
    the Bayesian chance to beat, the always-valid interval and CUPED on everybody (one slope)."""
    st, sc = kind.record(t), kind.record(c)
    out = _row(st.n, sc.n, st.mean, sc.mean, kind.diff(st, sc, alpha), kind.lift(st, sc, alpha))
    out |= {"chance_to_beat": kind.chance_to_beat(st, sc, alpha)}
    if st.variance > 0 or sc.variance > 0:  # with no variation at all there is nothing to bound
        # a retrospective reads the campaign once, at its end: the planned size is the size reached
        seq = cs.always_valid_diff(st, sc, alpha, n_planned=st.n + sc.n)
        out |= {"always_valid_low": seq.ci_low, "always_valid_high": seq.ci_high}
    rt, rc = kind.cuped_record(t), kind.cuped_record(c)
    if rt.pre.variance > 0 or rc.pre.variance > 0:
        cuped = cs.cuped_diff(rt, rc, alpha)
        out |= {"cuped_uplift": cuped.estimate, "cuped_low": cuped.ci_low, "cuped_high": cuped.ci_high,
                "variance_reduction": cuped.extra["variance_reduction"], "cuped_method": "pooled",
                "pre_correlation": _within_correlation(rt, rc)}
    return out


def _within_correlation(*groups: cs.RegressionAdjustedStats) -> float:
    """Correlation of pre-period and outcome within arms (pooled): CUPED removes about its square."""
    sxy = sum((g.n - 1) * g.covariance for g in groups)
    sxx = sum((g.n - 1) * g.pre.variance for g in groups)
    syy = sum((g.n - 1) * g.post.variance for g in groups)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan


def _row(n_t: int, n_c: int, value_t: float, value_c: float, diff: cs.Estimate | None, lift: cs.Estimate | None) -> dict[str, Any]:
    """The effect columns every metric fills (NaN where a method does not apply)."""
    nan = math.nan
    return {"people_t": n_t, "people_c": n_c, "value_t": value_t, "value_c": value_c,
            "uplift": diff.estimate if diff else nan, "ci_low": diff.ci_low if diff else nan,
            "ci_high": diff.ci_high if diff else nan, "p_value": diff.p_value if diff else nan,
            "lift": lift.estimate if lift else nan, "lift_low": lift.ci_low if lift else nan,
            "lift_high": lift.ci_high if lift else nan, "chance_to_beat": nan, "always_valid_low": nan,
            "always_valid_high": nan, "cuped_uplift": nan, "cuped_low": nan, "cuped_high": nan,
            "variance_reduction": nan, "cuped_method": "", "pre_correlation": nan, "untestable": ""}


def _compare_ratio(kind: Ratio, t: pd.Series, c: pd.Series, alpha: float) -> dict[str, Any]:
    """A ratio metric (Σnum / Σden per arm, unit = person): delta-method difference and lift."""
    st, sc = kind.record(t), kind.record(c)
    return _row(st.n, sc.n, st.ratio, sc.ratio, kind.diff(st, sc, alpha), kind.lift(st, sc, alpha))


def _compare_quantile(kind: Quantile, t: cs.ValueCounts, c: cs.ValueCounts, alpha: float, seed: int) -> dict[str, Any]:
    """A quantile metric: difference of the arms' quantiles with a percentile-bootstrap interval."""
    d = kind.diff(t, c, alpha, seed=seed)
    qc = d.extra["quantile_c"]
    out = _row(t.n, c.n, d.extra["quantile_t"], qc, d, None)
    if qc:
        out |= {"lift": d.estimate / qc, "lift_low": d.ci_low / qc, "lift_high": d.ci_high / qc}
    return out


def _strata_rows(kind: Kind, arm: str, t: pd.DataFrame, c: pd.DataFrame, alpha: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """CUPED within has-history strata, when both strata have enough people in both arms: the effect
    columns it replaces, and per stratum its share, slope and variance reduction."""
    names = [s for s in ("history", "new") if s in t.index and s in c.index]
    if len(names) < 2 or min(min(t.loc[s, "n"], c.loc[s, "n"]) for s in names) < MIN_STRATUM:
        return {}, []
    try:
        res = cs.cuped_stratified({s: (kind.cuped_record(t.loc[s]), kind.cuped_record(c.loc[s])) for s in names}, alpha)
    except ValueError:  # no variance left in any stratum: nothing to adjust
        return {}, []
    rows = [{"metric": kind.metric.name, "arm": arm, "stratum": s, "people": int(v["n"]), "share": v["weight"],
             "theta": v["theta"], "estimate": v["estimate"], "variance_reduction": v["variance_reduction"]}
            for s, v in res.strata.items()]
    return {"cuped_uplift": res.estimate, "cuped_low": res.ci_low, "cuped_high": res.ci_high,
            "variance_reduction": res.extra["variance_reduction"], "cuped_method": "strata"}, rows


def guardrail_verdict(metric: Metric, ci_low: float, ci_high: float, control_level: float) -> str:
    """``harm`` when the interval lies wholly on the harmful side; ``within_margin`` when it rules out a
    worsening beyond the metric's margin (relative to control); otherwise ``cannot_rule_out_harm``."""
    sign = 1 if metric.direction == "decrease" else -1  # a harmful change has this sign
    low, high = sorted((sign * ci_low, sign * ci_high))
    if low > 0:
        return "harm"
    margin = (metric.margin or 0.0) * abs(control_level)
    return "within_margin" if high < margin else "cannot_rule_out_harm"


def _effects(src: Source, campaign: Campaign, metrics: dict[str, Metric], people: retro.Persons, alpha: float,
             correction: str, seed: int) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every metric of the card for every treatment arm; returns the effects, per metric the per-arm
    sums (for the balance check), the has-history strata, the winsorisation caps and the primary metric's
    per-arm sums (for the head-to-head)."""
    rows, by_metric, strata, caps = [], {}, [], []
    primary_sums = pd.DataFrame()
    ctrl = campaign.control_arm
    vals = {name: retro.values(src, people, metrics[name]) for name in campaign.metrics.names}
    sums = retro.arm_stats(src, [v for v in vals.values() if v.kind.on_sums])  # every metric in one query
    for role, names in (("primary", [campaign.metrics.primary]), ("secondary", campaign.metrics.secondary),
                        ("guardrail", campaign.metrics.guardrails)):
        for name in names:
            metric, v = metrics[name], vals[name]
            k = v.kind
            caps += [{"metric": name, "column": col, "percentile": metric.winsorize, "cap": cap} for col, cap in v.caps.items()]
            if isinstance(k, Quantile):
                table, step = retro.value_counts(src, v)
                dists = {arm: cs.ValueCounts.of(g.value, g.people) for arm, g in table.groupby("arm")}
                arms = set(dists)
            else:
                cells = sums[name]
                frame = cells.drop(columns="stratum").groupby("arm").sum()
                if k.has_cuped:
                    by_metric[name] = frame
                if role == "primary":
                    primary_sums = frame
                arms = set(frame.index)
            if ctrl not in arms:
                raise ParameterError(f"campaign '{campaign.name}': no people in the control arm '{ctrl}'")
            for arm in (a for a in campaign.treatment_arms if a in arms):
                try:
                    if isinstance(k, Quantile):
                        res = _compare_quantile(k, dists[arm], dists[ctrl], alpha, seed) | {"resolution": step}
                    elif isinstance(k, Ratio):
                        res = _compare_ratio(k, frame.loc[arm], frame.loc[ctrl], alpha)
                    elif isinstance(k, Comparable):
                        res = _compare(k, frame.loc[arm], frame.loc[ctrl], alpha)
                        by_stratum = cells.set_index("stratum")
                        better, per = _strata_rows(k, arm, by_stratum[by_stratum.arm == arm], by_stratum[by_stratum.arm == ctrl], alpha)
                        res |= better
                        strata += per
                    else:
                        raise TypeError(f"metric '{name}': no comparison for the kind {k!r}")
                except ValueError as e:  # e.g. nobody varies: say so rather than invent p = 1
                    n = (dists[arm].n, dists[ctrl].n) if isinstance(k, Quantile) else (int(frame.loc[arm, "n"]), int(frame.loc[ctrl, "n"]))
                    res = _row(*n, math.nan, math.nan, None, None) | {"untestable": str(e)}
                successes = _successes(metric, frame if metric.type != "quantile" else None, arm, ctrl)
                rows.append({"metric": name, "role": role, "arm": arm, **res, **successes})
    effects = pd.DataFrame(rows)
    effects["p_adjusted"] = _gated(effects, correction)
    effects["verdict"] = [
        "untestable" if e.untestable else
        guardrail_verdict(metrics[e.metric], e.ci_low, e.ci_high, e.value_c) if e.role == "guardrail" else
        "significant" if (e.ci_low > 0 or e.ci_high < 0) and e.p_adjusted < alpha else "not_significant"
        for e in effects.itertuples()]
    return effects, by_metric, pd.DataFrame(strata), pd.DataFrame(caps, columns=["metric", "column", "percentile", "cap"]), primary_sums


def _successes(metric: Metric, frame: pd.DataFrame | None, arm: str, ctrl: str) -> dict[str, float]:
    """People with the outcome in each arm (``x_t``, ``x_c``) where the metric counts them — a proportion,
    or a count per person (at most that many people) — for the small-cell rule; NaN elsewhere."""
    if frame is None or metric.type == "ratio" or not (metric.type == "proportion" or metric.aggregate in ("any", "count")):
        return {"x_t": math.nan, "x_c": math.nan}
    return {"x_t": float(frame.loc[arm, "x_sum"]), "x_c": float(frame.loc[ctrl, "x_sum"])}


def _gated(effects: pd.DataFrame, correction: str) -> np.ndarray:
    """Per arm, serial gatekeeping: the primary metric at the full α, the secondaries adjusted by
    ``correction`` and never below the primary's p (guardrails are judged on their own margins). An
    untestable primary keeps the gate shut (NaN); untestable secondaries are left out of the family."""
    out = effects.p_value.to_numpy(dtype=float).copy()
    for _, part in effects.groupby("arm"):
        first = part[part.role == "primary"]
        rest = part[(part.role == "secondary") & part.p_value.notna()]
        if len(first) and len(rest):
            p = float(first.p_value.iloc[0])
            out[rest.index] = math.nan if math.isnan(p) else cs.gatekeeper(p, rest.p_value.to_numpy(dtype=float), correction)[1]
    return out


def _incremental(campaign: Campaign, effects: pd.DataFrame, sends: pd.DataFrame, cost: float, value: float) -> pd.DataFrame:
    primary = effects[effects.metric == campaign.metrics.primary].set_index("arm")
    s = sends.set_index("arm")
    rows = []
    for arm, r in primary.iterrows():
        n = r.people_t
        spent = cost * float(s.loc[arm, "rows"])
        contracts = (r.uplift * n, r.ci_low * n, r.ci_high * n)
        money = tuple(c * value for c in contracts)
        roi = tuple((m - spent) / spent if spent else math.nan for m in money)
        rows.append({"arm": arm, "people": int(n), "contacts": int(s.loc[arm, "rows"]), "incremental": contracts[0],
                     "incremental_low": contracts[1], "incremental_high": contracts[2], "value": money[0],
                     "value_low": money[1], "value_high": money[2], "cost": spent, "roi": roi[0],
                     "roi_low": roi[1], "roi_high": roi[2]})
    return pd.DataFrame(rows)


def _did(src: Source, campaign: Campaign, metric: Metric, crowd: retro.People,
         alpha: float) -> tuple[pd.DataFrame, pd.DataFrame, cs.Estimate | None]:
    trend = retro.trend_stats(src, campaign, metric, crowd)
    trend["mean"] = trend.x_sum / trend.n
    means = Mean(metric)  # trends compare per-person means of the metric, whatever its kind
    ctrl = campaign.control_arm
    rows = []
    for arm in campaign.treatment_arms:
        change = trend[trend.period == 99].set_index("arm")
        if arm not in change.index:
            continue
        try:
            est = cs.did_paired(means.record(change.loc[arm]), means.record(change.loc[ctrl]), alpha)
        except ValueError:  # nobody's level changed: no difference in differences to estimate
            continue
        rows.append({"arm": arm, "did": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high, "p_value": est.p_value})
    pre = trend[(trend.period < 0)]
    treated = pre[pre.arm != ctrl].groupby("period")[["n", "x_sum", "x_sum_sq"]].sum()
    control = pre[pre.arm == ctrl].set_index("period")[["n", "x_sum", "x_sum_sq"]]
    parallel = None
    if len(treated) >= 3:
        try:
            parallel = cs.parallel_trends([means.record(treated.loc[p]) for p in treated.index],
                                          [means.record(control.loc[p]) for p in treated.index], alpha)
        except ValueError:  # no variation before the send (e.g. nobody could convert): no trend to compare
            parallel = None
    return trend[trend.period != 99], pd.DataFrame(rows), parallel


def _heterogeneity(src: Source, campaign: Campaign, metric: Metric, crowd: retro.People, alpha: float,
                   correction: str) -> pd.DataFrame:
    rows = []
    k = kind(metric)
    for column in campaign.segments:
        frame = retro.segment_stats(src, campaign, metric, crowd, column)
        for segment, part in frame.groupby("segment"):
            part = part.set_index("arm")
            if campaign.control_arm not in part.index:
                continue
            for arm in campaign.treatment_arms:
                if arm not in part.index or min(part.loc[arm, "n"], part.loc[campaign.control_arm, "n"]) < 2:
                    continue
                t, c = k.record(part.loc[arm]), k.record(part.loc[campaign.control_arm])
                try:
                    d = k.diff(t, c, alpha)
                except ValueError:
                    continue  # a cell without variance says nothing
                x = (float(part.loc[arm, "x_sum"]), float(part.loc[campaign.control_arm, "x_sum"])) \
                    if metric.type == "proportion" or metric.aggregate in ("any", "count") else (math.nan, math.nan)
                rows.append({"breakdown": column, "segment": str(segment), "arm": arm, "people_t": t.n, "people_c": c.n,
                             "uplift": d.estimate, "ci_low": d.ci_low, "ci_high": d.ci_high, "p_value": d.p_value,
                             "x_t": x[0], "x_c": x[1]})
    out = pd.DataFrame(rows, columns=["breakdown", "segment", "arm", "people_t", "people_c", "uplift", "ci_low",
                                      "ci_high", "p_value", "x_t", "x_c"])
    out["p_adjusted"] = cs.adjust_pvalues(out.p_value.to_numpy(), correction) if len(out) else []
    return out


def _qini(src: Source, campaign: Campaign, metric: Metric, crowd: retro.People) -> Targeting | None:
    if not campaign.score_column or not src.has("communications") or \
            campaign.score_column not in src.table("communications").columns:
        return None
    bins = retro.score_bins(src, campaign, metric, crowd)
    if bins.empty or bins.n_c.sum() == 0 or bins.n_t.sum() == 0:
        return None
    binary = metric.type == "proportion"  # a mean's outcome sums are not conversions
    sb = cs.ScoreBins(bins.n_t.to_numpy(), bins.y_t.to_numpy(), bins.n_c.to_numpy(), bins.y_c.to_numpy(), binary=binary)
    x, q = cs.qini_curve(sb)
    per_bin = pd.DataFrame(cs.uplift_by_bin(sb)).assign(bin=bins.bin.to_numpy(), y_t=bins.y_t.to_numpy(), y_c=bins.y_c.to_numpy())
    return Targeting(per_bin, x, q, cs.qini_normalised(sb) if binary else math.nan, cs.qini_coefficient(sb),
                     cs.uplift_at_k(sb, 0.3), binary)


def head_to_head(metric: Metric, sums: pd.DataFrame, effects: pd.DataFrame,
                 alpha: float) -> HeadToHead | None:
    """The best treatment arm against the second best on the primary metric (best in the metric's
    direction), on the arms' sums, with Bonferroni over every comparison of the primary metric made (each
    arm against control, and this one); None with fewer than two treatment arms or nothing to test."""
    p = effects[(effects.metric == metric.name) & (effects.untestable == "")].dropna(subset=["uplift"])
    if len(p) < 2:
        return None
    order = p.sort_values("uplift", ascending=metric.direction == "decrease").arm.tolist()
    best, second = order[0], order[1]
    k = kind(metric)
    m = len(p) + 1
    try:
        est = k.diff(k.record(sums.loc[best]), k.record(sums.loc[second]), alpha / m)
    except ValueError:  # neither arm varies: nothing to tell apart
        return None
    adjusted = math.nan if est.p_value is None else min(1.0, est.p_value * m)
    return HeadToHead(best, second, est, m, adjusted)


def _balance(campaign: Campaign, by_metric: dict[str, pd.DataFrame], alpha: float,
             metrics: dict[str, Metric] | None = None) -> pd.DataFrame:
    """Pre-period level of each metric per arm vs control: a difference means the split is broken. Beside
    it, the people of each arm and — where the metric counts people — those with the outcome before
    (``pre_x_t``, ``pre_x_c``), for the small-cell rule."""
    rows = []
    for name, frame in by_metric.items():
        ctrl = frame.loc[campaign.control_arm]
        for arm in campaign.treatment_arms:
            if arm not in frame.index:
                continue
            t = cs.SampleMeanStats(int(frame.loc[arm, "n"]), frame.loc[arm, "pre_sum"], frame.loc[arm, "pre_sum_sq"])
            c = cs.SampleMeanStats(int(ctrl["n"]), ctrl["pre_sum"], ctrl["pre_sum_sq"])
            if t.variance > 0 or c.variance > 0:
                d = cs.mean_diff(t, c, alpha)
                m = (metrics or {}).get(name)
                counted = m is not None and (m.type == "proportion" or m.aggregate in ("any", "count"))
                rows.append({"metric": name, "arm": arm, "pre_t": t.mean, "pre_c": c.mean, "difference": d.estimate,
                             "p_value": d.p_value, "people_t": t.n, "people_c": c.n,
                             "pre_x_t": float(t.sum) if counted else math.nan, "pre_x_c": float(c.sum) if counted else math.nan})
    return pd.DataFrame(rows, columns=["metric", "arm", "pre_t", "pre_c", "difference", "p_value", "people_t", "people_c",
                                       "pre_x_t", "pre_x_c"])


def planned_shares(campaign: Campaign) -> dict[str, float]:
    """The arms' planned shares of the people analysed: the card's, or for a matched campaign each treated
    arm's share of the treated scaled to 1 / (1 + ratio) and the comparison group's ratio / (1 + ratio)."""
    if campaign.control != "matched":
        return dict(campaign.arms)
    k = campaign.matching.ratio
    return {**{a: s / (1 + k) for a, s in campaign.arms.items()}, campaign.control_arm: k / (1 + k)}


def _srm_by_segment(src: Source, campaign: Campaign, crowd: retro.People, min_deviation: float) -> pd.DataFrame:
    """The sample-ratio check within each value of each breakdown column: a split broken for one region
    or one band hides in the total."""
    rows = []
    for column in campaign.segments:
        for segment, part in retro.people_by(src, crowd, column).groupby("segment"):
            observed = dict(zip(part.arm, part.people.astype(int), strict=True))
            planned = planned_shares(campaign)
            res = cs.srm_check({a: observed.get(a, 0) for a in planned}, planned, min_relative_deviation=min_deviation)
            rows.append({"breakdown": column, "segment": str(segment), "people": int(part.people.sum()),
                         "p_value": res.p_value, "deviation": res.deviation, "flagged": res.flagged})
    return pd.DataFrame(rows, columns=["breakdown", "segment", "people", "p_value", "deviation", "flagged"])


def analyse(src: Source, catalog: Catalog, campaign_name: str, alpha: float = 0.05, correction: str = "holm",
            cost_per_contact: float = 0.0, value_per_conversion: float = 0.0, did_metric: str = "",
            srm_min_deviation: float = 0.0, exclude_competing: bool = False, aa_runs: int = 0,
            seed: int = 0) -> Retro:
    """Run the whole retrospective of ``campaign_name`` on ``src``; ``aa_runs`` > 0 adds an A/A check of
    the same pipeline with that many fake splits; ``seed`` seeds the bootstrap and the A/A splits."""
    if correction not in CORRECTIONS:
        raise ParameterError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    campaign = catalog.get("campaigns", campaign_name)
    names = campaign.metrics.names
    metrics = catalog.metrics_for(names)
    primary = metrics[campaign.metrics.primary]
    if not kind(primary).countable:
        raise ParameterError(f"campaign '{campaign.name}': the primary metric '{primary.name}' is a {primary.type} "
                             "metric; a primary metric must be a proportion or a mean (it is counted in contracts)")
    matched = None
    if campaign.control == "matched":  # no randomised control: a matched comparison group (weaker evidence)
        from cxlab.analyses.matched import matched_people

        crowd, matched = matched_people(src, campaign, [m for m in metrics.values() if kind(m).reads_rows], alpha, seed)
        aa_runs = 0  # fake splits of a matched group test nothing the balance table does not
    else:
        crowd = retro.people(src, campaign, exclude_competing)
    sends = retro.sends(src, campaign, crowd)
    observed = dict(zip(sends.arm, sends.people.astype(int), strict=True))
    planned = planned_shares(campaign)
    srm = cs.srm_check({a: observed.get(a, 0) for a in planned}, planned, min_relative_deviation=srm_min_deviation)
    people = retro.persons(src, campaign, crowd, metrics)  # every metric in one pass per source table
    effects, by_metric, strata, caps, primary_sums = _effects(src, campaign, metrics, people, alpha, correction, seed)
    cost = cost_per_contact or campaign.cost_per_contact or 0.0
    value = value_per_conversion or campaign.value_per_conversion or 0.0
    incremental = _incremental(campaign, effects, sends, cost, value)
    # by default, the first goal metric that has a level before the send too (a sum such as spend)
    did_name = did_metric or next((n for n in names if metrics[n].aggregate == "sum" and metrics[n].role == "goal"
                                   and isinstance(kind(metrics[n]), Mean)), "")
    trend = None
    if did_name and campaign.pre_period_days > 0:  # without a pre-period there is no trend to difference out
        if did_name not in metrics:
            metrics[did_name] = catalog.get("metrics", did_name)
        trend = Trend(did_name, *_did(src, campaign, metrics[did_name], crowd, alpha))
    checked = aa_on(src, campaign, people, metrics, aa_runs, alpha, seed + 1, progress=False) if aa_runs else None
    registration = None
    if campaign.registration is not None:
        from cxlab.analyses.launch import registration_check
        analysed = int(crowd.summary.set_index("step")["count"]["analysed"])
        registration = registration_check(src, catalog, campaign, crowd.table, analysed, srm, effects, alpha)
        if registration["analysis"] == "cuped":  # the primary's verdict follows the registered analysis
            is_primary = effects.metric == primary.name
            effects.loc[is_primary, "verdict"] = [registration["primary"][a]["verdict"] for a in effects.arm[is_primary]]
    health = Health(crowd.summary, sends, planned, srm, _srm_by_segment(src, campaign, crowd, srm_min_deviation),
                    _balance(campaign, by_metric, alpha, metrics), campaign.pre_period_days, crowd.exposure,
                    crowd.competitors, exclude_competing, registration, matched)
    registered = None if registration is None else {"analysis": registration["analysis"], "primary": registration["primary"]}
    return Retro(campaign, metrics, alpha, health,
                 Effects(effects, primary.name, primary.direction, correction, alpha, strata, caps, registered,
                         head_to_head(primary, primary_sums, effects, alpha)),
                 Value(incremental, cost, value), trend,
                 Heterogeneity(_heterogeneity(src, campaign, primary, crowd, alpha, correction), correction, alpha),
                 _qini(src, campaign, primary, crowd), checked)


def headline(r: Retro) -> dict[str, Any]:
    """The figures results.json carries: per arm and metric, SRM, CUPED, DiD, qini, the head-to-head."""
    effects: dict[str, dict[str, Any]] = {}
    h, e, t, q = r.health, r.effects, r.trend, r.targeting
    for _, row in e.table.iterrows():
        effects.setdefault(row.metric, {})[row.arm] = {
            k: row[k] for k in ("people_t", "people_c", "value_t", "value_c", "uplift", "ci_low", "ci_high", "p_value",
                                "lift", "lift_low", "lift_high", "cuped_uplift", "cuped_low", "cuped_high",
                                "variance_reduction", "cuped_method", "chance_to_beat", "always_valid_low",
                                "always_valid_high", "p_adjusted", "verdict")}
    return {
        "campaign": r.campaign.name, "primary_metric": r.campaign.metrics.primary,
        "people": dict(zip(h.people.step, h.people["count"], strict=True)),
        "srm": h.srm.to_dict(), "srm_segments_flagged": int(h.srm_by_segment.flagged.sum()), "effects": effects,
        "incremental": r.value.table.to_dict(orient="records"),
        "did": None if t is None else {"metric": t.metric, "by_arm": t.did.to_dict(orient="records"),
                                       "parallel_trends_slope": None if t.parallel is None else t.parallel.to_dict()},
        "qini": None if q is None else {"coefficient": q.qini, "area_unnormalised": q.qini_area,
                                        "uplift_at_30pct": q.uplift_at_30},
        "balance_flagged": sorted(set(h.balance_flagged.metric)),
        "caps": e.caps.to_dict(orient="records"),
        "strata": e.strata.to_dict(orient="records"),
        "competing": {"excluded": h.excluded_competing, "exposure_p": h.exposure_p,
                      "by_arm": h.exposure.to_dict(orient="records")},
        "aa": None if r.aa is None else {"runs": r.aa.runs, "metrics": r.aa.table.to_dict(orient="records")},
        "control": r.campaign.control, "matched": None if h.matched is None else h.matched.facts(),
        "heterogeneity_tests": int(len(r.heterogeneity.table)),
        "heterogeneity_significant_after_correction": r.heterogeneity.facts()["significant"],
        "head_to_head": None if e.head_to_head is None else e.head_to_head.facts(),
        "recommended": e.recommended(),
    } | ({"registration": h.registration} if h.registration is not None else {})

