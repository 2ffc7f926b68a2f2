"""Where a demo table lives: one file ``name.parquet``, or a folder ``name/`` of parquet parts (chunked demos).

The hand-written SQL and pandas read both layouts, as :func:`cxlab.data.connect` does.
"""

from __future__ import annotations

from pathlib import Path


def table_path(folder: Path, table: str) -> Path:
    """The table's file, or its folder of parts (pandas / pyarrow read a folder as one table)."""
    single = folder / f"{table}.parquet"
    if single.exists():
        return single
    parts = folder / table
    if parts.is_dir() and any(parts.glob("*.parquet")):
        return parts
    raise FileNotFoundError(f"{folder}: table '{table}' has neither {single.name} nor a folder {table}/ of parquet parts")


def scan(folder: Path, table: str) -> str:
    """A DuckDB ``read_parquet(…)`` of the table (a glob over the parts for a folder)."""
    path = table_path(folder, table)
    target = path / "*.parquet" if path.is_dir() else path
    return f"read_parquet('{target}')"
