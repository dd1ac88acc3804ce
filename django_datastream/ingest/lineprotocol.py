"""InfluxDB line protocol: ``measurement[,tag=value…] field=value[,field=value…] [timestamp]``.

The parsing follows InfluxDB's reference:

* measurement names escape ``,`` and space with a backslash (``\\=`` is read as ``=`` too,
  as the 1.x client writes it); tag keys, tag values and field
  keys escape ``,``, ``=`` and space; any other backslash is itself (as InfluxDB reads them:
  a name ending in a backslash cannot be written unambiguously);
* field values are floats (``1``, ``-1.5``, ``2e3``), integers (``1i``), unsigned integers
  (``1u``), booleans (``t``, ``T``, ``true``, ``True``, ``TRUE`` and the same for false) or
  double-quoted strings in which ``\\"`` and ``\\\\`` are escaped;
* the timestamp, optional, is an integer in the request's precision;
* blank lines and lines starting with ``#`` are skipped; lines end with ``\\n`` (a ``\\r``
  before it is dropped).

:func:`parse_lines` returns a :class:`Point` per line, or raises
:class:`~django_datastream.ingest.errors.BadBody` naming the first bad line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import BadBody, TooLarge

__all__ = ["PRECISIONS", "Point", "parse_lines", "series_key"]

#: Precision names (InfluxDB 1.x and 2.x) -> units per second; ``m`` and ``h`` (1.x only)
#: count minutes and hours: their "units per second" are the fractions 1/60 and 1/3600, kept
#: as (multiplier, divisor) pairs so that the arithmetic stays in integers.
PRECISIONS: dict[str, tuple[int, int]] = {
    "ns": (1, 1_000_000_000),
    "n": (1, 1_000_000_000),
    "us": (1, 1_000_000),
    "u": (1, 1_000_000),
    "ms": (1, 1_000),
    "s": (1, 1),
    "m": (60, 1),
    "h": (3600, 1),
}

_TRUE = frozenset({"t", "T", "true", "True", "TRUE"})
_FALSE = frozenset({"f", "F", "false", "False", "FALSE"})
_MAX_NUMBER_LENGTH = 400


@dataclass(slots=True)
class Point:
    """One line: its number (from 1), measurement, tags, fields (key -> int, float, bool or
    str), time in whole UNIX seconds (``None``: the server's now) and series key
    (:func:`series_key`)."""

    line: int
    measurement: str
    tags: dict[str, str]
    fields: dict[str, Any]
    seconds: int | None
    series: str = ""


class _LineError(Exception):
    pass


_NUMBER_START = frozenset("-+.0123456789")
_DIGITS = frozenset("0123456789")


def parse_lines(text: str, precision: str, max_points: int = 0) -> list[Point]:
    """The points of ``text`` with timestamps in ``precision`` (:data:`PRECISIONS`). More
    than ``max_points`` fields in all (``0``: no limit) raises
    :class:`~django_datastream.ingest.errors.TooLarge`."""
    multiplier, divisor = PRECISIONS[precision]
    points: list[Point] = []
    append = points.append
    fields_count = 0
    # series section as written -> (measurement, tags, series key): most lines repeat one
    series_of: dict[str, tuple[str, dict[str, str], str]] = {}
    for number, line in enumerate(text.split("\n"), 1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line or line[0] in " \t#":
            line = line.lstrip(" \t")
            if not line or line[0] == "#":
                continue
        try:
            point = _fast_line(line, number, multiplier, divisor, series_of)
            if point is None:
                point = _parse_line(line, number, multiplier, divisor)
                point.series = series_key(point.measurement, point.tags)
        except _LineError as error:
            raise BadBody(f"Line {number}: {error}") from None
        fields_count += len(point.fields)
        if max_points and fields_count > max_points:
            raise TooLarge(
                f"More than {max_points} datapoints (fields) in one request "
                "(DATASTREAM_INGEST_MAX_DATAPOINTS); send smaller batches."
            )
        append(point)
    return points


def _fast_line(
    line: str,
    number: int,
    multiplier: int,
    divisor: int,
    series_of: dict[str, tuple[str, dict[str, str], str]],
) -> Point | None:
    """The point of a line with nothing escaped or quoted and only plain numbers, or ``None``
    (then the general parser reads it, and names what is wrong)."""
    if "\\" in line or '"' in line:
        return None
    parts = line.split(" ")
    count = len(parts)
    if count == 3:
        head, body, stamp = parts
        if not stamp.isdigit() or not stamp.isascii() or len(stamp) > 30:
            return None
        seconds: int | None = int(stamp) * multiplier // divisor
    elif count == 2:
        head, body = parts
        seconds = None
    else:
        return None
    if not head or not body:
        return None
    entry = series_of.get(head)
    if entry is None:
        measurement, tags = _series(head)
        entry = series_of[head] = (measurement, tags, series_key(measurement, tags))
    fields: dict[str, Any] = {}
    for pair in body.split(","):
        key, separator, raw = pair.partition("=")
        if (
            not separator or not key or not raw or raw[-1] not in _DIGITS
            or raw[0] not in _NUMBER_START or "_" in raw or "=" in raw
        ):  # fmt: skip
            return None
        try:
            value = float(raw)
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        fields[key] = value
    return Point(number, entry[0], entry[1], fields, seconds, entry[2])


def _parse_line(line: str, number: int, multiplier: int, divisor: int) -> Point:
    """The general parser: escapes, quoted strings, and a message naming what is wrong."""
    line = line.rstrip(" \t")
    head_end = _unescaped_space(line)
    if head_end < 0:
        raise _LineError(
            _SHAPE if "=" in line else
            "no fields: a line is 'measurement[,tags] field=value [timestamp]'"
        )  # fmt: skip
    head = line[:head_end]
    if not head or head_end + 1 >= len(line) or line[head_end + 1] == " ":
        raise _LineError(_SHAPE)
    pairs, end = _scan_fields(line, head_end + 1)
    seconds = None
    if end < len(line):
        stamp = line[end + 1 :]
        if not stamp or " " in stamp or "\t" in stamp:
            raise _LineError(_SHAPE)
        seconds = _timestamp(stamp, multiplier, divisor)
    measurement, tags = _series(head)
    fields = {_unescape(key, ",= "): _field_value(raw, key) for key, raw in pairs}
    return Point(number, measurement, tags, fields, seconds)


_SHAPE = (
    "expected 'measurement[,tag=value…] field=value[,…] [timestamp]' separated by single spaces"
)


def _unescaped_space(line: str) -> int:
    """Index of the first space not escaped by a backslash (``-1``: none)."""
    index = 0
    length = len(line)
    while index < length:
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char == " ":
            return index
        index += 1
    return -1


def _scan_fields(line: str, index: int) -> tuple[list[tuple[str, str]], int]:
    """The ``(key, raw value)`` pairs of the field section starting at ``index``, and where
    it ends (the space before the timestamp, or the end of the line). A double quote opens a
    string only at the start of a value."""
    pairs: list[tuple[str, str]] = []
    length = len(line)
    while True:
        start = index
        while index < length:
            char = line[index]
            if char == "\\":
                index += 2
                continue
            if char == "=":
                break
            if char == "," or char == " ":
                if index == start:
                    raise _LineError("an empty field (two commas in a row, or a trailing comma)")
                raise _LineError(f"field {line[start:index]!r} is not key=value")
            index += 1
        else:
            if index == start:
                raise _LineError("an empty field (two commas in a row, or a trailing comma)")
            raise _LineError(f"field {line[start:]!r} is not key=value")
        key = line[start:index]
        if not key:
            raise _LineError(f"field {line[start:index + 10]!r}… has no key")
        index += 1
        value_start = index
        if index < length and line[index] == '"':
            index += 1
            while index < length:
                char = line[index]
                if char == "\\":
                    index += 2
                    continue
                if char == '"':
                    break
                index += 1
            else:
                raise _LineError(f"field {key!r}: unterminated string value")
            index += 1
        else:
            while index < length and line[index] != "," and line[index] != " ":
                index += 1
        raw = line[value_start:index]
        if not raw:
            raise _LineError(f"field {key!r} has no value")
        pairs.append((key, raw))
        if index >= length:
            return pairs, index
        if line[index] == " ":
            return pairs, index
        if line[index] != ",":
            raise _LineError(f"field {key!r}: unexpected {line[index]!r} after its value")
        index += 1


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at unescaped ``separator``s."""
    if "\\" not in text:
        return text.split(separator)
    pieces: list[str] = []
    start = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == separator:
            pieces.append(text[start:index])
            start = index + 1
        index += 1
    pieces.append(text[start:])
    return pieces


def _unescape(text: str, escapable: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in escapable:
            out.append(text[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _series(section: str) -> tuple[str, dict[str, str]]:
    parts = _split(section, ",")
    measurement = _unescape(parts[0], ", =")
    if not measurement:
        raise _LineError("the measurement name is empty")
    tags: dict[str, str] = {}
    for part in parts[1:]:
        key, value = _pair(part, "tag")
        key, value = _unescape(key, ",= "), _unescape(value, ",= ")
        if key in tags:
            raise _LineError(f"tag {key!r} is given twice")
        tags[key] = value
    return measurement, tags


def _pair(part: str, what: str) -> tuple[str, str]:
    pieces = _split(part, "=") if "\\" in part else part.split("=", 1)
    if len(pieces) < 2 or not pieces[0]:
        raise _LineError(f"{what} {part!r} is not key=value")
    if len(pieces) > 2:
        if what == "tag":
            raise _LineError(f"{what} {part!r} has an unescaped '=' in its value")
        pieces = [pieces[0], "=".join(pieces[1:])]
    if not pieces[1]:
        raise _LineError(f"{what} {pieces[0]!r} has no value")
    return pieces[0], pieces[1]


def _field_value(raw: str, key: str) -> Any:
    first = raw[0]
    if first == '"':
        if len(raw) < 2 or raw[-1] != '"' or _ends_escaped(raw):
            raise _LineError(f"field {key!r}: unterminated string value")
        return _unescape(raw[1:-1], '"\\')
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    if len(raw) > _MAX_NUMBER_LENGTH:
        raise _LineError(f"field {key!r}: value too long for a number")
    last = raw[-1]
    if last == "i" or last == "u":
        digits = raw[:-1]
        unsigned = digits[1:] if digits[:1] == "-" else digits
        if not unsigned.isascii() or not unsigned.isdigit():
            raise _LineError(f"field {key!r}: {raw!r} is not an integer")
        if last == "u" and digits[0] == "-":
            raise _LineError(f"field {key!r}: {raw!r}: an unsigned integer cannot be negative")
        return int(digits)
    return _float(raw, key)


def _ends_escaped(raw: str) -> bool:
    """Whether the closing quote of ``raw`` is escaped (an odd run of backslashes before)."""
    count = 0
    index = len(raw) - 2
    while index > 0 and raw[index] == "\\":
        count += 1
        index -= 1
    return count % 2 == 1


_FLOAT_CHARS = frozenset("0123456789+-.eE")


def _float(raw: str, key: str) -> float:
    if not _FLOAT_CHARS.issuperset(raw):
        raise _LineError(f"field {key!r}: {raw!r} is not a number, boolean or quoted string")
    try:
        value = float(raw)
    except ValueError:
        raise _LineError(f"field {key!r}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise _LineError(f"field {key!r}: {raw!r} is out of range")
    return value


def _timestamp(raw: str, multiplier: int, divisor: int) -> int:
    digits = raw[1:] if raw[0] == "-" else raw
    if not digits.isdigit() or not digits.isascii() or len(digits) > 30:
        raise _LineError(f"timestamp {raw!r} is not an integer")
    return int(raw) * multiplier // divisor


def series_key(measurement: str, tags: dict[str, str]) -> str:
    """InfluxDB's series key: the measurement and the tags sorted by key, escaped as in line
    protocol (``cpu,host=a,region=eu``)."""
    escape: Callable[[str], str] = _escape_tag
    parts = [measurement.replace(",", "\\,").replace(" ", "\\ ")]
    parts.extend(f"{escape(key)}={escape(tags[key])}" for key in sorted(tags))
    return ",".join(parts)


def _escape_tag(text: str) -> str:
    return text.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")
