"""Reporting: the notebook's voice (:class:`Report`), the message catalogue, formatting and figures.

The names below are imported on first use, so that a submodule (``cxlab.report.markup`` for the index
page) does not bring pandas along."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxlab.report.context import RESULTS_MIMETYPE, Report, jsonable
    from cxlab.report.format import format_value
    from cxlab.report.i18n import t

_WHERE = {"RESULTS_MIMETYPE": "context", "Report": "context", "jsonable": "context", "format_value": "format", "t": "i18n"}

__all__ = ["RESULTS_MIMETYPE", "Report", "format_value", "jsonable", "t"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"cxlab.report.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'cxlab.report' has no attribute {name!r}")
