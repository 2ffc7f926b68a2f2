"""UCI Online Retail: every invoice line of a UK online gift retailer, 2010-12-01 – 2011-12-09.

Mapping:

- clients: the CustomerIDs (client_id = CustomerID), with ``country`` = the country of most of the
  customer's lines (ties: alphabetical; 8 customers have lines under two countries).
- holdings: one contract per invoice line with a CustomerID that is not a cancellation: product_id =
  StockCode, opened_at = InvoiceDate, value = Quantity × UnitPrice (GBP); ``invoice_no``, ``quantity`` and
  ``unit_price`` kept. Two lines of one product on one invoice stay two contracts.
- products: the StockCodes of those lines; ``name`` = the product's most frequent Description (ties:
  alphabetical); ``product_line`` from :func:`product_line`.
- events: ``purchase`` per customer and invoice (value = the invoice's total, ts = its first line's time)
  and ``cancellation`` per customer and cancelling invoice (value = the amount cancelled, positive).

Dropped from holdings, and counted (each line under the first reason that applies): lines without a
CustomerID (they belong to no client), then lines of cancelling invoices (InvoiceNo starting with ``C``;
they become ``cancellation`` events). What remains are SOURCE.md's "lines with a CustomerID and not
cancelled"; zero-price lines (40, free items) stay, with value 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from cxlab.data.adapters._read import read_source
from cxlab.data.adapters.summary import ImportSummary, top_share
from cxlab.data.settings import FILE, settings_text
from cxlab.data.write import write_tables

COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]

#: Codes that are not merchandise (postage, carriage, manual entries, discounts, samples, fees): line ``service``.
SERVICE_CODES = frozenset({"POST", "DOT", "C2", "M", "m", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK"})

#: Keyword rules on the product's description, tried in this order; the first line with a matching word wins.
LINE_RULES: tuple[tuple[str, str], ...] = (
    ("christmas", "CHRISTMAS XMAS ADVENT SANTA REINDEER NATIVITY BAUBLE SNOWMAN SLEIGH"),
    ("bags", "BAG TOTE SHOPPER PURSE BACKPACK RUCKSACK HANDBAG UMBRELLA"),
    ("lights", "LIGHT T-LIGHT TEALIGHT LANTERN CANDLE CANDLEPOT LAMP NIGHTLIGHT CHANDELIER"),
    ("kitchen", "MUG CUP TEACUP PLATE BOWL JUG TEAPOT CAKESTAND CAKE BAKING NAPKIN SPOON CUTLERY APRON OVEN JAR "
                "BOTTLE TRAY COASTER EGG LUNCH CASE KITCHEN TEA TUMBLER BEAKER GLASS PLACEMAT CUTTER CORER PANTRY "
                "PICNIC HAMPER DISH SAUCER RECIPE CHOPSTICK STRAW"),
    ("stationery", "CARD NOTEBOOK PENCIL PEN PAPER WRAP STICKER TAPE ENVELOPE CALENDAR DIARY ERASER NOTE BOOK "
                   "NOTEPAD CHALK JOURNAL STAMP SCISSOR RIBBON CRAYON RULER"),
    ("jewellery", "NECKLACE BRACELET EARRING BROOCH HAIRCLIP BEAD DIAMANTE CHARM JEWEL JEWELLERY RING HAIR COMB "
                  "HAIRBAND"),
    ("garden", "GARDEN PLANT PLANTER BIRD WATERING SEED BIRDHOUSE PARASOL WINDSOCK HERB"),
    ("toys", "TOY GAME DOLL PUZZLE JIGSAW BALLOON SKITTLE DOMINOE TEDDY PLAYHOUSE KIT FELTCRAFT CRAFT STENCIL "
             "ANIMAL BUNNY SPACEBOY"),
    ("home_decor", "CUSHION FRAME PHOTOFRAME CLOCK SIGN HOOK DECORATION MIRROR VASE WREATH DOORMAT HANGING BUNTING "
                   "GARLAND ORNAMENT DRAWER STORAGE CABINET SHELF DOOR DOORSTOP CHALKBOARD BLACKBOARD QUILT THROW "
                   "BLANKET HOLDER BOX TIN HEART RACK BOARD MEMO MOBILE WALL ART PAPERWEIGHT INCENSE"),
    ("gifts", "GIFT VOUCHER KEYRING MAGNET PARTY"),
)
#: Every product line an import can produce.
PRODUCT_LINES = ("service", *(line for line, _ in LINE_RULES), "other")

_WORD = re.compile(r"[A-Z0-9'-]+")


def _stem(word: str) -> str:
    """Plural to singular, crudely: a trailing S goes (``BAGS`` → ``BAG``; ``GLASS`` and ``GLAS`` alike)."""
    return word[:-1] if len(word) > 3 and word.endswith("S") else word


_KEYWORDS = tuple((line, frozenset(_stem(w) for w in words.split())) for line, words in LINE_RULES)


def product_line(stock_code: str, description: str | None) -> str:
    """The product line of a StockCode: ``service`` for non-merchandise codes, else the first rule of
    :data:`LINE_RULES` with a word of the upper-cased description (plurals folded), else ``other``."""
    if stock_code in SERVICE_CODES:
        return "service"
    words = {_stem(w) for w in _WORD.findall((description or "").upper())}
    return next((line for line, keywords in _KEYWORDS if words & keywords), "other")


def _most_frequent(frame: pd.DataFrame, key: str, col: str) -> pd.Series:
    """Per ``key``, the most frequent non-null ``col`` (ties: alphabetical)."""
    counts = frame.dropna(subset=[col]).groupby([key, col]).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", col], ascending=[True, False, True]).drop_duplicates(key)
    return counts.set_index(key)[col]


def _invoice_events(lines: pd.DataFrame, event_type: str, sign: float) -> pd.DataFrame:
    per = lines.groupby(["client_id", "InvoiceNo"], sort=True).agg(ts=("InvoiceDate", "min"), value=("value", "sum"))
    return per.reset_index().assign(event_type=event_type, value=lambda f: sign * f.value)[
        ["client_id", "event_type", "ts", "value", "InvoiceNo"]].rename(columns={"InvoiceNo": "invoice_no"})



def convert(src: Path, out: Path) -> ImportSummary:
    """Read ``onlineretail.csv.gz`` and write the canonical tables into ``out``."""
    raw = read_source(src, COLUMNS, "the UCI Online Retail file (onlineretail.csv.gz)",
                      dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "Country": str},
                      parse_dates=["InvoiceDate"])
    raw["value"] = raw.Quantity * raw.UnitPrice
    has_client = raw.CustomerID.notna()
    cancelled = raw.InvoiceNo.str.startswith("C")
    named = raw[has_client].assign(client_id=lambda f: f.CustomerID.astype(np.int64))
    kept = named[~cancelled[has_client]]
    country = _most_frequent(named, "client_id", "Country")
    clients = pd.DataFrame({"client_id": country.index.to_numpy(np.int64), "country": country.to_numpy()})
    names = _most_frequent(raw, "StockCode", "Description")
    codes = np.sort(kept.StockCode.unique())
    products = pd.DataFrame({"product_id": codes, "name": names.reindex(codes).to_numpy()})
    products.insert(1, "product_line", [product_line(c, n if isinstance(n, str) else None)
                                        for c, n in zip(products.product_id, products.name, strict=True)])
    holdings = pd.DataFrame({"client_id": kept.client_id, "product_id": kept.StockCode, "opened_at": kept.InvoiceDate,
                             "closed_at": pd.NaT, "value": kept.value, "invoice_no": kept.InvoiceNo,
                             "quantity": kept.Quantity, "unit_price": kept.UnitPrice}).reset_index(drop=True)
    events = pd.concat([_invoice_events(kept, "purchase", 1.0),
                        _invoice_events(named[cancelled[has_client]], "cancellation", -1.0)], ignore_index=True)
    tables = {"clients": clients, "products": products, "holdings": holdings, "events": events}
    settings = settings_text('GBP', {'*': 'revenue'}, ['service'], "UCI Online Retail: holdings.value is quantity x unit price in pounds; "
                             "line 'service' (postage, fees, manual entries) is not a product to offer")
    write_tables(out, tables, texts={FILE: settings})
    dropped = {"no CustomerID": int((~has_client).sum()),
               "cancellation line with a CustomerID (InvoiceNo starts with C): a cancellation event instead": int((cancelled & has_client).sum())}
    figures: dict[str, float | int | str] = {
        "lines": len(raw), "invoices": raw.InvoiceNo.nunique(), "customers": int(raw.CustomerID.nunique()),
        "stock_codes": raw.StockCode.nunique(), "countries": raw.Country.nunique(),
        "revenue_all_lines": round(float(raw.value.sum()), 2), "cancelled_lines": int(cancelled.sum()),
        "lines_kept": len(kept), "customers_kept": kept.client_id.nunique(),
        "revenue_kept": round(float(kept.value.sum()), 2),
        "top20_share_kept": top_share(kept.groupby("client_id").value.sum()),
        "first_invoice": f"{raw.InvoiceDate.min():%Y-%m-%d %H:%M}", "last_invoice": f"{raw.InvoiceDate.max():%Y-%m-%d %H:%M}"}
    notes = ("product lines from keyword rules on the description (cxlab.data.adapters.online_retail.LINE_RULES); "
             "non-merchandise codes (postage, fees, manual) are line 'service'",)
    return ImportSummary("online-retail", out, len(raw), {k: len(v) for k, v in tables.items()}, dropped, figures, notes)
