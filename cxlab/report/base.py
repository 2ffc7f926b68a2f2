"""The 05 report's declarations of what its frames count (:mod:`cxlab.report.privacy`)."""

from __future__ import annotations

from typing import Any

from cxlab.report.context import Report
from cxlab.report.privacy import Cells

#: ABC classes partition the clients with turnover: their sizes add up to a total the text gives.
ABC = Cells(people=("clients",))
#: Each funnel step keeps part of the one before: nested, nothing adds up down the column.
FUNNEL = Cells(people=("clients",), margins=False)
#: The top tier month by month: this month's tier = stayed + entered, last month's = stayed + left; the
#: monthly entries and exits add up to the averages the text gives.
TOP_FLOW = Cells(people=("top", "stayed", "entered", "left"), safe=("idx",),
                 totals=(("top", "stayed", "entered"), ("top[-1]", "stayed", "left")), margins=("entered", "left"))
#: Per line: holders + non-holders = all clients; the look-alikes are some of the non-holders.
LOOKALIKES = Cells(people=("holders", "non_holders", "lookalikes"), totals=(("holders", "non_holders"),),
                   successes={"lookalikes": "non_holders"}, margins=False)
#: Clients of a month = wider + same + narrower; widenings and narrowings add up to the text's totals.
LINES_FLOW = Cells(people=("clients", "wider", "same", "narrower"), safe=("idx",), derived={"mean_lines": ("clients",)},
                   totals=(("clients", "wider", "same", "narrower"),), margins=("wider", "narrower"))
#: Holders of each line within a group's clients (a client holds several lines).
HOLDINGS = Cells(people=("clients",), successes={"holders": "clients"}, groups=("group",), margins=False)
#: Clients moving from one line to the next: each transition once.
NEXT_LINE = Cells(people=("clients",))


def value_shape(summary: dict[str, Any], abc: Any, rep: Report) -> dict[str, Any]:
    """The concentration summary for results.json, its ABC class sizes as the (suppressed) ABC table shows."""
    clients = abc["clients"].astype("Float64").fillna(float("nan"))
    sizes = {str(a): (None if n != n or n is None else int(n)) for a, n in zip(abc["abc"], clients, strict=True)}
    return {**summary, "abc_sizes": {k: sizes.get(k) for k in summary.get("abc_sizes", sizes)}}
