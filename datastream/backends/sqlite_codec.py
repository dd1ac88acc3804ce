"""How the SQLite storage writes values it cannot keep as SQLite numbers: JSON text.

The text is :mod:`datastream.exactjson`'s (exact for integers beyond 64 bits).
"""

from __future__ import annotations

from typing import Any

from ..exactjson import dumps, loads
from ..limits import INT64_MAX, INT64_MIN

__all__ = ["NATIVE", "dumps", "encode", "loads"]

#: Python types SQLite stores natively (integers only within 64 bits).
NATIVE = frozenset({int, float})


def encode(value: Any) -> Any:
    """``value`` as stored in a column: a native number, ``None``, or JSON text."""
    kind = type(value)
    if kind is float or value is None or (kind is int and INT64_MIN <= value <= INT64_MAX):
        return value
    return dumps(value)
