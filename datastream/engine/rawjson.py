"""Raw datapoints as one JSON array, straight from stored ``(seconds, value)`` rows.

The object path builds a ``datetime`` and calls the encoder once per datapoint. Here the
timestamps are formatted from integer seconds with cached per-hour prefixes and a table of
the 3,600 ``MM:SSZ`` suffixes, and the page is encoded by one ``orjson`` call on plain
dictionaries. The text is the same as :func:`datastream.jsonformat.dumps` of each datapoint.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from functools import lru_cache

import orjson

__all__ = ["iso_seconds", "json_array"]

_SUFFIXES = [f"{m:02d}:{s:02d}Z" for m in range(60) for s in range(60)]
_EPOCH = datetime.datetime(1970, 1, 1)


@lru_cache(maxsize=4096)
def _hour_prefix(hour: int) -> str:
    moment = _EPOCH + datetime.timedelta(hours=hour)
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"


def iso_seconds(seconds: int) -> str:
    """POSIX ``seconds`` as ISO 8601 UTC text with a ``Z`` (``2023-01-01T00:00:00Z``)."""
    hour, rest = divmod(seconds, 3600)
    return _hour_prefix(hour) + _SUFFIXES[rest]


def json_array(rows: Iterable[tuple[int, object]]) -> bytes | None:
    """``[{"t": ..., "v": ...}, ...]`` of ``rows``; ``None`` when a value needs the slow path
    (integers beyond 64 bits, lone surrogates, anything orjson refuses)."""
    prefix, suffixes = _hour_prefix, _SUFFIXES
    items = [{"t": prefix(t // 3600) + suffixes[t % 3600], "v": v} for t, v in rows]
    try:
        return orjson.dumps(items)
    except TypeError:
        return None
