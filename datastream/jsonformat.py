"""Datapoints as JSON text, in the conventions of the HTTP API.

Timestamps are ISO 8601 in UTC with a ``Z``, ``Decimal`` values are strings (so no digit is
lost), non-finite floats are ``null``, integers of any size are exact, and a string holding a
lone surrogate (which UTF-8 cannot encode) is written with JSON escapes.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
from typing import Any

import orjson

__all__ = ["dumps"]

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


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
