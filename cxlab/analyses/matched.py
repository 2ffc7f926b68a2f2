"""A comparison group for a campaign sent without a randomised control (``control: matched``).

The treated are the campaign's people sent between ``send_start`` and ``send_end``; candidates are
clients with no send of the campaign from the pre-period's start to the end of the last window (and kept
by the card's ``matching.pool`` rule), anchored at ``send_start``. Both are bounded, seeded samples
(``matching.sample_size``, drawn in the engine). On the card's features at the send date (client columns
and rule-language expressions: pre-period behaviour) a logistic propensity model separates the treated
from the candidates; each treated person gets ``ratio`` nearest candidates on the logit of the score,
without replacement (greedy, in a seeded random order), within ``caliper`` standard deviations of the
logit (Austin 2011: 0.2 sd). Treated people without a match inside the caliper are left out and counted. One propensity model and one
comparison group serve every treated arm, as one randomised control would.

What the report shows: the balance table — standardised mean differences (SMD, on the candidates'
and treated people's pooled standard deviation before matching) and Kolmogorov–Smirnov distances, before
and after matching (|SMD| < 0.1 is the usual bar) — and a placebo check: the same comparison on every
metric's pre-period value, which the campaign cannot have moved. The effect itself is the 04 pipeline run
on the treated and their matches, labelled plainly as weaker evidence than a randomised test: matching
balances what was measured, never what was not.

References: Rosenbaum & Rubin (1983), "The central role of the propensity score in observational studies
for causal effects", Biometrika 70(1); Austin (2011), "An introduction to propensity score methods for
reducing the effects of confounding in observational studies", Multivariate Behav. Res. 46(3); Stuart
(2010), "Matching methods for causal inference: a review and a look forward", Stat. Sci. 25(1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats as sps
from sklearn.linear_model import LogisticRegression

from cxlab import stats as cs
from cxlab.catalog.cards import Campaign, Metric
from cxlab.compute import keys, retro
from cxlab.compute import uplift as cu
from cxlab.data.connect import Source
from cxlab.errors import DataError

#: |SMD| below this after matching counts as balanced.
SMD_BALANCED = 0.1


@dataclass(frozen=True)
class Matched:
    """The matched comparison: who was matched, balance before / after, the placebo check."""

    campaign: Campaign
    people: ibis.Table
    treated: int
    treated_sample: int
    matched: int
    pool: int
    pool_sample: int
    caliper: float
    balance: pd.DataFrame
    placebo: pd.DataFrame
    alpha: float

    @property
    def balanced(self) -> bool:
        return bool((self.balance.smd_after.abs() < SMD_BALANCED).all())

    @property
    def placebo_failed(self) -> pd.DataFrame:
        return self.placebo[self.placebo.significant]

    def facts(self) -> dict[str, Any]:
        return {"treated": self.treated, "treated_sample": self.treated_sample, "matched": self.matched,
                "unmatched": self.treated_sample - self.matched, "pool": self.pool, "pool_sample": self.pool_sample,
                "caliper_logit": self.caliper, "balanced": self.balanced,
                "max_abs_smd_before": float(self.balance.smd_before.abs().max()),
                "max_abs_smd_after": float(self.balance.smd_after.abs().max()),
                "balance": self.balance.to_dict(orient="records"), "placebo": self.placebo.to_dict(orient="records")}


def design_matrix(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Numbers as they are (missing → the column's median, plus a missing flag when any), text as one
    0/1 column per value (missing is a value)."""
    out = {}
    for col in columns:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            v = pd.to_numeric(s).astype(float)
            if v.isna().any():
                out[f"{col}_missing"] = v.isna().astype(float)
                v = v.fillna(v.median() if v.notna().any() else 0.0)
            out[col] = v
        else:
            text = s.astype("string").fillna("(missing)")
            for value in sorted(text.unique()):
                out[f"{col}={value}"] = (text == value).astype(float)
    return pd.DataFrame(out, index=frame.index)


def propensity_logit(X: pd.DataFrame, treated: np.ndarray) -> np.ndarray:
    """Logit of P(treated | x) from a logistic regression on standardised columns (lightly penalised,
    so separable data still give finite scores)."""
    Z = X.to_numpy(dtype=float)
    sd = Z.std(axis=0)
    Z = (Z - Z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(Z, treated.astype(int))
    return model.decision_function(Z)


def greedy_match(logit_t: np.ndarray, logit_c: np.ndarray, ratio: int, caliper: float,
                 rng: np.random.Generator) -> list[list[int]]:
    """For each treated person (a seeded random order), the ``ratio`` nearest unused candidates within
    ``caliper`` on the logit, without replacement; indices into ``logit_c`` (fewer when none is close)."""
    order = np.argsort(logit_c, kind="stable")
    sorted_c = logit_c[order]
    n = len(sorted_c)
    right = np.arange(n + 1)  # find(right, p): the first unused position ≥ p (n: none)
    left = np.arange(n + 1)   # find(left, p + 1) − 1: the last unused position ≤ p (−1: none)

    def find(parent: np.ndarray, i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    matches: list[list[int]] = [[] for _ in logit_t]
    for i in rng.permutation(len(logit_t)):
        x = logit_t[i]
        for _ in range(ratio):
            pos = int(np.searchsorted(sorted_c, x))
            r = find(right, pos)
            lo = find(left, pos) - 1
            best = None
            if r < n and abs(sorted_c[r] - x) <= caliper:
                best = r
            if lo >= 0 and abs(sorted_c[lo] - x) <= caliper and (best is None or abs(sorted_c[lo] - x) < abs(sorted_c[best] - x)):
                best = lo
            if best is None:
                break
            matches[i].append(int(order[best]))
            right[best] = best + 1
            left[best + 1] = best
    return matches


def _smd(a: np.ndarray, b: np.ndarray, scale: float) -> float:
    return float((a.mean() - b.mean()) / scale) if scale > 0 else 0.0


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    return float(sps.ks_2samp(a, b, method="asymp").statistic) if len(a) and len(b) else math.nan


def balance_table(X: pd.DataFrame, treated: np.ndarray, kept_t: np.ndarray, kept_c: np.ndarray) -> pd.DataFrame:
    """Per column: SMD and KS distance before matching (all treated vs all candidates) and after (matched
    treated vs their matches), both SMDs on the pre-matching pooled sd."""
    rows = []
    for col in X.columns:
        v = X[col].to_numpy(dtype=float)
        t_all, c_all = v[treated], v[~treated]
        scale = math.sqrt((t_all.var(ddof=1) + c_all.var(ddof=1)) / 2) if len(t_all) > 1 and len(c_all) > 1 else 0.0
        rows.append({"feature": col, "mean_t": float(t_all.mean()), "mean_pool": float(c_all.mean()),
                     "mean_matched": float(v[kept_c].mean()) if kept_c.any() else math.nan,
                     "smd_before": _smd(t_all, c_all, scale), "smd_after": _smd(v[kept_t], v[kept_c], scale),
                     "ks_before": _ks(t_all, c_all), "ks_after": _ks(v[kept_t], v[kept_c])})
    return pd.DataFrame(rows)


def _placebo(frame: pd.DataFrame, metrics: list[Metric], kept_t: np.ndarray, kept_c: np.ndarray, alpha: float,
             arm: str) -> list[dict[str, Any]]:
    rows = []
    for i, m in enumerate(metrics):
        a, b = frame[f"pre{i}"].to_numpy(dtype=float)[kept_t], frame[f"pre{i}"].to_numpy(dtype=float)[kept_c]
        try:
            if m.type == "proportion":
                d = cs.proportion_diff(cs.ProportionStats(len(a), int(round(a.sum()))), cs.ProportionStats(len(b), int(round(b.sum()))), alpha=alpha)
            else:
                d = cs.mean_diff(cs.SampleMeanStats(len(a), float(a.sum()), float((a * a).sum())),
                                 cs.SampleMeanStats(len(b), float(b.sum()), float((b * b).sum())), alpha)
        except ValueError as e:  # nobody has the metric before the send: nothing to compare
            rows.append({"arm": arm, "metric": m.name, "treated": float(a.mean()) if len(a) else math.nan,
                         "matched": float(b.mean()) if len(b) else math.nan, "difference": math.nan, "ci_low": math.nan,
                         "ci_high": math.nan, "p_value": math.nan, "significant": False, "untestable": str(e)})
            continue
        rows.append({"arm": arm, "metric": m.name, "treated": float(a.mean()), "matched": float(b.mean()),
                     "difference": d.estimate, "ci_low": d.ci_low, "ci_high": d.ci_high, "p_value": d.p_value,
                     "significant": bool(d.significant and d.p_value is not None and d.p_value < alpha), "untestable": ""})
    return rows


def match(src: Source, campaign: Campaign, metrics: list[Metric], alpha: float = 0.05, seed: int = 0) -> Matched:
    """Build the matched comparison group of a ``control: matched`` campaign (see the module notes)."""
    if not campaign.features.columns and not campaign.features.expressions:
        raise DataError(f"campaign '{campaign.name}': control: matched needs features (features.columns, "
                        "features.expressions) to match on")
    crowd = retro.people(src, campaign)
    t = crowd.table
    start, end = pd.Timestamp(campaign.send_start), pd.Timestamp(campaign.send_end) + pd.Timedelta(days=1)
    t = t.filter((t.t0 >= start) & (t.t0 < end))
    treated_total = int(src.con.execute(t.count()))
    if treated_total == 0:
        raise DataError(f"campaign '{campaign.name}': nobody was sent the campaign between {campaign.send_start} "
                        f"and {campaign.send_end}")
    size = campaign.matching.sample_size
    if treated_total > size:
        t = t.mutate(cx_key=keys.key(t.client_id, "matched", str(seed))).order_by(["cx_key", "client_id"]).limit(size).drop("cx_key")
    t = src.cache(t)
    pool, pool_total = cu.not_contacted(src, campaign, size * campaign.matching.ratio, seed)
    cols = {"client_id": t.client_id, "arm": t.arm.cast("string"), "t0": t.t0.cast("timestamp"), "rows": t.rows.cast("int64")}
    both = t.select(**cols).union(pool.select(client_id=pool.client_id.cast(t.client_id.type()), arm=pool.arm.cast("string"),
                                              t0=pool.t0.cast("timestamp"), rows=pool.rows.cast("int64")))
    both = src.cache(both)
    values = retro.person_values(src, metrics, both, campaign.window_days, max(campaign.pre_period_days, 1))
    feats = cu.features_at(src, campaign.features, campaign.send_start, both, f"campaign '{campaign.name}'")
    frame = src.con.execute(values.join(feats, "client_id").order_by("client_id"))
    frame = frame.drop(columns=[c for c in frame.columns if c.endswith("_right")])
    names = [*campaign.features.columns, *campaign.features.expressions]
    X = design_matrix(frame, names)
    is_t = (frame.arm != campaign.control_arm).to_numpy()
    rng = np.random.default_rng(seed)
    # one propensity model and one comparison group for every treated arm (04 compares each arm with it)
    logit = propensity_logit(X, is_t)
    caliper = campaign.matching.caliper * float(np.std(logit))
    t_rows, c_rows = np.flatnonzero(is_t), np.flatnonzero(~is_t)
    pairs = greedy_match(logit[is_t], logit[~is_t], campaign.matching.ratio, caliper, rng)
    kept_t = np.zeros(len(frame), bool)
    kept_c = np.zeros(len(frame), bool)
    for i, js in zip(t_rows, pairs, strict=True):
        if len(js) == campaign.matching.ratio:
            kept_t[i] = True
            kept_c[c_rows[js]] = True
    if not kept_c.any():
        raise DataError(f"campaign '{campaign.name}': no treated person found a comparison client within the caliper "
                        f"({campaign.matching.caliper} sd of the logit score)")
    arm = frame.arm.to_numpy()
    balance = [balance_table(X, is_t, kept_t, kept_c).assign(arm="all")]
    placebo = _placebo(frame, metrics, kept_t, kept_c, alpha, "all")
    for a in campaign.treatment_arms:
        in_arm = arm == a
        if (kept_t & in_arm).any() and len(campaign.treatment_arms) > 1:
            part = in_arm | ~is_t
            balance.append(balance_table(X[part], in_arm[part], (kept_t & in_arm)[part], kept_c[part]).assign(arm=a))
            placebo += _placebo(frame, metrics, kept_t & in_arm, kept_c, alpha, a)
    matched_ids, control_ids = frame.client_id[kept_t].to_numpy(), frame.client_id[kept_c].to_numpy()
    caliper_used = caliper
    people = retro.restricted(src, both, pd.Series(np.concatenate([matched_ids, control_ids]), dtype=frame.client_id.dtype))
    bal = pd.concat(balance, ignore_index=True)
    bal = bal[["arm", *[c for c in bal.columns if c != "arm"]]]
    return Matched(campaign, people, treated_total, int(is_t.sum()), int(len(matched_ids)), pool_total, int((~is_t).sum()),
                   caliper_used, bal, pd.DataFrame(placebo), alpha)


def matched_people(src: Source, campaign: Campaign, metrics: list[Metric], alpha: float = 0.05,
                   seed: int = 0) -> tuple[retro.People, Matched]:
    """The 04 pipeline's people for a matched campaign: the matched treated and their comparison clients,
    with the same summary steps as a randomised campaign's (rows, people, …, analysed)."""
    m = match(src, campaign, metrics, alpha, seed)
    t = m.people
    per = src.con.execute(t.aggregate(rows=t.rows.sum(), people=t.count(), repeated=(t.rows > 1).sum()))
    summary = pd.DataFrame([
        {"step": "rows", "count": int(per.rows.iloc[0])},
        {"step": "people", "count": int(per.people.iloc[0])},
        {"step": "people_with_several_rows", "count": int(per.repeated.iloc[0])},
        {"step": "excluded_several_arms", "count": 0},
        {"step": "excluded_global_control", "count": 0},
        {"step": "excluded_competing", "count": 0},
        {"step": "analysed", "count": int(per.people.iloc[0])},
    ])
    _, exposure, competitors = retro._competing(src, campaign, t)
    return retro.People(t, summary, exposure, competitors), m
