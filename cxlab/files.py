"""Files, without an engine: a data folder's table files and their fingerprint (what
:func:`cxlab.data.connect.connect` registers, and what the run cache compares before connecting), and the
umask new files follow. Outside ``cxlab.data`` so that importing it does not import Ibis."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from cxlab.errors import DataError

#: File endings of a table in a data folder, and how each is read.
SUFFIXES = {".parquet": "parquet", ".csv": "csv", ".csv.gz": "csv", ".tsv": "csv"}


def table_files(folder: Path) -> dict[str, list[Path]]:
    """Map table name → files: ``name.parquet``, ``name.csv[.gz]`` or a folder ``name/`` of parquet parts.

    Hidden files (``.name``, such as macOS ``._clients.parquet`` copies) are not data and are skipped.
    """
    found: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir():
            parts = sorted(q for q in p.rglob("*.parquet") if not q.name.startswith("."))
            if parts:
                found[p.name] = parts
            continue
        for suffix in sorted(SUFFIXES, key=len, reverse=True):
            if p.name.endswith(suffix):
                name = p.name[: -len(suffix)]
                if name in found:
                    first = found[name][0].relative_to(folder)
                    raise DataError(f"{folder}: table '{name}' is given twice ({first} and {p.name}).")
                found[name] = [p]
                break
    return found


def hash_files(h: Any, paths: list[Path]) -> None:
    """Feed the bytes of ``paths`` into the hash ``h``."""
    for path in paths:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)


def folder_fingerprint(source: str) -> str | None:
    """``Source.fingerprint()`` of a plain data folder without connecting to it; None for any other source
    (a mapping, a database, Spark) or a folder without tables."""
    path = Path(source)
    if "://" in source or source.startswith("spark:") or not path.is_dir():
        return None
    files = table_files(path)
    if not files:
        return None
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        hash_files(h, files[name])
    return h.hexdigest()[:16]


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
