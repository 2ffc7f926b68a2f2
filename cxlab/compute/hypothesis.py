"""A hypothesis's target population on the data: how many clients the trigger fires for each month,
how many of them are new (a person can enter a test only once), and how many converted without a
campaign — the baseline and the flow that set a test's size and duration; and the spread of the other
metrics on those clients, which sets what a test of that size can detect in them."""

from __future__ import annotations

import ibis
import pandas as pd

from cxlab.catalog.cards import Metric
from cxlab.compute import retro
from cxlab.data.connect import Source
from cxlab.metrics import aggregate, kind


def flow(src: Source, panel: ibis.Table) -> pd.DataFrame:
    """Per snapshot, over the fired rows of a trigger panel (:func:`cxlab.compute.triggers.panel`):
    ``n`` clients fired, ``x_sum`` of them converted within the window, ``new`` fired for the first time
    among the panel's snapshots (at the first snapshot every fired client is new: the stock)."""
    fired = panel.filter(panel.fired)
    first = fired.group_by("client_id").aggregate(first=fired.snapshot.min())
    j = fired.join(first, "client_id")
    out = j.group_by("snapshot").aggregate(n=j.count(), x_sum=j.converted.sum(),
                                           new=(j.snapshot == j["first"]).sum())
    frame = src.con.execute(out.order_by("snapshot"))
    frame["snapshot"] = pd.to_datetime(frame.snapshot)
    return frame


def history(src: Source, panel: ibis.Table, chosen: list[Metric], metrics: dict[str, Metric]) -> dict[str, pd.DataFrame]:
    """Per metric of ``chosen``, one row of sufficient statistics over the clients fired at the panel's
    last snapshot: the metric in its window after the snapshot (``x``) and over the same length before
    it (``pre``, CUPED's covariate); for a ratio metric the sums of its numerator and denominator. A
    winsorised metric is capped as a campaign would cap it. Metrics of one window length are computed
    in one pass per source table; ``metrics`` resolves a ratio's parts."""
    fired = panel.filter(panel.fired)
    last = fired.filter(fired.snapshot == fired.snapshot.max())
    anchors = src.cache(last.select("client_id", arm=ibis.literal("history"), t0=last.snapshot.cast("timestamp")))
    out: dict[str, pd.DataFrame] = {}
    for days in sorted({m.window_days for m in chosen}):
        group = [m for m in chosen if m.window_days == days]
        plain = list({m.name: m for p in group for m in ([p] if kind(p).reads_rows else [metrics[x] for x in kind(p).parts])}.values())
        t = src.cache(retro.person_values(src, plain, anchors, days, days))
        col = {m.name: i for i, m in enumerate(plain)}
        for m in group:
            columns, _ = retro.capped(src, t, kind(m).columns(t, col.__getitem__), m.winsorize)
            out[m.name] = src.con.execute(aggregate(t.select("arm", **columns), ["arm"], kind(m).sums))
    return out
