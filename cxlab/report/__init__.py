"""Reporting: the notebook's voice (:class:`Report`), the message catalogue, formatting and figures."""

from cxlab.report.context import RESULTS_MIMETYPE, Report, jsonable
from cxlab.report.format import format_value
from cxlab.report.i18n import t

__all__ = ["RESULTS_MIMETYPE", "Report", "format_value", "jsonable", "t"]
