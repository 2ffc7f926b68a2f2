"""What every analysis result offers beside its typed parts: ``facts()`` (its headline figures as plain
values, for message templates and results.json) and a rich display in JupyterLab (``_repr_html_``)
built from them, every string escaped."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, ClassVar

import pandas as pd

#: Rows of each frame, and scalar facts, a notebook display shows.
PREVIEW_ROWS = 10
PREVIEW_FACTS = 40


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return html.escape(str(value))


def _scalars(facts: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts flattened to ``a.b`` keys; lists and frames left out (they are shown as tables)."""
    out: list[tuple[str, Any]] = []
    for key, value in facts.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _scalars(value, f"{name}.")
        elif not isinstance(value, (list, tuple, pd.DataFrame, pd.Series)):
            out.append((name, value))
    return out


def html_summary(title: str, facts: Mapping[str, Any], frames: Mapping[str, pd.DataFrame]) -> str:
    """A small HTML card: the title, the scalar facts as a two-column table, the first rows of each frame."""
    parts = [f"<div class='cxlab-result'><h4>{html.escape(title)}</h4>"]
    scalars = _scalars(facts)
    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{_cell(v)}</td></tr>"
                   for k, v in scalars[:PREVIEW_FACTS])
    if len(scalars) > PREVIEW_FACTS:
        rows += f"<tr><td colspan='2'>… {len(scalars) - PREVIEW_FACTS} more in facts()</td></tr>"
    if rows:
        parts.append(f"<table>{rows}</table>")
    for name, frame in frames.items():
        if isinstance(frame, pd.DataFrame) and len(frame):
            more = f" (first {PREVIEW_ROWS} of {len(frame)})" if len(frame) > PREVIEW_ROWS else ""
            parts.append(f"<details><summary>{html.escape(name)}{html.escape(more)}</summary>"
                         f"{frame.head(PREVIEW_ROWS).to_html(escape=True, index=False, float_format=lambda v: f'{v:.6g}')}</details>")
    parts.append("</div>")
    return "".join(parts)


class Result:
    """Mixin of the analyses' result records: :meth:`facts` and the notebook display."""

    #: the display's title
    title: ClassVar[str] = "cxlab result"

    def facts(self) -> dict[str, Any]:
        """The headline figures as plain values (what results.json records)."""
        headline = getattr(self, "headline", None)
        return dict((headline() if callable(headline) else headline) or {})

    def frames(self) -> dict[str, pd.DataFrame]:
        """The result's tables by name (every frame-valued field)."""
        fields = getattr(self, "__dataclass_fields__", {})
        return {n: getattr(self, n) for n in fields if isinstance(getattr(self, n), pd.DataFrame)}

    def _repr_html_(self) -> str:
        return html_summary(self.title, self.facts(), self.frames())
