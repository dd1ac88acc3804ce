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
"""

from __future__ import annotations

from typing import Any

from tastypie.paginator import Paginator

from ..conf import datastream_settings
from ..params.parse import MAX_OFFSET, QueryError, get_parameter, parse_integer, quote

__all__ = ["DatapointsPaginator", "StreamsPaginator", "parse_limit", "parse_offset"]


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

    @staticmethod
    def default_limit() -> int:
        """The page size when neither the request nor the resource gives one."""
        return datastream_settings.LIST_LIMIT

    @staticmethod
    def default_max_limit() -> int:
        """The largest page when the resource gives none (``0``: no maximum)."""
        return datastream_settings.LIST_MAX_LIMIT

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

    @staticmethod
    def default_limit() -> int:
        return datastream_settings.DETAIL_LIMIT

    @staticmethod
    def default_max_limit() -> int:
        return datastream_settings.DETAIL_MAX_LIMIT
