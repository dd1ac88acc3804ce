"""The JSONP writer: JSON wrapped in a call of a callback named by the request, which must be
dotted JavaScript identifiers in ASCII, none a reserved word, at most
:data:`MAX_CALLBACK_LENGTH` characters."""

from __future__ import annotations

import re

__all__ = [
    "CALLBACK_PATTERN",
    "MAX_CALLBACK_LENGTH",
    "RESERVED_WORDS",
    "is_valid_callback",
    "wrap_jsonp",
]

#: A JSONP callback: dotted JavaScript identifiers in ASCII (none a reserved word, at most
#: :data:`MAX_CALLBACK_LENGTH` characters).
CALLBACK_PATTERN = r"[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*"
MAX_CALLBACK_LENGTH = 128
_CALLBACK = re.compile(CALLBACK_PATTERN)
#: Words a JSONP callback may not use as one of its names.
RESERVED_WORDS = frozenset(
    """break case catch class const continue debugger default delete do else enum export
    extends false finally for function if implements import in instanceof interface let new
    null package private protected public return static super switch this throw true try
    typeof var void while with yield await arguments eval undefined NaN Infinity""".split()
)


def is_valid_callback(name: str) -> bool:
    """True if ``name`` is a safe JSONP callback: dotted JavaScript identifiers in ASCII,
    no reserved words, at most 128 characters."""
    return (
        len(name) <= MAX_CALLBACK_LENGTH
        and _CALLBACK.fullmatch(name) is not None
        and not any(part in RESERVED_WORDS for part in name.split("."))
    )


def wrap_jsonp(body: bytes, callback: str) -> bytes:
    """``body`` (JSON) as the argument of a call of ``callback``."""
    if not is_valid_callback(callback):
        raise ValueError(f"Invalid JSONP callback name: {callback!r}")
    # U+2028/U+2029 are valid in JSON strings but end a line in older JavaScript.
    body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return b"/**/" + callback.encode() + b"(" + body + b");"
