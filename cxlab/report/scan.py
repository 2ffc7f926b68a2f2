"""Check a rendered HTML report for small cells before it is shared.

Every table cell that counts people carries the class ``cx-n`` (see :meth:`cxlab.report.Report.table`);
the scan reads them back from the HTML and reports any that shows 1 … k−1 people — as a number or inside
text ("4 / 30", "2 [1 … 5]") — and any column whose header names a people count but whose cells were not
marked (a table that bypassed the check). It reads the prose too: a count of 1 … k−1 followed by a word for
people ("2 people", "3 клиента") in a paragraph, a list, a banner or a caption is reported. "<k" is the
form a hidden count takes and is not read as a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from cxlab.report.context import PEOPLE_COLUMNS
from cxlab.report.i18n import LANGS, catalogue

_DIGITS = re.compile(r"[\s,\u00a0\u202f]")
#: A number as reports print it (1,234 or 1 234), not part of a decimal, not after "<" (a hidden count).
_NUMBER = r"(?<![<\w.,\u00a0\u202f])(\d{1,3}(?:[,\u00a0\u202f]\d{3})+|\d+)(?![.,]\d|\d)"
_NUMBERS = re.compile(_NUMBER)
#: Words for people after a count, in every report language.
PEOPLE_WORDS = ("people", "person", "persons", "clients", "client", "customers", "customer", "client-months",
                "человек", "людей", "клиент", "клиента", "клиентов", "клиенты", "покупателей")
_PROSE = re.compile(_NUMBER + r"\s*(?:\*\*)?\s*(?:" + "|".join(sorted(PEOPLE_WORDS, key=len, reverse=True)) + r")\b",
                    re.IGNORECASE)
_BLOCKS = {"p", "li", "div", "caption", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "ul", "ol", "br"}


def small_numbers(text: str, k: int) -> list[int]:
    """Every count of 1 … k−1 written in ``text`` (hidden counts, "<k", excepted)."""
    return [int(_DIGITS.sub("", m)) for m in _NUMBERS.findall(text) if 1 <= int(_DIGITS.sub("", m)) < k]


def small_in_prose(text: str, k: int) -> list[str]:
    """Phrases of ``text`` that count 1 … k−1 people ("2 people")."""
    return [m.group(0) for m in _PROSE.finditer(text) if 1 <= int(_DIGITS.sub("", m.group(1))) < k]


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
    prose: list[str] = field(default_factory=list)
    unmarked: list[str] = field(default_factory=list)
    hidden: int = 0
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.small and not self.unmarked and not self.prose


class _Tables(HTMLParser):
    def __init__(self, k: int) -> None:
        super().__init__()
        self.k, self.scan, self.headers = k, Scan(), people_headers()
        self.table = 0
        self.cell: tuple[str, list[str]] | None = None  # (tag, classes)
        self.text = ""
        self.head: list[str] = []
        self.col = 0
        self.skip = 0  # inside <script> / <style>
        self.block = ""  # prose since the last block boundary

    def _flush(self) -> None:
        for phrase in small_in_prose(self.block, self.k):
            self.scan.prose.append(f"text: ...{phrase}... in '{self.block.strip()[:120]}'")
        self.block = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("script", "style"):
            self.skip += 1
        if tag in _BLOCKS:
            self._flush()
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
        elif not self.skip:
            self.block += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        if tag in _BLOCKS:
            self._flush()
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
        people = header in self.headers or header.split(" ")[0] == "n"
        if "cx-n" in classes or people:
            self.scan.checked += "cx-n" in classes
            if small_numbers(text, self.k):
                self.scan.small.append(where)
            elif "cx-n" not in classes and _DIGITS.sub("", text).isdigit():
                self.scan.unmarked.append(where)
        for phrase in small_in_prose(text, self.k):  # a text cell that counts people in words
            self.scan.prose.append(f"{where} ({phrase})")


def scan_html(text: str, min_cell_size: int) -> Scan:
    """Scan a report's HTML: counts of people shown must be 0 or at least ``min_cell_size``."""
    parser = _Tables(min_cell_size)
    parser.feed(text)
    parser.close()
    parser._flush()
    return parser.scan
