"""Lienthong: the event backbone for official documents, reports and statuses between agencies."""

__version__ = "0.1.0"
