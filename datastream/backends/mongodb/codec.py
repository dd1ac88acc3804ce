"""How the MongoDB backend turns engine values into BSON and back, losslessly.

Most values are stored natively (BSON integers, doubles, strings, booleans, nulls, arrays and
documents), so that the server can index and filter them. A value that BSON cannot hold exactly
is stored as JSON text instead:

* integers outside the signed 64-bit range (possible in nominal values and tags),
* strings that are not valid UTF-8 (lone surrogates),
* dictionaries with keys MongoDB treats specially: empty keys, keys containing ``.`` or a NUL
  character, and keys starting with ``$``.

Callers keep the native and the JSON form in different document fields (``v``/``j`` for
datapoints, ``_json.<field>`` and ``tags_json`` for stream records), so the two can never be
confused.
"""

from __future__ import annotations

import json
from typing import Any

from ...limits import INT64_MAX, INT64_MIN

__all__ = [
    "decode_fields",
    "dumps",
    "encode_fields",
    "is_plain",
    "is_plain_key",
    "is_plain_string",
    "loads",
]



def is_plain(value: Any) -> bool:
    """True if BSON stores ``value`` natively and reads it back equal, with the same types."""
    kind = type(value)
    if kind is float or kind is bool or value is None:
        return True
    if kind is int:
        return INT64_MIN <= value <= INT64_MAX
    if kind is str:
        return is_plain_string(value)
    if kind is list:
        return all(is_plain(item) for item in value)
    if kind is dict:
        return all(is_plain_key(key) and is_plain(item) for key, item in value.items())
    return False


def is_plain_string(text: str) -> bool:
    """True if ``text`` is valid UTF-8 once encoded (no lone surrogates)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_plain_key(key: Any) -> bool:
    """True if MongoDB takes ``key`` literally as a field name (no ``$`` prefix, no dot)."""
    return (
        type(key) is str
        and key != ""
        and "." not in key
        and "\x00" not in key
        and not key.startswith("$")
        and is_plain_string(key)
    )


def dumps(value: Any) -> str:
    """JSON text for any value the engine stores (integers of any size, lone surrogates, and
    the infinite sums of squares of floats near the float limit, as ``Infinity``)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def loads(text: str) -> Any:
    """The value of JSON text written by :func:`dumps`."""
    return json.loads(text)


def encode_fields(fields: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The ``$set`` and ``$unset`` parts storing stream record ``fields`` in a document.

    A field BSON holds exactly is stored natively under its name, any other as JSON text
    under ``_json.<name>``; ``tags`` that BSON cannot hold go to ``tags_json`` (``tags`` then
    being ``{}``, so that the server's tag filter never sees them).
    """
    set_fields: dict[str, Any] = {}
    unset_fields: list[str] = []
    for name, value in fields.items():
        if name == "tags":
            if is_plain(value):
                set_fields["tags"] = value
                unset_fields.append("tags_json")
            else:
                set_fields["tags"] = {}
                set_fields["tags_json"] = dumps(value)
        elif is_plain(value):
            set_fields[name] = value
            unset_fields.append(f"_json.{name}")
        else:
            set_fields[f"_json.{name}"] = dumps(value)
            unset_fields.append(name)
    return set_fields, unset_fields


def decode_fields(document: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The fields ``names`` of a document written with :func:`encode_fields`."""
    as_json = document.get("_json") or {}
    out = {}
    for name in names:
        if name in as_json:
            out[name] = loads(as_json[name])
        else:
            out[name] = document.get(name)
    return out
