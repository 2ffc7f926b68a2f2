"""What a notebook uses to speak: translated headings, tables with small cells hidden, figures, banners,
and the headline results the runner collects into ``<notebook>.results.json``.

A notebook creates one :class:`Report` from its parameters and calls it; it defines no functions.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from cxlab.report import markup, privacy
from cxlab.report.format import format_value, localise_numbers
from cxlab.report.i18n import Formatter, catalogue
from cxlab.report.i18n import t as translate
from cxlab.report.markup import Md, escape_md
from cxlab.report.privacy import Cells

#: The output type that carries a notebook's headline results; the runner reads it, HTML ignores it.
RESULTS_MIMETYPE = "application/vnd.cxlab.results+json"

BANNER_KINDS = ("info", "good", "warn", "bad")

#: Table columns that count people in a group: their small values are hidden in every table, whether or
#: not the notebook asked (columns passed to :meth:`Report.suppress` are treated the same way).
PEOPLE_COLUMNS = privacy.PEOPLE | frozenset(privacy.SUCCESSES)

#: How cxlab.data.connect describes each kind of source, and the message that says it in a report.
_SOURCE_KINDS = (("data folder ", "common.source_folder"), ("DuckDB file ", "common.source_duckdb"),
                 ("Spark (local) on ", "common.source_spark"), ("mapping ", "common.source_mapping"))


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
    currency: str = ""  # printed beside every "money" value (the data's cxlab.yml: cxlab.data.settings)
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    suppressed: int = 0
    people_columns: set[str] = dataclasses.field(default_factory=lambda: set(PEOPLE_COLUMNS))
    _anchors: set[str] = dataclasses.field(default_factory=set, repr=False)
    _folded: list[str] | None = dataclasses.field(default=None, repr=False)  # what a :meth:`details` block holds

    def __post_init__(self) -> None:
        translate("common.parameters", self.lang)  # fail early on an unknown language
        if self.min_cell_size < 1:
            raise ValueError(f"min_cell_size must be at least 1, got {self.min_cell_size}")

    # --- words -------------------------------------------------------------------------------------
    def t(self, key: str, **values: Any) -> str:
        """The message ``key`` in this report's language (``{x:money}`` fields in its currency)."""
        text = self._message(key)
        return Formatter(self.lang, self.currency).format(text, **values) if values else text

    def t_md(self, key: str, **values: Any) -> Md:
        """The message ``key`` as Markdown (``values`` escaped), to put into another message as Markdown."""
        return markup.message_md(key, self.lang, **values)

    def heading(self, key: str, level: int = 2, **values: Any) -> None:
        """A translated heading (level 1 is the report title); ``values`` are shown as text."""
        if not 1 <= level <= 6:
            raise ValueError(f"heading level must be 1 to 6, got {level}")
        body = markup.inline(self._message(key), values, self.lang, self.currency)
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
        self._html(markup.markdown(self._message(key), values, self.lang, self.currency), self.t(key, **values))

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

    def _html(self, fragment: str, text: str) -> None:
        if self._folded is not None:
            self._folded.append(fragment)
        else:
            _display({"text/html": fragment, "text/plain": text}, raw=True)

    @contextlib.contextmanager
    def details(self, key: str, **values: Any) -> Iterator[None]:
        """Fold everything shown inside the ``with`` block under a summary line (the message ``key``,
        ``values`` as text): one ``<details>`` element, which opens without JavaScript and holds the same
        escaped, suppressed tables, sentences and embedded figures as the page around it."""
        if self._folded is not None:
            raise ValueError("details blocks do not nest")
        self._folded = []
        try:
            yield
            parts = self._folded
        finally:
            self._folded = None
        summary = markup.inline(self._message(key), values, self.lang, self.currency)
        self._html(f'<details class="cx-details"><summary>{summary}</summary>{"".join(parts)}</details>', markup.plain(summary))

    def source(self, description: str) -> str:
        """A data source's description (``Source.description``: "data folder data/demo") in this language."""
        for prefix, key in _SOURCE_KINDS:
            if description.startswith(prefix):
                where = description.removeprefix(prefix)
                if key == "common.source_mapping":
                    name, _, inner = where.partition(" over ")
                    return self.t(key, name=name, inner=self.source(inner))
                return self.t(key, where=where)
        return description

    def numbers(self, text: str) -> str:
        """``text`` with the English-formatted numbers in it ("r = 0.243, a = 1,250.5") written for this language."""
        return localise_numbers(text, self.lang)

    def fmt(self, value: Any, kind: str = "number", digits: int | None = None) -> str:
        """A number formatted for this language (``kind``: number, int, pct, pp, money)."""
        return format_value(value, kind, self.lang, digits, self.currency if kind == "money" else "")

    # --- privacy -----------------------------------------------------------------------------------
    def declare(self, frame: pd.DataFrame, people: str | Iterable[str] | None = None, cells: Cells | None = None) -> Cells:
        """The declaration that judges ``frame``: ``cells`` as given, else the one ``frame`` carries from an
        earlier :meth:`suppress`, else ``people`` plus the columns named like :data:`cxlab.report.privacy.PEOPLE`
        (and any column given to ``suppress`` before)."""
        if cells is not None:
            return cells
        if people is None and "cx_cells" in frame.attrs:
            return frame.attrs["cx_cells"]
        known = [c for c in frame.columns if str(c) in self.people_columns and str(c) not in privacy.SUCCESSES]
        given = [people] if isinstance(people, str) else list(people or ())
        return Cells.of(frame.columns, [*given, *known])

    def suppress(self, frame: pd.DataFrame, people: str | Iterable[str] | None = None, cells: Cells | None = None,
                 count: bool = True) -> pd.DataFrame:
        """Hide small cells before anything is formatted, by the frame's declaration (:meth:`declare`,
        :mod:`cxlab.report.privacy`): counts of 1 … min_cell_size−1 people (and successes whose complement
        is that small), the cells a reader could recover from them by subtraction, and every number of a
        row derived from a hidden count. Hidden cells become missing values and are counted (``count``)."""
        spec = self.declare(frame, people, cells)
        missing = [c for c in ([people] if isinstance(people, str) else list(people or ())) if c not in frame.columns]
        if missing:
            raise KeyError(f"suppress: no column(s) {missing} in the table (have {list(frame.columns)})")
        self.people_columns.update(str(c) for c in spec.people)
        hide = privacy.mask(frame, spec, self.min_cell_size)
        before = frame.attrs.get("cx_hidden", {})
        out = privacy.apply(frame, hide)
        counts = [c for c in spec.counts if c in frame.columns]
        if count:  # the cells this call hides (not those an earlier call hid)
            self.suppressed += sum(len(set(frame.index[hide[c].to_numpy()]) - set(before.get(str(c), ()))) for c in counts)
        hidden = {str(col): set(labels) for col, labels in before.items()}
        for col in out.columns:
            labels = set(out.index[hide[col].to_numpy()])
            if labels:
                hidden.setdefault(str(col), set()).update(labels)
        small = {str(col): set(labels) for col, labels in frame.attrs.get("cx_small", {}).items()}
        for col in out.columns:
            labels = set(out.index[hide.attrs["small"][col].to_numpy()])
            if labels:
                small.setdefault(str(col), set()).update(labels)
        out.attrs["cx_hidden"] = hidden  # which cells were hidden (by row label), for the table to mark them
        out.attrs["cx_small"] = small  # … of which these count fewer than min_cell_size ("<k"; the rest "—")
        out.attrs["cx_cells"] = spec
        return out

    def count(self, value: Any) -> str:
        """A count of people for a sentence: formatted, or "<k" when it is 1 … min_cell_size−1."""
        return self.fmt(self.people(value), "int")

    def people(self, value: Any) -> Any:
        """A count of people for a template's ``{n:int}``: the value, or the text "<k" when it is
        1 … min_cell_size−1 (text passes through a template's format unchanged)."""
        x = privacy._number(value)
        return f"<{self.min_cell_size}" if 1 <= x < self.min_cell_size else value

    def share(self, count: Any, share: Any, digits: int | None = None) -> str:
        """The share ``count`` people make of a group, for a sentence: a percentage, or "—" when ``count``
        is hidden (1 … min_cell_size−1), since the share times the group's size would give it back."""
        return "—" if isinstance(self.people(count), str) else self.fmt(share, "pct", digits)

    # --- tables and figures -----------------------------------------------------------------------
    def table(
        self,
        frame: pd.DataFrame,
        caption: str | None = None,
        people: str | Iterable[str] | None = None,
        formats: Mapping[str, str] | None = None,
        note: str | None = None,
        cells: Cells | None = None,
        columns: Iterable[str] | None = None,
    ) -> None:
        """Show ``frame`` as a formatted table, its small cells hidden first (:meth:`suppress`, by
        ``cells`` or ``people``); ``columns`` picks what is shown after suppression, so counts that only
        judge others (successes behind a rate) need not be shown. Hidden counts read "<k", the numbers of
        their rows "—"; count cells carry the class ``cx-n`` so a scan can check them."""
        spec = self.declare(frame, people, cells)
        shown = self.suppress(frame, people, spec)
        counted = [c for c in spec.counts if c in shown.columns]
        if columns is not None:
            keep = shown.attrs
            shown = shown[list(columns)]
            shown.attrs = keep
        formats = dict(formats or {})
        body = shown
        head = "".join(f"<th>{html.escape(self.column_label(c))}</th>" for c in body.columns)
        rows = []
        hidden = body.attrs.get("cx_hidden", {})
        small = body.attrs.get("cx_small", {})
        for label, *rec in body.itertuples(index=True):
            tds: list[str] = []
            for col, v in zip(body.columns, rec, strict=True):
                kind = formats.get(col, "int" if isinstance(v, (int, np.integer)) else "number")
                if isinstance(v, pd.Timestamp):
                    v = v.strftime("%Y-%m-%d %H:%M") if (v.hour or v.minute) else v.strftime("%Y-%m-%d")
                if label in hidden.get(str(col), ()):  # a small count says "<k"; a count hidden beside it and
                    # the rest of their rows "—"
                    text = f"&lt;{self.min_cell_size}" if col in counted and label in small.get(str(col), ()) else "—"
                    tds.append(f'<td class="{"cx-n " if col in counted else ""}cx-hidden">{text}</td>')
                    continue
                if isinstance(v, (bool, np.bool_)):
                    text = self.t("common.yes" if v else "common.no")
                elif isinstance(v, str):
                    text = v
                else:
                    text = format_value(v, kind, self.lang, currency=self.currency if kind == "money" else "")
                classes = [name for name, on in (("cx-text", isinstance(v, str)), ("cx-n", col in counted)) if on]
                attr = f' class="{" ".join(classes)}"' if classes else ""
                tds.append(f"<td{attr}>{html.escape(text)}</td>")
            rows.append(f"<tr>{''.join(tds)}</tr>")
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        cells_attr = self._cells_attr(shown, spec)
        self._block(f'<table class="cx-table"{cells_attr}>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
        if note:
            self._block(f'<p class="cx-note">{html.escape(note)}</p>')

    def _block(self, fragment: str) -> None:
        """An HTML block (a table, a note): into the open :meth:`details` block, else displayed."""
        if self._folded is not None:
            self._folded.append(fragment)
            return
        from IPython.display import HTML

        _display(HTML(fragment))

    def column_label(self, name: Any) -> str:
        """A table header: the ``columns.<name>`` message if there is one, else the name as given."""
        key = f"columns.{name}"
        return self.t(key) if key in catalogue(self.lang) else str(name)

    def figure(self, fig: Any) -> None:
        """Show a matplotlib figure as a PNG (embedded in the HTML, whatever the backend) and free it."""
        import io

        import matplotlib.pyplot as plt
        from IPython.display import Image

        from cxlab.report import figures

        if self.lang != "en":
            figures.localise(fig, self.lang)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        plt.close(fig)
        if self._folded is not None:  # embedded as the page embeds every other figure
            self._folded.append(f'<img src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode("ascii")}">')
            return
        _display(Image(data=buffer.getvalue(), format="png"))

    def privacy_note(self) -> None:
        """Say how many small cells were hidden, if any (call near the end of a report)."""
        if self.suppressed:
            self.md(f"*{self.t('common.suppressed', n=self.suppressed, k=self.min_cell_size)}*")

    # --- results ----------------------------------------------------------------------------------
    def record(self, key: str, value: Any, cells: Cells | None = None) -> None:
        """Keep a headline figure for ``results.json``, its small cells hidden by the same rules as a
        table's: a frame by ``cells`` (or the declaration it carries from :meth:`suppress`, or its
        column names), nested records and mappings by the column names of :mod:`cxlab.report.privacy`."""
        if isinstance(value, pd.DataFrame) and cells is None:
            cells = value.attrs.get("cx_cells")
        if isinstance(value, pd.DataFrame) and cells is not None:
            value = privacy.apply(value, privacy.mask(value, cells, self.min_cell_size))
        value = jsonable(value)
        if key in privacy.PEOPLE and isinstance(value, (int, float)) and 1 <= value < self.min_cell_size:
            value = None  # a headline count of people: hidden like a table's cell
        self.results[key], _ = privacy.suppress_records(value, self.min_cell_size, cells)

    def _cells_attr(self, shown: pd.DataFrame, spec: Cells) -> str:
        """A ``data-cx-cells`` attribute telling a differencing check (tests) what the table hid: its
        counts (None where hidden), which cells, its groups and relations."""
        counts = [c for c in spec.counts if c in shown.columns]
        if not counts:
            return ""
        hidden = shown.attrs.get("cx_hidden", {})
        payload = {"counts": counts, "groups": [g for g in spec.groups if g in shown.columns],
                   "totals": [list(t) for t in spec.totals], "margins": spec.adding(counts),
                   "keys": jsonable(shown[[g for g in spec.groups if g in shown.columns]]),
                   "hidden": {c: [label in hidden.get(str(c), ()) for label in shown.index] for c in counts},
                   "values": {c: [None if h else jsonable(v)
                                  for v, h in zip(shown[c], (label in hidden.get(str(c), ()) for label in shown.index), strict=True)]
                              for c in counts}}
        return f' data-cx-cells="{html.escape(json.dumps(payload, sort_keys=True))}"'

    def publish(self) -> None:
        """Emit the headline results for the runner (invisible in the HTML report)."""
        payload = json.loads(json.dumps({**self.results, "suppressed_cells": self.suppressed}, sort_keys=True))
        _display({RESULTS_MIMETYPE: payload}, raw=True)
