"""Deprecated home of the chart parameters, kept for the modules that still import it from
here: use :mod:`django_datastream.params.chart`."""

from __future__ import annotations

from .params.parse import ChartOptions

__all__ = ["ChartOptions"]
