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


def history(src: Source, panel: ibis.Table, metric: Metric, metrics: dict[str, Metric]) -> pd.DataFrame:
    """One row of sufficient statistics of ``metric`` over the clients fired at the panel's last
    snapshot: the metric in its window after the snapshot (``x``) and over the same length before it
    (``pre``, CUPED's covariate); for a ratio metric the sums of its numerator and denominator. A
    winsorised metric is capped as a campaign would cap it. ``metrics`` resolves a ratio's parts."""
    fired = panel.filter(panel.fired)
    last = fired.filter(fired.snapshot == fired.snapshot.max())
    anchors = last.select("client_id", arm=ibis.literal("history"), t0=last.snapshot.cast("timestamp"))
    days = metric.window_days
    if metric.type == "ratio":
        num, den = (retro.outcomes(src, metrics[n], anchors, days, days) for n in (metric.numerator, metric.denominator))
        t = num.select("client_id", "arm", num="x").join(den.select("client_id", den="x"), "client_id")
        return src.con.execute(retro.ratio_sums(t, ["arm"]))
    t, _ = retro.capped(src, retro.outcomes(src, metric, anchors, days, days), metric.winsorize)
    return src.con.execute(retro.sums(t, ["arm"]))
