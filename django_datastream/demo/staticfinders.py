"""A staticfiles finder that serves plotly.js from the installed ``plotly`` package.

The demo page draws its charts with plotly.js (MIT licence). The file is not copied into this
repository: the ``plotly`` distribution on PyPI ships it as ``plotly/package_data/plotly.min.js``
and this finder exposes it as the static file ``datastream/vendor/plotly.min.js``, for the
development server, ``collectstatic`` and ``StaticLiveServerTestCase`` alike. Enable it with::

    STATICFILES_FINDERS = [
        "django.contrib.staticfiles.finders.FileSystemFinder",
        "django.contrib.staticfiles.finders.AppDirectoriesFinder",
        "django_datastream.demo.staticfinders.PlotlyFinder",
    ]
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage

__all__ = ["PLOTLY_STATIC_PATH", "PlotlyFinder", "plotly_js_path"]

#: Static path under which plotly.js is served.
PLOTLY_STATIC_PATH = "datastream/vendor/plotly.min.js"


def plotly_js_path() -> str | None:
    """Absolute path of ``plotly.min.js`` in the installed ``plotly`` package, or ``None``.

    The package is located without importing it (importing plotly is slow).
    """
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = os.path.join(location, "package_data", "plotly.min.js")
        if os.path.isfile(path):
            return path
    return None


class PlotlyFinder(BaseFinder):
    """Finds ``datastream/vendor/plotly.min.js`` in the installed ``plotly`` package."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source = plotly_js_path()

    def check(self, **kwargs: Any) -> list[CheckWarning]:
        """Warn when the ``plotly`` package (needed by the demo page) is not installed."""
        if self.source is None:
            return [
                CheckWarning(
                    "The 'plotly' package is not installed, so the demo page cannot draw charts.",
                    hint="pip install 'django-datastream[demo]' (or pip install plotly).",
                    id="datastream.W101",
                )
            ]
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        """The absolute path of ``path`` if it is plotly.js, else no match: an empty list,
        as Django's own finders answer (``django.contrib.staticfiles.finders.find`` collects
        any other answer as a match, and serving it fails instead of a 404)."""
        if self.source is not None and path == PLOTLY_STATIC_PATH:
            return [self.source] if find_all else self.source
        return []

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        """Yield plotly.js for ``collectstatic``."""
        if self.source is None:
            return
        storage = FileSystemStorage(location=os.path.dirname(self.source))
        storage.prefix = os.path.dirname(PLOTLY_STATIC_PATH)
        yield os.path.basename(self.source), storage
