"""Cursor paging in the views: reading ``cursor``/``cu``, and the cursor fields of ``meta``.

The positions and tokens themselves are :mod:`django_datastream.cursors`. A page reached by
cursor reports ``offset`` and ``previous`` as ``null`` (there is no index to go back to),
``total_count`` from the cursor on, and ``next`` as the URI carrying ``meta.next_cursor``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from datastream.granularity import to_seconds

from .cursors import (
    DatapointPosition,
    InvalidCursor,
    ListPosition,
    Window,
    decode_cursor,
    encode_cursor,
    position_after,
)
from .query import ALIASES, QueryError, get_parameter, quote

__all__ = [
    "DATAPOINTS",
    "STREAMS",
    "cursor_meta",
    "cursor_uri",
    "page_position",
    "read_cursor",
]

#: Cursor kinds: a cursor of one is refused by the other.
DATAPOINTS = "datapoints"
STREAMS = "streams"


def _token(value: str, key: str) -> str:
    return value


def read_cursor(params: Any, kind: str, scope: Any) -> list[int] | None:
    """The position in the request's ``cursor`` (``cu``), ``None`` without one. Raises
    :class:`~django_datastream.query.QueryError` for a cursor with ``offset``, or one that
    is invalid, altered or made for another query."""
    token = get_parameter(params, "cursor", _token)
    if token is None:
        return None
    name = "cursor" if "cursor" in params else ALIASES["cursor"]
    for key in ("offset", ALIASES["offset"]):
        if key in params:
            raise QueryError(
                f"'{name}' cannot be combined with '{key}' ({quote(params[key])}): a cursor "
                "already says where the page starts."
            )
    try:
        return decode_cursor(token, kind, scope, name)
    except InvalidCursor as error:
        raise QueryError(str(error)) from None


def datapoint_position(values: list[int]) -> DatapointPosition:
    """A decoded datapoint position (400 if malformed)."""
    try:
        return DatapointPosition.from_list(values)
    except InvalidCursor as error:
        raise QueryError(str(error)) from None


def list_position(values: list[int]) -> ListPosition:
    """A decoded stream-list position (400 if malformed)."""
    try:
        return ListPosition.from_list(values)
    except InvalidCursor as error:
        raise QueryError(str(error)) from None


def page_position(
    get_data: Callable[..., Any], window: Window, highest: Any, length: int
) -> DatapointPosition:
    """The position after a page of ``length`` (> 0) datapoints read from ``window``, found
    without the page's own datapoints (which a JSON answer never turns into Python objects):
    one datapoint read, and for raw data one or two counts."""
    arguments = window.arguments
    index = window.offset + length - 1
    if arguments["granularity"] < highest:  # buckets: the last one's time is enough
        return position_after(get_data, window, highest, [None] * length)
    last = next(iter(get_data(**arguments)[index : index + 1]))
    moment = last["t"]
    if not arguments["reverse"]:
        before = get_data(**{**arguments, "end": None, "end_exclusive": moment}).count()
    else:
        every = get_data(**arguments).count()
        before = every - get_data(**{**arguments, "end": moment, "end_exclusive": None}).count()
    # The page's datapoints of that second: those after the ones of other seconds.
    run = max(1, min(length, index + 1 - before))
    seconds = to_seconds(moment)
    times: list[int | None] = [None] * (length - run) + [seconds] * run
    return position_after(get_data, window, highest, times)


def cursor_uri(resource_uri: str, params: Any, cursor: str) -> str:
    """``resource_uri`` with the request's parameters, ``cursor`` instead of any paging."""
    query = params.copy()
    for name in ("offset", "o", "cursor", "cu"):
        query.pop(name, None)
    query["cursor"] = cursor
    return f"{resource_uri}?{query.urlencode()}"


def cursor_meta(
    meta: dict[str, Any],
    *,
    kind: str,
    scope: Any,
    position: list[int] | None,
    by_cursor: bool,
    given: str | None,
    resource_uri: str | None,
    params: Any,
    skipped: int,
) -> dict[str, Any]:
    """``meta`` with ``next_cursor`` (the cursor after this page: ``position``, or ``given``
    again after an empty page reached by cursor, else ``None``). A page reached by cursor
    (``by_cursor``; ``skipped`` items of its window precede it) gets ``offset`` and
    ``previous`` ``null``, ``total_count`` from the cursor on and ``next`` by cursor."""
    token = encode_cursor(kind, scope, position) if position is not None else given
    meta["next_cursor"] = token
    if by_cursor:
        meta["offset"] = None
        meta["previous"] = None
        meta["total_count"] = max(0, meta["total_count"] - skipped)
        has_next = meta.get("next") is not None
        meta["next"] = (
            cursor_uri(resource_uri, params, token)
            if has_next and token is not None and resource_uri is not None
            else None
        )
    return meta
