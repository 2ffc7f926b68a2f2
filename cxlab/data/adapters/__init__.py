"""Adapters: real datasets mapped into the canonical tables (``cxlab import NAME SRC --out DIR``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cxlab.data.adapters.summary import ImportSummary
from cxlab.errors import DataError


def _registry() -> dict[str, Callable[[Path, Path], ImportSummary]]:
    from cxlab.data.adapters import bank, hillstrom

    return {"hillstrom": hillstrom.convert, "bank": bank.convert}


def import_dataset(name: str, src: Path, out: Path) -> ImportSummary:
    """Map dataset ``name`` from the file ``src`` into canonical tables in ``out``."""
    adapters = _registry()
    if name not in adapters:
        raise DataError(f"unknown dataset '{name}'. Available: {', '.join(adapters)}.")
    if not Path(src).is_file():
        raise DataError(f"{name}: source file {src} does not exist.")
    return adapters[name](Path(src), Path(out))


__all__ = ["ImportSummary", "import_dataset"]
