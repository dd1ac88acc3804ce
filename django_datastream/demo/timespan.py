"""Moved to :mod:`django_datastream.management.timespan` (``dummystream`` is a command of the app
itself, which needs no demo); importable here as before."""

from django_datastream.management.timespan import *  # noqa: F403
from django_datastream.management.timespan import __all__  # noqa: F401
