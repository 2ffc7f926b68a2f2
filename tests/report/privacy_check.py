"""The checks every privacy test applies to a rendered report: the scan, a differencing attack on each
table, and small counts in results.json."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pandas as pd

from cxlab.report.privacy import PEOPLE, SUCCESSES, Cells, recoverable


class _Declared(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        payload = dict(attrs).get("data-cx-cells")
        if tag == "table" and payload:
            self.tables.append(json.loads(payload))


def declared_tables(html: str) -> list[dict[str, Any]]:
    """The ``data-cx-cells`` payload of every table that counts people."""
    parser = _Declared()
    parser.feed(html)
    return parser.tables


def differencing(html: str) -> list[str]:
    """Hidden cells of any table that subtraction recovers from the visible cells of its groups and
    relations (column totals, row relations such as raw = assigned + taken)."""
    found = []
    for i, t in enumerate(declared_tables(html), 1):
        values = pd.DataFrame(t["values"])
        hidden = pd.DataFrame(t["hidden"])
        for key in t["groups"]:
            values[key] = [row[key] for row in t["keys"]]
            hidden[key] = False
        cells = Cells(people=tuple(t["counts"]), groups=tuple(t["groups"]), totals=tuple(tuple(r) for r in t["totals"]),
                      margins=tuple(t["margins"]))
        found += [f"table {i}: {cell}" for cell in recoverable(values, hidden, cells)]
    return found


def small_results(results: Any, k: int, path: str = "") -> list[str]:
    """Counts of people of 1 … k−1 anywhere in a results.json payload (by the registries' names)."""
    out = []
    if isinstance(results, dict):
        for key, v in results.items():
            if key in PEOPLE or key in SUCCESSES:
                if isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v < k:
                    out.append(f"{path}.{key} = {v}")
            out += small_results(v, k, f"{path}.{key}")
    elif isinstance(results, list):
        for i, v in enumerate(results):
            out += small_results(v, k, f"{path}[{i}]")
    return out
