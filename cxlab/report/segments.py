"""The 03 report's declarations of what its frames count (:mod:`cxlab.report.privacy`), and the frames
judged by them before anything is drawn, written or stored."""

from __future__ import annotations

import pandas as pd

from cxlab.analyses.segments import Sizing
from cxlab.compute.segments import STEPS
from cxlab.report.context import Report
from cxlab.report.privacy import Cells

#: Before assignment a segment's rule matches ``raw`` clients: ``assigned`` kept, ``taken`` by higher ones.
SIZES = Cells(people=("raw", "assigned", "taken"), safe=("priority",), totals=(("raw", "assigned", "taken"),))
#: The reach waterfall: each step's clients, down each column adding up to the step's total.
REACH = Cells(people=STEPS)
#: Base rates: ``n`` assigned clients at the earlier snapshot, ``x_sum`` of them bought the line.
RATES = Cells(people=("n",), successes={"x_sum": "n"})
#: White space: a segment's ``clients`` and the ``holders`` of each line among them (a line each).
WHITE_SPACE = Cells(people=("clients",), successes={"holders": "clients"}, margins=False)


def overlap_cells(s: Sizing) -> Cells:
    """Pairwise overlaps of the rules: not a partition, nothing adds up."""
    return Cells(people=tuple(s.overlap.columns), margins=False)


def flow_cells(s: Sizing) -> Cells:
    """``flow[a, b]``: clients matching a's rule assigned to b — a row adds up to a's raw size and a column
    to b's assigned size, both shown in the sizes table."""
    cols = tuple(s.flow.columns)
    return Cells(people=cols, totals=(cols,))


def plan_cells() -> Cells:
    """The plan, judged with the base rate's clients and buyers (``n``, ``x_sum``, not shown): the rate,
    its range and everything built on it are hidden with them; the value of a contract is the line's."""
    rate = ("n", "x_sum", "reach")
    return Cells(people=("reach", "n"), successes={"x_sum": "n"}, safe=("value_per_contract",),
                 derived={c: rate for c in ("base_rate", "rate_low", "rate_high", "contracts", "contracts_low",
                                             "contracts_high", "value", "value_low", "value_high")})


def plan(s: Sizing, rep: Report, count: bool = True) -> pd.DataFrame:
    """The plan with small cells hidden (and the base rate's ``n`` and ``x_sum`` beside, for the record)."""
    judged = s.plan.merge(s.rates[["segment", "n", "x_sum"]], on="segment", how="left", sort=False)
    return rep.suppress(judged, cells=plan_cells(), count=count)


PLAN_COLUMNS = ["segment", "product_line", "reach", "base_rate", "contracts", "contracts_low", "contracts_high",
                "value_per_contract", "value", "value_low", "value_high", "confidence"]
