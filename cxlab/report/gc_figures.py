"""Figures of the global-control report (09): effects with intervals, and how the control drifts from the
base month by month. Each takes small frames and translated labels and returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from cxlab.report.figures import PALETTE, new


def forest(frame: pd.DataFrame, label: str, title: str, xlabel: str) -> Figure:
    """Differences (outside − control) with their intervals, one row per ``label``; untested rows as points."""
    fig, ax = new(8, 0.5 * len(frame) + 1.5)
    y = np.arange(len(frame))[::-1]
    tested = frame.ci_low.notna().to_numpy()
    ax.errorbar(frame.difference[tested], y[tested], xerr=[frame.difference[tested] - frame.ci_low[tested],
                                                          frame.ci_high[tested] - frame.difference[tested]],
                fmt="o", capsize=3, color=sns.color_palette(PALETTE)[0])
    ax.plot(frame.difference[~tested], y[~tested], "o", mfc="white", color="grey")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, frame[label].astype(str))
    ax.set(title=title, xlabel=xlabel)
    return fig


def drift(frame: pd.DataFrame, title: str, share_label: str, smd_label: str, noise_label: str) -> Figure:
    """The control's share of the base (left) and its standardised difference from the rest (right)."""
    fig, ax = new(9, 4.5)
    x = pd.to_datetime(frame.month)
    colours = sns.color_palette(PALETTE)
    ax.plot(x, frame.control_share, marker="o", color=colours[0], label=share_label)
    ax.set_ylim(0, max(0.01, float(frame.control_share.max()) * 1.5))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.1%}")
    ax.set(title=title, ylabel=share_label)
    right = ax.twinx()
    right.bar(x, frame.smd, width=20, alpha=0.5, color=colours[1], label=smd_label)
    right.plot(x, frame.noise, ls=":", color="grey", label=noise_label)
    right.plot(x, -frame.noise, ls=":", color="grey")
    right.set(ylabel=smd_label)
    right.grid(False)
    lines = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + right.get_legend_handles_labels()[1]
    ax.legend(lines, labels, loc="upper left")
    ax.tick_params(axis="x", rotation=30)
    return fig
