"""What a notebook uses to speak: translated headings, tables with small cells hidden, figures, banners,
and the headline results the runner collects into ``<notebook>.results.json``.

A notebook creates one :class:`Report` from its parameters and calls it; it defines no functions.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from cxlab.report import markup
from cxlab.report.format import format_value
from cxlab.report.i18n import catalogue
from cxlab.report.i18n import t as translate
from cxlab.report.markup import Md, escape_md

#: The output type that carries a notebook's headline results; the runner reads it, HTML ignores it.
RESULTS_MIMETYPE = "application/vnd.cxlab.results+json"

BANNER_KINDS = ("info", "good", "warn", "bad")

#: Table columns that count people in a group: their small values are hidden in every table, whether or
#: not the notebook asked (columns passed to :meth:`Report.suppress` are treated the same way).
PEOPLE_COLUMNS = frozenset({
    "clients", "people", "people_t", "people_c", "n", "n_treatment", "n_control", "eligible", "fired",
    "holders", "non_holders", "lookalikes", "raw", "assigned", "taken", "reach", "top", "stayed", "entered",
    "left", "wider", "same", "narrower", "exposed",
})


def _display(obj: Any = None, **kwargs: Any) -> None:
    from IPython.display import display  # imported late: the package is usable without a kernel

    display(obj, **kwargs)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: numpy scalars, dataclasses, frames, dates; NaN/inf become None."""
    if hasattr(value, "to_dict") and not isinstance(value, (pd.DataFrame, pd.Series)):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        # 12 significant digits: far below any reported precision, and immune to the last-bit noise of
        # sums taken in a different order, so the same inputs give byte-identical results.json
        return None if not math.isfinite(float(value)) else float(f"{float(value):.12g}")
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, str):
        return value
    if pd.isna(value):
        return None
    return str(value)


@dataclasses.dataclass
class Report:
    """A notebook's voice: ``lang`` picks the message catalogue, ``min_cell_size`` the privacy floor."""

    lang: str = "en"
    min_cell_size: int = 10
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    suppressed: int = 0
    people_columns: set[str] = dataclasses.field(default_factory=lambda: set(PEOPLE_COLUMNS))
    _anchors: set[str] = dataclasses.field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        translate("common.parameters", self.lang)  # fail early on an unknown language
        if self.min_cell_size < 1:
            raise ValueError(f"min_cell_size must be at least 1, got {self.min_cell_size}")

    # --- words -------------------------------------------------------------------------------------
    def t(self, key: str, **values: Any) -> str:
        """The message ``key`` in this report's language."""
        return translate(key, self.lang, **values)

    def t_md(self, key: str, **values: Any) -> Md:
        """The message ``key`` as Markdown (``values`` escaped), to put into another message as Markdown."""
        return markup.message_md(key, self.lang, **values)

    def heading(self, key: str, level: int = 2, **values: Any) -> None:
        """A translated heading (level 1 is the report title); ``values`` are shown as text."""
        if not 1 <= level <= 6:
            raise ValueError(f"heading level must be 1 to 6, got {level}")
        body = markup.inline(self._message(key), values)
        anchor = self._anchor(markup.plain(body))
        self._html(f'<h{level} id="{anchor}">{body}</h{level}>', markup.plain(body))

    def md(self, text: str) -> None:
        """Show Markdown prose written by cxlab or a card author: rendered with raw HTML off, no images and
        links only to the web, mail or an anchor (so a card's text can format itself but never run)."""
        self._html(markup.markdown(str(text)), str(text))

    def text(self, value: Any) -> None:
        """Show ``value`` as one paragraph of plain text, whatever characters it holds."""
        self.md(escape_md(value))

    def say(self, key: str, **values: Any) -> None:
        """Show one translated paragraph; ``values`` are put in as text (an :class:`Md` value as Markdown)."""
        self._html(markup.markdown(self._message(key), values), self.t(key, **values))

    def banner(self, text: str, kind: str = "info") -> None:
        """A coloured box for verdicts and warnings (``kind``: info, good, warn, bad); ``text`` is text,
        with ``**bold**`` the only markup it may carry."""
        if kind not in BANNER_KINDS:
            raise ValueError(f"banner kind must be one of {', '.join(BANNER_KINDS)}, got {kind!r}")
        body = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(str(text)))
        self._html(f'<div class="cx-banner cx-{kind}">{body}</div>', str(text))

    def _message(self, key: str) -> str:
        messages = catalogue(self.lang)
        if key not in messages:
            translate(key, self.lang)  # raises the catalogue's KeyError
        return messages[key]

    def _anchor(self, text: str) -> str:
        base = re.sub(r"[^\w-]", "", re.sub(r"\s+", "-", text.strip()))[:80] or "section"
        anchor, n = base, 1
        while anchor in self._anchors:
            n += 1
            anchor = f"{base}-{n}"
        self._anchors.add(anchor)
        return anchor

    @staticmethod
    def _html(fragment: str, text: str) -> None:
        _display({"text/html": fragment, "text/plain": text}, raw=True)

    def fmt(self, value: Any, kind: str = "number", digits: int | None = None) -> str:
        """A number formatted for this language (``kind``: number, int, pct, pp, money)."""
        return format_value(value, kind, self.lang, digits)

    # --- privacy -----------------------------------------------------------------------------------
    def suppress(self, frame: pd.DataFrame, people: str | Iterable[str]) -> pd.DataFrame:
        """Hide small cells: where a ``people`` column counts 1…min_cell_size−1 people.

        With one column name, the row's numbers are hidden (its rates are as revealing as its count)
        except the first column, which labels the row; with several (a matrix of counts), each small
        cell is hidden on its own. Hidden cells become missing values and are counted.
        """
        cols = [people] if isinstance(people, str) else list(people)
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise KeyError(f"suppress: no column(s) {missing} in the table (have {list(frame.columns)})")
        self.people_columns.update(str(c) for c in cols)
        out = frame.copy()
        if isinstance(people, str):
            measures = [c for c in out.columns[1:] if pd.api.types.is_numeric_dtype(out[c])]
            masks = {c: out[people].between(1, self.min_cell_size - 1) for c in measures}
            self.suppressed += int(out[people].between(1, self.min_cell_size - 1).sum())
        else:
            masks = {c: out[c].between(1, self.min_cell_size - 1) for c in cols}
            self.suppressed += int(sum(m.sum() for m in masks.values()))
        hidden = {col: set(labels) for col, labels in out.attrs.get("cx_hidden", {}).items()}
        for col, small in masks.items():
            if small.any():
                kind = "Int64" if pd.api.types.is_integer_dtype(out[col]) else "Float64"
                out[col] = out[col].astype(kind).mask(small)
                hidden.setdefault(str(col), set()).update(out.index[small])
        out.attrs["cx_hidden"] = hidden  # which cells were hidden (by row label), for the table to say "<k"
        return out

    # --- tables and figures -----------------------------------------------------------------------
    def table(
        self,
        frame: pd.DataFrame,
        caption: str | None = None,
        people: str | Iterable[str] | None = None,
        formats: Mapping[str, str] | None = None,
        note: str | None = None,
    ) -> None:
        """Show ``frame`` as a formatted table with small cells hidden.

        Rows are hidden as :meth:`suppress` does when ``people`` names one column; besides, every cell of a
        column that counts people (:data:`PEOPLE_COLUMNS`, or given to ``suppress`` before) is hidden on its
        own when small, and shown as "<k". Such cells carry the class ``cx-n`` so a scan can check them.
        """
        shown = self.suppress(frame, people) if people is not None else frame
        counted = [c for c in shown.columns if str(c) in self.people_columns and pd.api.types.is_numeric_dtype(shown[c])]
        if counted:
            shown = self.suppress(shown, counted)
        formats = dict(formats or {})
        body = shown
        head = "".join(f"<th>{html.escape(self.column_label(c))}</th>" for c in body.columns)
        rows = []
        hidden = body.attrs.get("cx_hidden", {})
        for label, *rec in body.itertuples(index=True):
            cells = []
            for col, v in zip(body.columns, rec):
                kind = formats.get(col, "int" if isinstance(v, (int, np.integer)) else "number")
                if isinstance(v, pd.Timestamp):
                    v = v.strftime("%Y-%m-%d %H:%M") if (v.hour or v.minute) else v.strftime("%Y-%m-%d")
                if label in hidden.get(str(col), ()):  # a small count says "<k"; the rest of its row "—"
                    text = f"&lt;{self.min_cell_size}" if col in counted else "—"
                    cells.append(f'<td class="{"cx-n " if col in counted else ""}cx-hidden">{text}</td>')
                    continue
                if isinstance(v, (bool, np.bool_)):
                    text = self.t("common.yes" if v else "common.no")
                elif isinstance(v, str):
                    text = v
                else:
                    text = format_value(v, kind, self.lang)
                classes = [name for name, on in (("cx-text", isinstance(v, str)), ("cx-n", col in counted)) if on]
                attr = f' class="{" ".join(classes)}"' if classes else ""
                cells.append(f"<td{attr}>{html.escape(text)}</td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        from IPython.display import HTML

        _display(HTML(f'<table class="cx-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'))
        if note:
            _display(HTML(f'<p class="cx-note">{html.escape(note)}</p>'))

    def column_label(self, name: Any) -> str:
        """A table header: the ``columns.<name>`` message if there is one, else the name as given."""
        key = f"columns.{name}"
        return self.t(key) if key in catalogue(self.lang) else str(name)

    def figure(self, fig: Any) -> None:
        """Show a matplotlib figure as a PNG (embedded in the HTML, whatever the backend) and free it."""
        import io

        import matplotlib.pyplot as plt
        from IPython.display import Image

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        plt.close(fig)
        _display(Image(data=buffer.getvalue(), format="png"))

    def privacy_note(self) -> None:
        """Say how many small cells were hidden, if any (call near the end of a report)."""
        if self.suppressed:
            self.md(f"*{self.t('common.suppressed', n=self.suppressed, k=self.min_cell_size)}*")

    # --- results ----------------------------------------------------------------------------------
    def record(self, key: str, value: Any) -> None:
        """Keep a headline figure for ``results.json``."""
        self.results[key] = jsonable(value)

    def publish(self) -> None:
        """Emit the headline results for the runner (invisible in the HTML report)."""
        payload = json.loads(json.dumps({**self.results, "suppressed_cells": self.suppressed}, sort_keys=True))
        _display({RESULTS_MIMETYPE: payload}, raw=True)
