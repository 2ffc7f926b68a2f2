"""The 00 report: what is in a data source, whether it keeps the contract, what the base holds and how
active it is — one call, :func:`overview`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import pandas as pd

from cxlab.analyses.result import Result
from cxlab.compute import overview as co
from cxlab.data import context
from cxlab.data.connect import Source
from cxlab.data.validate import ValidationReport


@dataclass(frozen=True)
class Overview(Result):
    """Table sizes and date ranges, the contract check, product lines per client and holders per line
    on ``as_of``, contracts and event clients by month."""

    source: str
    as_of: date
    sizes: pd.DataFrame
    ranges: pd.DataFrame
    validation: ValidationReport
    lines: pd.DataFrame
    holders: pd.DataFrame
    contracts: pd.DataFrame
    events: pd.DataFrame
    title: ClassVar[str] = "Data overview"

    def facts(self) -> dict[str, Any]:
        return {"source": self.source, "as_of": self.as_of.isoformat(), "errors": len(self.validation.errors),
                "warnings": len(self.validation.warnings), "contracts_total": int(self.contracts.contracts.sum())}


def overview(src: Source, as_of: date | None = None) -> Overview:
    """Describe ``src`` as of ``as_of`` (default: the day after its last contract or event); its contract
    check is the run's preflight when the run handed it over (:mod:`cxlab.data.context`)."""
    day = as_of or co.as_of_date(src)
    return Overview(src.description, day, co.table_sizes(src), co.date_ranges(src), context.validation(src),
                    co.lines_per_client(src, day), co.holders_by_line(src, day),
                    co.contracts_by_month(src, since=co.first_event_day(src)), co.events_by_month(src))
