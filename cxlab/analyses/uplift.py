"""Whom to contact and whom not to: uplift models learned from a past randomised campaign.

One call, :func:`analyse`: the campaign's people (a bounded, seeded sample with the card's features at
the send date, from :mod:`cxlab.compute.uplift`) → S-, T-, X-learner and class-transformation models
(scikit-learn gradient boosting), **cross-fitted**: people are split into ``folds`` once, and everyone's
predicted uplift comes from models trained on the other folds only → evaluation on those held-out
predictions with :mod:`cxlab.stats.targeting` (qini with bands and the shuffled-score check, uplift by
decile, uplift@k, calibration, profit, the negative-uplift group and the guardrails it moves; for several
arms, which arm for whom) → optionally the base scored at a date into a parquet audience.

Learners (Künzel, Sekhon, Bickel & Yu 2019, "Metalearners for estimating heterogeneous treatment effects
using machine learning", PNAS 116(10); Jaskowski & Jaroszewicz 2012, "Uplift modeling for clinical trial
data"):

- ``t``: one classifier on the treated, one on the control; uplift = p̂₁(x) − p̂₀(x) (scikit-uplift's
  ``TwoModels(method='vanilla')``);
- ``s``: one classifier with the treated flag as a feature; uplift = p̂(x, 1) − p̂(x, 0);
- ``x``: the T-learner's models impute each person's effect (D₁ = y − p̂₀(x) for the treated, D₀ = p̂₁(x) − y
  for the control), regressors learn D₁ and D₀, combined with the treated share e: τ̂ = e·τ̂₀ + (1 − e)·τ̂₁;
- ``class_transformation``: z = 1 when (treated and converted) or (control and not converted), with the
  groups weighted to equal totals so that uplift = 2·P̂(z = 1 | x) − 1 holds for any split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from cxlab import stats as cs
from cxlab.analyses.result import Result
from cxlab.catalog.cards import Campaign, Metric
from cxlab.catalog.load import Catalog
from cxlab.compute import retro
from cxlab.compute import uplift as cu
from cxlab.data.connect import Source
from cxlab.errors import DataError, NotApplicable, ParameterError
from cxlab.stats import targeting as tg

LEARNERS = ("t", "s", "x", "class_transformation")
#: Shares of the people at which uplift@k is shown.
TOP_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5)
#: A text feature with more distinct values than this cannot be a categorical feature of the model.
MAX_CATEGORIES = 250
#: Columns of the training frame that are not features.
NOT_FEATURES = ("client_id", "arm")
#: The default gradient boosting: 50 trees of depth 2 with at least 500 people per leaf. Uplift is a small
#: difference of noisy rates; on the 200,000-client demo this setting ranked the planted uplift best of
#: those tried (depth 1 / 2 / 8 leaves; docs in the README section "Whom not to contact").
MODEL = dict(max_iter=50, learning_rate=0.05, max_depth=2, min_samples_leaf=500, l2_regularization=1.0)


def classifier(seed: int = 0) -> HistGradientBoostingClassifier:
    """The default model: shallow, strongly regularised gradient boosting (uplift signals are weak)."""
    return HistGradientBoostingClassifier(**MODEL, categorical_features="from_dtype", random_state=seed)


def regressor(seed: int = 0) -> HistGradientBoostingRegressor:
    """The X-learner's second-stage model, set like :func:`classifier`."""
    return HistGradientBoostingRegressor(**MODEL, categorical_features="from_dtype", random_state=seed)


def _p1(model: Any, X: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


class TLearner:
    """Two models: treated and control (scikit-uplift's ``TwoModels``, ``method='vanilla'``)."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> TLearner:
        self.treated_ = clone(self.estimator).fit(X[t == 1], y[t == 1])
        self.control_ = clone(self.estimator).fit(X[t == 0], y[t == 0])
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return _p1(self.treated_, X) - _p1(self.control_, X)


class SLearner:
    """One model with the treated flag as a feature."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> SLearner:
        self.model_ = clone(self.estimator).fit(X.assign(cx_treated=t), y)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return _p1(self.model_, X.assign(cx_treated=1)) - _p1(self.model_, X.assign(cx_treated=0))


class XLearner:
    """Künzel et al.'s X-learner with a constant propensity (the treated share of a randomised test)."""

    def __init__(self, estimator: Any, second: Any) -> None:
        self.estimator, self.second = estimator, second

    def fit(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> XLearner:
        first = TLearner(self.estimator).fit(X, y, t)
        x1, x0 = X[t == 1], X[t == 0]
        self.tau1_ = clone(self.second).fit(x1, y[t == 1] - _p1(first.control_, x1))
        self.tau0_ = clone(self.second).fit(x0, _p1(first.treated_, x0) - y[t == 0])
        self.share_ = float(t.mean())
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.share_ * self.tau0_.predict(X) + (1 - self.share_) * self.tau1_.predict(X)


class ClassTransformation:
    """z = y·t + (1 − y)(1 − t), groups reweighted to equal totals; uplift = 2·P(z = 1) − 1."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> ClassTransformation:
        z = (y * t + (1 - y) * (1 - t)).astype(int)
        share = t.mean()
        w = np.where(t == 1, 0.5 / share, 0.5 / (1 - share))
        self.model_ = clone(self.estimator).fit(X, z, sample_weight=w)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return 2 * _p1(self.model_, X) - 1


def make_learner(kind: str, seed: int = 0, estimator: Any = None) -> Any:
    """A learner by name (``t``, ``s``, ``x``, ``class_transformation``) around ``estimator`` (default
    :func:`classifier`)."""
    est = estimator if estimator is not None else classifier(seed)
    builders = {"t": lambda: TLearner(est), "s": lambda: SLearner(est), "x": lambda: XLearner(est, regressor(seed)),
                "class_transformation": lambda: ClassTransformation(est)}
    if kind not in builders:
        raise ParameterError(f"learner must be one of {', '.join(LEARNERS)}, got {kind!r}")
    return builders[kind]()


def folds_of(arm: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each person's fold (0 … folds − 1), stratified by arm and outcome, assigned once for every arm."""
    strata = pd.factorize(pd.Series(arm).astype(str) + "|" + pd.Series(y).astype(str))[0]
    out = np.zeros(len(arm), dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(arm)), strata)):
        out[test] = k
    return out


def cross_fit(kind: str, X: pd.DataFrame, y: np.ndarray, arm: np.ndarray, treated_arm: str, control_arm: str,
              fold: np.ndarray, seed: int = 0) -> np.ndarray:
    """Every person's predicted uplift of ``treated_arm`` over ``control_arm`` from a model trained on the
    other folds' people of those two arms: no one is scored by a model that saw them."""
    out = np.full(len(y), np.nan)
    pair = (arm == treated_arm) | (arm == control_arm)
    with threadpool_limits(1):  # OpenMP threads of many small fits oversubscribe shared cores (60× slower here)
        _cross_fit(kind, X, y, arm, treated_arm, pair, fold, seed, out)
    return out


def _cross_fit(kind: str, X: pd.DataFrame, y: np.ndarray, arm: np.ndarray, treated_arm: str, pair: np.ndarray,
               fold: np.ndarray, seed: int, out: np.ndarray) -> None:
    for k in np.unique(fold):
        train = pair & (fold != k)
        t = (arm[train] == treated_arm).astype(int)
        if t.sum() == 0 or t.sum() == t.size:
            raise DataError(f"fold {k}: no treated or no control people to learn from")
        model = make_learner(kind, seed).fit(X[train], y[train], t)
        out[fold == k] = model.predict(X[fold == k])


def design(frame: pd.DataFrame, categories: dict[str, list[str]] | None = None) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The model's feature frame: numbers as float, text as categoricals (with the training categories,
    so the base is scored with the same codes). Returns the frame and the categories used."""
    X = frame.drop(columns=[c for c in frame.columns if c in NOT_FEATURES or c.startswith("y") and c[1:].isdigit()])
    cats = dict(categories or {})
    out = {}
    for col in X.columns:
        s = X[col]
        if col in cats or s.dtype == object or pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
            if col not in cats:
                values = sorted(s.dropna().astype(str).unique())
                if len(values) > MAX_CATEGORIES:
                    raise DataError(f"feature '{col}' has {len(values)} distinct text values (at most {MAX_CATEGORIES}): "
                                    "declare a coarser expression in the card")
                cats[col] = values
            out[col] = pd.Categorical(s.astype("string"), categories=cats[col])
        else:
            out[col] = pd.to_numeric(s, errors="coerce").astype(float)
    return pd.DataFrame(out, index=frame.index), cats


# --- results ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ArmTargeting:
    """One treatment arm against control on the held-out predictions."""

    arm: str
    people_t: int
    people_c: int
    band: tg.QiniBand
    deciles: pd.DataFrame
    at_k: pd.DataFrame
    calibration: tg.Calibration
    profit: tg.ProfitCurve | None
    negative: dict[str, cs.Estimate]
    profile: pd.DataFrame
    guardrails: pd.DataFrame
    learners: pd.DataFrame

    @property
    def verdict(self) -> str:
        """``better`` than random (qini interval above 0 and above the shuffled band), ``worse``, or ``random``."""
        return "better" if self.band.better_than_random else "worse" if self.band.worse_than_random else "random"

    @property
    def harmed(self) -> bool:
        """The negative-predicted group's observed uplift interval lies below zero."""
        u = self.negative.get("uplift")
        return bool(u is not None and u.ci_high < 0)


@dataclass(frozen=True)
class Audience:
    """The scored base: where it was written, at which date, how many clients, how many selected."""

    path: str
    snapshot: str
    clients: int
    selected: int
    negative: int
    top_share: float
    by_arm: pd.DataFrame


@dataclass(frozen=True)
class Uplift(Result):
    """Everything the 07 report shows."""

    title: ClassVar[str] = "Uplift targeting"

    campaign: Campaign
    metric: Metric
    guardrails: list[Metric]
    learner: str
    features: list[str]
    sample_rows: int
    population_rows: int
    folds: int
    alpha: float
    arms: dict[str, ArmTargeting]
    assignment: pd.DataFrame
    predictions: pd.DataFrame
    audience: Audience | None = None
    notes: list[str] = field(default_factory=list)

    def facts(self) -> dict[str, Any]:
        """Raw values for message templates and results.json."""
        out: dict[str, Any] = {"campaign": self.campaign.name, "metric": self.metric.name, "learner": self.learner,
                               "features": self.features, "sample_rows": self.sample_rows,
                               "population_rows": self.population_rows, "folds": self.folds, "arms": {}}
        for name, a in self.arms.items():
            out["arms"][name] = {
                "people_t": a.people_t, "people_c": a.people_c, "verdict": a.verdict,
                "qini": a.band.qini.to_dict(), "uplift_auc": a.band.uplift_auc.to_dict(),
                "shuffled_band": [a.band.random_low, a.band.random_high], "p_shuffled": a.band.p_shuffled,
                "calibration_slope": a.calibration.slope.to_dict(),
                "uplift_at_k": a.at_k.to_dict(orient="records"),
                "best_share": None if a.profit is None else a.profit.best_share.to_dict(),
                "best_profit": None if a.profit is None else a.profit.best_profit.to_dict(),
                "negative_share": a.negative["share"].to_dict(),
                "negative_uplift": a.negative["uplift"].to_dict() if "uplift" in a.negative else None,
                "negative_harmed": a.harmed,
                "learners": a.learners.to_dict(orient="records"),
            }
        if self.audience is not None:
            out["audience"] = {"path": self.audience.path, "snapshot": self.audience.snapshot,
                               "clients": self.audience.clients, "selected": self.audience.selected,
                               "negative": self.audience.negative, "top_share": self.audience.top_share}
        return out


# --- the analysis -----------------------------------------------------------------------------------

def _profile(X: pd.DataFrame, negative: np.ndarray) -> pd.DataFrame:
    """What the negative group looks like: per feature its mean (numbers) or its most over-represented
    value (text) against the rest."""
    rows = []
    if negative.sum() == 0 or negative.all():
        return pd.DataFrame(columns=["feature", "value", "negative", "rest"])
    for col in X.columns:
        s = X[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            a = s[negative].value_counts(normalize=True)
            b = s[~negative].value_counts(normalize=True).reindex(a.index).fillna(0.0)
            if len(a):
                top = (a - b).idxmax()
                rows.append({"feature": col, "value": str(top), "negative": float(a[top]), "rest": float(b[top])})
        else:
            rows.append({"feature": col, "value": "mean", "negative": float(np.nanmean(s[negative])),
                         "rest": float(np.nanmean(s[~negative]))})
    return pd.DataFrame(rows)


def _diff(values: np.ndarray, t: np.ndarray, binary: bool, alpha: float) -> cs.Estimate | None:
    a, b = values[t == 1], values[t == 0]
    if a.size < 2 or b.size < 2:
        return None
    try:
        if binary:
            return cs.proportion_diff(cs.ProportionStats(int(a.size), int(a.sum())),
                                      cs.ProportionStats(int(b.size), int(b.sum())), alpha=alpha)
        return cs.mean_diff(cs.SampleMeanStats(int(a.size), float(a.sum()), float((a * a).sum())),
                            cs.SampleMeanStats(int(b.size), float(b.sum()), float((b * b).sum())), alpha)
    except ValueError:
        return None


def _guardrails(frame: pd.DataFrame, guardrails: list[Metric], offset: int, t: np.ndarray, negative: np.ndarray,
                alpha: float) -> pd.DataFrame:
    """Each guardrail's observed uplift within the negative group and within the rest; ``harm`` when the
    negative group's interval lies wholly on the metric's harmful side."""
    rows = []
    for i, m in enumerate(guardrails):
        v = frame[f"y{offset + i}"].to_numpy(dtype=float)
        binary = m.type == "proportion"
        neg, rest = _diff(v[negative], t[negative], binary, alpha), _diff(v[~negative], t[~negative], binary, alpha)
        sign = 1 if m.direction == "decrease" else -1
        rows.append({"metric": m.name, "negative": math.nan if neg is None else neg.estimate,
                     "negative_low": math.nan if neg is None else neg.ci_low,
                     "negative_high": math.nan if neg is None else neg.ci_high,
                     "rest": math.nan if rest is None else rest.estimate,
                     "rest_low": math.nan if rest is None else rest.ci_low,
                     "rest_high": math.nan if rest is None else rest.ci_high,
                     "harm": bool(neg is not None and min(sign * neg.ci_low, sign * neg.ci_high) > 0)})
    return pd.DataFrame(rows, columns=["metric", "negative", "negative_low", "negative_high", "rest", "rest_low",
                                       "rest_high", "harm"])


def _frame_table(d: dict[str, np.ndarray]) -> pd.DataFrame:
    out = pd.DataFrame(d)
    out.insert(0, "bin", out.pop("bin").astype(int))
    out["people"] = (out.n_treatment + out.n_control).astype(int)
    return out


def _arm(arm: str, ctrl: str, frame: pd.DataFrame, X: pd.DataFrame, preds: dict[str, dict[str, np.ndarray]],
         learner: str, guardrails: list[Metric], cost: float, value: float, base: int, alpha: float, seed: int,
         draws: int) -> ArmTargeting:
    pair = frame.arm.isin([arm, ctrl]).to_numpy()
    y = frame.y0.to_numpy(dtype=float)[pair]
    t = (frame.arm.to_numpy()[pair] == arm).astype(float)
    score = preds[learner][arm][pair]
    band = tg.qini_band(y, t, score, alpha, draws=draws, seed=seed)
    rows = []
    for k in TOP_SHARES:
        try:
            e = tg.uplift_at_k(y, t, score, k, alpha=alpha)
            rows.append({"share": k, "people": int(len(y) * k), "uplift": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high})
        except ValueError:
            continue
    learners = []
    for name, p in preds.items():
        b = band if name == learner else tg.qini_band(y, t, p[arm][pair], alpha, draws=min(draws, 200), shuffles=50, seed=seed)
        learners.append({"learner": name, "qini": b.qini.estimate, "qini_low": b.qini.ci_low, "qini_high": b.qini.ci_high,
                         "uplift_auc": b.uplift_auc.estimate, "uplift_at_30": _at(y, t, p[arm][pair], 0.3),
                         "shown": name == learner})
    negative = score < 0
    profit = tg.profit_curve(y, t, score, cost, value, base=base, alpha=alpha, draws=draws, seed=seed) if value > 0 else None
    return ArmTargeting(
        arm, int(t.sum()), int((1 - t).sum()), band, _frame_table(tg.uplift_by_percentile(y, t, score, 10, alpha)),
        pd.DataFrame(rows), tg.calibration(y, t, score, 10, alpha), profit, tg.group_uplift(y, t, negative, alpha),
        _profile(X[pair].reset_index(drop=True), negative), _guardrails(frame[pair], guardrails, 1, t, negative, alpha),
        pd.DataFrame(learners))


def _at(y: np.ndarray, t: np.ndarray, s: np.ndarray, k: float) -> float:
    try:
        return tg.uplift_at_k(y, t, s, k).estimate
    except ValueError:
        return math.nan


def _assignment(frame: pd.DataFrame, preds: dict[str, np.ndarray], ctrl: str, alpha: float) -> pd.DataFrame:
    """Which arm for whom: each person goes to the arm with the largest predicted uplift (``none`` when
    every arm's prediction is negative); per assigned group, the observed uplift of every arm in it."""
    arms = list(preds)
    matrix = np.column_stack([preds[a] for a in arms])
    best = np.where(matrix.max(axis=1) < 0, "none", np.array(arms)[matrix.argmax(axis=1)])
    rows = []
    y = frame.y0.to_numpy(dtype=float)
    arm = frame.arm.to_numpy()
    for group in [*arms, "none"]:
        g = best == group
        for a in arms:
            m = g & np.isin(arm, [a, ctrl])
            d = _diff(y[m], (arm[m] == a).astype(float), True, alpha) if m.any() else None
            rows.append({"assigned": group, "people": int(g.sum()), "share": float(g.mean()), "arm": a,
                         "people_t": int((g & (arm == a)).sum()), "people_c": int((g & (arm == ctrl)).sum()),
                         "uplift": math.nan if d is None else d.estimate,
                         "ci_low": math.nan if d is None else d.ci_low, "ci_high": math.nan if d is None else d.ci_high})
    return pd.DataFrame(rows)


def analyse(src: Source, catalog: Catalog, campaign_name: str, metric: str = "", learner: str = "", folds: int = 0,
            sample_size: int = 0, alpha: float = 0.05, cost_per_contact: float = 0.0,
            value_per_conversion: float = 0.0, top_share: float = 0.0, score_date: str = "", audience: str = "",
            score_out: str = "", draws: int = 400, seed: int = 0) -> Uplift:
    """Learn and evaluate uplift models on ``campaign_name``'s randomised test; with ``score_out``, score
    the base at ``score_date`` (``latest``: the day after the last event) into that parquet file.

    ``metric`` is the outcome the models learn (a proportion metric; default the card's primary). Arguments
    left at 0 / "" take the card's ``uplift`` settings, ``cost_per_contact`` and ``value_per_conversion``."""
    campaign = catalog.get("campaigns", campaign_name)
    if campaign.control == "matched":
        raise NotApplicable(f"campaign '{campaign.name}' has no randomised control (control: matched): uplift models "
                            "learn only from a randomised test; 04 gives its matched estimate")
    settings = campaign.uplift
    learner = learner or settings.learner
    if learner not in LEARNERS:
        raise ParameterError(f"learner must be one of {', '.join(LEARNERS)}, got {learner!r}")
    folds, sample_size = folds or settings.folds, sample_size or settings.sample_size
    top_share = top_share or settings.top_share
    if not campaign.features.columns and not campaign.features.expressions:
        raise ParameterError(f"campaign '{campaign.name}': the card declares no features (features.columns, "
                             "features.expressions) for the uplift model")
    outcome = catalog.metric(metric or campaign.metrics.primary)
    if outcome.type != "proportion":
        raise ParameterError(f"campaign '{campaign.name}': the metric '{outcome.name}' is a {outcome.type} "
                             "metric; uplift models here learn a conversion (a proportion metric)")
    guardrails = [g for g in (catalog.get("metrics", n) for n in campaign.metrics.guardrails) if g.type in ("proportion", "mean")]
    crowd = retro.people(src, campaign)
    frame, total = cu.training_sample(src, campaign, crowd, [outcome, *guardrails], sample_size, seed)
    ctrl = campaign.control_arm
    arms = [a for a in campaign.treatment_arms if (frame.arm == a).any()]
    if not (frame.arm == ctrl).any() or not arms:
        raise DataError(f"campaign '{campaign.name}': the sample holds no people of the control arm '{ctrl}' or of "
                        "any treatment arm")
    X, _ = design(frame)
    y = frame.y0.to_numpy(dtype=float).round().astype(int)
    fold = folds_of(frame.arm.to_numpy(), y, folds, seed)
    preds = {name: {a: cross_fit(name, X, y, frame.arm.to_numpy(), a, ctrl, fold, seed) for a in arms}
             for name in LEARNERS}
    cost = cost_per_contact or campaign.cost_per_contact or 0.0
    value = value_per_conversion or campaign.value_per_conversion or 0.0
    notes = [] if value > 0 else ["no_value"]
    per_arm = {a: _arm(a, ctrl, frame, X, preds, learner, guardrails, cost, value, total, alpha, seed, draws) for a in arms}
    assignment = _assignment(frame, preds[learner], ctrl, alpha) if len(arms) > 1 else pd.DataFrame()
    predictions = frame[["client_id", "arm", "y0"]].rename(columns={"y0": "y"}).assign(
        fold=fold, **{f"uplift_{a}": preds[learner][a] for a in arms})
    result = Uplift(campaign, outcome, guardrails, learner, list(X.columns), int(len(frame)), total, folds, alpha,
                    per_arm, assignment, predictions, None, notes)
    if score_out:
        result = _with_audience(result, src, frame, X, y, fold, arms, learner, score_date, audience, score_out,
                                top_share, seed)
    return result


def _with_audience(result: Uplift, src: Source, frame: pd.DataFrame, X: pd.DataFrame, y: np.ndarray, fold: np.ndarray,
                   arms: list[str], learner: str, score_date: str, audience: str, score_out: str, top_share: float,
                   seed: int) -> Uplift:
    """Fit the learner on the whole sample per arm, score the base in batches and write the audience."""
    from dataclasses import replace

    _, cats = design(frame)
    arm = frame.arm.to_numpy()
    ctrl = result.campaign.control_arm
    models = {}
    with threadpool_limits(1):
        for a in arms:
            pair = np.isin(arm, [a, ctrl])
            models[a] = make_learner(learner, seed).fit(X[pair], y[pair], (arm[pair] == a).astype(int))
    snapshot = cu.last_date(src) if score_date in ("", "latest") else pd.Timestamp(score_date)
    with threadpool_limits(1):
        out = write_audience(src, result.campaign, models, cats, list(X.columns), snapshot, audience, Path(score_out),
                             top_share, learner, result.metric)
    return replace(result, audience=out)


def write_audience(src: Source, campaign: Campaign, models: dict[str, Any], categories: dict[str, list[str]],
                   columns: list[str], snapshot: pd.Timestamp, audience: str, path: Path, top_share: float,
                   learner: str, metric: Metric) -> Audience:
    """Score every client at ``snapshot`` in batches and write ``path`` (parquet): ``client_id``,
    ``snapshot``, ``uplift_<arm>`` per arm, ``arm`` (the best), ``uplift`` (its prediction), ``rank_share``
    (share of the scored base ranked above), ``negative`` (every arm's prediction < 0: do not contact) and
    ``selected`` (in the top ``top_share`` by ``uplift`` and not negative) — what a launch step takes
    (``cxlab audience --scored``). The file's metadata records the campaign, learner, metric, rule,
    scoring date and data fingerprint (:func:`cxlab.compute.audience.read_scored` reads them)."""
    import json

    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cxlab.compute.audience import SCORED_KEY, memo, product_line_of

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".scores.tmp")
    writer = None
    arms = list(models)
    try:
        for batch in cu.scoring_batches(src, campaign.features, snapshot.date(), audience):
            Xb, _ = design(batch, categories)
            Xb = Xb[columns]
            scores = {f"uplift_{a}": models[a].predict(Xb) for a in arms}
            table = pa.table({"client_id": batch.client_id.to_numpy(), **scores})
            writer = writer or pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
        if writer is None:
            raise DataError(f"no client to score at {snapshot:%Y-%m-%d}" + (f" in the audience {audience!r}" if audience else ""))
        writer.close()
        writer = None
        # arm names come from a card: quoted as SQL identifiers and literals, never pasted in raw
        col = {a: '"' + f"uplift_{a}".replace('"', '""') + '"' for a in arms}
        best = "greatest(" + ", ".join(col.values()) + ")" if len(arms) > 1 else col[arms[0]]
        arm_case = "CASE " + " ".join(f"WHEN {col[a]} = {best} THEN '" + a.replace("'", "''") + "'" for a in arms) + " END"
        source = str(tmp).replace("'", "''")
        con = duckdb.connect()
        con.execute(f"""
            CREATE TABLE scored AS
            SELECT client_id, TIMESTAMP '{snapshot:%Y-%m-%d}' AS snapshot, {', '.join(col.values())},
                   {arm_case} AS arm, {best} AS uplift
            FROM read_parquet('{source}')""")
        con.execute("""
            CREATE TABLE audience AS
            SELECT *, (row_number() OVER (ORDER BY uplift DESC, md5(client_id::VARCHAR), client_id) - 1) / count(*) OVER () AS rank_share,
                   uplift < 0 AS negative
            FROM scored""")
        con.execute("ALTER TABLE audience ADD COLUMN selected BOOLEAN")
        con.execute(f"UPDATE audience SET selected = rank_share < {top_share} AND NOT negative")
        part = path.with_name(path.name + ".tmp")
        record = json.dumps({"campaign": campaign.name, "learner": learner, "metric": metric.name,
                             "product_line": product_line_of(metric), "top_share": top_share,
                             "snapshot": f"{snapshot:%Y-%m-%d}", "audience": audience,
                             "data_fingerprint": memo(src, ("fingerprint",), src.fingerprint)}, sort_keys=True)
        meta = "{" + SCORED_KEY.decode() + ": '" + record.replace("'", "''") + "'}"
        target = str(part).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM audience ORDER BY client_id) TO '{target}' (FORMAT parquet, KV_METADATA {meta})")
        part.replace(path)
        (counts,) = con.execute("SELECT count(*), sum(selected::int), sum(negative::int) FROM audience").fetchall()
        by_arm = con.execute("SELECT arm, count(*) AS clients, sum(selected::int) AS selected, sum(negative::int) AS negative "
                             "FROM audience GROUP BY arm ORDER BY arm").df()
        con.close()
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return Audience(str(path), f"{snapshot:%Y-%m-%d}", int(counts[0]), int(counts[1] or 0), int(counts[2] or 0),
                    top_share, by_arm)
