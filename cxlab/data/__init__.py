"""Data layer: the canonical contract, connecting to sources, validation, demo data and adapters."""

from cxlab.data.connect import Source, connect
from cxlab.data.contract import TABLES

__all__ = ["TABLES", "Source", "connect"]
