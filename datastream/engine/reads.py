"""Reading datapoints: a :class:`DataQuery` becomes a raw or a bucket result source."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
from collections.abc import Iterator
from typing import Any

from ..constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from ..downsamplers import empty_time, empty_value
from ..granularity import UTC, GranularityType
from ..jsonformat import dumps
from ..limits import MAX_SECONDS, MIN_SECONDS
from ..results import Datapoints
from ..storage import Storage, StreamRecord
from ..validation import bound_seconds
from ..values import decode_value
from . import rawjson
from .buckets import DATETIME_KEYS, time_out, with_gaps
from .rawcounts import count_raw, seek_raw
from .records import granularity_of, high_accuracy, value_keys

__all__ = ["BucketQuery", "DataQuery", "RawQuery", "time_range"]


@dataclasses.dataclass(frozen=True)
class DataQuery:
    """What ``get_data`` asks for, already validated by the facade.

    Exactly one of ``start``/``start_exclusive`` is set; at most one of ``end``/
    ``end_exclusive``. Downsampler lists of ``None`` mean all of them.
    """

    stream_id: str
    granularity: GranularityType
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    start_exclusive: datetime.datetime | None = None
    end_exclusive: datetime.datetime | None = None
    reverse: bool = False
    value_downsamplers: list[str] | None = None
    time_downsamplers: list[str] | None = None


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
    else:
        lo = granularity.round_seconds(bound_seconds(query.start_exclusive, "start_exclusive"))
        lo += size if granularity != highest else 1
    if query.end is not None:
        hi = bound_seconds(query.end, "end") + 1
    elif query.end_exclusive is not None:
        hi = bound_seconds(query.end_exclusive, "end_exclusive")
    else:
        hi = MAX_SECONDS + 86400
    lo, hi = max(lo, MIN_SECONDS), min(hi, MAX_SECONDS + 1)
    if granularity != highest:
        # A bucket is included when its start lies in [lo, hi).
        hi = granularity.round_seconds(hi - 1) + size if hi > lo else lo
    return lo, hi


def get_data(storage: Storage, record: StreamRecord, query: DataQuery) -> Datapoints:
    """The datapoints ``query`` selects from the stream of ``record``."""
    highest = granularity_of(record)
    granularity = min(query.granularity, highest)
    lo, hi = time_range(query, granularity, highest)
    if granularity == highest:
        return Datapoints(RawQuery(storage, record, lo, hi, query.reverse))
    return Datapoints(
        BucketQuery(
            storage, record, granularity, lo, hi, query.reverse,
            query.value_downsamplers, query.time_downsamplers,
        )
    )


class RawQuery:
    """Raw datapoints of one stream in ``[lo, hi)``."""

    def __init__(
        self, storage: Storage, record: StreamRecord, lo: int, hi: int, reverse: bool
    ) -> None:
        self.storage, self.record = storage, record
        self.lo, self.hi, self.reverse = lo, hi, reverse

    def rows(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator:
        if self.hi <= self.lo:
            return iter(())
        lo, hi, offset = seek_raw(
            self.storage, self.record, self.lo, self.hi, offset, self.reverse
        )
        return self.storage.fetch_datapoints(
            self.record, lo, hi, self.reverse, offset, limit, batch_size
        )

    def fetch(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator[dict]:
        at = datetime.datetime.fromtimestamp
        rows = self.rows(offset, limit, batch_size)
        if high_accuracy(self.record):
            return ({"t": at(t, UTC), "v": decode_value(v, True)} for t, v in rows)
        return ({"t": at(t, UTC), "v": v} for t, v in rows)

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
        total = max(0, count_raw(self.storage, self.record, self.lo, self.hi) - offset)
        return total if limit is None else min(total, limit)


class BucketQuery:
    """Downsampled datapoints of one stream: every bucket start in ``[lo, hi)`` that exists.

    Buckets are stored only when a datapoint fell into them; the empty ones between a stream's
    first datapoint and ``downsampled_until`` are produced here (``c = 0``, other values
    ``None``, times at the bucket middle).
    """

    def __init__(
        self,
        storage: Storage,
        record: StreamRecord,
        granularity: GranularityType,
        lo: int,
        hi: int,
        reverse: bool,
        value_downsamplers: list[str] | None,
        time_downsamplers: list[str] | None,
    ) -> None:
        self.storage, self.record, self.granularity = storage, record, granularity
        self.reverse = reverse
        size = granularity.seconds
        stored_keys = value_keys(record)
        if value_downsamplers is None:
            self.value_keys = stored_keys
        else:
            wanted = {VALUE_DOWNSAMPLERS[name] for name in value_downsamplers}
            self.value_keys = [k for k in stored_keys if k in wanted]
        self.no_value = value_downsamplers is not None and len(value_downsamplers) == 0
        if time_downsamplers is None:
            self.time_keys = list(TIME_DOWNSAMPLERS.values())
        else:
            wanted = {TIME_DOWNSAMPLERS[name] for name in time_downsamplers}
            self.time_keys = [k for k in TIME_DOWNSAMPLERS.values() if k in wanted]
        self.no_time = time_downsamplers is not None and len(time_downsamplers) == 0
        done = record["downsampled_until"].get(granularity.name)
        if done is None or record["earliest_datapoint"] is None or not stored_keys:
            self.first, self.total = lo, 0
            return
        first = max(lo, granularity.round_seconds(record["earliest_datapoint"]))
        last = min(hi, done)
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
        stored = self.storage.fetch_buckets(self.record, self.granularity, lo, hi, self.reverse)
        if high_accuracy(self.record):
            stored = ((b, decode_value(v, True), t) for b, v, t in stored)
        keys, size = value_keys(self.record), self.granularity.seconds
        return with_gaps(
            stored, lo, hi, size, self.reverse,
            lambda bucket: (bucket, empty_value(keys), empty_time(bucket, size)),
        )

    def fetch(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator[dict]:
        lo, hi = self._window(offset, limit)
        if hi <= lo:
            return
        no_value, no_time = self.no_value, self.no_time
        value_keys_ = [] if no_value else self.value_keys
        time_keys = [] if no_time else self.time_keys
        size = self.granularity.seconds
        stored = self.storage.fetch_buckets(
            self.record, self.granularity, lo, hi, self.reverse, value_keys_, time_keys
        )
        exact = self.storage.capabilities.projected_buckets
        accurate = high_accuracy(self.record)
        datetime_keys = [k for k in DATETIME_KEYS if k in time_keys]
        at = datetime.datetime.fromtimestamp
        # Buckets without a stored row come through as (start, None, None).
        rows = with_gaps(stored, lo, hi, size, self.reverse, lambda b: (b, None, None))
        if exact and not accurate and not no_time and not no_value:
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
            if not exact:
                value = {k: value[k] for k in value_keys_ if k in value}
                time = {k: time.get(k) for k in time_keys}
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
        """Datapoints as JSON text, produced by the storage where it can."""
        lo, hi = self._window(offset, limit)
        if not self._json_in_storage(lo, hi):
            yield from (dumps(datapoint) for datapoint in self.fetch(offset, limit, batch_size))
            return
        rows = self.storage.fetch_bucket_json(  # type: ignore[attr-defined]
            *self._json_arguments(lo, hi)
        )
        size = self.granularity.seconds
        for bucket, text in with_gaps(rows, lo, hi, size, self.reverse, lambda b: (b, None)):
            yield text if text is not None else dumps(self._empty(bucket))

    def _json_in_storage(self, lo: int, hi: int) -> bool:
        """Whether the storage writes the JSON of the window's buckets itself."""
        return hi > lo and not high_accuracy(self.record) and self.storage.capabilities.bucket_json

    def _json_arguments(self, lo: int, hi: int) -> tuple[Any, ...]:
        """The arguments of the storage's bucket JSON methods for ``[lo, hi)``."""
        return (
            self.record,
            self.granularity,
            lo,
            hi,
            self.reverse,
            None if self.no_value else self.value_keys,
            None if self.no_time else self.time_keys,
        )

    def fetch_json_array(self, offset: int, limit: int | None, batch_size: int | None) -> bytes:
        """The window as one JSON array; when no bucket in it is empty (the usual case), the
        storage writes the whole array, without a step per bucket in Python."""
        lo, hi = self._window(offset, limit)
        if self._json_in_storage(lo, hi):
            stored, array = self.storage.fetch_bucket_json_array(  # type: ignore[attr-defined]
                *self._json_arguments(lo, hi)
            )
            if stored == (hi - lo) // self.granularity.seconds and array is not None:
                return array
        return b"[" + b",".join(self.fetch_json(offset, limit, batch_size)) + b"]"

    def count(self, offset: int, limit: int | None) -> int:
        count = max(0, self.total - offset)
        return count if limit is None else min(count, limit)
