"""One chunk of demo clients (ids ``first … first + n − 1``) walked month by month with vectorised numpy draws.

Clients are independent of each other, so a large demo is many chunks, each with its own random stream.
Every planted effect keeps its state per client here; the truth is then read from the rows (``truth.py``).

How the planted effects are made recoverable:
- Monthly events (salary, card spend, travel, inflows) fall on days 2–28, so the 30 days before the 1st of
  a month always contain exactly the previous month's events.
- Conversions of a trigger's target line are drawn at each monthly snapshot ``s`` among eligible clients
  (existing, not holding the line) with the probability of their rule state at ``s``, and dated
  ``s + 3…27 days``: inside a 30-day window after ``s``, before the next snapshot, and never inside the
  previous snapshot's window.
- The campaign is randomised among its target at the 2025-04-01 snapshot; for targeted clients the
  credit-card conversion is drawn with the arm's probability instead of the trigger's.

Memory: ids are int32 and strings are categoricals (a byte per row), so a chunk of 100,000 clients and its
9 million events take about 1 GB at the peak; the files get the usual types (``TABLE_TYPES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import union_categoricals

from cxlab.data.demo.plan import (
    BACKGROUND,
    CAMPAIGN,
    CAMPAIGN_SEND,
    CHANNELS,
    DAY,
    END,
    HOUR,
    INCOME,
    INCOME_P,
    INITIAL_HOLDING,
    LINE_VALUE,
    LINES,
    MONTHS,
    PRODUCTS,
    PROGRAMME,
    REGIONS,
    SNAPSHOTS,
    START,
    TRIGGERS,
    UPLIFT_BY_INCOME,
)

#: Column types the files get where memory-lean types differ from them (strings are written as strings).
TABLE_TYPES = {"client_id": pa.int64()}
#: The order rows are written in, per table (a stable sort, as pandas' ``sort_values(kind="stable")``).
ORDER = {"events": ("ts", "client_id", "event_type"), "holdings": ("opened_at", "client_id", "product_id"),
         "communications": ("sent_at", "campaign_id", "client_id")}


def _category(values: tuple[str, ...] | list[str], codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(values))


def _sort_key(column: np.ndarray | pd.Categorical) -> np.ndarray:
    if isinstance(column, pd.Categorical):
        return column.codes  # categories are sorted, so code order is text order
    return column.view(np.int64) if column.dtype.kind == "M" else column


@dataclass
class _Rows:
    """Column pieces of one table, appended month by month and joined once; string pieces are categoricals."""

    columns: dict[str, list[Any]]

    @classmethod
    def of(cls, *names: str) -> _Rows:
        return cls({n: [] for n in names})

    def add(self, **cols: Any) -> None:
        n = max(len(v) for v in cols.values() if isinstance(v, np.ndarray | pd.Categorical))
        for name in self.columns:
            v = cols[name]
            if isinstance(v, str):
                v = _category([v], np.zeros(n, np.int8))
            self.columns[name].append(v if isinstance(v, np.ndarray | pd.Categorical) else np.full(n, v))

    def frame(self, order: tuple[str, ...]) -> pd.DataFrame:
        """The table sorted by ``order``; the pieces are released as they are joined."""
        cols: dict[str, Any] = {}
        for name, pieces in self.columns.items():
            if pieces and isinstance(pieces[0], pd.Categorical):
                cols[name] = union_categoricals(pieces, sort_categories=True)
            else:
                cols[name] = np.concatenate(pieces) if pieces else np.array([])
            pieces.clear()
        perm = np.lexsort([_sort_key(cols[k]) for k in reversed(order)])
        for name in cols:
            cols[name] = cols[name][perm]
        return pd.DataFrame(cols, copy=False)


def _days(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """Random offsets of lo…hi days plus 8–19 hours (timestamps inside a day, never midnight)."""
    return rng.integers(lo, hi + 1, n) * DAY + rng.integers(8, 20, n) * HOUR


def products() -> pd.DataFrame:
    """The product table: the same for every chunk."""
    return pd.DataFrame(
        [(p, line, p.replace("_", " ").title()) for line in LINES for p in PRODUCTS[line]],
        columns=["product_id", "product_line", "name"],
    )


class ChunkGenerator:
    """One pass over the months for clients ``first … first + n − 1``; holds the state the planted effects need."""

    def __init__(self, first: int, n: int, rng: np.random.Generator) -> None:
        self.first, self.n, self.rng = first, n, rng
        self.ids = np.arange(first, first + n, dtype=np.int32)
        self.events = _Rows.of("client_id", "event_type", "ts", "value")
        self.holdings = _Rows.of("client_id", "product_id", "opened_at", "closed_at", "value")
        self.comms = _Rows.of("client_id", "campaign_id", "channel", "sent_at", "group", "arm", "score")
        # per line: the time until which the client holds it (NaT = not holding)
        self.until = {line: np.full(n, np.datetime64("NaT"), "datetime64[s]") for line in LINES}
        self.rule_counts: dict[str, dict[str, float]] = {
            t: {"eligible_rows": 0, "triggered_rows": 0, "converted_triggered": 0, "converted_other": 0,
                "p_sum_triggered": 0.0, "p_sum_other": 0.0} for t in TRIGGERS}

    def at(self, who: np.ndarray) -> np.ndarray:
        """Positions of client ids ``who`` in this chunk's per-client arrays."""
        return who - self.first

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
            "age": rng.integers(18, 81, n).astype(np.int64), "region": _category(REGIONS, rng.integers(0, 5, n)),
            "income_band": _category(INCOME, self.income), "is_employed": self.employed,
        })

    def consents(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        self.opted = {}
        for ch, p in CHANNELS.items():
            p_i = np.where(self.digital, min(p + 0.3, 0.95), p) if ch == "push" else np.full(n, p)
            self.opted[ch] = rng.random(n) < p_i
        return pd.DataFrame({"client_id": np.tile(self.ids, len(CHANNELS)),
                             "channel": _category(list(CHANNELS), np.repeat(np.arange(len(CHANNELS)), n)),
                             "opted_in": np.concatenate(list(self.opted.values()))})

    # --- holdings ---------------------------------------------------------------------------------
    def _open(self, who: np.ndarray, line: str, when: np.ndarray, close_share: float = 0.0) -> None:
        """Clients ``who`` open a contract of ``line`` at ``when``; some close it within 10–89 days."""
        rng, k = self.rng, len(who)
        if k == 0:
            return
        product = _category(PRODUCTS[line], rng.integers(0, len(PRODUCTS[line]), k))
        closes = rng.random(k) < close_share
        closed = when + _days(rng, k, 10, 89)
        closes &= closed < END  # a closure after the data ends is not known yet
        closed = np.where(closes, closed, np.datetime64("NaT")).astype("datetime64[s]")
        value = LINE_VALUE[line] * self.level[self.at(who)] * rng.lognormal(-0.5, 1.0, k)
        self.holdings.add(client_id=who, product_id=product, opened_at=when.astype("datetime64[s]"),
                          closed_at=closed, value=np.round(value, 2))
        self.until[line][self.at(who)] = np.where(closes, closed, np.datetime64("2100-01-01"))

    def initial_holdings(self) -> None:
        rng = self.rng
        self._open(self.ids, "current_account", self.joined)
        before = self.joined < START
        for line, share in INITIAL_HOLDING.items():
            p = share * np.array([0.7, 1.0, 1.6])[self.income]
            who = self.ids[before & (rng.random(self.n) < p)]
            span = ((START - self.joined[self.at(who)].astype("datetime64[D]")) / DAY).astype(np.int64)
            when = self.joined[self.at(who)] + (rng.random(len(who)) * np.maximum(span - 1, 1)).astype(np.int64) * DAY
            self._open(who, line, when, close_share=0.0)
            # a few of them close during the period, so clients become eligible again
            closing = who[rng.random(len(who)) < 0.10]
            closed = START + _days(rng, len(closing), 0, 600)
            self.until[line][self.at(closing)] = closed
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
        pay = np.round(self.salary[self.at(who)] * rng.lognormal(0.0, 0.08, len(who)), 2)  # the rule sees cents
        self._event(who, "salary_deposit", month, pay)
        state["salary_deposit"][self.at(who)] = pay

        who = self.ids[active]
        spend = self.spend_level[self.at(who)] * season * rng.lognormal(-0.045, 0.3, len(who))
        self._spend_this_month = (who, spend)  # the campaign may add its uplift before it is written
        self._spend_month = month

        p_travel = np.where(self.traveller, 0.35, 0.02)
        who = self.ids[active & (rng.random(n) < p_travel)]
        self._event(who, "travel_booking", month, rng.lognormal(np.log(900), 0.5, len(who)))
        state["travel_booking"][self.at(who)] = 1.0

        p_inflow = np.array([0.005, 0.01, 0.03])[self.income]
        who = self.ids[active & (rng.random(n) < p_inflow)]
        self._event(who, "large_inflow", month, 10_000 + rng.lognormal(np.log(15_000), 0.8, len(who)))
        state["large_inflow"][self.at(who)] = 1.0

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
        for line, rate in BACKGROUND.items():
            who = self.ids[existing & ~self.holds(line, s) & (rng.random(self.n) < rate)]
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
            control = _category(("treatment", "control"), (rng.random(len(who)) < 0.05).astype(np.int8))
            self.comms.add(client_id=who, campaign_id=campaign_id, channel=channel,
                           sent_at=np.full(len(who), month + day * DAY + 10 * HOUR, "datetime64[s]"),
                           group=control, arm=control, score=np.full(len(who), np.nan))

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
        names = _category(arms, a)
        group = _category(("control", "treatment"), (a > 0).astype(np.int8))
        sent = np.full(len(who), s + 9 * HOUR, "datetime64[s]")
        self.comms.add(client_id=who, campaign_id=CAMPAIGN["campaign_id"], channel="email", sent_at=sent,
                       group=group, arm=names, score=score[self.at(who)])
        again = (a > 0) & (rng.random(len(who)) < CAMPAIGN["reminder_share"])
        self.comms.add(client_id=who[again], campaign_id=CAMPAIGN["campaign_id"], channel="email",
                       sent_at=sent[again] + 7 * DAY, group=group[again], arm=names[again],
                       score=score[self.at(who[again])])
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
        arm = self.arm[self.at(who)]
        self._spend_this_month = (who, spend + np.where(arm >= 0, uplift[arm.clip(0)], 0.0))

    def programme(self) -> None:
        """The programme-wide effect and the leakage of the global control (:data:`PROGRAMME`), drawn last."""
        rng, n = self.rng, self.n
        start = np.datetime64(PROGRAMME["start"])
        existing = self.joined < start
        outside = existing & ~self.global_control
        extra = outside & (rng.random(n) < PROGRAMME["uplift"])
        who = self.ids[extra]
        days = int((np.datetime64(PROGRAMME["end"]) - start) / DAY) - 1
        self._open(who, PROGRAMME["line"], start + _days(rng, len(who), 0, days))
        sent = np.datetime64(PROGRAMME["leak_sent_at"])
        leak = self.global_control & (self.joined < sent) & self.opted["email"] & (rng.random(n) < PROGRAMME["leak_share"])
        leaked = self.ids[leak]
        group = _category(("treatment", "control"), np.zeros(len(leaked), np.int8))
        self.comms.add(client_id=leaked, campaign_id=PROGRAMME["leak_campaign"], channel="email",
                       sent_at=np.full(len(leaked), sent, "datetime64[s]"), group=group, arm=group,
                       score=np.full(len(leaked), np.nan))
        self.programme_counts = {"outside": int(outside.sum()), "control": int((existing & self.global_control).sum()),
                                 "extra_contracts": int(extra.sum()), "leaked": int(leak.sum())}

    # --- the whole run ----------------------------------------------------------------------------
    def run(self) -> dict[str, pd.DataFrame]:
        """The chunk's tables (all but ``products``), each in its written row order."""
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
        self.programme()
        holdings = self.holdings.frame(ORDER["holdings"])
        for who, line, closed in self._pending_closures:
            if len(who) == 0:  # pandas refuses to set an empty (float) selection into a datetime column
                continue
            rows = holdings.client_id.isin(who) & holdings.product_id.isin(PRODUCTS[line]) & (holdings.opened_at < START)
            close = pd.Series(closed, index=who)
            holdings.loc[rows, "closed_at"] = holdings.loc[rows, "client_id"].map(close).to_numpy()
        return {"clients": clients, "holdings": holdings, "events": self.events.frame(ORDER["events"]),
                "communications": self.comms.frame(ORDER["communications"]), "consents": consents}
