"""The splitter: a deterministic, salted-hash randomiser computed in the engine, the same on every engine.

A client's arm is a function of ``md5(client_id | salt)`` (:mod:`cxlab.compute.keys`): same salt and
client → same arm on DuckDB, PostgreSQL and Spark, on any day, in any order of rows. Arms take planned
shares of the key space. With strata (a segment, a client column, pre-period deciles of the primary
metric), clients are ordered by their key within each stratum and dealt out in blocks, so every stratum
holds each arm's share to within one person (permuted-block randomisation). Clients of the global
control group are never randomised: they form their own group, ``global_control``, never contacted.

Everything returns Ibis expressions or small frames of counts and sums; rows stay in the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import ibis
import pandas as pd

from cxlab.catalog.cards import Metric
from cxlab.compute import keys, retro
from cxlab.data.connect import Source

#: The group of global-control clients: held out of every campaign, never contacted, never randomised.
GLOBAL_CONTROL = "global_control"
#: Shares are compared in millionths (exact integer arithmetic on every engine).
SCALE = 1_000_000


def check_arms(arms: Mapping[str, float]) -> dict[str, float]:
    """Arms with positive shares summing to 1 (within 1e-6), at least two, none named ``global_control``."""
    arms = dict(arms)
    if len(arms) < 2:
        raise ValueError(f"a split needs at least two arms (a control and a treatment), got {list(arms)}")
    if GLOBAL_CONTROL in arms:
        raise ValueError(f"'{GLOBAL_CONTROL}' is the global control group's name, not an arm")
    if any(not s > 0 for s in arms.values()) or abs(sum(arms.values()) - 1) > 1e-6:
        raise ValueError(f"arm shares must be positive and sum to 1, got {arms} (sum {sum(arms.values()):g})")
    return arms


def _cumulative(arms: Mapping[str, float]) -> list[tuple[str, float]]:
    total, out = 0.0, []
    for arm, share in arms.items():
        total += share
        out.append((arm, total))
    return out


def hash_arm(client_id: ibis.Value, arms: Mapping[str, float], salt: str | ibis.Value) -> ibis.StringValue:
    """The arm of each client from its salted key alone: the first 8 hex digits of ``md5(client|salt)``
    fall in the arm's slice of the key space (cut points compared as text, equal on every engine)."""
    k = keys.key(client_id, salt).substr(0, keys.DIGITS)
    cuts = _cumulative(check_arms(arms))
    branches = [(k < f"{min(int(round(c * 16 ** keys.DIGITS)), 16 ** keys.DIGITS - 1):0{keys.DIGITS}x}", arm)
                for arm, c in cuts[:-1]]
    return ibis.cases(*branches, else_=cuts[-1][0])


def assign(t: ibis.Table, arms: Mapping[str, float], salt: str, stratum: str | None = None,
           control: str | None = None) -> ibis.Table:
    """``t`` with a column ``arm``.

    ``control``: a boolean column of ``t``, true for the global control group (arm ``global_control``).
    Without ``stratum`` the arm comes from the client's key alone (:func:`hash_arm`). With ``stratum`` (a
    column of ``t``) the non-control clients of each stratum are ranked by key (ties by client_id) and
    the rank r of n goes to the first arm whose cumulative share c satisfies r·10⁶ < round(c·10⁶)·n —
    integer arithmetic, so every engine deals the same blocks.
    """
    arms = check_arms(arms)
    gc = t[control].fill_null(False) if control else ibis.literal(False)
    if not stratum:
        return t.mutate(arm=ibis.ifelse(gc, GLOBAL_CONTROL, hash_arm(t.client_id, arms, salt)))
    t = t.mutate(cx_gc=gc, cx_key=keys.key(t.client_id, salt))
    w = ibis.window(group_by=[t.cx_gc, t[stratum]], order_by=[t.cx_key, t.client_id])
    t = t.mutate(cx_r=ibis.row_number().over(w).cast("int64"),
                 cx_n=t.client_id.count().over(ibis.window(group_by=[t.cx_gc, t[stratum]])).cast("int64"))
    cuts = _cumulative(arms)
    branches = [(t.cx_r * SCALE < int(round(c * SCALE)) * t.cx_n, arm) for arm, c in cuts[:-1]]
    arm = ibis.ifelse(t.cx_gc, GLOBAL_CONTROL, ibis.cases(*branches, else_=cuts[-1][0]))
    return t.mutate(arm=arm).drop("cx_gc", "cx_key", "cx_r", "cx_n")


def pre_values(src: Source, t: ibis.Table, metrics: Sequence[Metric], snapshot: date, pre_days: int) -> ibis.Table:
    """Per client of ``t`` (with ``arm``): ``pre{i}``, metric ``i`` over ``[snapshot − pre_days, snapshot)``
    — the pre-period 04 uses, anchored at the launch snapshot instead of the first send."""
    anchors = t.select("client_id", "arm", t0=ibis.timestamp(pd.Timestamp(snapshot).to_pydatetime()))
    out = retro.person_values(src, list(metrics), anchors, 1, pre_days)
    return out.select("client_id", "arm", *[f"pre{i}" for i in range(len(metrics))])


def deciles(src: Source, t: ibis.Table, metric: Metric, snapshot: date, pre_days: int, salt: str) -> ibis.Table:
    """``t`` with ``stratum`` = the client's pre-period decile (1–10) of ``metric`` among ``t``'s clients
    (ties ordered by a second salted key, so equal values spread over deciles the same way everywhere)."""
    p = pre_values(src, t.mutate(arm=ibis.literal("")), [metric], snapshot, pre_days)
    # ties by a key independent of the one that ranks clients within a stratum: with the same key, the
    # tied clients at a decile's top would also rank last inside it, and the blocks would sort by value
    p = p.mutate(cx_key=keys.key(p.client_id, salt, "decile"))
    p = p.mutate(stratum=(ibis.ntile(10).over(ibis.window(order_by=[p.pre0, p.cx_key, p.client_id])) + 1).cast("int64"))
    return t.join(p.select("client_id", "stratum"), "client_id")


def realised(src: Source, t: ibis.Table) -> pd.DataFrame:
    """People per arm (one query), in arm order."""
    return src.con.execute(t.group_by("arm").aggregate(people=t.count()).order_by("arm"))


def balance_sums(src: Source, t: ibis.Table, metrics: Sequence[Metric], snapshot: date, pre_days: int) -> pd.DataFrame:
    """Per arm: ``n`` and, per metric, ``pre_sum`` / ``pre_sum_sq`` of its pre-period values — the
    sufficient statistics of the balance check, one query (metric ``i``'s columns are suffixed ``_i``)."""
    p = pre_values(src, t, metrics, snapshot, pre_days)
    aggs = {"n": p.count()}
    for i in range(len(metrics)):
        aggs |= {f"pre_sum_{i}": p[f"pre{i}"].sum(), f"pre_sum_sq_{i}": (p[f"pre{i}"] * p[f"pre{i}"]).sum()}
    return src.con.execute(p.group_by("arm").aggregate(**aggs).order_by("arm"))


def split_counts(src: Source, t: ibis.Table, arms: Mapping[str, float], salts: Sequence[str]) -> pd.DataFrame:
    """People per (salt, arm) for many salts in ONE query (salts × clients in the engine): how the
    unstratified splitter behaves over repeated randomisations."""
    s = ibis.memtable(pd.DataFrame({"salt": list(salts)}))
    j = t.select("client_id").cross_join(s)
    j = j.mutate(arm=hash_arm(j.client_id, arms, j.salt))
    return src.con.execute(j.group_by(["salt", "arm"]).aggregate(people=j.count()).order_by(["salt", "arm"]))
