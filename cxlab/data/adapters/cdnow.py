"""CDNOW (Fader & Hardie): the purchases of the 23,570 customers whose first-ever CDNOW purchase was in
Q1 1997, from 1997-01-01 to 1998-06-30. One category (music CDs), no product identifiers.

Mapping (``CDNOW_master.txt``: customer_id, date YYYYMMDD, number_of_cds, dollar_value):

- clients: one per customer_id (client_id = the id as an integer: ``00001`` → 1); ``joined_at`` = the date of
  the first purchase, which for this cohort is the first-ever purchase at CDNOW.
- products: one product ``cd`` in line ``music``.
- holdings: one contract per transaction row, opened_at = the date (midnight), value = dollar_value;
  ``quantity`` = number_of_cds. Rows repeating a (customer, date) pair stay separate contracts, and $0 rows
  stay with value 0 (both counted in the figures).
- events: ``purchase`` per transaction row, ts = the date, value = dollar_value (the same facts as holdings,
  for event-based rules such as "a purchase in the last 90 days").

Nothing is dropped.

The 2,357-customer sample (``CDNOW_sample.txt``: master_id, sample_id, date, number_of_cds, dollar_value,
no header; Fader, Hardie & Lee 2005) is read the same way, with client_id = the sample id (``0001`` → 1, the
``ID`` of ``cdnow_customers_summary.csv``) and the master id kept as the client column ``master_id``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.data.adapters._read import read_source
from cxlab.data.adapters.summary import ImportSummary, top_share
from cxlab.data.settings import FILE, settings_text
from cxlab.data.write import write_tables
from cxlab.errors import DataError

COLUMNS = ["customer_id", "date", "number_of_cds", "dollar_value"]
#: The sample file's columns (it has no header line).
SAMPLE_COLUMNS = ["master_id", "sample_id", "date", "number_of_cds", "dollar_value"]


def _is_sample(src: Path) -> bool:
    """True for ``CDNOW_sample.txt``: no header line, five fields per line."""
    try:
        with open(src, encoding="utf-8", errors="replace") as f:
            first = f.readline().split()
    except OSError:
        return False
    return len(first) == 5 and all(part.replace(".", "", 1).isdigit() for part in first)


def convert(src: Path, out: Path) -> ImportSummary:
    """Read ``CDNOW_master.txt`` and write the canonical tables into ``out``."""
    sample = _is_sample(src)
    if sample:
        raw = read_source(src, SAMPLE_COLUMNS, "the CDNOW sample file (CDNOW_sample.txt)", sep=r"\s+", header=None,
                          names=SAMPLE_COLUMNS, dtype={"master_id": str, "sample_id": str, "date": str})
        raw["customer_id"] = raw.sample_id
    else:
        raw = read_source(src, COLUMNS, "the CDNOW master file (CDNOW_master.txt)", sep=r"\s+",
                          dtype={"customer_id": str, "date": str})
    day = pd.to_datetime(raw.date, format="%Y%m%d", errors="coerce")
    if day.isna().any():
        raise DataError(f"{src}: dates not in YYYYMMDD form, e.g. {raw.date[day.isna()].iloc[0]!r}")
    ids = raw.customer_id.astype(np.int64)
    first = day.groupby(ids).min()
    clients = pd.DataFrame({"client_id": first.index.to_numpy(np.int64), "joined_at": first.to_numpy()})
    if sample:
        clients["master_id"] = raw.master_id.astype(np.int64).groupby(ids).first().reindex(first.index).to_numpy()
    products = pd.DataFrame({"product_id": ["cd"], "product_line": ["music"], "name": ["Music CD"]})
    value = raw.dollar_value.astype(float)
    holdings = pd.DataFrame({"client_id": ids, "product_id": "cd", "opened_at": day, "closed_at": pd.NaT,
                             "value": value, "quantity": raw.number_of_cds})
    events = pd.DataFrame({"client_id": ids, "event_type": "purchase", "ts": day, "value": value})
    tables = {"clients": clients, "products": products, "holdings": holdings, "events": events}
    settings = settings_text('USD', {'*': 'revenue'}, [],
                             'CDNOW: holdings.value is the dollar amount of each purchase')
    write_tables(out, tables, texts={FILE: settings})
    per_client = value.groupby(ids).sum()
    figures: dict[str, float | int | str] = {
        "customers": len(clients), "transactions": len(raw), "cds": int(raw.number_of_cds.sum()),
        "dollars": round(float(value.sum()), 2), "zero_dollar_rows": int((value == 0).sum()),
        "repeated_customer_date_rows": int(pd.DataFrame({"c": ids, "d": day}).duplicated().sum()),
        "one_time_buyers": int((ids.value_counts() == 1).sum()), "top20_share": top_share(per_client),
        "first_purchase_min": f"{first.min():%Y-%m-%d}", "first_purchase_max": f"{first.max():%Y-%m-%d}",
        "last_date": f"{day.max():%Y-%m-%d}"}
    notes: tuple[str, ...] = ("one contract per transaction row; the log has no products, so there is one line (music) and no white space",)
    if sample:
        notes = (*notes, "the 2,357-customer sample: client_id is the sample id, master_id the master file's id")
    return ImportSummary("cdnow", out, len(raw), {k: len(v) for k, v in tables.items()}, {}, figures, notes)
