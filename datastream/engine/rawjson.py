"""Raw datapoints as one JSON array, without a ``datetime`` or an encoder call per datapoint.

Two ways, both giving the text :func:`datastream.jsonformat.dumps` gives each datapoint:

* :func:`json_array`, from ``(seconds, value)`` rows: timestamps formatted from integer
  seconds with cached per-hour prefixes and a table of the 3,600 ``MM:SSZ`` suffixes, the
  page encoded by one ``orjson`` call on plain dictionaries;
* :func:`plan_json_array`, from where a window is (:meth:`.ChunkStore.raw_blobs`): each
  chunk's datapoint texts are made column by column (numpy formats the timestamps, one call
  writes the numbers) and kept for chunks read again (:func:`chunk_texts`: a chunk never
  changes, so its bytes identify its texts); the head's rows are written the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import orjson

from ..jsonformat import ISO_SECOND_SUFFIXES, hour_parts, iso_hour_prefix, json_texts
from .chunks import as_list, decode_raw
from .chunkstore import RawPlan

__all__ = ["chunk_texts", "json_array", "plan_json_array"]

_NUMBERS = (int, float, type(None))
#: What follows an hour's prefix in a datapoint's text, by the second in the hour.
_TIME_ENDINGS = [suffix + '","v":' for suffix in ISO_SECOND_SUFFIXES]


def json_array(rows: Iterable[tuple[int, object]]) -> bytes | None:
    """``[{"t": ..., "v": ...}, ...]`` of ``rows``; ``None`` when a value needs the slow path
    (integers beyond 64 bits, lone surrogates, anything orjson refuses)."""
    prefix, suffixes = iso_hour_prefix, ISO_SECOND_SUFFIXES
    items = [{"t": prefix(t // 3600) + suffixes[t % 3600], "v": v} for t, v in rows]
    try:
        return orjson.dumps(items)
    except TypeError:
        return None


def _texts(seconds: Any, values: Sequence[Any], numbers: bool) -> list[str]:
    """The datapoint texts of aligned columns (``seconds`` integers); ``numbers`` promises
    ints, floats and ``None`` only (then the values are written by one call)."""
    prefixes, indexes, within = hour_parts(seconds)
    starts = ['{"t":"' + prefix for prefix in prefixes]
    endings = _TIME_ENDINGS
    return [
        starts[index] + endings[second] + value + "}"
        for index, second, value in zip(indexes, within, json_texts(list(values), numbers))
    ]


@functools.lru_cache(maxsize=16)
def chunk_texts(blob: bytes) -> list[str]:
    """The JSON text of every datapoint of a raw chunk (stored values as they are: not for
    streams of high accuracy, whose values are decoded first). Cached by the chunk's bytes;
    16 chunks of up to 8,192 datapoints hold about 12 MB of text per process."""
    times, values = decode_raw(blob)
    numbers = isinstance(values, np.ndarray) and values.dtype.kind in "iuf"
    return _texts(times, as_list(values), numbers)


def plan_json_array(plan: RawPlan, reverse: bool) -> bytes:
    """The JSON array of the datapoints of ``plan`` (newest first with ``reverse``)."""
    items: list[str] = []
    for blob, a, b, _decoded in plan.chunks:
        items += chunk_texts(blob)[a:b]
    if plan.head:
        values = [value for _seconds, value in plan.head]
        numbers = all(type(value) in _NUMBERS for value in values)
        items += _texts([seconds for seconds, _value in plan.head], values, numbers)
    if reverse:
        items.reverse()
    return ("[" + ",".join(items) + "]").encode()
