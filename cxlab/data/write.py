"""Write a set of canonical tables as one folder, atomically: it appears whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """One table as parquet, without pandas metadata (so the same frame gives the same bytes)."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def write_tables(out: Path, tables: dict[str, pd.DataFrame], texts: dict[str, str] | None = None) -> None:
    """Write ``tables`` (and text files such as ``truth.json``) into ``out``, replacing what was there.

    Everything is written into a temporary folder beside ``out`` and renamed at the end, so a failure
    or an interruption leaves the previous folder (or none) and no half-written tables.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        for name, frame in tables.items():
            write_parquet(frame, tmp / f"{name}.parquet")
        for name, text in (texts or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
