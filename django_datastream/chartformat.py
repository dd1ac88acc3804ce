"""Deprecated home of the time formats, kept for the modules that still import it from here:
use :mod:`django_datastream.formats.columns`."""

from __future__ import annotations

from .formats.columns import convert_datapoint, time_converter

__all__ = ["convert_datapoint", "time_converter"]
