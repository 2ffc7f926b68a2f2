"""Adapters: real datasets mapped into the canonical tables (``cxlab import NAME SRC --out DIR``).

Each adapter is a function ``convert(src, out) -> ImportSummary`` that reads one source file and writes
the canonical tables into the folder ``out`` atomically (:func:`cxlab.data.write.write_tables`), so a
failed import leaves the previous folder, or none, and never half of one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cxlab.data.adapters import bank, cdnow, hillstrom, online_retail
from cxlab.data.adapters.summary import ImportSummary
from cxlab.errors import DataError

#: Dataset name → its adapter.
ADAPTERS: dict[str, Callable[[Path, Path], ImportSummary]] = {
    "hillstrom": hillstrom.convert,
    "bank": bank.convert,
    "online-retail": online_retail.convert,
    "cdnow": cdnow.convert,
}


def import_dataset(name: str, src: str | Path, out: str | Path) -> ImportSummary:
    """Map dataset ``name`` from the file ``src`` into canonical tables in the folder ``out``.

    Raises DataError for an unknown name (listing the known ones), a missing or unreadable source file
    (naming it), or a file that is not the dataset the adapter expects.
    """
    if name not in ADAPTERS:
        raise DataError(f"unknown dataset '{name}'. Available: {', '.join(ADAPTERS)}.")
    return ADAPTERS[name](Path(src), Path(out))


__all__ = ["ADAPTERS", "ImportSummary", "import_dataset"]
