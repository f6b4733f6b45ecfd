"""Reporting: the café's daily sales report (SNS text and workbook), on-demand workbook exports of whitelisted
queries, and the streamed openpyxl workbooks both write."""

from chalicelib.reporting.exports import export_for_request
from chalicelib.reporting.sales import report_for_event_time, report_for_request

__all__ = ["export_for_request", "report_for_event_time", "report_for_request"]
