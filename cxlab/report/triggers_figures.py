"""Figures of the trigger backtest and the hypothesis card."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from cxlab.report.figures import new


def monthly_rates(monthly: pd.DataFrame, fired: str, other: str, title: str, ylabel: str) -> Figure:
    """Conversion rate of fired vs other eligible clients at each snapshot, with the uplift's interval."""
    fig, ax = new()
    ax.plot(monthly.snapshot, monthly.rate_fired, marker="o", label=fired)
    ax.plot(monthly.snapshot, monthly.rate_other, marker="o", label=other)
    ax.fill_between(monthly.snapshot, monthly.rate_other + monthly.ci_low, monthly.rate_other + monthly.ci_high,
                    alpha=0.15, color="C0")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, ylabel=ylabel)
    ax.legend()
    return fig


def coverage(monthly: pd.DataFrame, title: str, ylabel: str) -> Figure:
    """How many eligible clients the trigger fires for at each snapshot."""
    fig, ax = new(9, 3.5)
    ax.bar(monthly.snapshot, monthly.fired, width=20)
    ax.set(title=title, ylabel=ylabel)
    return fig


def cumulative(curves: pd.DataFrame, fired: str, other: str, title: str, xlabel: str, ylabel: str) -> Figure:
    """Cumulative conversion by days after the snapshot."""
    fig, ax = new()
    for flag, label in ((True, fired), (False, other)):
        part = curves[curves.fired == flag]
        ax.step(part.days, part.cumulative_rate, where="post", label=label)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return fig


def calibration(calib: pd.DataFrame, title: str, xlabel: str, ylabel: str) -> Figure:
    """Predicted vs observed conversion by score decile: on the diagonal when the model is calibrated."""
    fig, ax = new(6, 5)
    top = max(calib.predicted.max(), calib.observed.max()) * 1.05
    ax.plot([0, top], [0, top], ls="--", color="grey")
    sns.scatterplot(data=calib, x="predicted", y="observed", ax=ax, s=60)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig


def power_curve(frame: pd.DataFrame, title: str, xlabel: str, ylabel: str, tick: Callable[[float], str]) -> Figure:
    """People needed in treatment against the detectable uplift (``tick`` formats an uplift)."""
    fig, ax = new()
    ax.plot(frame.mde, frame.n_treatment, marker="o")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(lambda v, _: tick(v))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig
