"""datastream: tagged time series with downsampling and derived streams.

>>> from datastream import Datastream
>>> from datastream.backends.sqlite import Backend
>>> ds = Datastream(Backend(':memory:'))
"""

from . import exceptions
from .api import Datastream
from .constants import (
    DERIVE_OPERATORS,
    RESERVED_TAGS,
    TIME_DOWNSAMPLERS,
    VALUE_DOWNSAMPLERS,
    VALUE_TYPES,
)
from .granularity import Granularity
from .results import Datapoints, ResultsBase, Streams
from .stream import Stream

__version__ = "1.0.0"

__all__ = [
    "DERIVE_OPERATORS",
    "Datapoints",
    "Datastream",
    "Granularity",
    "RESERVED_TAGS",
    "ResultsBase",
    "Stream",
    "Streams",
    "TIME_DOWNSAMPLERS",
    "VALUE_DOWNSAMPLERS",
    "VALUE_TYPES",
    "exceptions",
]
