"""Argument checks shared by the API facade and the engine."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from . import exceptions
from .constants import RESERVED_TAGS, TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from .granularity import UTC, Granularity, to_seconds

#: Supported timestamps, inclusive, as POSIX seconds: 0001-01-02T00:00:00Z .. 9999-12-30T23:59:59Z.
#: One day of margin on each side keeps every bucket start, end and middle representable.
MIN_SECONDS = to_seconds(datetime.datetime(1, 1, 2, tzinfo=UTC))
MAX_SECONDS = to_seconds(datetime.datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC))


def check_tag_keys(tags: Any, what: str = "tags", reserved: bool = False) -> None:
    """Raise unless ``tags`` is a dict whose keys (at any depth) are strings without ``__``.

    With ``reserved``, top-level keys may also not be reserved tag names.
    """
    if not isinstance(tags, Mapping):
        raise exceptions.InvalidValueType(f"{what} must be a dictionary, not {tags!r}")
    if reserved:
        bad = sorted(k for k in tags if k in RESERVED_TAGS)
        if bad:
            raise exceptions.ReservedTagNameError(f"Reserved tag name(s) used in {what}: {bad}")
    _check_keys(tags, what)


def _check_keys(value: Any, what: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise exceptions.ReservedTagNameError(
                    f"Tag keys in {what} must be strings, not {key!r}"
                )
            if "__" in key:
                raise exceptions.ReservedTagNameError(
                    f"Tag key {key!r} in {what} contains '__'; use nested dictionaries instead"
                )
            _check_keys(item, what)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_keys(item, what)


def normalize_timestamp(timestamp: Any, what: str = "timestamp") -> datetime.datetime:
    """An aware UTC datetime for ``timestamp`` (naive means UTC); anything else raises."""
    if not isinstance(timestamp, datetime.datetime):
        raise exceptions.InvalidTimestamp(
            f"{what.capitalize()} must be a datetime.datetime, not {timestamp!r}"
        )
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        return timestamp.replace(tzinfo=UTC)
    return timestamp.astimezone(UTC) if timestamp.utcoffset() else timestamp


def _seconds(timestamp: datetime.datetime) -> int:
    """POSIX seconds of an aware datetime; just outside the supported range where the
    conversion overflows (``datetime.min``/``datetime.max`` with an offset)."""
    try:
        return to_seconds(timestamp)
    except OverflowError:
        return MAX_SECONDS + 1 if timestamp.year > 5000 else MIN_SECONDS - 1


def timestamp_seconds(timestamp: Any, what: str = "timestamp") -> int:
    """POSIX seconds of a datapoint timestamp, checked against the supported range."""
    timestamp = normalize_timestamp(timestamp, what)
    seconds = _seconds(timestamp)
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise exceptions.InvalidTimestamp(f"Timestamp is out of range: {timestamp.isoformat()}")
    return seconds


def bound_seconds(timestamp: Any, what: str) -> int:
    """POSIX seconds of a query bound; bounds outside the supported range are clamped."""
    seconds = _seconds(normalize_timestamp(timestamp, what))
    return min(max(seconds, MIN_SECONDS - 86400), MAX_SECONDS + 86400)


def check_granularity(granularity: Any) -> None:
    """Raise :class:`UnsupportedGranularity` unless ``granularity`` is a granularity class."""
    if not Granularity.is_granularity(granularity):
        raise exceptions.UnsupportedGranularity(f"Unsupported granularity: {granularity!r}")


def check_downsampler_names(names: Any, kind: str) -> list[str] | None:
    """A list of valid downsampler names (``None`` stays ``None``); unknown names raise."""
    if names is None:
        return None
    known = VALUE_DOWNSAMPLERS if kind == "value" else TIME_DOWNSAMPLERS
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise exceptions.UnsupportedDownsampler(
            f"{kind.capitalize()} downsamplers must be a list of names, not {names!r}"
        )
    names = list(names)
    unknown = [n for n in names if not isinstance(n, str) or n not in known]
    if unknown:
        raise exceptions.UnsupportedDownsampler(
            f"Unsupported {kind} downsampler(s): {unknown}"
        )
    return names


def parse_stream_id(stream_id: Any) -> str:
    """The canonical (lowercase, hyphenated) form of a stream id; malformed ids are not found."""
    if isinstance(stream_id, uuid.UUID):
        return str(stream_id)
    if isinstance(stream_id, str):
        try:
            return str(uuid.UUID(stream_id))
        except ValueError:
            pass
    raise exceptions.StreamNotFound(f"Stream {stream_id!r} not found (not a valid stream id)")
