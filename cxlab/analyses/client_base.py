"""The 05 report: the shape of the client base over a period — how concentrated the turnover is (Pareto,
Gini, ABC), the funnel from everybody to the top tier, who enters and leaves it, white space, the next
line bought, look-alikes and the breadth of holdings — one call, :func:`client_base`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import pandas as pd

from cxlab.analyses.result import Result
from cxlab.compute import base, overview
from cxlab.data.connect import Source
from cxlab.data.settings import DataSettings


def lookalikes(cells: pd.DataFrame, lines: list[str], min_cell: int = 20, targets: list[str] | None = None) -> pd.DataFrame:
    """White-space opportunity per line: non-holders whose profile looks like the holders', scored on
    the engine's people per profile (:func:`cxlab.compute.base.profile_cells`).

    A client's profile is the set of *other* lines held. The look-alike score of a profile is the share
    of its clients who hold the line (profiles with fewer than ``min_cell`` people take the line's overall
    share). Non-holders whose score reaches the median score of the line's holders look like holders:
    they are the line's white-space opportunity. ``expected`` is the sum of their scores — the holders the
    line would gain if they bought at the rate of look-alike clients. ``targets``: the lines to rank
    (default all; lines that are not offered — fees, postage — still shape the profiles).
    """
    rows = []
    total = int(cells.n.sum())
    for line in (lines if targets is None else [x for x in lines if x in targets]):
        others = [x for x in lines if x != line]
        by = cells.groupby(others, dropna=False) if others else cells.assign(_all=True).groupby("_all")
        prof = by.apply(lambda g, line=line: pd.Series({"n": g.n.sum(), "holders": g.n[g[line]].sum()}), include_groups=False)
        overall = prof.holders.sum() / max(total, 1)
        prof["score"] = (prof.holders / prof.n).where(prof.n >= min_cell, overall)
        prof["non"] = prof.n - prof.holders
        holders = int(prof.holders.sum())
        if holders == 0:
            rows.append({"product_line": line, "holders": 0, "non_holders": total, "threshold": math.nan,
                         "lookalikes": 0, "lookalike_share": 0.0, "expected": 0.0})
            continue
        srt = prof.sort_values("score")
        cum = srt.holders.cumsum()
        threshold = float(srt.score[cum >= holders / 2].iloc[0])
        like = prof[prof.score >= threshold]
        non = int(prof.non.sum())
        rows.append({"product_line": line, "holders": holders, "non_holders": non, "threshold": threshold,
                     "lookalikes": int(like.non.sum()), "lookalike_share": like.non.sum() / non if non else 0.0,
                     "expected": float((like.non * like.score).sum())})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ClientBase(Result):
    """Everything 05 shows, as engine results; the multi-line parts are None when the data has a single
    product line (white space and next line need two)."""

    snapshot: date
    start: date
    end: date
    mode: str
    lines: list[str]
    shape: base.ValueShape
    funnel: pd.DataFrame
    top_flow: pd.DataFrame
    lines_flow: pd.DataFrame
    white_space: pd.DataFrame | None
    holders: pd.DataFrame | None
    next_line: pd.DataFrame | None
    lookalikes: pd.DataFrame | None
    title: ClassVar[str] = "Client base"

    def facts(self) -> dict[str, Any]:
        s = self.shape.summary
        return {"snapshot": self.snapshot.isoformat(), "start": self.start.isoformat(), "end": self.end.isoformat(),
                "mode": self.mode, "clients": s["clients"], "turnover_total": s["turnover_total"], "gini": s["gini"],
                "top_share": s["top_share"], "top_share_of_turnover": s["top_share_of_turnover"]}

    def frames(self) -> dict[str, pd.DataFrame]:
        parts = {"abc": self.shape.abc, "funnel": self.funnel, "top_flow": self.top_flow,
                 "lines_flow": self.lines_flow, "white_space": self.white_space, "next_line": self.next_line,
                 "lookalikes": self.lookalikes}
        return {k: v for k, v in parts.items() if v is not None}


def client_base(src: Source, snapshot: date | None = None, top_share: float = 0.2,
                abc: Sequence[float] = (0.8, 0.95), months: int = 12, active_days: int = 90,
                mode: str = "", settings: DataSettings | None = None) -> ClientBase:
    """Describe the base over the ``months`` before ``snapshot`` (default: the data's as-of day), contracts
    counted as ``mode`` (``held`` or ``opened``; default: picked from the data); look-alikes are ranked for
    the lines ``settings`` offers (default: every line)."""
    snap = snapshot or overview.as_of_date(src)
    counting = mode or base.counting_mode(src)
    start, end = base.period(snap, months)
    lines = base.product_lines(src)
    abc = list(abc)
    many = len(lines) >= 2
    looks = None
    if many:
        cells, cell_lines = base.profile_cells(src, start, end, counting)
        targets = settings.offered(cell_lines) if settings else None
        looks = lookalikes(cells, cell_lines, targets=targets).sort_values("expected", ascending=False, ignore_index=True)
    return ClientBase(
        snap, start, end, counting, lines, base.value_shape(src, start, end, counting, top_share, abc),
        base.funnel(src, snap, start, end, counting, active_days, top_share),
        base.top_tier_flow(src, snap, months, counting, top_share), base.lines_flow(src, snap, months, counting),
        base.holding_matrix(src, base.client_classes(src, start, end, counting, abc), start, end, counting) if many else None,
        base.holding_matrix(src, None, start, end, counting) if many else None,
        base.next_line(src, snap) if many else None, looks)
