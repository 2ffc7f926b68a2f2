"""Figures of the segment-sizing report (03): sizes before and after assignment, the reachable
waterfall, and size against quality. Overlap and white-space heatmaps use :func:`base_figures.heatmap`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from cxlab.report.figures import PALETTE, new


def sizes(frame: pd.DataFrame, raw: str, assigned: str, title: str, ylabel: str) -> Figure:
    """Per segment (in priority order): people matching its rule, and people it keeps after assignment."""
    fig, ax = new(9, 4.5)
    x = np.arange(len(frame))
    ax.bar(x - 0.2, frame.raw.astype(float), width=0.4, label=raw, color=sns.color_palette(PALETTE)[7])
    ax.bar(x + 0.2, frame.assigned.astype(float), width=0.4, label=assigned, color=sns.color_palette(PALETTE)[0])
    ax.set_xticks(x, frame.segment, rotation=20)
    ax.set(title=title, ylabel=ylabel)
    ax.legend()
    return fig


def waterfall(steps: list[str], people: list[float], title: str, ylabel: str) -> Figure:
    """People left after each filter, with what each filter removed written above its bar."""
    fig, ax = new(9, 4.5)
    x = np.arange(len(steps))
    colors = [sns.color_palette(PALETTE)[0]] + [sns.color_palette(PALETTE)[9]] * (len(steps) - 1)
    ax.bar(x, people, color=colors)
    for i, n in enumerate(people):
        text = f"{n:,.0f}" if i == 0 else f"{n:,.0f}\n(−{people[i - 1] - n:,.0f})"
        ax.annotate(text, (i, n), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, steps, rotation=10)
    ax.set_ylim(0, max(people) * 1.2 if people and max(people) > 0 else 1)
    ax.set(title=title, ylabel=ylabel)
    return fig


def size_vs_quality(plan: pd.DataFrame, title: str, xlabel: str, ylabel: str) -> Figure:
    """Reachable people against the base rate (with its interval): a big segment of poor quality shows
    as such. Points are sized by expected incremental contracts."""
    fig, ax = new(8, 5)
    part = plan.dropna(subset=["reach", "base_rate"])
    # clipped: a Wilson bound can sit a rounding error past an estimate of exactly 0 or 1
    err = np.clip(np.nan_to_num(np.vstack([part.base_rate - part.rate_low, part.rate_high - part.base_rate]).astype(float)), 0, None)
    ax.errorbar(part.reach, part.base_rate, yerr=err, fmt="none", ecolor="grey", capsize=4)
    contracts = pd.to_numeric(part.contracts, errors="coerce").astype(float).fillna(0.0)  # hidden cells are NA
    sizes = 60 + 600 * contracts / max(float(contracts.max() or 1), 1e-9)
    ax.scatter(part.reach, part.base_rate, s=sizes, alpha=0.7, color=sns.color_palette(PALETTE)[0])
    for _, r in part.iterrows():
        ax.annotate(r.segment, (r.reach, r.base_rate), xytext=(6, 6), textcoords="offset points", fontsize=9)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, float(part.reach.max()) * 1.25 if len(part) else 1)
    ax.set_ylim(0, float(part.rate_high.max()) * 1.15 if len(part) and part.rate_high.max() > 0 else 0.01)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig
