"""The NDJSON writer, one for pages and streamed exports alike: one compact JSON value a
line, each line ending with ``\\n`` (``dumps`` writes a value as the JSON format does)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["ndjson_lines"]


def ndjson_lines(items: Iterable[Any], dumps: Callable[[Any], bytes]) -> bytes:
    """``items``, one JSON value a line."""
    return b"".join(dumps(item) + b"\n" for item in items)
