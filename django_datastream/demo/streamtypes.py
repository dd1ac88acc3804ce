"""Moved to :mod:`django_datastream.management.streamtypes` (``dummystream`` is a command of the app
itself, which needs no demo); importable here as before."""

from django_datastream.management.streamtypes import *  # noqa: F403
from django_datastream.management.streamtypes import __all__  # noqa: F401
