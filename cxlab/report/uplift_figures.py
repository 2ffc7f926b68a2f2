"""Figures of the uplift-targeting report (07): the uplift curve with its band against random targeting,
calibration by decile, and the profit curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from cxlab.report.figures import new
from cxlab.stats.targeting import ProfitCurve, QiniBand


def uplift_curve(band: QiniBand, title: str, xlabel: str, ylabel: str, model: str, random: str) -> Figure:
    """Incremental conversions per 1,000 people of the base when the top share is targeted, with the
    bootstrap band, against the random-targeting line."""
    fig, ax = new(7, 5)
    k = 1000
    ax.fill_between(band.share, k * band.uplift_low, k * band.uplift_high, alpha=0.25, label="95%")
    ax.plot(band.share, k * band.uplift_curve, lw=2, label=model)
    ax.plot([0, 1], [0, k * band.uplift_curve[-1]], ls="--", color="grey", label=random)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return fig


def calibration(deciles: pd.DataFrame, title: str, xlabel: str, ylabel: str) -> Figure:
    """Observed uplift (with its interval) against mean predicted uplift per decile, and the diagonal."""
    fig, ax = new(7, 5)
    d = deciles.dropna(subset=["uplift"])
    ax.errorbar(d.score_mean, d.uplift, yerr=[d.uplift - d.ci_low, d.ci_high - d.uplift], fmt="o", capsize=3)
    lo = float(np.nanmin([d.score_mean.min(), d.ci_low.min(), 0]))
    hi = float(np.nanmax([d.score_mean.max(), d.ci_high.max(), 0]))
    ax.plot([lo, hi], [lo, hi], ls="--", color="grey")
    ax.axhline(0, color="black", lw=0.8)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig


def profit(p: ProfitCurve, title: str, xlabel: str, ylabel: str, best: str) -> Figure:
    """Profit by share contacted with its band; the best share marked."""
    fig, ax = new(7, 5)
    ax.fill_between(p.share, p.profit_low, p.profit_high, alpha=0.25)
    ax.plot(p.share, p.profit, lw=2, marker="o")
    ax.axvline(p.best_share.estimate, ls="--", color="#2e7d32", label=best)
    ax.axhline(0, color="black", lw=0.8)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return fig
