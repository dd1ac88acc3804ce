"""Datapoints as JSON text, in the conventions of the HTTP API: every rule, once.

Timestamps are ISO 8601 in UTC with a ``Z``, ``Decimal`` values are strings (so no digit is
lost), non-finite floats are ``null``, integers of any size are exact, and a string holding a
lone surrogate (which UTF-8 cannot encode) is written with JSON escapes. A datapoint is
``{"t": ..., "v": ...}`` in that order, compact.

Besides :func:`dumps`, the pieces that write the same text column by column (the bucket
JSON of :mod:`datastream.engine.reads`, from decoded chunks): the text of each value of a
column (:func:`json_texts`, :func:`timestamp_texts`) and templates of a datapoint around those
texts (:func:`object_template`, :func:`datapoint_template`).
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
from functools import lru_cache
from typing import Any

import numpy
import orjson

from .constants import UNIX_EPOCH

__all__ = [
    "ISO_SECOND_SUFFIXES",
    "datapoint_template",
    "dumps",
    "iso_hour_prefix",
    "iso_seconds",
    "json_texts",
    "object_template",
    "timestamp_texts",
]

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC

#: ``MM:SSZ`` of each second of an hour: with :func:`iso_hour_prefix`, whole-second UTC times
#: as text without a ``datetime`` or a format call per time.
ISO_SECOND_SUFFIXES = [f"{m:02d}:{s:02d}Z" for m in range(60) for s in range(60)]


@lru_cache(maxsize=4096)
def iso_hour_prefix(hour: int) -> str:
    """``YYYY-MM-DDTHH:`` of the ``hour``-th hour since the POSIX epoch."""
    moment = UNIX_EPOCH + datetime.timedelta(hours=hour)
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"


def iso_seconds(seconds: int) -> str:
    """POSIX ``seconds`` as ISO 8601 UTC text with a ``Z`` (``2023-01-01T00:00:00Z``)."""
    hour, rest = divmod(seconds, 3600)
    return iso_hour_prefix(hour) + ISO_SECOND_SUFFIXES[rest]


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.datetime):
        return orjson.loads(orjson.dumps(value, option=_OPTIONS))
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any) -> bytes:
    """Compact JSON (UTF-8) of a datapoint or any JSON-like value."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except TypeError:  # integers beyond 64 bits, lone surrogates
        plain = _plain(value)
        text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
        try:
            return text.encode()
        except UnicodeEncodeError:
            return json.dumps(plain, separators=(",", ":")).encode()


def json_texts(values: list[Any], plain: bool = False) -> list[str]:
    """The JSON text :func:`dumps` gives each of ``values``. ``plain`` promises numbers and
    ``None`` only (no text holds a comma): then one array is written and split, without a
    Python call per value."""
    if plain:
        text = dumps(values).decode()
        return text[1:-1].split(",") if values else []
    return [dumps(value).decode() for value in values]


def hour_parts(seconds: Any) -> tuple[list[str], list[int], list[int]]:
    """An integer array of POSIX ``seconds`` as the ``YYYY-MM-DDTHH:`` prefix of each distinct
    hour, the index of each timestamp's prefix, and each timestamp's second in its hour (the
    index into :data:`ISO_SECOND_SUFFIXES`): the pieces of their ISO 8601 texts, each hour
    formatted once (for many timestamps an hour; :func:`timestamp_texts` formats each
    timestamp, which is faster when most are in hours of their own)."""
    moments = numpy.asarray(seconds, dtype=numpy.int64)
    hours, inverse = numpy.unique(moments // 3600, return_inverse=True)
    # numpy writes "YYYY-MM-DDTHH:00:00" (four-digit years: the supported range).
    texts = numpy.datetime_as_string((hours * 3600).astype("datetime64[s]")).tolist()
    return [text[:14] for text in texts], inverse.tolist(), (moments % 3600).tolist()


def timestamp_texts(seconds: Any) -> list[str]:
    """The JSON text of each timestamp, given in POSIX ``seconds`` (``null`` for ``None``), as
    :func:`dumps` writes the ``datetime`` (``"2023-01-01T00:00:00Z"``): formatted by numpy
    at once for an integer array or a list of integers."""
    plain = isinstance(seconds, numpy.ndarray) and seconds.dtype.kind == "i"
    if plain or (len(seconds) and set(map(type, seconds)) == {int}):
        moments = numpy.asarray(seconds, dtype=numpy.int64).astype("datetime64[s]")
        texts = numpy.datetime_as_string(moments).tolist()
        # Quoted by one join and one split (no timestamp holds a comma).
        return ('"' + 'Z","'.join(texts) + 'Z"').split(",") if texts else []
    prefix, suffixes = iso_hour_prefix, ISO_SECOND_SUFFIXES
    return [
        "null" if t is None else '"' + prefix(t // 3600) + suffixes[t % 3600] + '"'
        for t in seconds
    ]


def object_template(keys: list[str] | tuple[str, ...], placeholder: str) -> str:
    """The JSON text of an object of ``keys`` (one-letter downsampler keys), each value being
    ``placeholder``: ``{"a":%s,"z":%s}`` for a storage to fill in with values' texts."""
    return "{" + ",".join(f'"{key}":{placeholder}' for key in keys) + "}"


def datapoint_template(time: str | None, value: str | None) -> str:
    """The JSON text of a downsampled datapoint whose time and value parts are the texts
    ``time`` and ``value`` (templates, typically); a part that is ``None`` is left out."""
    parts = []
    if time is not None:
        parts.append('"t":' + time)
    if value is not None:
        parts.append('"v":' + value)
    return "{" + ",".join(parts) + "}"
