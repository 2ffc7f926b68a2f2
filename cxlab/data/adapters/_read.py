"""Reading a dataset's source file: every failure becomes a DataError that names the file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cxlab.errors import DataError


def read_source(src: Path, columns: Sequence[str], what: str, **read_csv: Any) -> pd.DataFrame:
    """Read ``src`` with :func:`pandas.read_csv` and check it has ``columns`` and at least one row.

    ``what`` names the expected file (e.g. "the Hillstrom file") so a wrong file given to an adapter
    says which file was expected, not just that a column is missing.
    """
    if not src.is_file():
        raise DataError(f"{what}: source file {src} does not exist.")
    try:
        raw = pd.read_csv(src, **read_csv)
    except (OSError, ValueError, UnicodeDecodeError) as e:  # pandas' parser errors are ValueErrors
        raise DataError(f"{src}: cannot read {what}: {str(e).splitlines()[0]}") from e
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise DataError(f"{src}: not {what}: columns {missing} are missing (found {list(raw.columns)}).")
    if raw.empty:
        raise DataError(f"{src}: {what} has no rows.")
    return raw
