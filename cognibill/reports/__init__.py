"""The claim run's report: what a biller looks at first (issue 13), built from aggregates."""

from cognibill.reports.model import Report, ReportBuilder, minutes_short

__all__ = ["Report", "ReportBuilder", "minutes_short"]
