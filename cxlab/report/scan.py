"""Check a rendered HTML report for small cells before it is shared.

Every table cell that counts people carries the class ``cx-n`` (see :meth:`cxlab.report.Report.table`);
the scan reads them back from the HTML and reports any that shows 1 … k−1 people, and any column whose
header names a people count but whose cells were not marked (a table that bypassed the check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from cxlab.report.context import PEOPLE_COLUMNS
from cxlab.report.i18n import LANGS, catalogue

_DIGITS = re.compile(r"[\s,\u00a0\u202f]")


def people_headers() -> set[str]:
    """The table headers, in every language, that only columns counting people have (a header such as
    "control" that also labels another column is left out)."""
    labels = {lang: {k.removeprefix("columns."): v for k, v in catalogue(lang).items() if k.startswith("columns.")}
              for lang in LANGS}
    people = {labels[lang].get(c, c) for lang in LANGS for c in PEOPLE_COLUMNS}
    others = {v for lang in LANGS for k, v in labels[lang].items() if k not in PEOPLE_COLUMNS}
    return people - others


@dataclass
class Scan:
    """What a scan found: small visible counts, unmarked people columns, and cells already hidden."""

    small: list[str] = field(default_factory=list)
    unmarked: list[str] = field(default_factory=list)
    hidden: int = 0
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.small and not self.unmarked


class _Tables(HTMLParser):
    def __init__(self, k: int) -> None:
        super().__init__()
        self.k, self.scan, self.headers = k, Scan(), people_headers()
        self.table = 0
        self.cell: tuple[str, list[str]] | None = None  # (tag, classes)
        self.text = ""
        self.head: list[str] = []
        self.col = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table" and "cx-table" in classes:
            self.table += 1
            self.head = []
        elif tag == "tr":
            self.col = 0
        elif tag in ("td", "th") and self.table:
            self.cell, self.text = (tag, classes), ""

    def handle_data(self, data: str) -> None:
        if self.cell:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("td", "th") or not self.cell:
            return
        kind, classes = self.cell
        text = self.text.strip()
        self.cell = None
        if kind == "th":
            self.head.append(text)
            return
        header = self.head[self.col] if self.col < len(self.head) else ""
        self.col += 1
        where = f"table {self.table}, column '{header}': {text}"
        if "cx-hidden" in classes:
            self.scan.hidden += "cx-n" in classes
            return
        if "cx-n" in classes:
            self.scan.checked += 1
            value = _DIGITS.sub("", text)
            if value.isdigit() and 1 <= int(value) < self.k:
                self.scan.small.append(where)
        elif header in self.headers and _DIGITS.sub("", text).isdigit():
            self.scan.unmarked.append(where)


def scan_html(text: str, min_cell_size: int) -> Scan:
    """Scan a report's HTML: counts of people shown must be 0 or at least ``min_cell_size``."""
    parser = _Tables(min_cell_size)
    parser.feed(text)
    return parser.scan
