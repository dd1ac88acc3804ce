"""Lazy, sliceable result sets returned by ``find_streams`` and ``get_data``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from .jsonformat import dumps

__all__ = ["ResultSource", "ResultsBase", "Streams", "Datapoints"]


class ResultSource(Protocol):
    """What a backend gives a result set: a window-able query.

    ``fetch`` yields the results ``offset .. offset + limit`` (``limit`` ``None`` = to the end)
    and should push the window down to the storage; ``count`` counts that window.
    """

    def fetch(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator[Any]: ...

    def count(self, offset: int, limit: int | None) -> int: ...


class ResultsBase:
    """A lazy result set: nothing is read until it is iterated, indexed or counted.

    Slicing returns a new result set restricted to the window without reading anything;
    the window is pushed down to the storage (skip/limit).
    """

    def __init__(
        self,
        source: ResultSource,
        offset: int = 0,
        limit: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        self._source = source
        self._offset = offset
        self._limit = limit
        self._batch_size = batch_size

    def _window(self, offset: int, limit: int | None) -> ResultsBase:
        return type(self)(self._source, offset, limit, self._batch_size)

    def batch_size(self, batch_size: int) -> ResultsBase:
        """Hint how many results to read per round trip; returns ``self``."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 0:
            raise ValueError(f"batch_size must be a non-negative integer, not {batch_size!r}")
        self._batch_size = batch_size or None
        return self

    def count(self) -> int:
        """Number of results in this (possibly sliced) set, counted by the storage."""
        if self._limit == 0:
            return 0
        return self._source.count(self._offset, self._limit)

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Any]:
        if self._limit == 0:
            return iter(())
        return iter(self._source.fetch(self._offset, self._limit, self._batch_size))

    def __bool__(self) -> bool:
        return self.count() > 0

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            if key.step not in (None, 1):
                raise ValueError("result sets support only contiguous slices (step 1)")
            start, stop = key.start, key.stop
            if (start is not None and start < 0) or (stop is not None and stop < 0):
                start, stop, _ = key.indices(self.count())
            start = start or 0
            offset = self._offset + start
            limit = None if stop is None else max(0, stop - start)
            if self._limit is not None:
                remaining = max(0, self._limit - start)
                limit = remaining if limit is None else min(limit, remaining)
            return self._window(offset, limit)
        if isinstance(key, bool) or not isinstance(key, int):
            raise TypeError(f"result set indices must be integers or slices, not {key!r}")
        if key < 0:
            key += self.count()
            if key < 0:
                raise IndexError("result set index out of range")
        if self._limit is not None and key >= self._limit:
            raise IndexError("result set index out of range")
        for item in self._source.fetch(self._offset + key, 1, 1):
            return item
        raise IndexError("result set index out of range")

    def json_lines(self) -> Iterator[bytes]:
        """Each result as compact JSON text (UTF-8 bytes), without building it in Python where
        the storage can produce it itself: timestamps ISO 8601 UTC with ``Z``, Decimals as
        strings, non-finite numbers as ``null``."""
        if self._limit == 0:
            return iter(())
        fetch_json = getattr(self._source, "fetch_json", None)
        if fetch_json is not None:
            return fetch_json(self._offset, self._limit, self._batch_size)
        return (dumps(item) for item in self)

    def json_array(self) -> bytes:
        """The results as one JSON array (see :meth:`json_lines`)."""
        return b"[" + b",".join(self.json_lines()) + b"]"

    def _get_backend_cursor(self) -> ResultSource:
        """The backend query behind this result set (debugging and tests)."""
        return self._source

    def __repr__(self) -> str:
        return f"<{type(self).__name__} offset={self._offset} limit={self._limit}>"


class Streams(ResultsBase):
    """Streams matching a query, in creation order; each item is a ``get_tags`` dict."""


class Datapoints(ResultsBase):
    """Datapoints of one stream at one granularity; each item is a datapoint dict."""
