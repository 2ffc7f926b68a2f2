"""The campaign retrospective: engine sums (``cxlab.compute.retro``) → statistics (``cxlab.stats``) →
frames and figures a report shows. One call, :func:`analyse`; the notebook only presents the result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cxlab import stats as cs
from cxlab.catalog.cards import Campaign, Metric
from cxlab.catalog.load import Catalog
from cxlab.compute import retro
from cxlab.data.connect import Source
from cxlab.errors import ParameterError

CORRECTIONS = ("holm", "fdr_bh")


@dataclass
class Retro:
    """Everything the 04 report shows, as small frames and result records."""

    campaign: Campaign
    metrics: dict[str, Metric]
    people: pd.DataFrame
    sends: pd.DataFrame
    srm: cs.SRMResult
    srm_by_segment: pd.DataFrame
    balance: pd.DataFrame
    effects: pd.DataFrame
    incremental: pd.DataFrame
    trend: pd.DataFrame | None
    did: pd.DataFrame | None
    parallel: cs.Estimate | None
    did_metric: str | None
    heterogeneity: pd.DataFrame
    qini: dict[str, Any] | None
    alpha: float
    headline: dict[str, Any] = field(default_factory=dict)

    @property
    def primary(self) -> pd.DataFrame:
        return self.effects[self.effects.metric == self.campaign.metrics.primary]


def _stats(row: pd.Series, metric: Metric) -> cs.ProportionStats | cs.SampleMeanStats:
    return cs.from_row(row, "proportion" if metric.type == "proportion" else "mean")


def _compare(metric: Metric, t: pd.Series, c: pd.Series, alpha: float) -> dict[str, Any]:
    """One arm against control on one metric: levels, absolute and relative uplift, CUPED."""
    st, sc = _stats(t, metric), _stats(c, metric)
    if metric.type == "proportion":
        diff = cs.proportion_diff(st, sc, alpha=alpha)
        lift = cs.proportion_lift(st, sc, alpha) if st.successes and sc.successes else None
        bayes = cs.bayes_proportions(st, sc, alpha, draws=100_000, seed=0)
    else:
        diff = cs.mean_diff(st, sc, alpha)
        lift = cs.mean_lift(st, sc, alpha) if sc.mean else None
        bayes = cs.bayes_means(st, sc, alpha)
    out = {"people_t": st.n, "people_c": sc.n, "value_t": st.mean, "value_c": sc.mean,
           "uplift": diff.estimate, "ci_low": diff.ci_low, "ci_high": diff.ci_high, "p_value": diff.p_value,
           "lift": lift.estimate if lift else math.nan, "lift_low": lift.ci_low if lift else math.nan,
           "lift_high": lift.ci_high if lift else math.nan, "chance_to_beat": bayes.chance_to_beat,
           "cuped_uplift": math.nan, "cuped_low": math.nan, "cuped_high": math.nan, "variance_reduction": math.nan}
    if st.variance > 0 or sc.variance > 0:  # with no variation at all there is nothing to bound
        seq = cs.always_valid_diff(st, sc, alpha)
        out |= {"always_valid_low": seq.ci_low, "always_valid_high": seq.ci_high}
    else:
        out |= {"always_valid_low": math.nan, "always_valid_high": math.nan}
    rt, rc = cs.from_row(t, "cuped"), cs.from_row(c, "cuped")
    if rt.pre.variance > 0 or rc.pre.variance > 0:
        cuped = cs.cuped_diff(rt, rc, alpha)
        out |= {"cuped_uplift": cuped.estimate, "cuped_low": cuped.ci_low, "cuped_high": cuped.ci_high,
                "variance_reduction": cuped.extra["variance_reduction"]}
    return out


def guardrail_verdict(metric: Metric, row: dict[str, Any]) -> str:
    """``harm`` when the interval lies wholly on the harmful side; ``within_margin`` when it rules out a
    worsening beyond the metric's margin (relative to control); otherwise ``cannot_rule_out_harm``."""
    sign = 1 if metric.direction == "decrease" else -1  # a harmful change has this sign
    low, high = sorted((sign * row["ci_low"], sign * row["ci_high"]))
    if low > 0:
        return "harm"
    margin = (metric.margin or 0.0) * abs(row["value_c"])
    return "within_margin" if high < margin else "cannot_rule_out_harm"


def _effects(src: Source, campaign: Campaign, metrics: dict[str, Metric], crowd: retro.People,
             alpha: float) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    roles = (("primary", [campaign.metrics.primary]), ("secondary", campaign.metrics.secondary),
             ("guardrail", campaign.metrics.guardrails))
    stats = retro.metric_stats(src, campaign, [metrics[name] for _, names in roles for name in names], crowd)
    rows, by_metric = [], {}
    for role, names in roles:
        for name in names:
            metric = metrics[name]
            frame = stats[name].set_index("arm")
            by_metric[name] = frame
            if campaign.control_arm not in frame.index:
                raise ParameterError(f"campaign '{campaign.name}': no people in the control arm '{campaign.control_arm}'")
            for arm in campaign.treatment_arms:
                if arm not in frame.index:
                    continue
                res = _compare(metric, frame.loc[arm], frame.loc[campaign.control_arm], alpha)
                verdict = guardrail_verdict(metric, res) if role == "guardrail" else (
                    "significant" if res["ci_low"] > 0 or res["ci_high"] < 0 else "not_significant")
                rows.append({"metric": name, "role": role, "arm": arm, **res, "verdict": verdict})
    return pd.DataFrame(rows), by_metric


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
    ctrl = campaign.control_arm
    rows = []
    for arm in campaign.treatment_arms:
        change = trend[trend.period == 99].set_index("arm")
        if arm not in change.index:
            continue
        est = cs.did_paired(cs.from_row(change.loc[arm], "mean"), cs.from_row(change.loc[ctrl], "mean"), alpha)
        rows.append({"arm": arm, "did": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high, "p_value": est.p_value})
    pre = trend[(trend.period < 0)]
    treated = pre[pre.arm != ctrl].groupby("period")[["n", "x_sum", "x_sum_sq"]].sum()
    control = pre[pre.arm == ctrl].set_index("period")[["n", "x_sum", "x_sum_sq"]]
    parallel = None
    if len(treated) >= 3:
        try:
            parallel = cs.parallel_trends([cs.from_row(treated.loc[p], "mean") for p in treated.index],
                                          [cs.from_row(control.loc[p], "mean") for p in treated.index], alpha)
        except ValueError:  # no variation before the send (e.g. nobody could convert): no trend to compare
            parallel = None
    return trend[trend.period != 99], pd.DataFrame(rows), parallel


def _heterogeneity(src: Source, campaign: Campaign, metric: Metric, crowd: retro.People, alpha: float,
                   correction: str) -> pd.DataFrame:
    rows = []
    for column in campaign.segments:
        frame = retro.segment_stats(src, campaign, metric, crowd, column)
        for segment, part in frame.groupby("segment"):
            part = part.set_index("arm")
            if campaign.control_arm not in part.index:
                continue
            for arm in campaign.treatment_arms:
                if arm not in part.index or min(part.loc[arm, "n"], part.loc[campaign.control_arm, "n"]) < 2:
                    continue
                t = cs.from_row(part.loc[arm], "proportion" if metric.type == "proportion" else "mean")
                c = cs.from_row(part.loc[campaign.control_arm], "proportion" if metric.type == "proportion" else "mean")
                try:
                    d = cs.proportion_diff(t, c, alpha=alpha) if metric.type == "proportion" else cs.mean_diff(t, c, alpha)
                except ValueError:
                    continue  # a cell without variance says nothing
                rows.append({"breakdown": column, "segment": str(segment), "arm": arm, "people_t": t.n, "people_c": c.n,
                             "uplift": d.estimate, "ci_low": d.ci_low, "ci_high": d.ci_high, "p_value": d.p_value})
    out = pd.DataFrame(rows, columns=["breakdown", "segment", "arm", "people_t", "people_c", "uplift", "ci_low",
                                      "ci_high", "p_value"])
    out["p_adjusted"] = cs.adjust_pvalues(out.p_value.to_numpy(), correction) if len(out) else []
    return out


def _qini(src: Source, campaign: Campaign, metric: Metric, crowd: retro.People) -> dict[str, Any] | None:
    if not campaign.score_column or not src.has("communications") or \
            campaign.score_column not in src.table("communications").columns:
        return None
    bins = retro.score_bins(src, campaign, metric, crowd)
    if bins.empty or bins.n_c.sum() == 0 or bins.n_t.sum() == 0:
        return None
    sb = cs.ScoreBins(bins.n_t.to_numpy(), bins.y_t.to_numpy(), bins.n_c.to_numpy(), bins.y_c.to_numpy())
    x, q = cs.qini_curve(sb)
    per_bin = pd.DataFrame(cs.uplift_by_bin(sb)).assign(bin=bins.bin.to_numpy())
    return {"bins": per_bin, "curve_people": x, "curve_incremental": q, "qini": cs.qini_coefficient(sb),
            "uplift_at_30": cs.uplift_at_k(sb, 0.3)}


def _balance(campaign: Campaign, by_metric: dict[str, pd.DataFrame], alpha: float) -> pd.DataFrame:
    """Pre-period level of each metric per arm vs control: a difference means the split is broken."""
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
                rows.append({"metric": name, "arm": arm, "pre_t": t.mean, "pre_c": c.mean, "difference": d.estimate,
                             "p_value": d.p_value})
    return pd.DataFrame(rows, columns=["metric", "arm", "pre_t", "pre_c", "difference", "p_value"])


def _srm_by_segment(src: Source, campaign: Campaign, crowd: retro.People, min_deviation: float) -> pd.DataFrame:
    """The sample-ratio check within each value of each breakdown column: a split broken for one region
    or one band hides in the total."""
    rows = []
    for column in campaign.segments:
        for segment, part in retro.people_by(src, crowd, column).groupby("segment"):
            observed = dict(zip(part.arm, part.people.astype(int)))
            res = cs.srm_check({a: observed.get(a, 0) for a in campaign.arms}, campaign.arms,
                               min_relative_deviation=min_deviation)
            rows.append({"breakdown": column, "segment": str(segment), "people": int(part.people.sum()),
                         "p_value": res.p_value, "deviation": res.deviation, "flagged": res.flagged})
    return pd.DataFrame(rows, columns=["breakdown", "segment", "people", "p_value", "deviation", "flagged"])


def analyse(src: Source, catalog: Catalog, campaign_name: str, alpha: float = 0.05, correction: str = "holm",
            cost_per_contact: float = 0.0, value_per_conversion: float = 0.0, did_metric: str = "",
            srm_min_deviation: float = 0.0) -> Retro:
    """Run the whole retrospective of ``campaign_name`` on ``src``."""
    if correction not in CORRECTIONS:
        raise ParameterError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    campaign = catalog.get("campaigns", campaign_name)
    names = [campaign.metrics.primary, *campaign.metrics.secondary, *campaign.metrics.guardrails]
    metrics = {n: catalog.get("metrics", n) for n in names}
    crowd = retro.people(src, campaign)
    sends = retro.sends(src, campaign, crowd)
    observed = dict(zip(sends.arm, sends.people.astype(int)))
    srm = cs.srm_check({a: observed.get(a, 0) for a in campaign.arms}, campaign.arms,
                       min_relative_deviation=srm_min_deviation)
    effects, by_metric = _effects(src, campaign, metrics, crowd, alpha)
    cost = cost_per_contact or campaign.cost_per_contact or 0.0
    value = value_per_conversion or campaign.value_per_conversion or 0.0
    incremental = _incremental(campaign, effects, sends, cost, value)
    # by default, the first goal metric that has a level before the send too (a sum such as spend)
    did_name = did_metric or next((n for n in names if metrics[n].aggregate == "sum" and metrics[n].role == "goal"), "")
    trend = did = parallel = None
    if did_name and campaign.pre_period_days > 0:  # without a pre-period there is no trend to difference out
        if did_name not in metrics:
            metrics[did_name] = catalog.get("metrics", did_name)
        trend, did, parallel = _did(src, campaign, metrics[did_name], crowd, alpha)
    primary = metrics[campaign.metrics.primary]
    result = Retro(campaign, metrics, crowd.summary, sends, srm, _srm_by_segment(src, campaign, crowd, srm_min_deviation),
                   _balance(campaign, by_metric, alpha), effects,
                   incremental, trend, did, parallel, did_name or None,
                   _heterogeneity(src, campaign, primary, crowd, alpha, correction), _qini(src, campaign, primary, crowd),
                   alpha)
    result.headline = headline(result)
    return result


def headline(r: Retro) -> dict[str, Any]:
    """The figures results.json carries: per arm and metric, SRM, CUPED, DiD, qini."""
    effects = {}
    for _, row in r.effects.iterrows():
        effects.setdefault(row.metric, {})[row.arm] = {
            k: row[k] for k in ("people_t", "people_c", "value_t", "value_c", "uplift", "ci_low", "ci_high", "p_value",
                                "lift", "lift_low", "lift_high", "cuped_uplift", "cuped_low", "cuped_high",
                                "variance_reduction", "chance_to_beat", "always_valid_low", "always_valid_high", "verdict")}
    return {
        "campaign": r.campaign.name, "primary_metric": r.campaign.metrics.primary,
        "people": dict(zip(r.people.step, r.people["count"])),
        "srm": r.srm.to_dict(), "srm_segments_flagged": int(r.srm_by_segment.flagged.sum()), "effects": effects,
        "incremental": r.incremental.to_dict(orient="records"),
        "did": None if r.did is None else {"metric": r.did_metric, "by_arm": r.did.to_dict(orient="records"),
                                            "parallel_trends_slope": None if r.parallel is None else r.parallel.to_dict()},
        "qini": None if r.qini is None else {"coefficient": r.qini["qini"], "uplift_at_30pct": r.qini["uplift_at_30"]},
        "heterogeneity_tests": int(len(r.heterogeneity)),
        "heterogeneity_significant_after_correction": int((r.heterogeneity.p_adjusted < r.alpha).sum()) if len(r.heterogeneity) else 0,
    }


def best_arm(r: Retro) -> pd.Series:
    """The treatment arm with the largest primary uplift."""
    p = r.primary
    return p.loc[p.uplift.idxmax()]

