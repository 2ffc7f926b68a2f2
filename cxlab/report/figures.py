"""The house style for report figures, and the generic charts several reports share.

Figures use DejaVu Sans (it has Cyrillic, so Russian labels render) and return the matplotlib Figure;
the notebook shows it with ``Report.figure``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from cxlab.report.format import localise_numbers

PALETTE = "colorblind"


class _Localised(matplotlib.ticker.Formatter):
    """An axis's tick formatter whose numbers are written in ``lang`` (decimal comma, spaced thousands)."""

    def __init__(self, inner: matplotlib.ticker.Formatter, lang: str) -> None:
        self.inner, self.lang = inner, lang

    def set_axis(self, axis: object) -> None:
        super().set_axis(axis)  # type: ignore[arg-type]
        self.inner.set_axis(axis)  # type: ignore[arg-type]

    def set_locs(self, locs: object) -> None:
        self.inner.set_locs(locs)  # type: ignore[arg-type]

    def __call__(self, x: float, pos: int | None = None) -> str:
        return localise_numbers(self.inner(x, pos), self.lang)

    def format_ticks(self, values: object) -> list[str]:
        return [localise_numbers(s, self.lang) for s in self.inner.format_ticks(values)]  # type: ignore[arg-type]

    def get_offset(self) -> str:
        return localise_numbers(self.inner.get_offset(), self.lang)


def localise(fig: Figure, lang: str) -> None:
    """Write the numbers of ``fig``'s tick labels and annotations in ``lang``, as the report's text does
    (category labels, which are data, stay as they are)."""
    from matplotlib.category import StrCategoryFormatter

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                             (axis.get_minor_formatter, axis.set_minor_formatter)):
                inner = get()
                if not isinstance(inner, (StrCategoryFormatter, matplotlib.ticker.NullFormatter, _Localised)):
                    put(_Localised(inner, lang))
        for text in ax.texts:
            text.set_text(localise_numbers(text.get_text(), lang))


def style() -> None:
    """Apply the house style (call once at the top of a notebook)."""
    # text.parse_math off: labels are data, and "$x$" in a product name is text, not TeX
    rc = {"figure.dpi": 100, "savefig.dpi": 100, "text.parse_math": False}
    sns.set_theme(style="whitegrid", palette=PALETTE, font="DejaVu Sans", rc=rc)


def new(width: float = 9, height: float = 4.5) -> tuple[Figure, plt.Axes]:
    """A fresh figure and axes of the house size."""
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def monthly(frame: pd.DataFrame, value: str, hue: str | None, title: str, ylabel: str, xlabel: str) -> Figure:
    """A line per ``hue`` of ``value`` by ``month``."""
    fig, ax = new()
    sns.lineplot(data=frame, x="month", y=value, hue=hue, marker="o", ax=ax)
    ax.set(title=title, ylabel=ylabel, xlabel=xlabel)
    if hue:
        ax.legend(title=None, fontsize=9, ncols=2)
    return fig


def bars(frame: pd.DataFrame, x: str, y: str, title: str, xlabel: str, ylabel: str, horizontal: bool = False,
         percent: bool = False) -> Figure:
    """A bar per row of ``frame``."""
    fig, ax = new(9, max(3.0, 0.35 * len(frame)) if horizontal else 4.5)
    if horizontal:
        sns.barplot(data=frame, y=x, x=y, ax=ax, color=sns.color_palette(PALETTE)[0])
    else:
        sns.barplot(data=frame, x=x, y=y, ax=ax, color=sns.color_palette(PALETTE)[0])
    ax.set(title=title, xlabel=ylabel if horizontal else xlabel, ylabel=xlabel if horizontal else ylabel)
    if percent:
        axis = ax.xaxis if horizontal else ax.yaxis
        axis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    return fig
