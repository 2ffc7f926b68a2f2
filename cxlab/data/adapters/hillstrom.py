"""The MineThatData e-mail test (Hillstrom, 2008): 64,000 customers randomised to Mens e-mail,
Womens e-mail or no e-mail, outcomes tracked for two weeks.

Mapping (one row = one customer; there is no customer id, so client_id is the 1-based row number):
- clients: recency, history_segment, history (spend in the past year — the CUPED covariate), mens, womens,
  zip_code, newbie, channel (the customer's past purchase channel).
- communications: campaign ``hillstrom``, channel ``email``, group control for "No E-Mail" else treatment,
  arm ``mens`` / ``womens`` / ``control``; sent at a nominal 2008-03-01 09:00 (the file has no dates).
- events: ``visit`` for visit = 1 and ``purchase`` (value = spend) for conversion = 1, both dated at the
  nominal send + 7 days, inside the two-week window.
- products / holdings: one product ``merchandise``; a purchase is also a contract with value = spend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.data.adapters.summary import ImportSummary
from cxlab.data.write import write_tables
from cxlab.errors import DataError

SENT = pd.Timestamp("2008-03-01 09:00")
OUTCOME = SENT + pd.Timedelta(days=7)
ARMS = {"Mens E-Mail": "mens", "Womens E-Mail": "womens", "No E-Mail": "control"}
COLUMNS = ["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie", "channel", "segment",
           "visit", "conversion", "spend"]


def convert(src: Path, out: Path) -> ImportSummary:
    """Read ``hillstrom.csv`` and write the canonical tables into ``out``."""
    raw = pd.read_csv(src)
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{src}: not the Hillstrom file, columns {missing} are missing")
    unknown = set(raw.segment) - set(ARMS)
    if unknown:
        raise DataError(f"{src}: unknown segment values {sorted(unknown)}")
    ids = np.arange(1, len(raw) + 1, dtype=np.int64)
    clients = raw[["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie", "channel"]].copy()
    clients.insert(0, "client_id", ids)
    arm = raw.segment.map(ARMS)
    comms = pd.DataFrame({"client_id": ids, "campaign_id": "hillstrom", "channel": "email", "sent_at": SENT,
                          "group": np.where(arm == "control", "control", "treatment"), "arm": arm})
    visits = pd.DataFrame({"client_id": ids[raw.visit == 1], "event_type": "visit", "ts": OUTCOME, "value": np.nan})
    buys = raw.conversion == 1
    purchases = pd.DataFrame({"client_id": ids[buys], "event_type": "purchase", "ts": OUTCOME,
                              "value": raw.spend[buys].to_numpy(float)})
    events = pd.concat([visits, purchases], ignore_index=True)
    holdings = pd.DataFrame({"client_id": ids[buys], "product_id": "merchandise", "opened_at": OUTCOME,
                             "closed_at": pd.NaT, "value": raw.spend[buys].to_numpy(float)})
    products = pd.DataFrame({"product_id": ["merchandise"], "product_line": ["merchandise"], "name": ["Merchandise"]})
    tables = {"clients": clients, "products": products, "holdings": holdings, "events": events, "communications": comms}
    write_tables(out, tables)
    return ImportSummary("hillstrom", str(out), len(raw), {k: len(v) for k, v in tables.items()}, {},
                         {"visit_rate": float(raw.visit.mean()), "conversion_rate": float(raw.conversion.mean()),
                          "spend_per_customer": float(raw.spend.mean())})
