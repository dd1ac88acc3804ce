"""The engine: the whole datastream semantics on top of one storage."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..granularity import UTC, to_seconds
from ..results import Datapoints, Streams
from ..storage import Clock, Storage
from ..stream import Stream
from ..validation import bound_seconds
from .catalog import Catalog, StreamSpec
from .chunkstore import ChunkStore
from .downsampling import Downsampler
from .reads import DataQuery, Reader
from .retention import Retainer
from .units import Observer, Units, read_record
from .writes import Writer

__all__ = ["Engine"]


def _real_clock() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def _both(first: Observer, second: Observer) -> Observer:
    """An observer calling ``first``, then ``second``."""

    def observe(stream_id: str, granularity: Any, datapoint: dict[str, Any]) -> None:
        first(stream_id, granularity, datapoint)
        second(stream_id, granularity, datapoint)

    return observe


class Engine:
    """Streams, datapoints, downsampling and derived streams on ``storage``.

    ``clock`` returns "now" as an aware UTC datetime (the default timestamp of ``append`` and
    the default ``until`` of downsampling); ``observer`` is called with ``(stream_id,
    granularity, datapoint)`` for every datapoint stored, after its unit of work committed:
    appended and derived datapoints, and the buckets downsampling closes.

    A ``_test_callback`` attribute of ``storage`` when the engine is built (the original
    library's test hook) is called in the same way, after ``observer``.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock | None = None,
        observer: Observer | None = None,
    ) -> None:
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable returning a datetime, not {clock!r}")
        if observer is not None and not callable(observer):
            raise TypeError(f"observer must be a callable, not {observer!r}")
        callback = storage._test_callback
        if callback is not None:
            if not callable(callback):
                raise TypeError(f"_test_callback must be a callable, not {callback!r}")
            observer = callback if observer is None else _both(observer, callback)
        self.storage = storage
        self.clock: Clock = clock or _real_clock
        #: Datapoints and buckets, on the storage's chunks and write heads.
        self.data = ChunkStore(storage)
        self.units = Units(storage, observer, self.data)
        self.catalog = Catalog(storage, self.units)
        self.reader = Reader(self.data)
        self.writer = Writer(storage, self.data, self.units, self.now)
        self.downsampler = Downsampler(storage, self.data, self.units, self.writer, self.now)
        self.retainer = Retainer(storage, self.data, self.units, self.now)

    def now(self) -> int:
        """The clock's time in POSIX seconds."""
        now = self.clock()
        if not isinstance(now, datetime.datetime):
            raise TypeError(f"The clock returned {now!r}, not a datetime")
        return to_seconds(now)

    # Streams and tags ------------------------------------------------------------------------

    def ensure_stream(self, spec: StreamSpec) -> str:
        return self.catalog.ensure_stream(spec)

    def get_tags(self, stream_id: str) -> dict[str, Any]:
        return self.catalog.get_tags(stream_id)

    def get_data_version(self, stream_id: str) -> int:
        return read_record(self.storage, stream_id).get("data_version") or 0

    def update_tags(self, stream_id: str, tags: dict[str, Any]) -> None:
        self.catalog.update_tags(stream_id, tags)

    def remove_tag(self, stream_id: str, tag: dict[str, Any]) -> None:
        self.catalog.remove_tag(stream_id, tag)

    def clear_tags(self, stream_id: str) -> None:
        self.catalog.clear_tags(stream_id)

    def find_streams(self, query_tags: dict[str, Any] | None) -> Streams:
        return self.catalog.find_streams(query_tags)

    def delete_streams(self, query_tags: dict[str, Any] | None) -> None:
        self.catalog.delete_streams(query_tags)

    # Datapoints ------------------------------------------------------------------------------

    def append(
        self, stream_id: str, value: Any, timestamp: datetime.datetime | None, check: bool
    ) -> dict[str, Any]:
        return self.writer.append(stream_id, value, timestamp, check)

    def append_multiple(self, datapoints: Iterable[Mapping[str, Any]]) -> None:
        self.writer.append_multiple(datapoints)

    def append_columns(self, stream_id: Any, times: Any, values: Any, check: bool) -> int:
        return self.writer.append_columns(stream_id, times, values, check)

    def delete_datapoints(self, stream_id: Any, before: int, name: str) -> int:
        return self.retainer.delete_before(stream_id, before, name)

    def enforce_retention(self, rules: list) -> int:
        return self.retainer.enforce(rules)

    def get_data(self, query: DataQuery) -> Datapoints:
        return self.reader.get_data(read_record(self.storage, query.stream_id), query)

    def get_open_buckets(self, query: DataQuery) -> list[tuple[datetime.datetime, dict]]:
        return self.reader.open_buckets(read_record(self.storage, query.stream_id), query)

    # Maintenance -----------------------------------------------------------------------------

    def downsample_streams(
        self,
        query_tags: dict[str, Any] | None,
        until: datetime.datetime | None,
        return_datapoints: bool,
        filter_stream: Callable[[Stream], bool] | None,
    ) -> list[dict[str, Any]]:
        until_seconds = bound_seconds(until, "until") if until is not None else self.now()
        return self.downsampler.downsample(
            self.catalog.select(query_tags), until_seconds, return_datapoints, filter_stream
        )

    def backprocess_streams(self, query_tags: dict[str, Any] | None) -> None:
        self.writer.backprocess(self.catalog.select(query_tags))
