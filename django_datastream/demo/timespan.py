"""The ``--span`` and ``--until`` arguments: relative spans and ``yyyy-mm-ddThh:mm:ss`` times."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

__all__ = [
    "TIME_FORMAT_ERROR",
    "Span",
    "SpanError",
    "parse_span",
    "parse_timestamp",
]

UTC = datetime.UTC

TIME_FORMAT_ERROR = "Use time format 'yyyy-mm-ddThh:mm:ss' (i.e. '2007-03-04T21:08:12')."

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_RELATIVE_RE = re.compile(r"^(?P<number>[^a-zA-Z]*)(?P<unit>[a-zA-Z]*)$")


class SpanError(ValueError):
    """A ``--span`` or ``--until`` value that cannot be understood (the message says why)."""


@dataclass(frozen=True)
class Span:
    """A back-fill span: either ``seconds`` up to now, or fixed ``start`` and ``end`` times."""

    seconds: int | None = None
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None

    @property
    def is_relative(self) -> bool:
        """True for ``<N><unit>`` spans (which resume after existing data)."""
        return self.seconds is not None


def parse_timestamp(text: str) -> datetime.datetime:
    """``yyyy-mm-ddThh:mm:ss`` (UTC) as an aware datetime; raises :class:`SpanError`."""
    try:
        value = datetime.datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise SpanError(TIME_FORMAT_ERROR) from None
    return value.replace(tzinfo=UTC)


def parse_span(text: str) -> Span:
    """Parse ``<N><unit>`` (units ``d``, ``h``, ``m``, ``s``) or ``FROM TO`` timestamps."""
    parts = text.split()
    if len(parts) == 1:
        match = _RELATIVE_RE.match(parts[0])
        if match is None:
            raise SpanError("Time span value must be an integer.")
        number, unit = match.group("number"), match.group("unit")
        try:
            count = int(number)
        except ValueError:
            raise SpanError("Time span value must be an integer.") from None
        if unit not in _UNITS:
            raise SpanError(f"Unknown time span unit '{unit}'. Use one of d, h, m, s.")
        if count <= 0:
            raise SpanError("Time span value must be a positive integer.")
        return Span(seconds=count * _UNITS[unit])
    if len(parts) == 2:
        start, end = parse_timestamp(parts[0]), parse_timestamp(parts[1])
        if start > end:
            raise SpanError(f"Time span starts ({parts[0]}) after it ends ({parts[1]}).")
        return Span(start=start, end=end)
    raise SpanError("Invalid time span parameter. It should be one or two space-delimited values.")
