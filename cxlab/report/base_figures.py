"""Figures of the client-base report (05): Pareto curve, funnel, month-over-month flows, white-space
heatmaps. Each takes small frames and translated labels and returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from cxlab.report.figures import PALETTE, new


def pareto(curve: pd.DataFrame, top_share: float, top_value: float, title: str, xlabel: str, ylabel: str,
           equal: str) -> Figure:
    """Cumulative share of turnover made by the best x% of clients, against an equal split."""
    fig, ax = new(7, 5)
    ax.plot(curve.client_share, curve.turnover_share, lw=2)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label=equal)
    ax.axvline(top_share, color="grey", lw=0.8)
    ax.axhline(top_value, color="grey", lw=0.8)
    ax.annotate(f"{top_share:.0%} → {top_value:.0%}", (top_share, top_value), xytext=(10, -20),
                textcoords="offset points")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower right")
    return fig


def funnel(frame: pd.DataFrame, labels: list[str], title: str, xlabel: str) -> Figure:
    """Horizontal bars of people at each step, annotated with the share of all clients (hidden cells blank)."""
    fig, ax = new(9, 0.6 * len(frame) + 1.5)
    y = np.arange(len(frame))[::-1]
    ax.barh(y, frame.clients.astype(float).fillna(0), color=sns.color_palette(PALETTE)[0])
    for yi, n, share in zip(y, frame.clients, frame.share_of_all, strict=True):
        if pd.notna(n):
            ax.annotate(f"{int(n):,}  ({share:.1%})", (float(n), yi), xytext=(4, 0), textcoords="offset points", va="center")
    ax.set_yticks(y, labels)
    ax.set(title=title, xlabel=xlabel)
    ax.set_xlim(0, float(frame.clients.astype(float).max()) * 1.3)
    return fig


def flow(frame: pd.DataFrame, up: str, down: str, up_label: str, down_label: str, title: str, ylabel: str) -> Figure:
    """Month by month: people who moved one way (bars up) and the other (bars down)."""
    fig, ax = new(9, 4)
    part = frame.dropna(subset=[up, down])
    x = pd.to_datetime(part.month)
    ax.bar(x, part[up].astype(float), width=20, label=up_label, color=sns.color_palette(PALETTE)[2])
    ax.bar(x, -part[down].astype(float), width=20, label=down_label, color=sns.color_palette(PALETTE)[3])
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(lambda v, _: f"{abs(v):,.0f}")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.tick_params(axis="x", rotation=30)
    ax.set(title=title, ylabel=ylabel)
    ax.legend()
    return fig


def heatmap(matrix: pd.DataFrame, title: str, xlabel: str, ylabel: str, percent: bool = True,
            cmap: str = "Blues") -> Figure:
    """A labelled heatmap of a small matrix (shares as %, or counts); missing (hidden) cells are blank."""
    rows, cols = matrix.shape
    fig, ax = new(max(6, 1.1 * cols + 3), max(3, 0.5 * rows + 2))
    sns.heatmap(matrix.astype(float), annot=True, fmt=".0%" if percent else ",.0f", cmap=cmap, cbar=False, ax=ax,
                linewidths=0.5, annot_kws={"fontsize": 9})
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)
    return fig


def transitions(frame: pd.DataFrame, none_label: str, title: str, xlabel: str, ylabel: str) -> Figure:
    """Heatmap of next-line shares (rows: line opened first); "none yet" is the last column."""
    m = frame.fillna({"to_line": none_label}).pivot(index="from_line", columns="to_line", values="share")
    cols = [c for c in m.columns if c != none_label] + ([none_label] if none_label in m.columns else [])
    return heatmap(m[cols], title, xlabel, ylabel, cmap="Greens")


def lookalikes(frame: pd.DataFrame, holders: str, alike: str, title: str, xlabel: str) -> Figure:
    """Per product line: holders, and non-holders who look like holders (the white-space opportunity)."""
    fig, ax = new(9, max(3.0, 0.5 * len(frame) + 1.5))
    y = np.arange(len(frame))[::-1]
    ax.barh(y + 0.2, frame.holders.astype(float), height=0.4, label=holders, color=sns.color_palette(PALETTE)[0])
    ax.barh(y - 0.2, frame.lookalikes.astype(float), height=0.4, label=alike, color=sns.color_palette(PALETTE)[1])
    ax.set_yticks(y, frame.product_line)
    ax.set(title=title, xlabel=xlabel)
    ax.legend()
    return fig
