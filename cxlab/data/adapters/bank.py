"""UCI Bank Marketing: a Portuguese bank's phone campaigns for term deposits, May 2008 – Nov 2010.

Mapping (one row = one client contacted in this campaign; client_id is the 1-based row number):
- clients: age, job, marital, education, default, balance (bank-full only); ``joined_at`` a nominal
  2008-01-01 (every client is a customer before the campaign).
- products: housing_loan (line mortgage), personal_loan (consumer_loan), term_deposit (deposit).
- holdings: housing = yes / loan = yes → an open contract since the nominal 2008-01-01;
  y = yes → a term deposit opened on the contact day at 12:00.
- events: a previous contact (pdays ≥ 0) → ``prev_contact`` and ``prev_campaign_<poutcome>`` dated
  pdays days before this contact.
- communications: the call, campaign ``bank_telemarketing``, channel = ``contact``, at 09:00 on the contact
  day, group treatment (the campaign has no control group, so no causal effect can be measured from it).

Dates: the rows are in time order but carry no year. The year starts at 2008 and increases each time the
month goes backwards from one row to the next. bank-full has the day of the month; bank-additional only the
day of the week, so its contacts are dated the 15th (an approximation, stated in the summary).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.data.adapters.summary import ImportSummary
from cxlab.data.write import write_tables
from cxlab.errors import DataError

MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
START = pd.Timestamp("2008-01-01")
REQUIRED = ["age", "job", "marital", "education", "default", "housing", "loan", "contact", "month", "pdays", "poutcome", "y"]


def contact_dates(raw: pd.DataFrame) -> pd.Series:
    """The contact day of every row: the year from month wrap-arounds, the day from ``day`` (or the 15th)."""
    month = raw.month.str.lower().map(MONTHS)
    if month.isna().any():
        raise DataError(f"unknown month names: {sorted(raw.month[month.isna()].unique())}")
    year = 2008 + (month.diff() < 0).cumsum()
    day = raw["day"] if "day" in raw.columns else 15
    return pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}))


def convert(src: Path, out: Path) -> ImportSummary:
    raw = pd.read_csv(src, sep=";")
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise DataError(f"{src}: not a UCI Bank Marketing file, columns {missing} are missing")
    ids = np.arange(1, len(raw) + 1, dtype=np.int64)
    day = contact_dates(raw)
    never = -1 if "day" in raw.columns else 999
    attrs = [c for c in ("age", "job", "marital", "education", "default", "balance") if c in raw.columns]
    clients = raw[attrs].copy()
    clients.insert(0, "client_id", ids)
    clients.insert(1, "joined_at", START)
    products = pd.DataFrame({"product_id": ["housing_loan", "personal_loan", "term_deposit"],
                             "product_line": ["mortgage", "consumer_loan", "deposit"],
                             "name": ["Housing loan", "Personal loan", "Term deposit"]})
    parts = []
    for col, product in (("housing", "housing_loan"), ("loan", "personal_loan")):
        has = raw[col] == "yes"
        parts.append(pd.DataFrame({"client_id": ids[has], "product_id": product, "opened_at": START}))
    yes = raw.y == "yes"
    parts.append(pd.DataFrame({"client_id": ids[yes], "product_id": "term_deposit",
                               "opened_at": day[yes] + pd.Timedelta(hours=12)}))
    holdings = pd.concat(parts, ignore_index=True).assign(closed_at=pd.NaT, value=np.nan)
    before = raw.pdays != never
    prev_ts = day[before] - pd.to_timedelta(raw.pdays[before], unit="D") + pd.Timedelta(hours=9)
    events = pd.concat([
        pd.DataFrame({"client_id": ids[before], "event_type": "prev_contact", "ts": prev_ts}),
        pd.DataFrame({"client_id": ids[before], "event_type": "prev_campaign_" + raw.poutcome[before], "ts": prev_ts}),
    ], ignore_index=True).assign(value=np.nan)
    comms = pd.DataFrame({"client_id": ids, "campaign_id": "bank_telemarketing", "channel": raw.contact,
                          "sent_at": day + pd.Timedelta(hours=9), "group": "treatment", "arm": "treatment",
                          "calls": raw.campaign if "campaign" in raw.columns else 1})
    tables = {"clients": clients, "products": products, "holdings": holdings, "events": events, "communications": comms}
    write_tables(out, tables)
    success = raw.poutcome == "success"
    figures = {"yes_rate": float(yes.mean()), "yes": int(yes.sum()), "poutcome_success": int(success.sum()),
               "poutcome_success_yes": int((success & yes).sum()), "first_contact": float(day.min().year),
               "last_contact": float(day.max().year)}
    notes = {} if "day" in raw.columns else {"contacts dated the 15th (no day in the file)": len(raw)}
    return ImportSummary("bank", str(out), len(raw), {k: len(v) for k, v in tables.items()}, notes, figures)
