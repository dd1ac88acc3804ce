"""Deprecated home of the query-string parsers, kept for the modules that still import it
from here: use :mod:`django_datastream.params`."""

from __future__ import annotations

from .params.parse import ALIASES, DetailQuery, QueryError, quote

__all__ = ["ALIASES", "DetailQuery", "QueryError", "quote"]
