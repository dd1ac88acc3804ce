"""Reading datapoints: a :class:`DataQuery` becomes a raw or a bucket result source; the open
buckets of a stream (not closed by downsampling yet) are computed from its raw datapoints."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..arguments import DataArguments
from ..constants import TEXT_VALUE_KEYS, TIMESTAMP_TIME_KEYS
from ..downsamplers import empty_time, empty_value, requested_keys
from ..granularity import UTC, GranularityType, from_seconds
from ..jsonformat import (
    datapoint_template,
    dumps,
    json_texts,
    object_template,
    timestamp_texts,
)
from ..limits import MAX_DATAPOINT_SECONDS, MIN_DATAPOINT_SECONDS
from ..results import Datapoints
from ..storage import READ_BATCH, BucketWindow, RawScan, StreamRecord
from ..validation import bound_seconds
from ..values import decode_value
from . import rawjson
from .buckets import storable_buckets, summarise_ranges, time_out, with_gaps
from .chunks import as_list, decode_buckets
from .chunkstore import ChunkStore
from .records import granularity_of, high_accuracy, value_keys

__all__ = ["BucketQuery", "DataQuery", "RawQuery", "Reader", "time_range"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataQuery(DataArguments):
    """What ``get_data`` asks for, already validated by the facade: the stream and the other
    arguments (:class:`~datastream.arguments.DataArguments`, their one list).

    At most one of ``start``/``start_exclusive`` is set (``get_data`` sets exactly one; without
    either, the range starts at the earliest supported time); at most one of ``end``/
    ``end_exclusive``. Downsampler lists of ``None`` mean all of them.
    """

    stream_id: str


def time_range(query: DataQuery, granularity: GranularityType, highest: GranularityType
               ) -> tuple[int, int]:
    """``[lo, hi)`` in POSIX seconds: datapoint times (raw) or bucket starts (downsampled).

    ``granularity`` is the effective granularity: the requested one, or the stream's
    ``highest`` when a finer one was asked for. The start rounds down to a bucket start of the
    effective granularity (so at a stream's highest granularity, raw datapoints from the start
    of the bucket holding ``start`` are included); ``start_exclusive`` excludes that whole
    bucket when it is downsampled, and from one second after the bucket start when raw.
    """
    size = granularity.seconds
    if query.start is not None:
        lo = granularity.round_seconds(bound_seconds(query.start, "start"))
    elif query.start_exclusive is not None:
        lo = granularity.round_seconds(bound_seconds(query.start_exclusive, "start_exclusive"))
        lo += size if granularity != highest else 1
    else:
        lo = MIN_DATAPOINT_SECONDS
    if query.end is not None:
        hi = bound_seconds(query.end, "end") + 1
    elif query.end_exclusive is not None:
        hi = bound_seconds(query.end_exclusive, "end_exclusive")
    else:
        hi = MAX_DATAPOINT_SECONDS + 86400
    lo, hi = max(lo, MIN_DATAPOINT_SECONDS), min(hi, MAX_DATAPOINT_SECONDS + 1)
    if granularity != highest:
        # A bucket is included when its start lies in [lo, hi).
        hi = granularity.round_seconds(hi - 1) + size if hi > lo else lo
    return lo, hi


class Reader:
    """The reads of stored data: ``get_data`` and the open buckets."""

    def __init__(self, storage: ChunkStore) -> None:
        self.storage = storage

    def get_data(self, record: StreamRecord, query: DataQuery) -> Datapoints:
        """The datapoints ``query`` selects from the stream of ``record``."""
        highest = granularity_of(record)
        granularity = min(query.granularity, highest)
        lo, hi = time_range(query, granularity, highest)
        if granularity == highest:
            return Datapoints(RawQuery(self.storage, record, lo, hi, query.reverse))
        keys = requested_keys(
            record["value_downsamplers"], query.value_downsamplers, query.time_downsamplers
        )
        window = BucketWindow(record, granularity, lo, hi, query.reverse, *keys)
        return Datapoints(BucketQuery(self.storage, window))

    def open_buckets(
        self, record: StreamRecord, query: DataQuery
    ) -> list[tuple[datetime.datetime, dict[str, Any]]]:
        """The buckets of ``query.granularity`` that hold datapoints but are not closed yet,
        computed from the raw datapoints exactly as downsampling will close them, within the
        range of ``query`` (as :meth:`get_data` reads it at that granularity).

        ``(bucket start, datapoint)`` pairs in the query's order, each datapoint with the keys
        ``get_data`` would give it; from ``downsampled_until`` (the stream's first bucket when
        nothing is closed) to the bucket of the latest datapoint. Nothing is stored. None at
        the stream's highest granularity (or finer), whose datapoints are raw.
        """
        highest = granularity_of(record)
        granularity = query.granularity
        if granularity >= highest or record["latest_datapoint"] is None:
            return []
        keys = value_keys(record)
        if not keys:
            return []
        size = granularity.seconds
        done = record["downsampled_until"].get(granularity.name)
        if done is None:
            done = granularity.round_seconds(record["earliest_datapoint"])  # type: ignore[arg-type]
        lo, hi = time_range(query, granularity, highest)
        lo = max(lo, done)
        hi = min(hi, granularity.round_seconds(record["latest_datapoint"]) + size)
        if hi <= lo:
            return []
        times, values = self.storage.scan_datapoints(record, lo, hi)
        accurate = high_accuracy(record)
        if accurate:
            values = [decode_value(v, True) for v in values]
        summaries = summarise_ranges(
            times, values, [(granularity, lo, hi)], keys, record["value_type"], accurate
        )[granularity]
        value_part, time_part = requested_keys(
            record["value_downsamplers"], query.value_downsamplers, query.time_downsamplers
        )
        buckets = []
        # As stored and read back: the same numbers as the bucket downsampling will close.
        for bucket, value, time in storable_buckets(summaries, accurate):
            datapoint: dict[str, Any] = {}
            if time_part is not None:
                datapoint["t"] = time_out(time, list(time_part))
            if value_part is not None:
                if accurate:
                    value = decode_value(value, True)
                datapoint["v"] = {key: value.get(key) for key in value_part}
            buckets.append((from_seconds(bucket), datapoint))
        if query.reverse:
            buckets.reverse()
        return buckets


class RawQuery:
    """Raw datapoints of one stream in ``[lo, hi)``."""

    def __init__(
        self, storage: ChunkStore, record: StreamRecord, lo: int, hi: int, reverse: bool
    ) -> None:
        self.storage, self.record = storage, record
        self.lo, self.hi, self.reverse = lo, hi, reverse

    def rows(
        self, offset: int, limit: int | None, batch_size: int | None = None
    ) -> Iterator[tuple[int, Any]]:
        """``(seconds, stored value)`` of the window."""
        if self.hi <= self.lo:
            return iter(())
        return self.storage.fetch_datapoints(
            RawScan(self.record, self.lo, self.hi, self.reverse, offset, limit, batch_size)
        )

    def fetch(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator[dict]:
        at = datetime.datetime.fromtimestamp
        rows = self.rows(offset, limit, batch_size)
        if high_accuracy(self.record):
            return ({"t": at(t, UTC), "v": decode_value(v, True)} for t, v in rows)
        return ({"t": at(t, UTC), "v": v} for t, v in rows)

    def _positions(self, offset: int, limit: int | None) -> tuple[int, int | None]:
        """``[start, stop)`` in time order (``stop=None``: to the end) of the datapoints
        ``offset`` to ``offset + limit`` of the window in its own order."""
        if not self.reverse:
            return offset, None if limit is None else offset + limit
        end = max(self.storage.count_datapoints(self.record, self.lo, self.hi) - offset, 0)
        return 0 if limit is None else max(end - limit, 0), end

    def fetch_columns(self, offset: int, limit: int | None) -> tuple[Any, Any]:
        """``(seconds array, values)`` of the window, read from the chunks as columns."""
        if self.hi <= self.lo:
            return np.empty(0, np.int64), []
        start, stop = self._positions(offset, limit)
        seconds, values = self.storage.columns(self.record, self.lo, self.hi, start, stop)
        if self.reverse:
            seconds, values = seconds[::-1], values[::-1]
        if high_accuracy(self.record):
            values = [decode_value(v, True) for v in values]
        return seconds, values

    def fetch_column_batches(
        self, offset: int, limit: int | None, batch_size: int | None
    ) -> Iterator[tuple[Any, Any]]:
        """The window (in time order) as ``(seconds array, values)`` batches of at most
        ``batch_size`` datapoints (default :data:`~datastream.storage.READ_BATCH`)."""
        size = batch_size or READ_BATCH
        position, stop = offset, None if limit is None else offset + limit
        while stop is None or position < stop:
            end = position + size if stop is None else min(position + size, stop)
            seconds, values = self.storage.columns(self.record, self.lo, self.hi, position, end)
            if not len(seconds):
                return
            if high_accuracy(self.record):
                values = [decode_value(v, True) for v in values]
            yield seconds, values
            position += len(seconds)

    def fetch_rows(
        self, offset: int, limit: int | None, batch_size: int | None
    ) -> Iterator[tuple[int, Any]]:
        """``(seconds, value)`` of the window: :meth:`fetch` without a ``datetime`` and a dict
        per datapoint (``Datapoints.time_value_rows``)."""
        rows = self.rows(offset, limit, batch_size)
        if high_accuracy(self.record):
            return ((t, decode_value(v, True)) for t, v in rows)
        return rows

    def fetch_json_array(self, offset: int, limit: int | None, batch_size: int | None) -> bytes:
        """The window as one JSON array, without a ``datetime`` or an encoder call per point."""
        if high_accuracy(self.record):
            items = self.fetch(offset, limit, batch_size)
            return b"[" + b",".join(map(dumps, items)) + b"]"
        if limit is not None and limit <= READ_BATCH:  # a page: one read, chunks' texts kept
            if self.hi <= self.lo:
                return b"[]"
            start, stop = self._positions(offset, limit)
            plan = self.storage.raw_blobs(self.record, self.lo, self.hi, start, stop)
            return rawjson.plan_json_array(plan, self.reverse)
        rows = list(self.rows(offset, limit, batch_size))
        text = rawjson.json_array(rows)
        if text is None:
            at = datetime.datetime.fromtimestamp
            items = ({"t": at(t, UTC), "v": v} for t, v in rows)
            return b"[" + b",".join(map(dumps, items)) + b"]"
        return text

    def count(self, offset: int, limit: int | None) -> int:
        if self.hi <= self.lo:
            return 0
        total = max(0, self.storage.count_datapoints(self.record, self.lo, self.hi) - offset)
        return total if limit is None else min(total, limit)


class BucketQuery:
    """Downsampled datapoints of one stream: every bucket start of ``window`` that exists, with
    the window's keys.

    Buckets are stored only when a datapoint fell into them; the empty ones between a stream's
    first datapoint and ``downsampled_until`` are produced here (``c = 0``, other values
    ``None``, times at the bucket middle).
    """

    def __init__(self, storage: ChunkStore, window: BucketWindow) -> None:
        self.storage, self.window = storage, window
        record, granularity = window.record, window.granularity
        self.record, self.granularity, self.reverse = record, granularity, window.reverse
        self.no_value, self.no_time = window.value_keys is None, window.time_keys is None
        self.value_keys = list(window.value_keys or ())
        self.time_keys = list(window.time_keys or ())
        done = record["downsampled_until"].get(granularity.name)
        if done is None or record["earliest_datapoint"] is None or not record["value_downsamplers"]:
            self.first, self.total = window.lo, 0
            return
        size = granularity.seconds
        first = max(window.lo, granularity.round_seconds(record["earliest_datapoint"]))
        cut = (record.get("retained_since") or {}).get(granularity.name)
        if cut is not None:  # buckets before the retention cut are gone, not empty
            first = max(first, granularity.round_seconds(cut - 1) + size)
        last = min(window.hi, done)
        self.first, self.total = first, max(0, (last - first) // size)

    def _window(self, offset: int, limit: int | None) -> tuple[int, int]:
        count = max(0, self.total - offset)
        if limit is not None:
            count = min(count, limit)
        size = self.granularity.seconds
        if self.reverse:
            top = self.first + (self.total - offset) * size
            return top - count * size, top
        start = self.first + offset * size
        return start, start + count * size

    def rows(self, offset: int, limit: int | None) -> Iterator[tuple[int, dict, dict]]:
        """``(bucket start, value, time)`` of every bucket of the window, stored values."""
        lo, hi = self._window(offset, limit)
        if hi <= lo:
            return iter(())
        stored = self.storage.fetch_buckets(self.window.within(lo, hi))
        if high_accuracy(self.record):
            stored = ((b, decode_value(v, True), t) for b, v, t in stored)
        keys, size = self.value_keys, self.granularity.seconds
        return with_gaps(
            stored, lo, hi, size, self.reverse,
            lambda bucket: (bucket, empty_value(keys), empty_time(bucket, size)),
        )

    def fetch_columns(self, offset: int, limit: int | None) -> tuple[Any, Any]:
        """``(bucket starts, {value key: column})`` of the window."""
        starts: list[int] = []
        columns: dict[str, list[Any]] = {key: [] for key in self.value_keys}
        for bucket, value, _time in self.rows(offset, limit):
            starts.append(bucket)
            for key, column in columns.items():
                column.append(value.get(key))
        return np.array(starts, np.int64), {
            key: np.array(column) if {type(v) for v in column} in ({float}, {int}) else column
            for key, column in columns.items()
        }

    def fetch(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator[dict]:
        lo, hi = self._window(offset, limit)
        if hi <= lo:
            return
        no_value, no_time = self.no_value, self.no_time
        size = self.granularity.seconds
        stored = self.storage.fetch_buckets(self.window.within(lo, hi))
        accurate = high_accuracy(self.record)
        datetime_keys = [k for k in TIMESTAMP_TIME_KEYS if k in self.time_keys]
        at = datetime.datetime.fromtimestamp
        # Buckets without a stored row come through as (start, None, None).
        rows = with_gaps(stored, lo, hi, size, self.reverse, lambda b: (b, None, None))
        if not accurate and not no_time and not no_value:
            # The common case, a chunk at a time: datetimes made in place, no per-key work.
            while chunk := list(itertools.islice(rows, 2000)):
                for key in datetime_keys:
                    for _bucket, value, time in chunk:
                        if value is not None:
                            time[key] = at(time[key], UTC)
                yield from [
                    {"t": t, "v": v} if v is not None else self._empty(b) for b, v, t in chunk
                ]
            return
        for bucket, value, time in rows:
            if value is None:
                yield self._empty(bucket)
                continue
            if accurate:
                value = decode_value(value, True)
            for key in datetime_keys:
                time[key] = at(time[key], UTC)
            if no_time:
                yield {} if no_value else {"v": value}
            else:
                yield {"t": time} if no_value else {"t": time, "v": value}

    def _empty(self, bucket: int) -> dict[str, Any]:
        """The datapoint of a bucket without datapoints, with the requested keys."""
        datapoint: dict[str, Any] = {}
        if not self.no_time:
            datapoint["t"] = time_out(empty_time(bucket, self.granularity.seconds), self.time_keys)
        if not self.no_value:
            datapoint["v"] = empty_value(self.value_keys)
        return datapoint

    def fetch_json(
        self, offset: int, limit: int | None, batch_size: int | None
    ) -> Iterator[bytes | str]:
        """Datapoints as JSON text."""
        yield from (dumps(datapoint) for datapoint in self.fetch(offset, limit, batch_size))

    def fetch_json_array(self, offset: int, limit: int | None, batch_size: int | None) -> bytes:
        """The window as one JSON array. When no bucket in it is empty (the usual case), it is
        written from each stored chunk's datapoint texts (:func:`_chunk_texts`: made column by
        column, and kept for chunks read again, since a chunk never changes)."""
        lo, hi = self._window(offset, limit)
        if hi > lo and not high_accuracy(self.record):
            numeric = self.record["value_type"] == "numeric"
            time_keys = None if self.no_time else tuple(self.time_keys)
            value_keys = None if self.no_value else tuple(self.value_keys)
            items: list[str] = []
            for blob in self.storage.bucket_blobs(self.window.within(lo, hi)):
                starts, texts = _chunk_texts(blob, time_keys, value_keys, numeric)
                a, b = int(np.searchsorted(starts, lo)), int(np.searchsorted(starts, hi))
                items += texts[a:b]
            if len(items) == (hi - lo) // self.granularity.seconds:
                if self.reverse:
                    items.reverse()
                return ("[" + ",".join(items) + "]").encode()
        return b"[" + b",".join(self.fetch_json(offset, limit, batch_size)) + b"]"

    def count(self, offset: int, limit: int | None) -> int:
        count = max(0, self.total - offset)
        return count if limit is None else min(count, limit)


@functools.lru_cache(maxsize=128)
def _chunk_texts(
    blob: bytes,
    time_keys: tuple[str, ...] | None,
    value_keys: tuple[str, ...] | None,
    numeric: bool,
) -> tuple[np.ndarray, list[str]]:
    """``(bucket starts, datapoint JSON texts)`` of a bucket chunk with these keys, by the
    rules of :mod:`..jsonformat`, made column by column. Cached by the chunk's bytes (chunks
    are immutable: the same bytes always give the same texts); 128 chunks of up to 1,024
    buckets hold at most about 20 MB of text per process."""
    names = [f"t{k}" for k in time_keys or ()] + [f"v{k}" for k in value_keys or ()]
    starts, columns = decode_buckets(blob, names)
    texts = []
    for key in time_keys or ():
        column = columns[f"t{key}"]
        texts.append(
            timestamp_texts(column)
            if key in TIMESTAMP_TIME_KEYS
            else json_texts(as_list(column), True)
        )
    for key in value_keys or ():
        values = as_list(columns[f"v{key}"])
        texts.append(json_texts(values, numeric and key not in TEXT_VALUE_KEYS))
    template = datapoint_template(
        None if time_keys is None else object_template(time_keys, "%s"),
        None if value_keys is None else object_template(value_keys, "%s"),
    )
    rows = zip(*texts) if texts else [()] * len(starts)
    starts.setflags(write=False)
    return starts, [template % row for row in rows]
