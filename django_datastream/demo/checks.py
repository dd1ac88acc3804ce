"""System checks of the demo sub-app: the apps it relies on are installed.

========================  ======================================================================
id                        problem
========================  ======================================================================
``datastream.E102``       ``django_datastream`` (the API the page reads) is not installed
``datastream.W102``       ``django.contrib.staticfiles`` (which serves the page's JavaScript) is
                          not installed
========================  ======================================================================
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks


@checks.register("datastream")
def check_demo_dependencies(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``django_datastream`` and ``django.contrib.staticfiles`` are installed."""
    messages: list[checks.CheckMessage] = []
    if not apps.is_installed("django_datastream.demo"):
        return messages  # registered by an earlier set of apps in this process
    if not apps.is_installed("django_datastream"):
        messages.append(
            checks.Error(
                "The datastream demo needs the 'django_datastream' app.",
                hint="Add 'django_datastream' to INSTALLED_APPS (before the demo).",
                id="datastream.E102",
            )
        )
    if not apps.is_installed("django.contrib.staticfiles"):
        messages.append(
            checks.Warning(
                "The datastream demo page needs 'django.contrib.staticfiles' to serve its "
                "JavaScript and plotly.js.",
                hint="Add 'django.contrib.staticfiles' to INSTALLED_APPS.",
                id="datastream.W102",
            )
        )
    return messages
