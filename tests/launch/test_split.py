"""The splitter: arms from salted md5 keys (the same as Python's), planned shares, strata dealt in blocks,
the global control kept apart, and the balance checks' false-positive rates over 1,000 salts."""

from __future__ import annotations

import hashlib

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cxlab import stats as cs
from cxlab.compute import split
from cxlab.data.connect import Source, connect
from cxlab.stats.balance import smd, smd_false_alarm_rate

ARMS = {"control": 0.2, "email": 0.4, "email_offer": 0.4}


def _src() -> Source:
    return Source(ibis.duckdb.connect(), {}, "memory")


def _python_arm(client_id: int, salt: str, arms=ARMS) -> str:
    """The reference: first 8 hex digits of md5('client|salt') against the cumulative shares of 16^8."""
    k = int(hashlib.md5(f"{client_id}|{salt}".encode()).hexdigest()[:8], 16)
    total = 0.0
    for arm, share in arms.items():
        total += share
        if k < round(total * 16 ** 8):
            return arm
    return arm


def test_hash_arm_is_the_salted_md5_slice_and_deterministic():
    src = _src()
    t = ibis.memtable(pd.DataFrame({"client_id": np.arange(1, 3001, dtype=np.int64)}))
    got = src.con.execute(split.assign(t, ARMS, "spring").order_by("client_id")).arm.tolist()
    assert got == [_python_arm(i, "spring") for i in range(1, 3001)]
    again = src.con.execute(split.assign(t, ARMS, "spring").order_by("client_id")).arm.tolist()
    assert got == again
    other = src.con.execute(split.assign(t, ARMS, "autumn").order_by("client_id")).arm.tolist()
    assert np.mean(np.array(got) == np.array(other)) < 0.5  # another salt, another split (≈ 0.36 by chance)


def test_bad_shares_are_refused():
    for bad in ({"control": 0.5, "email": 0.6}, {"control": 1.0}, {"control": 0.5, "global_control": 0.5},
                {"control": 0.0, "email": 1.0}):
        with pytest.raises(ValueError, match="arm|two|global"):
            split.check_arms(bad)


def test_srm_over_1000_salts_flags_about_one_in_a_thousand():
    """Over 1,000 salts the chi-square p-values of a fair hash split are uniform, and about 0.1% fall
    below 0.001 (expected 1; P(6 or more | Poisson 1) = 0.0006)."""
    src = _src()
    t = ibis.memtable(pd.DataFrame({"client_id": np.arange(1, 2001, dtype=np.int64)}))
    counts = split.split_counts(src, t, ARMS, [f"s{i}" for i in range(1000)])
    pvalues = []
    for _, part in counts.groupby("salt"):
        observed = dict(zip(part.arm, part.people.astype(int), strict=True))
        pvalues.append(cs.srm_check({a: observed.get(a, 0) for a in ARMS}, ARMS).p_value)
    pvalues = np.array(pvalues)
    assert len(pvalues) == 1000
    assert (pvalues < 0.001).sum() <= 5
    assert sps.kstest(pvalues, "uniform").pvalue > 0.001  # chi-square p of counts is nearly continuous here
    assert 0.03 < (pvalues < 0.05).mean() < 0.07  # binomial 99.9% range of 5% over 1,000 splits


def test_strata_are_dealt_in_blocks_and_global_control_stays_apart():
    src = _src()
    n = 5000
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"client_id": np.arange(1, n + 1, dtype=np.int64), "band": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
                          "gc": rng.random(n) < 0.05})
    t = ibis.memtable(frame)
    out = src.con.execute(split.assign(t, ARMS, "x", stratum="band", control="gc"))
    assert (out[out.gc].arm == split.GLOBAL_CONTROL).all() and (out[~out.gc].arm != split.GLOBAL_CONTROL).all()
    for band, part in out[~out.gc].groupby("band"):
        got = part.arm.value_counts()
        for arm, share in ARMS.items():
            assert abs(got.get(arm, 0) - share * len(part)) <= 1, (band, arm, got.to_dict(), len(part))
    again = src.con.execute(split.assign(t, ARMS, "x", stratum="band", control="gc"))
    pd.testing.assert_frame_equal(out.sort_values("client_id", ignore_index=True), again.sort_values("client_id", ignore_index=True))


def test_smd_matches_the_formula_on_raw_rows():
    rng = np.random.default_rng(5)
    a, b = rng.normal(10, 3, 400), rng.normal(10.6, 2, 300)
    # the definition (Austin 2009, eq. 1): (mean_t − mean_c) / sqrt((s_t² + s_c²) / 2), ddof = 1
    expected = (a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    got = smd(cs.SampleMeanStats(len(a), a.sum(), (a ** 2).sum()), cs.SampleMeanStats(len(b), b.sum(), (b ** 2).sum()))
    assert got.smd == pytest.approx(expected, rel=1e-10)
    assert got.flagged  # −0.23: a planted imbalance is seen
    # python -c "from scipy.stats import norm; print(2*norm.sf(0.1/(2/1000)**0.5))" → 0.025347
    assert smd_false_alarm_rate(1000, 1000) == pytest.approx(0.025347, abs=1e-6)


def test_smd_false_positive_rate_is_the_stated_rate(small_demo):
    """Over 1,000 salts, the share of fair splits of 600 demo clients whose pre-period spend SMD exceeds
    0.1 is the rate smd_false_alarm_rate states (≈ 22% at 300 per arm), within a 99.9% binomial range."""
    src = connect(small_demo)
    from cxlab.catalog import load_catalog

    metric = load_catalog("catalog").get("metrics", "card_spend")
    clients = src.table("clients")
    people = clients.filter(clients.client_id <= 600).select("client_id").mutate(arm=ibis.literal(""))
    pre = src.cache(split.pre_values(src, people, [metric], pd.Timestamp("2025-06-01").date(), 90))
    arms = {"control": 0.5, "treatment": 0.5}
    salts = ibis.memtable(pd.DataFrame({"salt": [f"s{i}" for i in range(1000)]}))
    j = pre.cross_join(salts)
    j = j.mutate(arm=split.hash_arm(j.client_id, arms, j.salt))
    sums = src.con.execute(j.group_by(["salt", "arm"]).aggregate(n=j.count(), s=j.pre0.sum(), q=(j.pre0 * j.pre0).sum()))
    flagged, stated = [], []
    for _, part in sums.groupby("salt"):
        p = part.set_index("arm")
        r = smd(cs.SampleMeanStats(int(p.loc["treatment", "n"]), p.loc["treatment", "s"], p.loc["treatment", "q"]),
                cs.SampleMeanStats(int(p.loc["control", "n"]), p.loc["control", "s"], p.loc["control", "q"]))
        flagged.append(r.flagged)
        stated.append(r.false_alarm_rate)
    rate, expected = np.mean(flagged), np.mean(stated)
    assert 0.15 < expected < 0.3
    lo, hi = sps.binom.ppf([0.0005, 0.9995], 1000, expected) / 1000
    assert lo <= rate <= hi, (rate, expected)
