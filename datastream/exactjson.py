"""JSON text that reads back exactly what was written: integers beyond 64 bits included.

orjson writes and reads JSON fast but refuses integers beyond 64 bits; text holding one is
written with the standard library behind a marker character, so that it reads back exact.
Storages keep values they cannot hold natively in this text, and the generic column of
:mod:`datastream.engine.chunks` is this text, compressed.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps", "loads"]

# JSON text that needs the standard library starts with this marker.
_EXACT = "\x00"


def dumps(value: Any) -> str:
    """JSON text of ``value`` (exact for big integers)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits
        return _EXACT + json.dumps(value, allow_nan=False)


def loads(text: str) -> Any:
    """The value of JSON text written by :func:`dumps`."""
    if text.startswith(_EXACT):
        return json.loads(text[1:])
    return orjson.loads(text)
