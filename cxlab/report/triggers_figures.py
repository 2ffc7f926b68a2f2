"""Figures of the trigger backtest (notebook 02)."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from cxlab.report.figures import new


def monthly_rates(monthly: pd.DataFrame, pooled: float, labels: dict[str, str], tick: Callable[[float], str]) -> Figure:
    """Top: conversion of fired and other eligible clients at each snapshot with their intervals.
    Bottom: the uplift (fired − other) per snapshot with its interval, against zero and the pooled uplift —
    the stability view: one month's rows are distinct clients, so these intervals are honest.
    ``labels``: fired, other, interval, title, rate, uplift_point, pooled, uplift_axis; ``tick`` formats
    an uplift."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, layout="constrained",
                                      gridspec_kw={"height_ratios": [3, 2]})
    for key, colour in (("fired", "C0"), ("other", "C1")):
        top.plot(monthly.snapshot, monthly[f"rate_{key}"], marker="o", color=colour, label=labels[key])
        top.fill_between(monthly.snapshot, monthly[f"rate_{key}_low"], monthly[f"rate_{key}_high"], color=colour, alpha=0.15)
    top.fill_between([], [], [], color="grey", alpha=0.15, label=labels["interval"])
    top.yaxis.set_major_formatter(PercentFormatter(1.0))
    top.set(title=labels["title"], ylabel=labels["rate"])
    top.legend(fontsize=9, loc="upper left", ncols=3)
    err = [monthly.uplift - monthly.ci_low, monthly.ci_high - monthly.uplift]
    bottom.errorbar(monthly.snapshot, monthly.uplift, yerr=err, fmt="o", color="C2", capsize=3, label=labels["uplift_point"])
    bottom.axhline(0, color="black", lw=0.8)
    bottom.axhline(pooled, color="C2", ls="--", lw=1, label=labels["pooled"])
    bottom.yaxis.set_major_formatter(lambda v, _: tick(v))
    bottom.set(ylabel=labels["uplift_axis"])
    bottom.legend(fontsize=9, loc="upper left", ncols=2)
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


def model_vs_rule(calib: pd.DataFrame, gains: pd.DataFrame, labels: dict[str, str]) -> Figure:
    """Left: calibration — mean predicted against observed conversion by score decile (on the diagonal
    when the score can be read as a probability). Right: cumulative gains — the share of converters
    reached against the share of clients targeted, by score, with the rule as one point."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
    top = max(calib.predicted.max(), calib.observed.max()) * 1.05
    left.plot([0, top], [0, top], ls="--", color="grey")
    left.scatter(calib.predicted, calib.observed, s=50, color="C0")
    for ax in (left, right):
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    left.set(title=labels["calibration"], xlabel=labels["predicted"], ylabel=labels["observed"])
    curve, rule = gains[~gains.rule], gains[gains.rule]
    right.plot([0, 1], [0, 1], ls="--", color="grey", label=labels["random"])
    right.plot(curve.targeted, curve.reached, color="C0", label=labels["model"])
    right.scatter(rule.targeted, rule.reached, s=80, color="C3", zorder=3, label=labels["rule"])
    right.set(title=labels["gains"], xlabel=labels["targeted"], ylabel=labels["reached"])
    right.legend(fontsize=9, loc="lower right")
    return fig
