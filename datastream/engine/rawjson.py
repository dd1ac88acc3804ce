"""Raw datapoints as one JSON array, straight from stored ``(seconds, value)`` rows.

The object path builds a ``datetime`` and calls the encoder once per datapoint. Here the
timestamps are formatted from integer seconds with cached per-hour prefixes and a table of
the 3,600 ``MM:SSZ`` suffixes, and the page is encoded by one ``orjson`` call on plain
dictionaries. The text is the same as :func:`datastream.jsonformat.dumps` of each datapoint.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from ..jsonformat import ISO_SECOND_SUFFIXES, iso_hour_prefix

__all__ = ["json_array"]


def json_array(rows: Iterable[tuple[int, object]]) -> bytes | None:
    """``[{"t": ..., "v": ...}, ...]`` of ``rows``; ``None`` when a value needs the slow path
    (integers beyond 64 bits, lone surrogates, anything orjson refuses)."""
    prefix, suffixes = iso_hour_prefix, ISO_SECOND_SUFFIXES
    items = [{"t": prefix(t // 3600) + suffixes[t % 3600], "v": v} for t, v in rows]
    try:
        return orjson.dumps(items)
    except TypeError:
        return None
