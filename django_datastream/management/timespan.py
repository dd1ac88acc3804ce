"""The ``--span`` argument: a relative span (``2d``) or two ISO 8601 times."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django_datastream.management.support import TimeFormatError, parse_timestamp

__all__ = [
    "Span",
    "SpanError",
    "parse_span",
]

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_RELATIVE_RE = re.compile(r"^(?P<number>[^a-zA-Z]*)(?P<unit>[a-zA-Z]*)$")


class SpanError(TimeFormatError):
    """A ``--span`` value that cannot be understood (the message says why)."""


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


def parse_span(text: str) -> Span:
    """Parse ``<N><unit>`` (units ``d``, ``h``, ``m``, ``s``) or ``FROM TO`` ISO 8601 times
    (UTC unless they carry an offset)."""
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
        try:
            start, end = parse_timestamp(parts[0]), parse_timestamp(parts[1])
        except TimeFormatError as error:
            raise SpanError(str(error)) from None
        if start > end:
            raise SpanError(f"Time span starts ({parts[0]}) after it ends ({parts[1]}).")
        return Span(start=start, end=end)
    raise SpanError("Invalid time span parameter. It should be one or two space-delimited values.")
