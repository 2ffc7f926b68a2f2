"""Figures of the campaign retrospective: uplift with intervals, trends, a forest plot, the qini curve,
the A/A p-values."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from cxlab.report.figures import PALETTE, new


def uplift_intervals(effects: pd.DataFrame, title: str, xlabel: str, percent: bool) -> Figure:
    """One row per (metric, arm): the uplift and its interval against zero."""
    labels = [f"{m} · {a}" for m, a in zip(effects.metric, effects.arm, strict=True)]
    fig, ax = new(9, max(2.5, 0.45 * len(effects) + 1))
    y = np.arange(len(effects))[::-1]
    colors = ["#2e7d32" if lo > 0 else "#c62828" if hi < 0 else "#757575" for lo, hi in zip(effects.ci_low, effects.ci_high, strict=True)]
    for yi, (u, lo, hi, col) in zip(y, zip(effects.uplift, effects.ci_low, effects.ci_high, colors, strict=True), strict=True):
        ax.errorbar([u], [yi], xerr=[[u - lo], [hi - u]], fmt="o", color=col, capsize=4, lw=2)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, labels)
    ax.set(title=title, xlabel=xlabel)
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    return fig


def trend(frame: pd.DataFrame, control: str, title: str, xlabel: str, ylabel: str) -> Figure:
    """Mean of the metric per arm in consecutive windows; the send is between −1 and 0."""
    fig, ax = new()
    sns.lineplot(data=frame, x="period", y="mean", hue="arm", marker="o", ax=ax, palette=PALETTE)
    ax.axvline(-0.5, color="black", ls="--", lw=1)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.set_xticks(sorted(frame.period.unique()))
    ax.legend(title=None)
    return fig


def forest(het: pd.DataFrame, title: str, xlabel: str, percent: bool) -> Figure:
    """Uplift by segment with intervals; filled markers survive the multiple-testing correction."""
    rows = het.reset_index(drop=True)
    fig, ax = new(9, max(3, 0.38 * len(rows) + 1))
    y = np.arange(len(rows))[::-1]
    ax.errorbar(rows.uplift, y, xerr=[rows.uplift - rows.ci_low, rows.ci_high - rows.uplift], fmt="none", ecolor="#555", capsize=3)
    significant = rows.p_adjusted < 0.05
    ax.scatter(rows.uplift[significant], y[significant.to_numpy()], color="#2e7d32", zorder=3)
    ax.scatter(rows.uplift[~significant], y[~significant.to_numpy()], facecolors="white", edgecolors="#555", zorder=3)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, [f"{b}={s} · {a}" for b, s, a in zip(rows.breakdown, rows.segment, rows.arm, strict=True)])
    ax.set(title=title, xlabel=xlabel)
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    return fig


def qini(people: np.ndarray, incremental: np.ndarray, title: str, xlabel: str, ylabel: str, model: str,
         random: str) -> Figure:
    """The qini curve against random targeting."""
    fig, ax = new(7, 5)
    share = people / people[-1]
    ax.plot(share, incremental, marker="o", label=model)
    ax.plot([0, 1], [0, incremental[-1]], ls="--", color="grey", label=random)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return fig


def pvalue_histograms(pvalues: dict[str, np.ndarray], labels: dict[str, str], title: str, xlabel: str,
                      ylabel: str, bins: int = 20) -> Figure:
    """One small histogram of A/A p-values per metric against the uniform line they should follow."""
    names = [n for n in pvalues if len(pvalues[n])]
    cols = min(3, max(len(names), 1))
    rows = -(-max(len(names), 1) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows + 0.6), layout="constrained", squeeze=False, sharex=True)
    axes = grid.ravel()
    for ax, name in zip(axes, names, strict=False):  # the grid can have more axes than names: the rest are switched off below
        p = pvalues[name]
        ax.hist(p, bins=bins, range=(0, 1), color=sns.color_palette(PALETTE)[0])
        ax.axhline(len(p) / bins, color="black", ls="--", lw=1)
        ax.set_title(labels.get(name, name), fontsize=9)
    for ax in axes[len(names):]:
        ax.set_axis_off()
    fig.suptitle(title)
    fig.supxlabel(xlabel)
    fig.supylabel(ylabel)
    return fig
