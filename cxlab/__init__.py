"""cxlab: a workbench for CRM / CX analysts growing a client base through cross-sell and upsell.

One call per step of the loop (see :mod:`cxlab.api`)::

    import cxlab
    src = cxlab.open("data/demo")
    cxlab.overview(src)                      # 00 what the data holds
    cxlab.plan(src, "cc_salary")             # 01 size a test of a hypothesis card
    cxlab.backtest(src, "salary_no_card")    # 02 a trigger on history
    cxlab.segments(src)                      # 03 segments sized, reach, plan
    cxlab.retro(src, "cc_spring_2025")       # 04 a campaign's retrospective
    cxlab.client_base(src)                   # 05 the shape of the base
    cxlab.audience(src, "oct", trigger="salary_no_card", snapshot=..., arms=..., salt=...)  # 06 who to contact
    cxlab.uplift(src, "cc_spring_2025")      # 07 whom not to contact
    cxlab.client_value(src)                  # 08 who is still a client, what each is worth
    cxlab.global_control(src)                # 09 what all communications add
"""

from cxlab.api import (
    aa,
    audience,
    backtest,
    client_base,
    client_value,
    global_control,
    launch,
    load_catalog,
    open,
    overview,
    plan,
    retro,
    segments,
    uplift,
)

__version__ = "0.1.0"

__all__ = ["__version__", "aa", "audience", "backtest", "client_base", "client_value", "global_control", "launch",
           "load_catalog", "open", "overview", "plan", "retro", "segments", "uplift"]
