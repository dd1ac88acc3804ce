"""How the MongoDB backend turns engine values into BSON and back, losslessly.

Most values are stored natively (BSON integers, doubles, strings, booleans, nulls, arrays and
documents), so that the server can index and filter them. A value that BSON cannot hold exactly
is stored as JSON text instead:

* integers outside the signed 64-bit range (possible in nominal values and tags),
* strings that are not valid UTF-8 (lone surrogates),
* dictionaries with keys MongoDB treats specially: empty keys, keys containing ``.`` or a NUL
  character, and keys starting with ``$``.

Callers keep the native and the JSON form in different document fields (``v``/``j`` for
datapoints, ``_json.<field>`` for stream records), so the two can never be confused.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["is_plain", "dumps", "loads", "encode_field", "decode_fields"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def is_plain(value: Any) -> bool:
    """True if BSON stores ``value`` natively and reads it back equal, with the same types."""
    kind = type(value)
    if kind is float or kind is bool or value is None:
        return True
    if kind is int:
        return _INT64_MIN <= value <= _INT64_MAX
    if kind is str:
        return _plain_string(value)
    if kind is list:
        return all(is_plain(item) for item in value)
    if kind is dict:
        return all(_plain_key(key) and is_plain(item) for key, item in value.items())
    return False


def _plain_string(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plain_key(key: Any) -> bool:
    return (
        type(key) is str
        and key != ""
        and "." not in key
        and "\x00" not in key
        and not key.startswith("$")
        and _plain_string(key)
    )


def dumps(value: Any) -> str:
    """JSON text for any value the engine stores (integers of any size, lone surrogates)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def loads(text: str) -> Any:
    """The value of JSON text written by :func:`dumps`."""
    return json.loads(text)


def encode_field(name: str, value: Any, native: dict[str, Any], as_json: dict[str, str]) -> None:
    """Put ``value`` in ``native[name]`` when BSON holds it exactly, else in ``as_json[name]``."""
    if is_plain(value):
        native[name] = value
    else:
        as_json[name] = dumps(value)


def decode_fields(document: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The fields ``names`` of a document written with :func:`encode_field`."""
    as_json = document.get("_json") or {}
    out = {}
    for name in names:
        if name in as_json:
            out[name] = loads(as_json[name])
        else:
            out[name] = document.get(name)
    return out
