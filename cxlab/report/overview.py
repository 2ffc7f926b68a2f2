"""The 00 report's declarations of what its frames count (:mod:`cxlab.report.privacy`)."""

from __future__ import annotations

from cxlab.report.privacy import Cells, plain

__all__ = ["EVENTS", "HOLDERS", "LINES", "SIZES", "plain"]

#: Clients per table: the same clients appear in every table, nothing adds up.
SIZES = Cells(people=("clients",), safe=("columns",), margins=False)
#: Clients by number of product lines held: a partition of all clients (the sizes table gives the total).
LINES = Cells(people=("clients",), safe=("lines",))
#: Holders per line: a client holds several lines.
HOLDERS = Cells(people=("clients",), margins=False)
#: Clients with an event per month and type: a client has several types and months.
EVENTS = Cells(people=("clients",), margins=False, safe=("month",))
