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

from typing import Any

from tastypie.paginator import Paginator

from ..conf import datastream_settings
from ..params.parse import (
    get_parameter,
    parse_cursor,
    parse_limit,
    parse_offset,
    parse_tag_filters,
)
from .cursors import (
    DATAPOINTS,
    STREAMS,
    ListPosition,
    Window,
    datapoints_scope,
    decode_cursor,
    encode_cursor,
    next_datapoints_cursor,
    page_position,
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
    "detail_scope",
    "page_position",
]


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
    token: str | None,
    by_cursor: bool,
    resource_uri: str | None,
    params: Any,
    skipped: int,
) -> dict[str, Any]:
    """``meta`` with ``next_cursor`` (``token``: the cursor after this page, or the one given
    again after an empty page reached by cursor, else ``None``). A page reached by cursor
    (``by_cursor``; ``skipped`` items of its window precede it) gets ``offset`` and
    ``previous`` ``null``, ``total_count`` from the cursor on and ``next`` by cursor."""
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
    return datapoints_scope(stream_id, query.echo())


def _narrow(page: dict[str, Any], key: str, length: int) -> None:
    """Keep the page to the ``length`` items counted: datapoints (or streams) appended
    between the count and the read must wait for the next page, after the cursor."""
    page[key] = page[key][:length]


def detail_meta(
    detail: DetailRequest, window: Window, page: dict[str, Any]
) -> dict[str, Any]:
    """``meta`` of a detail page read from ``window`` with its cursor fields; the page's
    ``objects`` are kept to the datapoints it counted."""
    meta = page["meta"]
    offset = meta["offset"]
    limit = meta["limit"]
    length = max(0, min(limit, meta["total_count"] - offset)) if limit else 0
    _narrow(page, "objects", length)
    given = detail.cursor.token if detail.cursor is not None else None
    token = (
        next_datapoints_cursor(detail, Window(window.arguments, offset, window.position), length)
        if length
        else given
    )
    return cursor_meta(
        meta,
        token=token,
        by_cursor=window.position is not None,
        resource_uri=detail.resource_uri,
        params=detail.params,
        skipped=window.offset,
    )


def list_scope(params: Any) -> dict[str, Any]:
    """What a stream-list cursor is bound to: the tag filters."""
    return {"filters": parse_tag_filters(params)}


class CursorStreamsPaginator(StreamsPaginator):
    """The stream list's paginator with cursors: ``cursor`` (``cu``) continues after the
    streams already returned, and ``meta.next_cursor`` continues after this page."""

    def __init__(self, request_data: Any, objects: Any, *args: Any, **kwargs: Any) -> None:
        cursor = parse_cursor(request_data)
        self.given = cursor.token if cursor is not None else None
        self.scope = list_scope(request_data)
        if cursor is not None:
            values = decode_cursor(cursor.token, STREAMS, self.scope, cursor.name)
            kwargs["offset"] = ListPosition.from_list(values).count
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
            token=encode_cursor(STREAMS, self.scope, [offset + length]) if length else self.given,
            by_cursor=self.given is not None,
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
        detail_meta(detail, window, page)
    return page
