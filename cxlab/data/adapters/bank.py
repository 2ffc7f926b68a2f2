"""UCI Bank Marketing: a Portuguese bank's phone campaigns for term deposits, May 2008 – Nov 2010.

Reads ``bank-full.csv`` or ``bank-additional-full.csv``; the variant is recognised by its columns. The 10%
samples (``bank.csv``, ``bank-additional.csv``) are shuffled, so their dates cannot be reconstructed and
they are refused.

Mapping (one row = one client contacted in this campaign; client_id is the 1-based row number):

- clients: age, job, marital, education, default, balance (bank-full only); ``joined_at`` a nominal
  2008-01-01 (every client is a customer before the campaign starts in May 2008).
- products: housing_loan (line mortgage), personal_loan (consumer_loan), term_deposit (deposit).
- holdings: housing = yes / loan = yes → an open contract since the nominal 2008-01-01 (the file says only
  that the client had the loan at the contact, so it is assumed held since before the first contact);
  y = yes → a term deposit opened on the contact day at 12:00.
- events: a previous contact (pdays not -1 / 999) → ``prev_contact`` and ``prev_campaign_<poutcome>`` at 09:00
  pdays days before this contact. There is no control group, so no causal effect can be measured.
- communications: the call, campaign ``bank_telemarketing``, channel = ``contact`` (cellular, telephone,
  unknown), at 09:00 on the contact day, group treatment; ``calls`` (the file's ``campaign``: calls in
  this campaign), ``previous``, ``poutcome`` and, in bank-additional, the five economic indicators of the
  month (dots in their names become underscores) are kept as extra columns. ``duration`` is dropped: it is
  known only after the call (the names file says to use it for benchmarking only).

Dates: the rows are in time order but carry no year. The year starts at 2008 and increases each time the
month goes backwards from one row to the next (three years, ending Nov 2010). bank-full has the day of the
month. bank-additional has only the day of the week: within each month, the week advances each time the
weekday goes backwards, and the first week is the calendar week of the month holding the first weekday
seen. The weekday is then exact, the week an approximation (a month whose calls skip a week is dated
a week early after the gap).
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

MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
WEEKDAYS = {d: i for i, d in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])}
FIRST_YEAR, LAST_YEAR = 2008, 2010
START = pd.Timestamp("2008-01-01")
CALL_TIME, DEPOSIT_TIME = pd.Timedelta(hours=9), pd.Timedelta(hours=12)
REQUIRED = ["age", "job", "marital", "education", "default", "housing", "loan", "contact", "month", "campaign",
            "pdays", "previous", "poutcome", "y"]
ATTRIBUTES = ["age", "job", "marital", "education", "default", "balance"]
INDICATORS = ["emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed"]


def _lookup(values: pd.Series, names: dict[str, int], what: str) -> pd.Series:
    out = values.str.lower().map(names)
    if out.isna().any():
        raise DataError(f"unknown {what} names: {sorted(values[out.isna()].unique())}")
    return out.astype(int)


def _day_from_weekday(year: pd.Series, month: pd.Series, weekday: pd.Series) -> pd.Series:
    """The day of the month from the weekday alone, counting weeks within each run of one month."""
    block = (month != month.shift()).cumsum()
    new_week = (weekday.diff() < 0) & (block == block.shift())
    week = new_week.astype(int).groupby(block).cumsum()
    first = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}))
    first_weekday = pd.Series(first.dt.day_of_week, index=first.index)
    week += (weekday.groupby(block).transform("first") < first_weekday).astype(int)
    return (7 * week + weekday - first_weekday + 1).clip(upper=first.dt.days_in_month)


def contact_dates(raw: pd.DataFrame) -> pd.Series:
    """The contact day of every row: the year from month wrap-arounds, the day from ``day`` or ``day_of_week``.

    Raises DataError when the months wrap more often than May 2008 – Nov 2010 allows (rows not in time order).
    """
    month = _lookup(raw.month, MONTHS, "month")
    year = FIRST_YEAR + (month.diff() < 0).cumsum()
    if year.iloc[-1] > LAST_YEAR:
        raise DataError(f"the months wrap around {year.iloc[-1] - FIRST_YEAR} times, so the rows are not in time order "
                        f"(the 10% samples bank.csv and bank-additional.csv are shuffled) and their dates cannot be "
                        f"reconstructed: use bank-full.csv or bank-additional-full.csv")
    if "day" in raw.columns:
        day = raw["day"]
    elif "day_of_week" in raw.columns:
        day = _day_from_weekday(year, month, _lookup(raw.day_of_week, WEEKDAYS, "weekday"))
    else:
        raise DataError("a Bank Marketing file needs a 'day' or a 'day_of_week' column")
    return pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}))


def _holdings(raw: pd.DataFrame, ids: np.ndarray, day: pd.Series) -> pd.DataFrame:
    parts = [pd.DataFrame({"client_id": ids[(raw[col] == "yes").to_numpy()], "product_id": product, "opened_at": START})
             for col, product in (("housing", "housing_loan"), ("loan", "personal_loan"))]
    yes = (raw.y == "yes").to_numpy()
    parts.append(pd.DataFrame({"client_id": ids[yes], "product_id": "term_deposit", "opened_at": day[yes] + DEPOSIT_TIME}))
    return pd.concat(parts, ignore_index=True).assign(closed_at=pd.NaT, value=np.nan)


def _events(raw: pd.DataFrame, ids: np.ndarray, day: pd.Series, before: pd.Series) -> pd.DataFrame:
    b = before.to_numpy()
    at = (day - pd.to_timedelta(raw.pdays, unit="D") + CALL_TIME)[b]
    return pd.concat([
        pd.DataFrame({"client_id": ids[b], "event_type": "prev_contact", "ts": at}),
        pd.DataFrame({"client_id": ids[b], "event_type": "prev_campaign_" + raw.poutcome[b], "ts": at}),
    ], ignore_index=True).assign(value=np.nan)


def convert(src: Path, out: Path) -> ImportSummary:
    """Read a Bank Marketing CSV (``;``-separated) and write the canonical tables into ``out``."""
    raw = read_source(src, REQUIRED, "a UCI Bank Marketing file (bank-full.csv or bank-additional-full.csv)", sep=";")
    additional = "day_of_week" in raw.columns
    never = 999 if additional else -1
    ids = np.arange(1, len(raw) + 1, dtype=np.int64)
    try:
        day = contact_dates(raw)
    except DataError as e:
        raise DataError(f"{src}: {e}") from e
    clients = raw[[c for c in ATTRIBUTES if c in raw.columns]].copy()
    clients.insert(0, "client_id", ids)
    clients.insert(1, "joined_at", START)
    products = pd.DataFrame({"product_id": ["housing_loan", "personal_loan", "term_deposit"],
                             "product_line": ["mortgage", "consumer_loan", "deposit"],
                             "name": ["Housing loan", "Personal loan", "Term deposit"]})
    before = raw.pdays != never
    comms = pd.DataFrame({"client_id": ids, "campaign_id": "bank_telemarketing", "channel": raw.contact,
                          "sent_at": day + CALL_TIME, "group": "treatment", "arm": "treatment",
                          "calls": raw.campaign, "previous": raw.previous, "poutcome": raw.poutcome})
    for col in (c for c in INDICATORS if c in raw.columns):
        comms[col.replace(".", "_")] = raw[col]
    tables = {"clients": clients, "products": products, "holdings": _holdings(raw, ids, day),
              "events": _events(raw, ids, day, before), "communications": comms}
    settings = settings_text('EUR', {'*': 'none'}, [],
                             'UCI Bank Marketing: balances are in euros; the file gives no contract values (holdings.value is empty)')
    write_tables(out, tables, texts={FILE: settings})
    yes, success = raw.y == "yes", raw.poutcome == "success"
    figures: dict[str, float | int | str] = {
        "clients": len(raw), "yes": int(yes.sum()), "yes_rate": float(yes.mean()),
        "previously_contacted": int(before.sum()), "poutcome_success": int(success.sum()),
        "poutcome_success_yes": int((success & yes).sum()),
        "weekend_contacts": int((day.dt.day_of_week >= 5).sum()),
        "first_contact": f"{day.min():%Y-%m-%d}", "last_contact": f"{day.max():%Y-%m-%d}"}
    undated = int((~before & ~raw.poutcome.isin(["unknown", "nonexistent"])).sum())
    dropped = {f"previous outcome with pdays = {never} (no date): not an event": undated} if undated else {}
    notes: tuple[str, ...] = ("no year in the file: 2008, plus one each time the month goes backwards down the rows",
             "existing housing / personal loans assumed held since 2008-01-01 (no opening date in the file)",
             "no control group: every contacted client is in treatment")
    if additional:
        notes += ("no day of the month: weeks counted within each month from the weekday (exact weekday, approximate week)",)
    return ImportSummary("bank", out, len(raw), {k: len(v) for k, v in tables.items()}, dropped, figures, notes)
