"""A hypothesis's target population on the data: how many clients the trigger fires for each month,
how many of them are new (a person can enter a test only once), and how many converted without a
campaign — the baseline and the flow that set a test's size and duration."""

from __future__ import annotations

import ibis
import pandas as pd

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
