"""Deprecated: the demo's static finder is ``django_datastream.demo.staticfinders.PlotlyFinder``.

Kept so that settings written for earlier versions (``STATICFILES_FINDERS`` naming
``django_datastream.staticfinders.PlotlyFinder``) keep working.
"""

from __future__ import annotations

from .demo.staticfinders import PLOTLY_STATIC_PATH, PlotlyFinder, plotly_js_path

__all__ = ["PLOTLY_STATIC_PATH", "PlotlyFinder", "plotly_js_path"]
