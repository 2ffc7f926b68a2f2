"""The MineThatData e-mail test (Hillstrom, 2008): 64,000 customers randomised to Mens e-mail,
Womens e-mail or no e-mail, outcomes tracked for two weeks.

Mapping (one row = one customer; there is no customer id, so client_id is the 1-based row number):

- clients: recency, history_segment, history, mens, womens, zip_code, newbie, channel. ``history`` (dollars
  spent in the year before the test) is the pre-period covariate CUPED needs; ``channel`` is the
  customer's past purchase channel, not the channel of the test.
- communications: campaign ``hillstrom``, channel ``email``, group ``control`` for "No E-Mail" else
  ``treatment``, arm ``mens`` / ``womens`` / ``control``, sent at a nominal 2008-03-01 09:00.
- events: ``visit`` for visit = 1 and ``purchase`` (value = spend) for conversion = 1.
- products / holdings: one product ``merchandise`` (line ``merchandise``); a purchase is also a contract
  with value = spend, so conversion per person can be counted from holdings as well as from events.

Dates: the file has none. The send is dated 2008-03-01 09:00 (nominal: the data were published on
2008-03-20 after a two-week window) and every outcome at send + 7 days, the middle of the 14-day window,
so any window of 1 to 14 days counts each outcome once and nothing before the send.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.data.adapters._read import read_source
from cxlab.data.adapters.summary import ImportSummary
from cxlab.data.settings import FILE, settings_text
from cxlab.data.write import write_tables
from cxlab.errors import DataError

SENT = pd.Timestamp("2008-03-01 09:00")
OUTCOME = SENT + pd.Timedelta(days=7)
ARMS = {"Mens E-Mail": "mens", "Womens E-Mail": "womens", "No E-Mail": "control"}
ATTRIBUTES = ["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie", "channel"]
COLUMNS = [*ATTRIBUTES, "segment", "visit", "conversion", "spend"]


def _figures(raw: pd.DataFrame, arm: pd.Series) -> dict[str, float | int]:
    """Per arm (and overall): customers, visit rate, conversion rate and spend per customer."""
    out: dict[str, float | int] = {}
    for name, rows in [*raw.groupby(arm.to_numpy(), sort=True), ("all", raw)]:
        out |= {f"{name}_clients": len(rows), f"{name}_visit_rate": float(rows.visit.mean()),
                f"{name}_conversion_rate": float(rows.conversion.mean()),
                f"{name}_spend_per_client": float(rows.spend.mean())}
    return out


def convert(src: Path, out: Path) -> ImportSummary:
    """Read ``hillstrom.csv`` and write the canonical tables into ``out``."""
    raw = read_source(src, COLUMNS, "the Hillstrom e-mail test file (hillstrom.csv)")
    unknown = set(raw.segment) - set(ARMS)
    if unknown:
        raise DataError(f"{src}: unknown segment values {sorted(unknown)} (expected {sorted(ARMS)})")
    ids = np.arange(1, len(raw) + 1, dtype=np.int64)
    clients = raw[ATTRIBUTES].copy()
    clients.insert(0, "client_id", ids)
    arm = raw.segment.map(ARMS)
    comms = pd.DataFrame({"client_id": ids, "campaign_id": "hillstrom", "channel": "email", "sent_at": SENT,
                          "group": np.where(arm == "control", "control", "treatment"), "arm": arm})
    bought = (raw.conversion == 1).to_numpy()
    spend = raw.spend.to_numpy(float)[bought]
    events = pd.concat([
        pd.DataFrame({"client_id": ids[(raw.visit == 1).to_numpy()], "event_type": "visit", "ts": OUTCOME, "value": np.nan}),
        pd.DataFrame({"client_id": ids[bought], "event_type": "purchase", "ts": OUTCOME, "value": spend}),
    ], ignore_index=True)
    holdings = pd.DataFrame({"client_id": ids[bought], "product_id": "merchandise", "opened_at": OUTCOME,
                             "closed_at": pd.NaT, "value": spend})
    products = pd.DataFrame({"product_id": ["merchandise"], "product_line": ["merchandise"], "name": ["Merchandise"]})
    tables = {"clients": clients, "products": products, "holdings": holdings, "events": events, "communications": comms}
    settings = settings_text('USD', {'*': 'revenue'}, [],
                             'Hillstrom: holdings.value is the dollars spent in the two weeks after the e-mail')
    write_tables(out, tables, texts={FILE: settings})
    lost = int(((raw.spend > 0) & ~bought).sum())  # none in the original file (SOURCE.md)
    dropped = {"spend > 0 without conversion = 1: not a purchase": lost} if lost else {}
    notes = (f"no dates in the file: send dated {SENT:%Y-%m-%d %H:%M}, visits and purchases at send + 7 days",)
    return ImportSummary("hillstrom", out, len(raw), {k: len(v) for k, v in tables.items()}, dropped,
                         _figures(raw, arm), notes)
