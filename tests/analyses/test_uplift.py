"""Uplift learners and the 07 analysis: scikit-uplift's TwoModels reproduced, cross-fitting never scores
a person with a model that saw them, the planted uplift of the demo ranked, the scored audience."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from cxlab.analyses import uplift as au
from cxlab.catalog import load_catalog
from cxlab.data import connect
from cxlab.errors import ParameterError


def _synthetic(n: int = 6000, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": pd.Categorical(rng.choice(["x", "y", "z"], n))})
    t = (rng.random(n) < 0.5).astype(int)
    tau = np.where(X.a > 0, 0.15, -0.05)
    y = (rng.random(n) < 0.2 + 0.05 * (X.c == "x") + t * tau).astype(int)
    return X, y, t, tau


def test_t_learner_equals_scikit_uplift_two_models():
    # Reference: sklift.models.TwoModels(estimator_trmnt=est, estimator_ctrl=est, method='vanilla') with the
    # same estimator and seed (scikit-uplift 0.5.1, installed in the test venv only). Without sklift, its
    # vanilla method is written out: fit est on the treated and on the control, predict p₁ − p₀.
    X, y, t, _ = _synthetic()
    est = HistGradientBoostingClassifier(max_iter=30, categorical_features="from_dtype", random_state=3)
    with threadpool_limits(1):
        ours = au.TLearner(est).fit(X, y, t).predict(X)
        ref = _two_models(est, X, y, t)
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def _two_models(est, X, y, t):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from sklearn.base import clone
            from sklift.models import TwoModels
        ref = TwoModels(estimator_trmnt=clone(est), estimator_ctrl=clone(est), method="vanilla").fit(X, y, t).predict(X)
    except ImportError:
        from sklearn.base import clone
        m1, m0 = clone(est).fit(X[t == 1], y[t == 1]), clone(est).fit(X[t == 0], y[t == 0])
        ref = m1.predict_proba(X)[:, 1] - m0.predict_proba(X)[:, 1]
    return ref


@pytest.mark.parametrize("kind", au.LEARNERS)
def test_every_learner_finds_the_planted_sign(kind):
    X, y, t, tau = _synthetic(n=20_000, seed=1)
    arm = np.where(t == 1, "mail", "control")
    fold = au.folds_of(arm, y, 4, seed=0)
    pred = au.cross_fit(kind, X, y, arm, "mail", "control", fold, seed=0)
    # the planted uplift is +15 pp where a > 0 and −5 pp elsewhere: the predictions must separate the halves
    assert pred[tau > 0].mean() > 0.05 and pred[tau < 0].mean() < 0.0


def test_cross_fitting_never_scores_a_person_with_a_model_that_saw_them(monkeypatch):
    X, y, t, _ = _synthetic(n=3000)
    arm = np.where(t == 1, "mail", "control")
    fold = au.folds_of(arm, y, 5, seed=0)
    seen: list[tuple[set, set]] = []

    class Spy:
        def fit(self, X_, y_, t_):
            self.train = set(X_.index)
            return self

        def predict(self, X_):
            seen.append((self.train, set(X_.index)))
            return np.zeros(len(X_))

    monkeypatch.setattr(au, "make_learner", lambda kind, seed=0, estimator=None: Spy())
    au.cross_fit("t", X, y, arm, "mail", "control", fold, 0)
    assert len(seen) == 5
    assert all(not (train & scored) for train, scored in seen)
    assert set().union(*(s for _, s in seen)) == set(X.index)
    # folds are stratified by arm and outcome: every fold holds both arms
    assert all(len(set(arm[fold == k])) == 2 for k in range(5))


def test_analysis_on_the_small_demo_reads_as_random_and_writes_the_audience(small_demo, tmp_path):
    # 1,500 people of the 4,000-client demo are far too few to learn a 1–4 pp uplift difference: the
    # report must say the model is no better than random, not invent a ranking
    src = connect(small_demo)
    out = tmp_path / "audience.parquet"
    u = au.analyse(src, load_catalog("catalog"), "cc_spring_2025", score_out=str(out), draws=100)
    assert set(u.arms) == {"email", "email_offer"}
    for a in u.arms.values():
        assert a.verdict == "random"
        assert set(a.learners.learner) == set(au.LEARNERS)
        assert a.deciles.people.sum() == a.people_t + a.people_c
        assert list(a.at_k.share) == list(au.TOP_SHARES)
    assert u.predictions.filter(like="uplift_").notna().all().all()
    aud = pd.read_parquet(out)
    assert len(aud) == u.audience.clients and aud.client_id.is_unique
    assert aud.selected.sum() == u.audience.selected
    assert (aud.selected <= ((aud.rank_share < 0.4) & ~aud.negative)).all()
    assert abs(aud.selected.mean() - 0.4 * (~aud.negative).mean()) < 0.01 or aud.negative.any()
    assert {"client_id", "snapshot", "uplift_email", "uplift_email_offer", "arm", "uplift", "rank_share", "negative",
            "selected"} <= set(aud.columns)
    json.dumps(u.facts(), default=str)


def test_bad_requests_are_named(small_demo):
    src = connect(small_demo)
    cat = load_catalog("catalog")
    with pytest.raises(ParameterError, match="learner must be one of"):
        au.analyse(src, cat, "cc_spring_2025", learner="forest")


# --- the planted uplift of the demo -----------------------------------------------------------------

@pytest.fixture(scope="module")
def large_demo(tmp_path_factory):
    """200,000 clients (≈ 77,000 campaign people): at 50,000 even a score equal to the planted multiplier
    does not separate from random on the e-mail arm, so ranking is checked where it can be seen."""
    from cxlab.data.demo import generate

    out = tmp_path_factory.mktemp("demo200k") / "demo"
    generate(out, clients=200_000, seed=7, chunk_clients=100_000)
    return out


@pytest.mark.slow
def test_demo_planted_uplift_is_ranked_and_calibrated(large_demo):
    src = connect(large_demo)
    truth = json.loads((large_demo / "truth.json").read_text())["campaign"]
    u = au.analyse(src, load_catalog("catalog"), "cc_spring_2025", draws=200)
    income = src.con.execute(src.table("clients").select("client_id", "income_band")).set_index("client_id").income_band
    p = u.predictions
    for arm in ("email", "email_offer"):
        a = u.arms[arm]
        pair = p.arm.isin([arm, "control"])
        # planted uplift per person: (p_arm − p_control) × the income multiplier (cxlab/data/demo/generator.py)
        mult = income.reindex(p.client_id[pair]).map(truth["uplift_by_income"]).to_numpy()
        tau = (truth["p_conversion"][arm] - truth["p_conversion"]["control"]) * mult
        score = p[f"uplift_{arm}"][pair].to_numpy()
        k = int(0.4 * len(score))
        top = np.argsort(-score, kind="stable")[:k]
        recovered = tau[top].sum() / np.sort(tau)[::-1][:k].sum()  # of the most any 40% could hold
        assert recovered >= 0.9, (arm, recovered)
        assert a.calibration.slope.ci_low <= 1 <= a.calibration.slope.ci_high, (arm, a.calibration.slope)
        if arm == "email_offer":  # the larger planted uplift: the predictions demonstrably carry information
            assert a.calibration.slope.ci_low > 0, a.calibration.slope


@pytest.mark.realdata
@pytest.mark.slow
def test_hillstrom_mens_and_womens_against_no_email(hillstrom, tmp_path):
    # Features: the file's columns (catalog/campaigns/hillstrom.yml). Measured 2026-12-03 (seed 0, T-learner,
    # 5 folds, visit as the outcome): Womens vs No E-Mail ranks (qini 0.056, 95% CI 0.043 to 0.073; calibration
    # slope 0.68, 0.48 to 0.88); Mens vs No E-Mail is no better than random (qini 0.001, −0.011 to 0.016).
    folder, _ = hillstrom
    out = tmp_path / "audience.parquet"
    u = au.analyse(connect(folder), load_catalog("catalog"), "hillstrom", metric="hs_visit", draws=200,
                   score_out=str(out), score_date="2008-03-01")
    assert u.sample_rows == 64000 and set(u.arms) == {"mens", "womens"}
    w, m = u.arms["womens"], u.arms["mens"]
    assert w.verdict == "better" and w.band.qini.ci_low > 0 and w.calibration.slope.ci_low > 0
    assert m.verdict == "random"
    assert u.assignment.assigned.isin(["mens", "womens", "none"]).all()
    aud = pd.read_parquet(out)
    assert len(aud) == 64000 and aud.selected.sum() == u.audience.selected


def test_card_features_are_checked_when_the_card_loads(tmp_path):
    import yaml

    from cxlab.catalog.cards import Campaign
    from cxlab.catalog.load import load_card
    from cxlab.errors import CxlabError

    card = yaml.safe_load(open("catalog/campaigns/cc_spring_2025.yml"))
    card["features"]["expressions"]["bad"] = "__import__('os')"
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(card))
    with pytest.raises((CxlabError, ValueError), match="expression 'bad'"):
        load_card(path, Campaign)
    card["features"]["expressions"] = {"x": "count_events('login', 30)"}
    card["control"] = "matched"
    path.write_text(yaml.safe_dump(card))
    with pytest.raises((CxlabError, ValueError), match="control: matched builds the comparison group"):
        load_card(path, Campaign)  # a matched card lists only the treated arms


def test_a_missing_feature_column_is_named(small_demo, tmp_path):
    import shutil

    import yaml

    from cxlab.errors import DataError

    cat = tmp_path / "catalog"
    shutil.copytree("catalog", cat)
    path = cat / "campaigns" / "cc_spring_2025.yml"
    card = yaml.safe_load(path.read_text())
    card["features"]["columns"].append("incme_band")
    path.write_text(yaml.safe_dump(card))
    with pytest.raises(DataError, match="incme_band"):
        au.analyse(connect(small_demo), load_catalog(cat), "cc_spring_2025")
