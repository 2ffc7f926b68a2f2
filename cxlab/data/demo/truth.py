"""The demo's ``truth.json``: what each planted effect should show, for the whole data set, built chunk by chunk.

Each chunk contributes sums that add across chunks — the generator's counters and probabilities, and
counts recomputed from the chunk's written rows with pandas (segment sizes and overlaps, holders per line,
consents, contact counts, the campaign's pre/post spend moments) — plus one turnover per client, the only
thing the value shape (Gini, top shares, ABC) needs globally. Nothing here uses ``cxlab.compute``: the
truth is an independent computation for the analyses to be checked against.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cxlab.data.demo.generator import ChunkGenerator
from cxlab.data.demo.plan import (
    AS_OF,
    CAMPAIGN,
    CAMPAIGN_SEND,
    LINES,
    PROGRAMME,
    SEGMENT_SNAPSHOT,
    TRIGGERS,
    UPLIFT_BY_INCOME,
)

Sums = dict[str, Any]  # nested dicts of numbers; two chunks' sums add leaf by leaf

DEFINITIONS = {
    "programme": "clients existing on 2025-01-01; outside = not in the global control; contracts of the line opened in [start, end) per client; "
                 "leakage = control clients with a treatment row of a campaign",
    "snapshot": "the 1st of a month; clients exist at s when joined_at <= s",
    "eligible": "existing at s and not holding the target line at s (an open contract: opened_at < s and closed_at null or >= s)",
    "triggered": "the trigger's event (with value >= min_value when set) in the 30 days before s: s - 30 days <= ts < s",
    "conversion": "a contract of the target line opened in (s, s + window_days]",
    "expected_rate_*": "mean of the planted probabilities over the eligible (client, snapshot) rows of the group, snapshots 2024-04-01 … 2025-11-01",
    "campaign conversion": "a credit card opened in (send, send + 30 days], per person; expected_conversion is the mean planted probability per arm",
    "spend": "sum of card_spend event values per person; post = (send, send + 30 days], pre = [send - 90 days, send)",
    "segments": "evaluated at 2025-12-01 over clients existing then; windows are [s - N days, s)",
    "turnover": "sum of holdings.value over contracts open at any time in 2025 (opened_at < 2026-01-01 and closed_at null or >= 2025-01-01), "
                "per client, clients without any counted as 0",
    "abc": "clients sorted by turnover: A make the first 80% of it, B the next 15%, C the rest",
}


def add(a: Sums, b: Sums) -> Sums:
    """The sums of two chunks together (both have the same keys)."""
    return {k: add(v, b[k]) if isinstance(v, dict) else v + b[k] for k, v in a.items()}


# --- per chunk: sums read from the generator and from the chunk's rows --------------------------------
def chunk_sums(t: dict[str, pd.DataFrame], g: ChunkGenerator) -> Sums:
    """What truth needs from one chunk: ``t`` holds the chunk's tables and ``products``."""
    return {
        "triggers": g.rule_counts,
        "campaign": _campaign_sums(t, g),
        "segments": _segment_sums(t),
        "white_space": _white_space_sums(t),
        "contact": _contact_sums(t),
        "programme": g.programme_counts,
        "rows": {k: len(v) for k, v in t.items() if k != "products"},
    }


def client_turnover(t: dict[str, pd.DataFrame]) -> np.ndarray:
    """Turnover per client of the chunk, in client order (see ``DEFINITIONS['turnover']``)."""
    h = t["holdings"]
    in_2025 = (h.opened_at < pd.Timestamp("2026-01-01")) & (h.closed_at.isna() | (h.closed_at >= pd.Timestamp("2025-01-01")))
    return h[in_2025].groupby("client_id").value.sum().reindex(t["clients"].client_id, fill_value=0.0).to_numpy()


def _open_at(holdings: pd.DataFrame, products: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    h = holdings.merge(products[["product_id", "product_line"]], on="product_id")
    return h[(h.opened_at < at) & (h.closed_at.isna() | (h.closed_at >= at))]


def _segment_sums(t: dict[str, pd.DataFrame]) -> Sums:
    s = pd.Timestamp(SEGMENT_SNAPSHOT)
    clients = t["clients"][t["clients"].joined_at <= s].client_id
    e = t["events"]

    def with_event(kind: str, days: int, at_least: int = 1) -> set[int]:
        w = e[(e.event_type == kind) & (e.ts >= s - pd.Timedelta(days=days)) & (e.ts < s)]
        counts = w.groupby("client_id").size()
        return set(counts[counts >= at_least].index)

    held = _open_at(t["holdings"], t["products"], s)
    members = {
        "travellers": with_event("travel_booking", 90),
        "salary_earners": with_event("salary_deposit", 35),
        "digital_active": with_event("app_login", 30, 4),
        "savers": set(held[held.product_line == "deposit"].client_id),
        "borrowers": set(held[held.product_line.isin(["consumer_loan", "mortgage"])].client_id),
    }
    base = set(clients)
    members = {k: v & base for k, v in members.items()}
    return {"clients": len(base), "sizes": {k: len(v) for k, v in members.items()},
            "overlap": {a: {b: len(members[a] & members[b]) for b in members} for a in members}}


def _white_space_sums(t: dict[str, pd.DataFrame]) -> Sums:
    s = pd.Timestamp(SEGMENT_SNAPSHOT)
    existing = t["clients"][t["clients"].joined_at <= s]
    held = _open_at(t["holdings"], t["products"], s)
    holders = held[held.client_id.isin(existing.client_id)].groupby("product_line").client_id.nunique()
    return {"existing": len(existing), "holders": {k: int(holders.get(k, 0)) for k in LINES}}


def _contact_sums(t: dict[str, pd.DataFrame]) -> Sums:
    s = pd.Timestamp(SEGMENT_SNAPSHOT)
    c = t["communications"]
    recent = c[(c.group == "treatment") & (c.sent_at >= s - pd.Timedelta(days=30)) & (c.sent_at < s)]
    per = recent.groupby("client_id").size()
    by_channel = t["consents"].groupby("channel", observed=True).opted_in
    return {"opted_in": {k: int(v) for k, v in by_channel.sum().items()},
            "consents": {k: int(v) for k, v in by_channel.size().items()},
            "with_3plus": int((per >= 3).sum()), "global_control": int(t["clients"].global_control.sum())}


def _campaign_sums(t: dict[str, pd.DataFrame], g: ChunkGenerator) -> Sums:
    arms = list(CAMPAIGN["split"])
    p = g.campaign_p(g.arm)
    e = t["events"]
    send = pd.Timestamp(CAMPAIGN_SEND)
    spend = e[e.event_type == "card_spend"]
    post = spend[(spend.ts > send) & (spend.ts <= send + pd.Timedelta(days=30))].groupby("client_id").value.sum()
    pre = spend[(spend.ts >= send - pd.Timedelta(days=90)) & (spend.ts < send)].groupby("client_id").value.sum()
    ids = g.ids[g.arm >= 0]
    x, y = pre.reindex(ids, fill_value=0.0).to_numpy(), post.reindex(ids, fill_value=0.0).to_numpy()
    return {
        "people": {a: int((g.arm == i).sum()) for i, a in enumerate(arms)},
        "p_sum": {a: float(p[g.arm == i].sum()) for i, a in enumerate(arms)},
        "rows": int((t["communications"].campaign_id == CAMPAIGN["campaign_id"]).sum()),
        "spend": {"n": len(ids), "pre": float(x.sum()), "post": float(y.sum()), "pre_sq": float(x @ x),
                  "post_sq": float(y @ y), "pre_post": float(x @ y)},
    }


# --- the whole data set ---------------------------------------------------------------------------------
def truth(sums: Sums, turnover: np.ndarray, products: pd.DataFrame, seed: int) -> dict[str, Any]:
    """``truth.json`` from the sums of all chunks and the turnover of every client."""
    s = sums
    return {
        "seed": seed, "n_clients": len(turnover), "as_of": AS_OF, "period": ["2024-01-01", "2025-12-31"],
        "definitions": DEFINITIONS,
        "triggers": _triggers(s["triggers"]),
        "campaign": _campaign(s["campaign"]),
        "segments": {"snapshot": str(SEGMENT_SNAPSHOT), **s["segments"]},
        "value": _value_shape(turnover),
        "white_space": {"snapshot": str(SEGMENT_SNAPSHOT),
                        "share_holding": {k: v / s["white_space"]["existing"] for k, v in s["white_space"]["holders"].items()}},
        "contact": {"opt_in_rate": {k: v / s["contact"]["consents"][k] for k, v in s["contact"]["opted_in"].items()},
                    "clients_with_3plus_communications_in_30_days": s["contact"]["with_3plus"],
                    "global_control": s["contact"]["global_control"]},
        "rows": {**s["rows"], "products": len(products)},
        "programme": {**PROGRAMME, "clients_outside_control": s["programme"]["outside"],
                      "clients_in_control": s["programme"]["control"],
                      "extra_contracts": s["programme"]["extra_contracts"],
                      "expected_incremental_contracts_per_client": PROGRAMME["uplift"],
                      "leakage": {PROGRAMME["leak_campaign"]: s["programme"]["leaked"]}},
    }


def _triggers(counts: Sums) -> dict[str, Any]:
    out = {}
    for name, (kind, minimum, line, p_on, p_off) in TRIGGERS.items():
        c = counts[name]
        trig, other = c["triggered_rows"], c["eligible_rows"] - c["triggered_rows"]
        e_on, e_off = c["p_sum_triggered"] / trig, c["p_sum_other"] / other
        out[name] = {
            "event_type": kind, "min_value": minimum, "target_line": line, "window_days": 30,
            "p_triggered": p_on, "p_base": p_off, "lift_abs": p_on - p_off, "lift_rel": p_on / p_off - 1,
            "expected_rate_triggered": e_on, "expected_rate_not_triggered": e_off,
            "expected_lift_abs": e_on - e_off, "expected_lift_rel": e_on / e_off - 1,
            "eligible_rows": c["eligible_rows"], "triggered_rows": trig,
            "converted_triggered": c["converted_triggered"], "converted_not_triggered": c["converted_other"],
        }
    return out


def _correlation(m: Sums) -> float:
    """Pearson's r from the moments n, Σx, Σy, Σx², Σy², Σxy."""
    n = m["n"]
    sxy = m["pre_post"] - m["pre"] * m["post"] / n
    sxx = m["pre_sq"] - m["pre"] ** 2 / n
    syy = m["post_sq"] - m["post"] ** 2 / n
    return sxy / math.sqrt(sxx * syy)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _campaign(c: Sums) -> dict[str, Any]:
    arms = list(CAMPAIGN["split"])
    people = c["people"]
    expected = {a: c["p_sum"][a] / people[a] if people[a] else None for a in arms}
    rho = _correlation(c["spend"])
    return {
        **{k: v for k, v in CAMPAIGN.items() if k not in ("conversion",)},
        "send_date": str(CAMPAIGN_SEND),
        "target": "clients existing at the send date, not in the global control, opted in to e-mail, holding no credit card",
        "p_conversion": CAMPAIGN["conversion"],
        "uplift_by_income": UPLIFT_BY_INCOME,
        "people": people,
        "rows": c["rows"],
        "expected_conversion": expected,
        "expected_uplift_abs": {a: _minus(expected[a], expected["control"]) for a in arms if a != "control"},
        "expected_spend_uplift": {a: CAMPAIGN["spend_uplift"][a] for a in arms if a != "control"},
        "pre_post_spend_correlation": rho,
        "expected_cuped_variance_reduction": rho**2,
        "parallel_trends": "spend of every client follows one seasonal trend; arms differ only by randomisation",
    }


def _value_shape(turnover: np.ndarray) -> dict[str, Any]:
    v = np.sort(turnover)[::-1]
    total, n = v.sum(), len(v)
    cum = np.cumsum(v) / total
    gini = 1 - 2 * np.sum(np.cumsum(np.sort(v)) / total) / n + 1 / n
    a = int(np.searchsorted(cum, 0.80) + 1)
    b = int(np.searchsorted(cum, 0.95) + 1) - a
    return {
        "turnover_total": round(float(total), 2),
        "top_20pct_share": float(v[: int(np.ceil(0.2 * n))].sum() / total),
        "top_1pct_share": float(v[: int(np.ceil(0.01 * n))].sum() / total),
        "gini": float(gini),
        "abc_sizes": {"A": a, "B": b, "C": n - a - b},
    }
