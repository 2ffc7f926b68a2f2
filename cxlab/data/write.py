"""Write a set of canonical tables as one folder, atomically: it appears whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxlab.files import current_umask

#: Rows per row group: pyarrow's default, so writing a row group at a time gives the bytes one
#: ``write_table`` call gives, while only one row group is ever converted to arrow at once.
ROW_GROUP_ROWS = 1024 * 1024


def plain_schema(frame: pd.DataFrame, **types: pa.DataType) -> pa.Schema:
    """The arrow schema ``frame`` is written with: pandas' own, categoricals as their values (a memory
    layout, not a type), and ``types`` for the named columns."""
    inferred = pa.Schema.from_pandas(frame, preserve_index=False)
    return pa.schema([
        pa.field(f.name, types.get(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type))
        for f in inferred
    ])


def write_parquet(frame: pd.DataFrame, path: Path, schema: pa.Schema | None = None) -> None:
    """One table as parquet, without pandas metadata (so the same frame gives the same bytes), converted
    one row group at a time; ``schema`` defaults to :func:`plain_schema`."""
    schema = schema or plain_schema(frame)
    with pq.ParquetWriter(path, schema, compression="zstd", write_statistics=True) as writer:
        for start in range(0, max(len(frame), 1), ROW_GROUP_ROWS):
            part = frame.iloc[start: start + ROW_GROUP_ROWS]
            # column by column, then cast: from_pandas(schema=…) decodes categoricals ten times slower
            columns = [pa.array(part[f.name], from_pandas=True).cast(f.type) for f in schema]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema), ROW_GROUP_ROWS)


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out`` to write into; when the block ends it replaces ``out``.

    A failure or an interruption inside the block removes it and leaves the previous ``out`` (or none),
    so no half-written folder is ever seen.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.old-*"):  # an old copy a killed run did not get to delete
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; the data folder follows the umask
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # the old folder is renamed away, the new one moved in, and only then is the old one deleted: at every
    # moment ``out`` is the complete old folder or the complete new one
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    try:
        if out.exists():
            os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            if old.exists() and not out.exists():
                os.replace(old, out)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_tables(out: Path, tables: dict[str, pd.DataFrame], texts: dict[str, str] | None = None) -> None:
    """Write ``tables`` (and text files such as ``truth.json``) into ``out`` atomically, replacing what was there."""
    with atomic_folder(out) as tmp:
        for name, frame in tables.items():
            write_parquet(frame, tmp / f"{name}.parquet")
        for name, text in (texts or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
