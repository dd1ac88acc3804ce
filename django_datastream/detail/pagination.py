"""Limit/offset pagination of streams and datapoints, on tastypie's ``Paginator``.

A resource names its paginators in ``Meta`` (``paginator_class`` for the stream list,
``datapoints_paginator_class`` for a stream's datapoints) with ``limit``/``max_limit``
(``datapoints_limit``/``datapoints_max_limit``); ``None`` means the ``API_LIMIT_PER_PAGE`` /
``DATASTREAM_API_LIST_MAX_LIMIT`` (``API_DETAIL_LIMIT_PER_PAGE`` /
``DATASTREAM_API_DETAIL_MAX_LIMIT``) setting, read at request time.

Differences from tastypie's: ``l``/``o`` are aliases of ``limit``/``offset``; ``meta`` always
has ``next`` and ``previous`` (``null`` when there is no such page); a previous page that would
start before 0 is shortened to start at 0 (offset 11, limit 40 → ``limit=11&offset=0``); the
page is fetched with a batch size equal to the limit, and not at all past the end.

Cursors (``cursor``/``cu``; the positions and tokens themselves are
:mod:`django_datastream.detail.cursors`): a page reached by cursor reports ``offset`` and
``previous`` as ``null`` (there is no index to go back to), ``total_count`` from the cursor on,
and ``next`` as the URI carrying ``meta.next_cursor``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tastypie.paginator import Paginator

from datastream.granularity import to_seconds

from ..conf import datastream_settings
from ..params.parse import (
    ALIASES,
    MAX_OFFSET,
    QueryError,
    get_parameter,
    parse_integer,
    parse_tag_filters,
    quote,
)
from .cursors import (
    DatapointPosition,
    InvalidCursor,
    ListPosition,
    Window,
    continue_datapoints,
    decode_cursor,
    encode_cursor,
    position_after,
)
from .request import DetailRequest

__all__ = [
    "paginate",
    "DATAPOINTS",
    "STREAMS",
    "CursorStreamsPaginator",
    "DatapointsPaginator",
    "StreamsPaginator",
    "cursor_meta",
    "cursor_uri",
    "detail_meta",
    "detail_window",
    "page_position",
    "parse_limit",
    "parse_offset",
    "read_cursor",
]


def parse_limit(value: str, key: str) -> int:
    """A ``limit`` parameter: a non-negative integer."""
    limit = parse_integer(value)
    if limit is None:
        raise QueryError(
            f"Invalid limit {quote(value)} provided in parameter '{key}'. "
            "Please provide a positive integer."
        )
    if limit < 0:
        raise QueryError(
            f"Invalid limit {quote(value)} provided in parameter '{key}'. "
            "Please provide a positive integer >= 0."
        )
    return limit


def parse_offset(value: str, key: str) -> int:
    """An ``offset`` parameter: an integer from 0 to 2**63 - 1."""
    offset = parse_integer(value)
    if offset is None:
        raise QueryError(
            f"Invalid offset {quote(value)} provided in parameter '{key}'. "
            "Please provide an integer."
        )
    if not 0 <= offset <= MAX_OFFSET:
        raise QueryError(
            f"Invalid offset {quote(value)} provided in parameter '{key}'. "
            f"Please provide a positive integer >= 0 and <= {MAX_OFFSET}."
        )
    return offset


class StreamsPaginator(Paginator):
    """Pagination of the stream list: ``limit=0`` means the maximum (``max_limit``).

    ``objects`` may be anything sliceable with ``count()`` or ``len()``: a lazy result set
    (the window is pushed down to the storage) or a list.
    """

    #: What ``limit=0`` means: ``True`` → the maximum page size; ``False`` → no objects.
    zero_means_max = True

    def __init__(
        self,
        request_data: Any,
        objects: Any,
        resource_uri: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        max_limit: int | None = None,
        collection_name: str = "objects",
    ) -> None:
        super().__init__(
            request_data,
            objects,
            resource_uri=resource_uri,
            limit=self.default_limit() if limit is None else limit,
            offset=offset,
            max_limit=self.default_max_limit() if max_limit is None else max_limit,
            collection_name=collection_name,
        )

    #: The settings (of ``datastream_settings``) giving the page size and the largest page
    #: when neither the request nor the resource gives one.
    limit_setting = "LIST_LIMIT"
    max_limit_setting = "LIST_MAX_LIMIT"

    @classmethod
    def default_limit(cls) -> int:
        """The page size when neither the request nor the resource gives one."""
        return getattr(datastream_settings, cls.limit_setting)

    @classmethod
    def default_max_limit(cls) -> int:
        """The largest page when the resource gives none (``0``: no maximum)."""
        return getattr(datastream_settings, cls.max_limit_setting)

    def get_limit(self) -> int:
        limit = get_parameter(self.request_data, "limit", parse_limit, self.limit)
        if limit == 0 and not self.zero_means_max:
            return 0
        if self.max_limit and (not limit or limit > self.max_limit):
            return self.max_limit
        return limit

    def get_offset(self) -> int:
        return get_parameter(self.request_data, "offset", parse_offset, self.offset)

    def get_slice(self, limit: int, offset: int) -> Any:
        if limit == 0:  # no objects, or (no maximum) all of them
            return self.objects[offset:] if self.zero_means_max else []
        page = self.objects[offset : offset + limit]
        return page.batch_size(limit) if hasattr(page, "batch_size") else page

    def get_previous(self, limit: int, offset: int) -> str | None:
        if 0 < offset < limit:
            limit = offset
        if offset - limit < 0:
            return None
        return self._generate_uri(limit, offset - limit)

    def _generate_uri(self, limit: int, offset: int) -> str | None:
        if self.resource_uri is None:
            return None
        params = self.request_data.copy()
        for name in ("limit", "l", "offset", "o"):
            params.pop(name, None)
        params["limit"] = str(limit)
        params["offset"] = str(offset)
        return f"{self.resource_uri}?{params.urlencode()}"

    def page(self) -> dict[str, Any]:
        limit = self.get_limit()
        offset = self.get_offset()
        count = self.get_count()
        objects = self.get_slice(limit, offset) if offset < count else []
        meta = {
            "limit": limit,
            "next": self.get_next(limit, offset, count) if limit else None,
            "offset": offset,
            "previous": self.get_previous(limit, offset) if limit else None,
            "total_count": count,
        }
        return {self.collection_name: objects, "meta": meta}


class DatapointsPaginator(StreamsPaginator):
    """Pagination of a stream's datapoints: ``limit=0`` returns no datapoints (only the
    metadata and ``total_count``)."""

    zero_means_max = False
    limit_setting = "DETAIL_LIMIT"
    max_limit_setting = "DETAIL_MAX_LIMIT"


#: Cursor kinds: a cursor of one is refused by the other.
DATAPOINTS = "datapoints"
STREAMS = "streams"


def _token(value: str, key: str) -> str:
    return value


def read_cursor(params: Any, kind: str, scope: Any) -> list[int] | None:
    """The position in the request's ``cursor`` (``cu``), ``None`` without one. Raises
    :class:`~django_datastream.params.parse.QueryError` for a cursor with ``offset``, or one that
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


# In the views ---------------------------------------------------------------------------------


def detail_scope(stream_id: str, query: Any) -> dict[str, Any]:
    """What a datapoint cursor is bound to: the stream and the parsed query."""
    return _scope(stream_id, query.echo())


def _scope(stream_id: str, echo: dict[str, Any]) -> dict[str, Any]:
    return {"stream": stream_id, "query": echo}


def detail_window(detail: DetailRequest) -> Window:
    """The window of datapoints a detail request reads: the query itself, or its
    continuation after the request's cursor."""
    values = read_cursor(detail.params, DATAPOINTS, _scope(detail.stream.id, detail.echo))
    if values is None:
        return Window(detail.arguments)
    get_data = functools.partial(detail.datastream.get_data, detail.stream.id)
    return continue_datapoints(
        get_data, detail.arguments, detail.stream.highest_granularity, datapoint_position(values)
    )


def _narrow(page: dict[str, Any], key: str, length: int) -> None:
    """Keep the page to the ``length`` items counted: datapoints (or streams) appended
    between the count and the read must wait for the next page, after the cursor."""
    page[key] = page[key][:length]


def detail_meta(
    params: Any,
    datastream: Any,
    stream: Any,
    echo: dict[str, Any],
    window: Window,
    page: dict[str, Any],
    resource_uri: str | None,
) -> dict[str, Any]:
    """``meta`` of a detail page read from ``window`` with its cursor fields (bound to the
    query's ``echo``); the page's ``objects`` are kept to the datapoints it counted."""
    meta = page["meta"]
    offset = meta["offset"]
    limit = meta["limit"]
    length = max(0, min(limit, meta["total_count"] - offset)) if limit else 0
    _narrow(page, "objects", length)
    position = None
    if length:
        get_data = functools.partial(datastream.get_data, stream.id)
        read = Window(window.arguments, offset, window.position)
        position = page_position(get_data, read, stream.highest_granularity, length).to_list()
    return cursor_meta(
        meta,
        kind=DATAPOINTS,
        scope=_scope(stream.id, echo),
        position=position,
        by_cursor=window.position is not None,
        given=get_parameter(params, "cursor", _token),
        resource_uri=resource_uri,
        params=params,
        skipped=window.offset,
    )


def list_scope(params: Any) -> dict[str, Any]:
    """What a stream-list cursor is bound to: the tag filters."""
    return {"filters": parse_tag_filters(params)}


class CursorStreamsPaginator(StreamsPaginator):
    """The stream list's paginator with cursors: ``cursor`` (``cu``) continues after the
    streams already returned, and ``meta.next_cursor`` continues after this page."""

    def __init__(self, request_data: Any, objects: Any, *args: Any, **kwargs: Any) -> None:
        values = read_cursor(request_data, STREAMS, list_scope(request_data))
        self.by_cursor = values is not None
        if values is not None:
            kwargs["offset"] = list_position(values).count
        super().__init__(request_data, objects, *args, **kwargs)

    def page(self) -> dict[str, Any]:
        page = super().page()
        meta = page["meta"]
        offset, limit, count = meta["offset"], meta["limit"], meta["total_count"]
        remaining = max(0, count - offset)
        length = remaining if limit == 0 and self.zero_means_max else min(limit, remaining)
        _narrow(page, self.collection_name, length)
        cursor_meta(
            meta,
            kind=STREAMS,
            scope=list_scope(self.request_data),
            position=[offset + length] if length else None,
            by_cursor=self.by_cursor,
            given=get_parameter(self.request_data, "cursor", _token),
            resource_uri=self.resource_uri,
            params=self.request_data,
            skipped=offset,
        )
        return page


def paginate(
    detail: DetailRequest, window: Window, datapoints: Any, raw_count: int | None
) -> dict[str, Any]:
    """The page (``objects`` and ``meta``) of ``datapoints`` read from ``window``, by the
    resource's datapoints paginator; a thinned page (``raw_count`` given: how many raw
    datapoints it stands for) is one page, without a cursor."""
    paging = detail.paging
    max_points = detail.chart.max_points
    page = paging.paginator_class(
        detail.params,
        datapoints,
        resource_uri=detail.resource_uri,
        limit=paging.limit if max_points is None else max_points,
        max_limit=paging.max_limit,
        offset=window.offset,
    ).page()
    if raw_count is not None:
        page["meta"]["raw_count"] = raw_count
        page["meta"]["next_cursor"] = None
    else:
        detail_meta(
            detail.params, detail.datastream, detail.stream, detail.echo, window, page,
            detail.resource_uri,
        )  # fmt: skip
    return page
