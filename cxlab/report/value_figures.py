"""Figures of the client-value report (08): the purchase model's fit diagnostics (Fader, Hardie & Lee 2005,
figures 2–4) and value by group. Each takes small frames and translated labels and returns a Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from cxlab.report.figures import PALETTE, new


def period_transactions(frame: pd.DataFrame, title: str, xlabel: str, ylabel: str, observed: str, expected: str,
                        last: str) -> Figure:
    """Clients by repeat purchases in calibration: observed bars beside the model's."""
    fig, ax = new(8, 4.5)
    x = np.arange(len(frame))
    colours = sns.color_palette(PALETTE)
    ax.bar(x - 0.2, frame.observed, width=0.4, label=observed, color=colours[0])
    ax.bar(x + 0.2, frame.expected, width=0.4, label=expected, color=colours[1])
    labels = [str(k) for k in frame.k]
    labels[-1] = last.format(k=labels[-1])
    ax.set_xticks(x, labels)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return fig


def calibration_holdout(frame: pd.DataFrame, title: str, xlabel: str, ylabel: str, observed: str, expected: str,
                        last: str) -> Figure:
    """Mean holdout purchases by calibration frequency: observed and predicted lines."""
    fig, ax = new(8, 4.5)
    part = frame[frame.clients > 0]
    ax.plot(part.k, part.observed, marker="o", label=observed)
    ax.plot(part.k, part.expected, marker="s", ls="--", label=expected)
    labels = [str(k) for k in part.k]
    if len(labels):
        labels[-1] = last.format(k=labels[-1]) if int(part.k.iloc[-1]) == int(frame.k.iloc[-1]) else labels[-1]
    ax.set_xticks(part.k, labels)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return fig


def tracking(frame: pd.DataFrame, title: str, ylabel: str, observed: str, expected: str, holdout: str) -> Figure:
    """Cumulative repeat purchases of the cohort against the model; the holdout starts at the line."""
    fig, ax = new(9, 4.5)
    x = pd.to_datetime(frame.start)
    ax.plot(x, frame.observed, label=observed)
    ax.plot(x, frame.expected, ls="--", label=expected)
    if frame.holdout.any():
        ax.axvline(x[frame.holdout.to_numpy()].iloc[0], color="grey", lw=0.8, label=holdout)
    ax.tick_params(axis="x", rotation=30)
    ax.set(title=title, ylabel=ylabel)
    ax.legend()
    return fig


def by_group(frame: pd.DataFrame, title: str, value_label: str, alive_label: str) -> Figure:
    """Value per client (bars) and mean P(alive) (points, right axis) by group."""
    fig, ax = new(9, 4.5)
    part = frame.dropna(subset=["value_per_client"])
    x = np.arange(len(part))
    ax.bar(x, part.value_per_client.astype(float), color=sns.color_palette(PALETTE)[0], label=value_label)
    ax.set_xticks(x, part["group"].astype(str), rotation=30 if len(part) > 5 else 0)
    ax.set(title=title, ylabel=value_label)
    right = ax.twinx()
    right.plot(x, part.p_alive.astype(float), "o", color=sns.color_palette(PALETTE)[3], label=alive_label)
    right.set(ylim=(0, 1.05), ylabel=alive_label)
    right.grid(False)
    return fig
