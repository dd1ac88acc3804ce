"""Time bounds as users write them: integer UNIX seconds or ISO 8601 / RFC 3339 timestamps.

``1700000000``, ``2024-01-01T00:00:00Z``, ``2024-01-01T02:00:00+02:00``, ``2024-01-01 00:00``
and ``2024-01-01`` all name a moment; a timestamp without an offset is UTC. A value made only
of digits (with an optional sign) is always UNIX seconds, so ``20240101`` is a second in 1970,
not a date. ISO 8601 parsing is python-dateutil's ``isoparse``.

Datapoints are stored at whole seconds, so a bound with a fraction of a second is turned into
the whole-second bound that selects the same datapoints: an inclusive start or an exclusive end
rounds up, an exclusive start or an inclusive end rounds down.

An offset whose ``+`` arrived as a space (``?start=2024-01-01T00:00:00+02:00`` typed in a URL
without encoding the ``+``) is read as the ``+`` it was meant to be.
"""

from __future__ import annotations

import datetime
import enum
import re

from dateutil.parser import isoparse

from datastream.constants import UNIX_EPOCH
from datastream.limits import MAX_BOUND_SECONDS, MIN_BOUND_SECONDS

from ..errors import quote

__all__ = [
    "EPOCH_UNITS",
    "InvalidTime",
    "Rounding",
    "parse_datapoint_time",
    "parse_time",
    "rounding_for",
]

_SECOND = datetime.timedelta(seconds=1)
_INTEGER = re.compile(r"[+-]?[0-9]+")
# ISO 8601 needs at most ~40 characters; anything much longer is not a timestamp.
_MAX_LENGTH = 64
_FRACTION = re.compile(r"[0-9]{2}[.,]([0-9]+)")
# "<date>T<time> HH[:MM]": the "+" of an offset decoded as a space from a query string.
_SPACE_OFFSET = re.compile(
    r"(?P<moment>.+[Tt ][0-9]{2}:?[0-9]{2}(?::?[0-9]{2}(?:[.,][0-9]+)?)?) "
    r"(?P<offset>[0-9]{2}(?::?[0-9]{2})?)"
)


class InvalidTime(ValueError):
    """A time bound that cannot be read; the message names the parameter and the value."""


class Rounding(enum.Enum):
    """How a bound with a fraction of a second becomes a whole second."""

    FLOOR = "floor"
    CEIL = "ceil"


def rounding_for(parameter: str) -> Rounding:
    """The rounding that keeps the meaning of a bound named by its long ``parameter`` name:
    ``start`` and ``end_exclusive`` round up, ``end`` and ``start_exclusive`` round down."""
    return Rounding.CEIL if parameter in ("start", "end_exclusive") else Rounding.FLOOR


def _error(value: str, parameter: str, which: str, reason: str) -> InvalidTime:
    return InvalidTime(
        f"Invalid time range {which} value: {quote(value)} in parameter '{parameter}' "
        f"({reason}). Use integer UNIX seconds (UTC) from {MIN_BOUND_SECONDS} to "
        f"{MAX_BOUND_SECONDS}, or an ISO 8601 / RFC 3339 timestamp from 0001-01-01T00:00:00Z "
        "to 9999-12-31T23:59:59Z such as '2024-01-01T00:00:00Z' or "
        "'2024-01-01T01:00:00+01:00' (no offset means UTC)."
    )


def parse_time(
    value: str,
    parameter: str,
    which: str = "start",
    rounding: Rounding = Rounding.FLOOR,
) -> datetime.datetime:
    """The aware UTC datetime, at a whole second, written in ``value``.

    ``parameter`` is the name used in the request (``start``, ``s``, …) and ``which`` the kind
    of bound (``start`` or ``end``), both for the error message; ``rounding`` applies to
    timestamps with a fraction of a second. Raises :class:`InvalidTime`.
    """
    if _INTEGER.fullmatch(value):
        try:
            seconds = int(value)
        except ValueError:  # more digits than Python converts
            raise _error(value, parameter, which, "too many digits") from None
        if not MIN_BOUND_SECONDS <= seconds <= MAX_BOUND_SECONDS:
            raise _error(value, parameter, which, "out of range")
        return UNIX_EPOCH + seconds * _SECOND
    if len(value) > _MAX_LENGTH:
        raise _error(value, parameter, which, "too long for a timestamp")
    moment = _parse_iso(value, parameter, which)
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    try:
        moment = moment.astimezone(datetime.UTC)
    except OverflowError:
        raise _error(value, parameter, which, "out of range") from None
    if rounding is Rounding.CEIL and _has_fraction(value):
        moment = moment.replace(microsecond=0)
        if moment == datetime.datetime.max.replace(microsecond=0, tzinfo=datetime.UTC):
            raise _error(value, parameter, which, "out of range")
        return moment + _SECOND
    return moment.replace(microsecond=0)


#: Epoch units of written datapoint times (``precision``) -> units per second.
EPOCH_UNITS: dict[str, int] = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_datapoint_time(value: object, unit: str = "s") -> datetime.datetime:
    """The aware UTC datetime, at a whole second (rounded down), of a written datapoint's time.

    A JSON number, or a string of one, counts ``unit`` (:data:`EPOCH_UNITS`: ``s``, ``ms``,
    ``us`` or ``ns``) since the UNIX epoch; any other string is an ISO 8601 / RFC 3339
    timestamp read by :func:`parse_time` (no offset means UTC). Raises :class:`InvalidTime`
    with a message naming the value (the caller names the datapoint)."""
    per_second = EPOCH_UNITS[unit]
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text) and len(text) <= _MAX_LENGTH:
            value = int(text)
        elif _DECIMAL.fullmatch(text) and len(text) <= _MAX_LENGTH:
            value = float(text)
        else:
            try:
                return parse_time(text, "t", "datapoint")
            except InvalidTime:
                raise _datapoint_error(value, unit) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _datapoint_error(value, unit)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _datapoint_error(value, unit)
        seconds = int(value // per_second) if abs(value) < 1e300 else MAX_BOUND_SECONDS + 1
    else:
        seconds = value // per_second
    if not MIN_BOUND_SECONDS <= seconds <= MAX_BOUND_SECONDS:
        raise InvalidTime(f"time {quote(str(value))} is out of range (epoch {unit})")
    return UNIX_EPOCH + seconds * _SECOND


def _datapoint_error(value: object, unit: str) -> InvalidTime:
    shown = quote(value) if isinstance(value, str) else quote(repr(value))
    return InvalidTime(
        f"invalid time {shown}: use epoch {unit} (a number) or an ISO 8601 timestamp "
        "such as '2024-01-01T00:00:00Z'"
    )


def _parse_iso(value: str, parameter: str, which: str) -> datetime.datetime:
    try:
        return isoparse(value)
    except (ValueError, OverflowError) as error:
        repaired = _SPACE_OFFSET.fullmatch(value)
        if repaired is not None:
            try:
                return isoparse(f"{repaired['moment']}+{repaired['offset']}")
            except (ValueError, OverflowError):
                pass
        detail = str(error)
        # dateutil's own words help for a field out of range ("month must be in 1..12"), not
        # for its internal conversions ("invalid literal for int()...").
        reason = detail if " must be " in detail or "out of range" in detail else "not a timestamp"
        raise _error(value, parameter, which, reason) from None


def _has_fraction(value: str) -> bool:
    """True if ``value`` has a non-zero fraction of a second (beyond what ``datetime`` keeps
    too: ``.0000001`` counts)."""
    match = _FRACTION.search(value)
    return match is not None and match[1].strip("0") != ""
