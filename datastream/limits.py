"""The documented limits of the library, each defined once.

Every limit holds on every storage, so that data accepted by one backend is accepted by all
of them; an argument beyond a limit raises the ``datastream.exceptions`` class documented in
``docs/library.rst`` ("Limits and errors"), naming the argument and the limit.
"""

from __future__ import annotations

import datetime

from .granularity import UTC, to_seconds

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_BOUND_SECONDS",
    "MAX_DATAPOINT_SECONDS",
    "MAX_DATAPOINT_TIMESTAMP",
    "MAX_DERIVE_ARGS_SIZE",
    "MAX_ENCODED_SIZE",
    "MAX_INTEGER_DIGITS",
    "MAX_NESTING_DEPTH",
    "MAX_TEXT_PATTERN_LENGTH",
    "MIN_BOUND_SECONDS",
    "MIN_DATAPOINT_SECONDS",
    "MIN_DATAPOINT_TIMESTAMP",
]

#: Signed 64-bit integer range: what SQLite and BSON store as native integers, and the largest
#: offset or length of a result window.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: Supported datapoint timestamps, inclusive (aware UTC datetimes). One day of margin inside
#: ``datetime``'s own range keeps every bucket start, end and middle representable at every
#: granularity.
MIN_DATAPOINT_TIMESTAMP = datetime.datetime(1, 1, 2, tzinfo=UTC)
MAX_DATAPOINT_TIMESTAMP = datetime.datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC)
#: The same range as POSIX seconds: every datapoint's (and so every event's) time.
MIN_DATAPOINT_SECONDS = to_seconds(MIN_DATAPOINT_TIMESTAMP)
MAX_DATAPOINT_SECONDS = to_seconds(MAX_DATAPOINT_TIMESTAMP)
#: Accepted bounds of a time range (``start``, ``end``, ``until``; the HTTP API's times) as
#: POSIX seconds: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, every second a ``datetime``
#: holds. A bound outside the supported datapoint timestamps selects nothing beyond them.
MIN_BOUND_SECONDS = to_seconds(datetime.datetime.min.replace(tzinfo=UTC))
MAX_BOUND_SECONDS = to_seconds(datetime.datetime.max.replace(tzinfo=UTC))

# Former names of the datapoint range, for code written against them (not in ``__all__``):
# they read like the bounds' range, which they are not.
MIN_TIMESTAMP = MIN_DATAPOINT_TIMESTAMP
MAX_TIMESTAMP = MAX_DATAPOINT_TIMESTAMP
MIN_SECONDS = MIN_DATAPOINT_SECONDS
MAX_SECONDS = MAX_DATAPOINT_SECONDS

#: Deepest nesting of dictionaries and lists in tags, query tags, nominal and graph values and
#: derive arguments; the outermost dictionary or list is level 1. BSON documents may nest 100
#: levels and a stored value sits a few levels down its document.
MAX_NESTING_DEPTH = 64

#: Largest tag set (all user tags of one stream), nominal or graph value, in bytes of compact
#: UTF-8 JSON. Well below BSON's 16 MiB document limit, so that a value and its bookkeeping
#: always fit in one MongoDB document.
MAX_ENCODED_SIZE = 2**20

#: Largest ``derive_args`` of a derived stream, in bytes of compact UTF-8 JSON: a source stream
#: keeps the arguments of every stream derived from it in its own record.
MAX_DERIVE_ARGS_SIZE = 2**16

#: Most decimal digits of an integer outside the 64-bit range (in tags, nominal values and
#: high-accuracy numeric streams), and the largest decimal exponent of a high-accuracy number.
#: Below 640, the smallest limit Python's int/str conversion can be configured to.
MAX_INTEGER_DIGITS = 600

#: Longest text operand of the text-match operators of tag queries (``iexact``, ``contains``,
#: ``icontains``, ``startswith``, ``istartswith``, ``endswith``, ``iendswith``), in characters.
#: Such an operand becomes a regular expression on MongoDB, whose pattern length is bounded.
MAX_TEXT_PATTERN_LENGTH = 256
