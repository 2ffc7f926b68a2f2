"""Demo data: a plausible bank-like client base with effects planted on purpose, and their truth.

The generator walks month by month over 2024-01 … 2025-12 with vectorised numpy draws per client.
Every planted effect is written to ``truth.json`` as the parameter used *and* as the expected value the
analyses should recover (the mean of the probabilities actually used over the rows an analysis sees),
so a test can ask "does the interval cover the truth?" rather than "is the number plausible?".

How the planted effects are made recoverable:
- Monthly events (salary, card spend, travel, inflows) fall on days 2–28, so the 30 days before the 1st of
  a month always contain exactly the previous month's events.
- Conversions of a trigger's target line are drawn at each monthly snapshot ``s`` among eligible clients
  (existing, not holding the line) with the probability of their rule state at ``s``, and dated
  ``s + 3…27 days``: inside a 30-day window after ``s``, before the next snapshot, and never inside the
  previous snapshot's window.
- The campaign is randomised among its target at the 2025-04-01 snapshot; for targeted clients the
  credit-card conversion is drawn with the arm's probability instead of the trigger's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlab.data.write import write_tables
from cxlab.errors import ParameterError

DAY = np.timedelta64(1, "D")
HOUR = np.timedelta64(1, "h")
START, END = np.datetime64("2024-01-01"), np.datetime64("2026-01-01")
AS_OF = "2026-01-01"
MONTHS = np.arange("2024-01", "2026-01", dtype="datetime64[M]").astype("datetime64[D]")
SNAPSHOTS = MONTHS[3:23]  # 2024-04-01 … 2025-11-01: trigger snapshots
SEGMENT_SNAPSHOT = np.datetime64("2025-12-01")
CAMPAIGN_SEND = np.datetime64("2025-04-01")

LINES = ("current_account", "credit_card", "deposit", "consumer_loan", "mortgage", "insurance", "investment")
PRODUCTS = {
    "current_account": ("ca_basic", "ca_premium"),
    "credit_card": ("cc_classic", "cc_gold", "cc_platinum"),
    "deposit": ("dep_3m", "dep_12m"),
    "consumer_loan": ("loan_cash", "loan_auto"),
    "mortgage": ("mort_fixed", "mort_variable"),
    "insurance": ("ins_travel", "ins_home", "ins_life"),
    "investment": ("inv_funds", "inv_brokerage"),
}
#: Mean annual revenue of a contract by line (lognormal); with a client multiplier the base is Pareto-shaped.
LINE_VALUE = {"current_account": 30, "credit_card": 150, "deposit": 100, "consumer_loan": 400,
              "mortgage": 2000, "insurance": 80, "investment": 800}
#: Share of clients holding each line when the data starts (clients who joined before 2024).
INITIAL_HOLDING = {"credit_card": 0.25, "deposit": 0.20, "consumer_loan": 0.12, "mortgage": 0.07,
                   "insurance": 0.10, "investment": 0.05}

TRIGGERS = {
    # name: (event type, minimum value, target line, p if triggered, p otherwise)
    "salary_no_card": ("salary_deposit", 3000.0, "credit_card", 0.060, 0.015),
    "travel_insurance": ("travel_booking", 0.0, "insurance", 0.080, 0.010),
    "inflow_deposit": ("large_inflow", 0.0, "deposit", 0.120, 0.008),
}
#: Monthly chance of opening lines that no trigger drives (background white-space filling).
BACKGROUND = {"consumer_loan": 0.004, "mortgage": 0.001, "investment": 0.002}

CAMPAIGN = {
    "campaign_id": "cc_spring_2025",
    "split": {"control": 0.2, "email": 0.4, "email_offer": 0.4},
    "conversion": {"control": 0.020, "email": 0.032, "email_offer": 0.040},
    "spend_uplift": {"control": 0.0, "email": 15.0, "email_offer": 25.0},
    "unsubscribe": {"control": 0.004, "email": 0.006, "email_offer": 0.009},
    "reminder_share": 0.25,
    "second_card_share": 0.10,
    "window_days": 30,
    "pre_period_days": 90,
}
#: Uplift multiplier by income band (mean 1 over the band shares): the model score tracks it.
UPLIFT_BY_INCOME = {"low": 0.5, "mid": 1.0, "high": 2.0}
INCOME = ("low", "mid", "high")
INCOME_P = (0.4, 0.4, 0.2)
REGIONS = ("capital", "north", "south", "east", "west")
CHANNELS = {"email": 0.70, "sms": 0.50, "push": 0.45, "call": 0.30}


@dataclass
class _Rows:
    """Column lists of one table, appended month by month and concatenated once."""

    columns: dict[str, list[np.ndarray]]

    @classmethod
    def of(cls, *names: str) -> _Rows:
        return cls({n: [] for n in names})

    def add(self, **cols: Any) -> None:
        n = max(len(v) for v in cols.values() if isinstance(v, np.ndarray))
        for name in self.columns:
            v = cols[name]
            self.columns[name].append(v if isinstance(v, np.ndarray) else np.full(n, v))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: np.concatenate(v) if v else np.array([]) for k, v in self.columns.items()})


def _days(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """Random offsets of lo…hi days plus 8–19 hours (timestamps inside a day, never midnight)."""
    return rng.integers(lo, hi + 1, n) * DAY + rng.integers(8, 20, n) * HOUR


class _Generator:
    """One pass over the months for clients ``1…n``; holds the state the planted effects need."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.rng = n, np.random.default_rng(seed)
        self.ids = np.arange(1, n + 1, dtype=np.int64)
        self.events = _Rows.of("client_id", "event_type", "ts", "value")
        self.holdings = _Rows.of("client_id", "product_id", "opened_at", "closed_at", "value")
        self.comms = _Rows.of("client_id", "campaign_id", "channel", "sent_at", "group", "arm", "score")
        # per line: the time until which the client holds it (NaT = not holding)
        self.until = {line: np.full(n, np.datetime64("NaT"), "datetime64[s]") for line in LINES}
        self.rule_counts: dict[str, dict[str, float]] = {
            t: {"eligible_rows": 0, "triggered_rows": 0, "converted_triggered": 0, "converted_other": 0,
                "p_sum_triggered": 0.0, "p_sum_other": 0.0} for t in TRIGGERS}

    # --- clients ----------------------------------------------------------------------------------
    def clients(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        old = rng.random(n) < 0.8
        joined = np.where(
            old,
            np.datetime64("2015-01-01") + rng.integers(0, 3287, n) * DAY,
            START + rng.integers(0, 639, n) * DAY,  # until 2025-09-30
        ) + rng.integers(9, 18, n) * HOUR
        self.joined = joined.astype("datetime64[s]")
        self.income = rng.choice(len(INCOME), n, p=INCOME_P)
        self.employed = rng.random(n) < 0.75
        self.global_control = rng.random(n) < 0.05
        self.traveller = rng.random(n) < 0.15
        self.digital = rng.random(n) < 0.30
        self.level = rng.lognormal(0.0, 1.0, n)  # client value multiplier: the Pareto shape
        salary_mean = np.array([1800.0, 2900.0, 5200.0])[self.income]
        self.salary = salary_mean * rng.lognormal(0.0, 0.25, n)
        self.spend_level = np.exp(rng.normal(np.log(400.0), 0.8, n))
        return pd.DataFrame({
            "client_id": self.ids, "joined_at": self.joined, "global_control": self.global_control,
            "age": rng.integers(18, 81, n).astype(np.int64), "region": np.array(REGIONS)[rng.integers(0, 5, n)],
            "income_band": np.array(INCOME)[self.income], "is_employed": self.employed,
        })

    def consents(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        frames = []
        self.opted = {}
        for ch, p in CHANNELS.items():
            p_i = np.where(self.digital, min(p + 0.3, 0.95), p) if ch == "push" else np.full(n, p)
            self.opted[ch] = rng.random(n) < p_i
            frames.append(pd.DataFrame({"client_id": self.ids, "channel": ch, "opted_in": self.opted[ch]}))
        return pd.concat(frames, ignore_index=True)

    # --- holdings ---------------------------------------------------------------------------------
    def _open(self, who: np.ndarray, line: str, when: np.ndarray, close_share: float = 0.0) -> None:
        """Clients ``who`` open a contract of ``line`` at ``when``; some close it within 10–89 days."""
        rng, k = self.rng, len(who)
        if k == 0:
            return
        products = np.array(PRODUCTS[line])[rng.integers(0, len(PRODUCTS[line]), k)]
        closes = rng.random(k) < close_share
        closed = when + _days(rng, k, 10, 89)
        closes &= closed < END  # a closure after the data ends is not known yet
        closed = np.where(closes, closed, np.datetime64("NaT")).astype("datetime64[s]")
        value = LINE_VALUE[line] * self.level[who - 1] * rng.lognormal(-0.5, 1.0, k)
        self.holdings.add(client_id=who, product_id=products, opened_at=when.astype("datetime64[s]"),
                          closed_at=closed, value=np.round(value, 2))
        self.until[line][who - 1] = np.where(closes, closed, np.datetime64("2100-01-01"))

    def initial_holdings(self) -> None:
        rng = self.rng
        self._open(self.ids, "current_account", self.joined)
        before = self.joined < START
        for line, share in INITIAL_HOLDING.items():
            p = share * np.array([0.7, 1.0, 1.6])[self.income]
            who = self.ids[before & (rng.random(self.n) < p)]
            span = ((START - self.joined[who - 1].astype("datetime64[D]")) / DAY).astype(np.int64)
            when = self.joined[who - 1] + (rng.random(len(who)) * np.maximum(span - 1, 1)).astype(np.int64) * DAY
            self._open(who, line, when, close_share=0.0)
            # a few of them close during the period, so clients become eligible again
            closing = who[rng.random(len(who)) < 0.10]
            closed = START + _days(rng, len(closing), 0, 600)
            self.until[line][closing - 1] = closed
            self._pending_closures.append((closing, line, closed))

    # --- events -----------------------------------------------------------------------------------
    def _event(self, who: np.ndarray, kind: str, month: np.datetime64, value: np.ndarray | float) -> np.ndarray:
        ts = (month + _days(self.rng, len(who), 1, 27)).astype("datetime64[s]")  # days 2–28
        val = value if isinstance(value, np.ndarray) else np.full(len(who), value)
        self.events.add(client_id=who, event_type=kind, ts=ts, value=np.round(val, 2))
        return ts

    def month_events(self, month: np.datetime64, month_index: int) -> dict[str, np.ndarray]:
        """This month's events; returns, per trigger event type, the largest value per client (0 if none)."""
        rng, n = self.rng, self.n
        active = self.joined < month
        season = 1.0 + 0.15 * np.sin(2 * np.pi * (month_index % 12) / 12) + 0.004 * month_index
        state = {k: np.zeros(n) for k in ("salary_deposit", "travel_booking", "large_inflow")}

        who = self.ids[active & self.employed & (rng.random(n) < 0.95)]
        pay = np.round(self.salary[who - 1] * rng.lognormal(0.0, 0.08, len(who)), 2)  # the rule sees cents
        self._event(who, "salary_deposit", month, pay)
        state["salary_deposit"][who - 1] = pay

        who = self.ids[active]
        spend = self.spend_level[who - 1] * season * rng.lognormal(-0.045, 0.3, len(who))
        self._spend_this_month = (who, spend)  # the campaign may add its uplift before it is written
        self._spend_month = month

        p_travel = np.where(self.traveller, 0.35, 0.02)
        who = self.ids[active & (rng.random(n) < p_travel)]
        self._event(who, "travel_booking", month, rng.lognormal(np.log(900), 0.5, len(who)))
        state["travel_booking"][who - 1] = 1.0

        p_inflow = np.array([0.005, 0.01, 0.03])[self.income]
        who = self.ids[active & (rng.random(n) < p_inflow)]
        self._event(who, "large_inflow", month, 10_000 + rng.lognormal(np.log(15_000), 0.8, len(who)))
        state["large_inflow"][who - 1] = 1.0

        logins = rng.poisson(np.where(self.digital, 6.0, 0.6)) * active
        who = np.repeat(self.ids, logins)
        self._event(who, "app_login", month, np.nan)

        for kind, p in (("branch_visit", 0.08), ("complaint", 0.002), ("unsubscribe", 0.001)):
            who = self.ids[active & (rng.random(n) < p)]
            self._event(who, kind, month, np.nan)
        return state

    def flush_spend(self) -> None:
        who, spend = self._spend_this_month
        self._event(who, "card_spend", self._spend_month, spend)

    # --- planted conversions ----------------------------------------------------------------------
    def holds(self, line: str, at: np.datetime64) -> np.ndarray:
        until = self.until[line]
        return ~np.isnat(until) & (until >= at)

    def trigger_conversions(self, s: np.datetime64, state: dict[str, np.ndarray], targeted: np.ndarray) -> None:
        """At snapshot ``s``: eligible clients convert to each trigger's line with their rule's probability."""
        rng = self.rng
        existing = self.joined <= s
        for name, (kind, minimum, line, p_on, p_off) in TRIGGERS.items():
            fired = state[kind] >= minimum if minimum > 0 else state[kind] > 0
            eligible = existing & ~self.holds(line, s)
            p = np.where(fired, p_on, p_off)
            if line == "credit_card":
                p = np.where(targeted >= 0, self.campaign_p(targeted), p)
            converts = eligible & (rng.random(self.n) < p)
            c = self.rule_counts[name]
            if s in SNAPSHOTS:
                c["eligible_rows"] += int(eligible.sum())
                c["triggered_rows"] += int((eligible & fired).sum())
                c["converted_triggered"] += int((converts & fired).sum())
                c["converted_other"] += int((converts & ~fired).sum())
                c["p_sum_triggered"] += float(p[eligible & fired].sum())
                c["p_sum_other"] += float(p[eligible & ~fired].sum())
            who = self.ids[converts]
            self._open(who, line, s + _days(rng, len(who), 3, 27), close_share=0.05)
            if line == "credit_card" and s == CAMPAIGN_SEND:
                self.converted_at_campaign = converts
        for line, p in BACKGROUND.items():
            who = self.ids[existing & ~self.holds(line, s) & (rng.random(self.n) < p)]
            self._open(who, line, s + _days(rng, len(who), 3, 27))

    def campaign_p(self, arm: np.ndarray) -> np.ndarray:
        """The campaign's conversion probability per client: control's, plus the arm's uplift × the
        client's income multiplier (mean 1), so the uplift varies and a score can rank it."""
        p = np.array(list(CAMPAIGN["conversion"].values()))[arm.clip(0)]
        base = CAMPAIGN["conversion"]["control"]
        return base + (p - base) * self.uplift_mult

    # --- communications ---------------------------------------------------------------------------
    def newsletters(self, month: np.datetime64) -> None:
        """Monthly e-mail newsletter (5% control) and push; an extra e-mail in late November 2025."""
        rng, n = self.rng, self.n
        reachable = (self.joined < month) & ~self.global_control
        tag = str(month)[:7].replace("-", "_")
        sends = [("news_" + tag, "email", 4, self.opted["email"] & (rng.random(n) < 0.6)),
                 ("push_" + tag, "push", 14, self.opted["push"] & (rng.random(n) < 0.5))]
        if str(month) == "2025-11-01":
            sends.append(("black_friday_2025", "email", 24, self.opted["email"] & (rng.random(n) < 0.5)))
        for campaign_id, channel, day, chosen in sends:
            who = self.ids[reachable & chosen]
            control = rng.random(len(who)) < 0.05
            self.comms.add(client_id=who, campaign_id=campaign_id, channel=channel,
                           sent_at=np.full(len(who), month + day * DAY + 10 * HOUR, "datetime64[s]"),
                           group=np.where(control, "control", "treatment"), arm=np.where(control, "control", "treatment"),
                           score=np.full(len(who), np.nan))

    def campaign(self) -> np.ndarray:
        """Randomise the planted campaign's target; returns each client's arm index (−1 = not targeted)."""
        rng, n, s = self.rng, self.n, CAMPAIGN_SEND
        target = (self.joined <= s) & ~self.global_control & self.opted["email"] & ~self.holds("credit_card", s)
        arms = list(CAMPAIGN["split"])
        arm = np.where(target, rng.choice(len(arms), n, p=list(CAMPAIGN["split"].values())), -1)
        self.uplift_mult = np.array([UPLIFT_BY_INCOME[b] for b in INCOME])[self.income]
        score = np.round(0.5 * np.log(self.uplift_mult) + rng.normal(0.0, 0.35, n), 4)
        who = self.ids[target]
        a = arm[target]
        names = np.array(arms)[a]
        group = np.where(a == 0, "control", "treatment")
        sent = np.full(len(who), s + 9 * HOUR, "datetime64[s]")
        self.comms.add(client_id=who, campaign_id=CAMPAIGN["campaign_id"], channel="email", sent_at=sent,
                       group=group, arm=names, score=score[who - 1])
        again = (a > 0) & (rng.random(len(who)) < CAMPAIGN["reminder_share"])
        self.comms.add(client_id=who[again], campaign_id=CAMPAIGN["campaign_id"], channel="email",
                       sent_at=sent[again] + 7 * DAY, group=group[again], arm=names[again], score=score[who[again] - 1])
        self.arm = arm
        return arm

    def campaign_outcomes(self) -> None:
        """Second cards, spend uplift and unsubscribes caused by the campaign (window 30 days after send)."""
        rng, arm = self.rng, self.arm
        converted = self.converted_at_campaign & (arm >= 0)
        second = self.ids[converted & (rng.random(self.n) < CAMPAIGN["second_card_share"])]
        self._open(second, "credit_card", np.full(len(second), CAMPAIGN_SEND) + _days(rng, len(second), 28, 28))
        for i, name in enumerate(CAMPAIGN["split"]):
            who = self.ids[(arm == i) & (rng.random(self.n) < CAMPAIGN["unsubscribe"][name])]
            ts = (CAMPAIGN_SEND + _days(rng, len(who), 1, 28)).astype("datetime64[s]")
            self.events.add(client_id=who, event_type="unsubscribe", ts=ts, value=np.full(len(who), np.nan))

    def add_spend_uplift(self) -> None:
        who, spend = self._spend_this_month
        uplift = np.array(list(CAMPAIGN["spend_uplift"].values()))
        arm = self.arm[who - 1]
        self._spend_this_month = (who, spend + np.where(arm >= 0, uplift[arm.clip(0)], 0.0))

    # --- the whole run ----------------------------------------------------------------------------
    def run(self) -> dict[str, pd.DataFrame]:
        self._pending_closures: list[tuple[np.ndarray, str, np.ndarray]] = []
        clients = self.clients()
        consents = self.consents()
        self.initial_holdings()
        self.converted_at_campaign = np.zeros(self.n, bool)
        self.arm = np.full(self.n, -1)
        self.uplift_mult = np.ones(self.n)
        previous = {k: np.zeros(self.n) for k in ("salary_deposit", "travel_booking", "large_inflow")}
        for i, month in enumerate(MONTHS):
            targeted = self.campaign() if month == CAMPAIGN_SEND else np.full(self.n, -1)
            if month >= SNAPSHOTS[0]:
                self.trigger_conversions(month, previous, targeted)
            if month == CAMPAIGN_SEND:
                self.campaign_outcomes()
            self.newsletters(month)
            previous = self.month_events(month, i)
            if month == CAMPAIGN_SEND:
                self.add_spend_uplift()
            self.flush_spend()
        holdings = self.holdings.frame()
        for who, line, closed in self._pending_closures:
            rows = holdings.client_id.isin(who) & holdings.product_id.isin(PRODUCTS[line]) & (holdings.opened_at < START)
            close = pd.Series(closed, index=who)
            holdings.loc[rows, "closed_at"] = holdings.loc[rows, "client_id"].map(close).to_numpy()
        products = pd.DataFrame(
            [(p, line, p.replace("_", " ").title()) for line in LINES for p in PRODUCTS[line]],
            columns=["product_id", "product_line", "name"],
        )
        events = self.events.frame().sort_values(["ts", "client_id", "event_type"], kind="stable", ignore_index=True)
        holdings = holdings.sort_values(["opened_at", "client_id", "product_id"], kind="stable", ignore_index=True)
        comms = self.comms.frame().sort_values(["sent_at", "campaign_id", "client_id"], kind="stable", ignore_index=True)
        return {"clients": clients, "products": products, "holdings": holdings, "events": events,
                "communications": comms, "consents": consents}


# --- truth, recomputed from the written rows where it can be ------------------------------------------
def _open_at(holdings: pd.DataFrame, products: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    h = holdings.merge(products[["product_id", "product_line"]], on="product_id")
    return h[(h.opened_at < at) & (h.closed_at.isna() | (h.closed_at >= at))]


def _segments(t: dict[str, pd.DataFrame]) -> dict[str, Any]:
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
    return {
        "snapshot": str(SEGMENT_SNAPSHOT),
        "clients": len(base),
        "sizes": {k: len(v) for k, v in members.items()},
        "overlap": {a: {b: len(members[a] & members[b]) for b in members} for a in members},
    }


def _value_shape(t: dict[str, pd.DataFrame]) -> dict[str, Any]:
    h = t["holdings"]
    in_2025 = (h.opened_at < pd.Timestamp("2026-01-01")) & (h.closed_at.isna() | (h.closed_at >= pd.Timestamp("2025-01-01")))
    turnover = h[in_2025].groupby("client_id").value.sum().reindex(t["clients"].client_id, fill_value=0.0)
    v = np.sort(turnover.to_numpy())[::-1]
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


def _campaign(t: dict[str, pd.DataFrame], g: _Generator) -> dict[str, Any]:
    arms = list(CAMPAIGN["split"])
    targeted = g.arm >= 0
    p = g.campaign_p(g.arm)
    people = {a: int((g.arm == i).sum()) for i, a in enumerate(arms)}
    expected = {a: float(p[g.arm == i].mean()) if people[a] else None for i, a in enumerate(arms)}
    e = t["events"]
    send = pd.Timestamp(CAMPAIGN_SEND)
    spend = e[e.event_type == "card_spend"]
    post = spend[(spend.ts > send) & (spend.ts <= send + pd.Timedelta(days=30))].groupby("client_id").value.sum()
    pre = spend[(spend.ts >= send - pd.Timedelta(days=90)) & (spend.ts < send)].groupby("client_id").value.sum()
    ids = g.ids[targeted]
    both = pd.DataFrame({"pre": pre.reindex(ids, fill_value=0.0), "post": post.reindex(ids, fill_value=0.0)})
    rho = float(both.corr().iloc[0, 1])
    comms = t["communications"]
    rows = int((comms.campaign_id == CAMPAIGN["campaign_id"]).sum())
    return {
        **{k: v for k, v in CAMPAIGN.items() if k not in ("conversion",)},
        "send_date": str(CAMPAIGN_SEND),
        "target": "clients existing at the send date, not in the global control, opted in to e-mail, holding no credit card",
        "p_conversion": CAMPAIGN["conversion"],
        "uplift_by_income": UPLIFT_BY_INCOME,
        "people": people,
        "rows": rows,
        "expected_conversion": expected,
        "expected_uplift_abs": {a: expected[a] - expected["control"] for a in arms if a != "control"},
        "expected_spend_uplift": {a: CAMPAIGN["spend_uplift"][a] for a in arms if a != "control"},
        "pre_post_spend_correlation": rho,
        "expected_cuped_variance_reduction": rho**2,
        "parallel_trends": "spend of every client follows one seasonal trend; arms differ only by randomisation",
    }


def _triggers(g: _Generator) -> dict[str, Any]:
    out = {}
    for name, (kind, minimum, line, p_on, p_off) in TRIGGERS.items():
        c = g.rule_counts[name]
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


def _white_space(t: dict[str, pd.DataFrame]) -> dict[str, Any]:
    s = pd.Timestamp(SEGMENT_SNAPSHOT)
    existing = t["clients"][t["clients"].joined_at <= s]
    held = _open_at(t["holdings"], t["products"], s)
    held = held[held.client_id.isin(existing.client_id)]
    share = held.groupby("product_line").client_id.nunique() / len(existing)
    return {"snapshot": str(SEGMENT_SNAPSHOT), "share_holding": {k: float(share.get(k, 0.0)) for k in LINES}}


def _contact(t: dict[str, pd.DataFrame]) -> dict[str, Any]:
    s = pd.Timestamp(SEGMENT_SNAPSHOT)
    c = t["communications"]
    recent = c[(c.group == "treatment") & (c.sent_at >= s - pd.Timedelta(days=30)) & (c.sent_at < s)]
    per = recent.groupby("client_id").size()
    opted = t["consents"].groupby("channel").opted_in.mean()
    return {"opt_in_rate": {k: float(v) for k, v in opted.items()},
            "clients_with_3plus_communications_in_30_days": int((per >= 3).sum()),
            "global_control": int(t["clients"].global_control.sum())}


DEFINITIONS = {
    "snapshot": "the 1st of a month; clients exist at s when joined_at <= s",
    "eligible": "existing at s and not holding the target line at s (an open contract: opened_at < s and closed_at null or >= s)",
    "triggered": "the trigger's event (with value >= min_value when set) in the 30 days before s: s - 30 days <= ts < s",
    "conversion": "a contract of the target line opened in (s, s + window_days]",
    "expected_rate_*": "mean of the planted probabilities over the eligible (client, snapshot) rows of the group, snapshots 2024-04-01 … 2025-11-01",
    "campaign conversion": "a credit card opened in (send, send + 30 days], per person; expected_conversion is the mean planted probability per arm",
    "spend": "sum of card_spend event values per person; post = (send, send + 30 days], pre = [send - 90 days, send)",
    "segments": "evaluated at 2025-12-01 over clients existing then; windows are [s - N days, s)",
    "turnover": "sum of holdings.value over contracts open at any time in 2025 (opened_at < 2026-01-01 and closed_at null or >= 2025-01-01), per client, clients without any counted as 0",
    "abc": "clients sorted by turnover: A make the first 80% of it, B the next 15%, C the rest",
}


def generate(out: Path, clients: int = 50_000, seed: int = 7) -> dict[str, Any]:
    """Write the demo tables and ``truth.json`` into ``out``; returns the truth.

    Same seed → byte-identical files. The folder appears whole or not at all (written beside, then
    renamed); an existing demo in ``out`` is replaced.
    """
    if clients < 500:
        raise ParameterError(f"--clients must be at least 500 for the planted effects to exist, got {clients}")
    out = Path(out)
    g = _Generator(clients, seed)
    tables = g.run()
    truth = {
        "seed": seed, "n_clients": clients, "as_of": AS_OF, "period": ["2024-01-01", "2025-12-31"],
        "definitions": DEFINITIONS,
        "triggers": _triggers(g),
        "campaign": _campaign(tables, g),
        "segments": _segments(tables),
        "value": _value_shape(tables),
        "white_space": _white_space(tables),
        "contact": _contact(tables),
        "rows": {k: len(v) for k, v in tables.items()},
    }
    write_tables(out, tables, {"truth.json": json.dumps(truth, indent=2, sort_keys=True) + "\n"})
    return truth
