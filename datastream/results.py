"""Lazy, sliceable result sets returned by ``find_streams`` and ``get_data``."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator
from typing import Any, Protocol

from .exceptions import IndexOutOfRange, InvalidArgument
from .granularity import to_seconds
from .jsonformat import dumps
from .limits import INT64_MAX
from .validation import describe

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
    the window is pushed down to the storage (skip/limit). Indices and slice bounds are
    integers of any size (a window starting beyond the 64-bit range is empty); anything else,
    or a slice step other than 1, raises :class:`~datastream.exceptions.InvalidArgument`, and
    an index past the end :class:`~datastream.exceptions.IndexOutOfRange`.
    """

    def __init__(
        self,
        source: ResultSource,
        offset: int = 0,
        limit: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        # No storage holds 2**63 results: a window starting beyond that is empty, and one
        # reaching beyond it reaches to the end. Storages then only see 64-bit integers.
        if offset > INT64_MAX:
            offset, limit = INT64_MAX, 0
        elif limit is not None and limit > INT64_MAX - offset:
            limit = None
        self._source = source
        self._offset = offset
        self._limit = limit
        self._batch_size = batch_size

    def _window(self, offset: int, limit: int | None) -> ResultsBase:
        return type(self)(self._source, offset, limit, self._batch_size)

    def batch_size(self, batch_size: int) -> ResultsBase:
        """Hint how many results to read per round trip; returns ``self``."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 0:
            raise InvalidArgument(
                f"batch_size must be a non-negative integer, not {describe(batch_size)}"
            )
        self._batch_size = min(batch_size, INT64_MAX) or None
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
            if key.step is not None and _index(key.step, "slice step") != 1:
                raise InvalidArgument(
                    f"Result sets support only contiguous slices (step 1), not {describe(key)}"
                )
            start = None if key.start is None else _index(key.start, "slice start")
            stop = None if key.stop is None else _index(key.stop, "slice stop")
            if (start is not None and start < 0) or (stop is not None and stop < 0):
                start, stop, _ = slice(start, stop).indices(self.count())
            start = start or 0
            offset = self._offset + start
            limit = None if stop is None else max(0, stop - start)
            if self._limit is not None:
                remaining = max(0, self._limit - start)
                limit = remaining if limit is None else min(limit, remaining)
            return self._window(offset, limit)
        index = _index(key, "result set index")
        if index < 0:
            index += self.count()
            if index < 0:
                raise IndexOutOfRange(f"Result set index {describe(key)} is out of range")
        if (self._limit is not None and index >= self._limit) or index > INT64_MAX - self._offset:
            raise IndexOutOfRange(f"Result set index {describe(key)} is out of range")
        for item in self._source.fetch(self._offset + index, 1, 1):
            return item
        raise IndexOutOfRange(f"Result set index {describe(key)} is out of range")

    def time_value_rows(self) -> Iterator[tuple[int, Any]]:
        """``(POSIX seconds, value)`` of each raw datapoint, in the set's order: what iterating
        gives, without a ``datetime`` and a dict per datapoint where the storage's rows can be
        handed over as they are (a source with ``fetch_rows``). For raw datapoints only (a
        downsampled datapoint has no single time)."""
        if self._limit == 0:
            return iter(())
        fetch_rows = getattr(self._source, "fetch_rows", None)
        if fetch_rows is not None:
            return fetch_rows(self._offset, self._limit, self._batch_size)
        return ((to_seconds(item["t"]), item["v"]) for item in self)

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
        fetch_json_array = getattr(self._source, "fetch_json_array", None)
        if fetch_json_array is not None:
            if self._limit == 0:
                return b"[]"
            return fetch_json_array(self._offset, self._limit, self._batch_size)
        return b"[" + b",".join(self.json_lines()) + b"]"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} offset={self._offset} limit={self._limit}>"


def _index(value: Any, what: str) -> int:
    """``value`` as an integer index (anything with ``__index__`` except booleans)."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise InvalidArgument(f"The {what} must be an integer, not {describe(value)}")


class Streams(ResultsBase):
    """Streams matching a query, in creation order; each item is a ``get_tags`` dict."""


class Datapoints(ResultsBase):
    """Datapoints of one stream at one granularity; each item is a datapoint dict."""

    def column_batches(self, size: int) -> Iterator[tuple[Any, Any]]:
        """Raw datapoints in time order as ``(POSIX seconds array, values)`` batches of at most
        ``size``, read from the chunks (values: an array or a list, as :meth:`columns`)."""
        import numpy as np

        if self._limit == 0:
            return
        fetch = getattr(self._source, "fetch_column_batches", None)
        if fetch is not None:
            yield from fetch(self._offset, self._limit, size)
            return
        rows = iter(self.time_value_rows())
        while batch := list(itertools.islice(rows, size)):
            yield np.array([t for t, _v in batch], np.int64), [v for _t, v in batch]

    def columns(self) -> tuple[Any, Any]:
        """The set as columns, for analysis: ``(times, values)``.

        ``times`` is a numpy ``datetime64[s]`` array. For raw datapoints ``values`` is a numpy
        array when the values are all 64-bit floats or all 64-bit integers (read from the
        chunks without a Python object per datapoint), else a list. For downsampled
        datapoints (``times`` the bucket starts), ``values`` is ``{key: array or list}``, one
        entry per value key of the set.
        """
        import numpy as np

        if self._limit == 0:
            return np.empty(0, "datetime64[s]"), np.empty(0, np.float64)
        fetch_columns = getattr(self._source, "fetch_columns", None)
        if fetch_columns is not None:
            seconds, values = fetch_columns(self._offset, self._limit)
            return seconds.astype("datetime64[s]"), values
        rows = [(to_seconds(item["t"]), item["v"]) for item in self]
        return np.array([t for t, _v in rows], "datetime64[s]"), [v for _t, v in rows]
