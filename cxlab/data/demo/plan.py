"""What the demo plants: the calendar, the product lines, the triggers and the campaign, with their rates.

The generator draws from these values and the truth reports them, so both read them from here.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np


class Campaign(TypedDict):
    """The planted campaign: arms with their shares, and per arm the conversion, spend uplift and unsubscribe rates."""

    campaign_id: str
    split: dict[str, float]
    conversion: dict[str, float]
    spend_uplift: dict[str, float]
    unsubscribe: dict[str, float]
    reminder_share: float
    second_card_share: float
    window_days: int
    pre_period_days: int


class Programme(TypedDict):
    """The CRM programme against the global control (see PROGRAMME)."""

    start: str
    end: str
    line: str
    uplift: float
    leak_campaign: str
    leak_sent_at: str
    leak_share: float


DAY = np.timedelta64(1, "D")
HOUR = np.timedelta64(1, "h")
START, END = np.datetime64("2024-01-01"), np.datetime64("2026-01-01")
AS_OF = "2026-01-01"
MONTHS = np.arange("2024-01", "2026-01", dtype="datetime64[M]").astype("datetime64[D]")
SNAPSHOTS = MONTHS[3:23]  # 2024-04-01 … 2025-11-01: trigger snapshots
SEGMENT_SNAPSHOT = np.datetime64("2025-12-01")
CAMPAIGN_SEND = np.datetime64("2025-04-01")

LINES = ("current_account", "credit_card", "deposit", "consumer_loan", "mortgage", "insurance", "investment")
PRODUCTS = {
    "current_account": ("ca_basic", "ca_premium"),
    "credit_card": ("cc_classic", "cc_gold", "cc_platinum"),
    "deposit": ("dep_3m", "dep_12m"),
    "consumer_loan": ("loan_cash", "loan_auto"),
    "mortgage": ("mort_fixed", "mort_variable"),
    "insurance": ("ins_travel", "ins_home", "ins_life"),
    "investment": ("inv_funds", "inv_brokerage"),
}
#: Mean annual revenue of a contract by line (lognormal); with a client multiplier the base is Pareto-shaped.
LINE_VALUE = {"current_account": 30, "credit_card": 150, "deposit": 100, "consumer_loan": 400,
              "mortgage": 2000, "insurance": 80, "investment": 800}
#: Share of clients holding each line when the data starts (clients who joined before 2024).
INITIAL_HOLDING = {"credit_card": 0.25, "deposit": 0.20, "consumer_loan": 0.12, "mortgage": 0.07,
                   "insurance": 0.10, "investment": 0.05}

TRIGGERS = {
    # name: (event type, minimum value, target line, p if triggered, p otherwise)
    "salary_no_card": ("salary_deposit", 3000.0, "credit_card", 0.060, 0.015),
    "travel_insurance": ("travel_booking", 0.0, "insurance", 0.080, 0.010),
    "inflow_deposit": ("large_inflow", 0.0, "deposit", 0.120, 0.008),
}
#: Monthly chance of opening lines that no trigger drives (background white-space filling).
BACKGROUND = {"consumer_loan": 0.004, "mortgage": 0.001, "investment": 0.002}

CAMPAIGN: Campaign = {
    "campaign_id": "cc_spring_2025",
    "split": {"control": 0.2, "email": 0.4, "email_offer": 0.4},
    "conversion": {"control": 0.020, "email": 0.032, "email_offer": 0.040},
    "spend_uplift": {"control": 0.0, "email": 15.0, "email_offer": 25.0},
    "unsubscribe": {"control": 0.004, "email": 0.006, "email_offer": 0.009},
    "reminder_share": 0.25,
    "second_card_share": 0.10,
    "window_days": 30,
    "pre_period_days": 90,
}
#: Uplift multiplier by income band (mean 1 over the band shares): the model score tracks it.
UPLIFT_BY_INCOME = {"low": 0.5, "mid": 1.0, "high": 2.0}
INCOME = ("low", "mid", "high")
INCOME_P = (0.4, 0.4, 0.2)
REGIONS = ("capital", "north", "south", "east", "west")
CHANNELS = {"email": 0.70, "sms": 0.50, "push": 0.45, "call": 0.30}

#: The CRM programme as a whole against the global control group. Every client outside the control who
#: existed at ``start`` opens an extra ``line`` contract with chance ``uplift`` during the year (drawn after
#: everything else, so no other planted effect moves; nothing else treats the control differently for this
#: line), and a share ``leak_share`` of the control's e-mail-consenting clients is sent ``leak_campaign`` by
#: mistake (the known leakage).
PROGRAMME: Programme = {"start": "2025-01-01", "end": "2026-01-01", "line": "investment", "uplift": 0.02,
             "leak_campaign": "news_2025_06", "leak_sent_at": "2025-06-05T10:00:00", "leak_share": 0.10}
