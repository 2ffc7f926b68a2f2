"""Figures of the hypothesis card (notebook 01): what a test of the planned split needs and can detect."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def sample_and_duration(size_curve: pd.DataFrame, mde_curve: pd.DataFrame, expected: float, labels: dict[str, str],
                        tick: Callable[[float], str], people: Callable[[float], str]) -> Figure:
    """Left: people needed in treatment against the uplift to detect, the card's expected uplift marked.
    Right: the uplift a test detects against its length in months (people arrive month by month),
    with the expected uplift as a line — where they cross, the test is long enough."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    left.plot(size_curve.uplift, size_curve.n_treatment, marker="o")
    left.axvline(expected, color="C3", ls="--", label=labels["expected"])
    left.set_yscale("log")
    left.xaxis.set_major_formatter(lambda v, _: tick(v))
    left.yaxis.set_major_formatter(lambda v, _: people(v))
    left.yaxis.set_minor_formatter(lambda v, _: "")
    left.set(title=labels["size_title"], xlabel=labels["uplift"], ylabel=labels["people"])
    left.legend(fontsize=9)
    right.plot(mde_curve.months, mde_curve.mde, marker="o")
    right.axhline(expected, color="C3", ls="--", label=labels["expected"])
    right.yaxis.set_major_formatter(lambda v, _: tick(v))
    right.set(title=labels["mde_title"], xlabel=labels["months"], ylabel=labels["mde"])
    right.set_ylim(0 if expected > 0 else None, None if expected > 0 else 0)
    right.legend(fontsize=9)
    return fig
