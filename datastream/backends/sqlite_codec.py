"""How the SQLite storage writes values it cannot keep as SQLite numbers: JSON text.

Integers beyond 64 bits are written with the standard library (orjson would read them back
as floats) behind a marker character, so that they read back exact.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from ..limits import INT64_MAX, INT64_MIN

__all__ = ["NATIVE", "dumps", "encode", "loads"]

# JSON text that needs the standard library starts with this marker.
_EXACT = "\x00"

#: Python types SQLite stores natively (integers only within 64 bits).
NATIVE = frozenset({int, float})


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


def encode(value: Any) -> Any:
    """``value`` as stored in a column: a native number, ``None``, or JSON text."""
    kind = type(value)
    if kind is float or value is None or (kind is int and INT64_MIN <= value <= INT64_MAX):
        return value
    return dumps(value)
