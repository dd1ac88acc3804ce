"""Raw datapoints and downsampled buckets on a storage's chunks and write heads.

The engine's one view of stored data: appends, reads, counts and buckets, written once on top
of the chunk primitives of :class:`~datastream.storage.BaseStorage`.

Layout rules (every storage the same):

* A stream's raw datapoints are in *chunks* (series :data:`~datastream.storage.RAW_SERIES`)
  and in its *write head* (one stored row per datapoint). Chunks of a series never overlap in
  time and no two start in the same second; every head datapoint is at or after the last
  chunk's last second (``record['sealed_until']``). So the stream's datapoints, in order, are
  its chunks in order, then its head.
* Appends go to the head. When the head would reach :data:`HEAD_POINTS`, it is *sealed*: its
  datapoints and the new ones are packed into chunks of at most :data:`CHUNK_POINTS` (merged
  into the last chunk while it has room). Downsampling seals what it has passed once that is
  at least :data:`SEAL_AFTER_DOWNSAMPLING` datapoints. A batch of many datapoints for one
  stream therefore goes straight into chunks, and a batch over many streams costs one head row
  per datapoint.
* An append into the past (before ``sealed_until``) rewrites the chunk it falls in.
* Buckets of each granularity are chunks of their own series: bucket starts and one column per
  downsampler key; :meth:`ChunkStore.upsert_buckets` merges new buckets into them.

Record fields this module changes (the caller stores them): ``head_count`` and
``sealed_until`` (:data:`LAYOUT_FIELDS`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from ..constants import VALUE_DOWNSAMPLERS
from ..downsamplers import TIME_KEYS
from ..granularity import GranularityType
from ..limits import MAX_BOUND_SECONDS, MIN_BOUND_SECONDS
from ..storage import (
    RAW_SERIES,
    Bucket,
    BucketWindow,
    ChunkInfo,
    NewChunk,
    RawScan,
    Storage,
    StreamRecord,
    bucket_series,
)
from .chunks import as_list, decode_buckets, decode_raw, encode_buckets, encode_raw

__all__ = [
    "BUCKETS_PER_CHUNK",
    "CHUNK_POINTS",
    "HEAD_POINTS",
    "LAYOUT_FIELDS",
    "SEAL_AFTER_DOWNSAMPLING",
    "ChunkStore",
    "RawPlan",
]

#: Most datapoints one raw chunk holds (more only when one second holds more).
CHUNK_POINTS = 8192
#: A head reaching this many datapoints is sealed into chunks.
HEAD_POINTS = 1024
#: Downsampling seals the head datapoints it has passed once there are this many.
SEAL_AFTER_DOWNSAMPLING = 256
#: Most buckets one bucket chunk holds.
BUCKETS_PER_CHUNK = 1024
#: Bucket chunks one read decodes at a time.
BUCKET_CHUNKS_PER_READ = 16

#: The record fields the layout keeps (changed by appends, seals and deletions).
LAYOUT_FIELDS = ("head_count", "sealed_until")

_ALL = (MIN_BOUND_SECONDS, MAX_BOUND_SECONDS + 1)


def _pack(times: Any, size: int) -> list[tuple[int, int]]:
    """``(start, end)`` index ranges cutting a run into chunks of about ``size``: a chunk
    ends only where the second changes from its own first second (so no two chunks start in
    the same second)."""
    ranges = []
    start, count = 0, len(times)
    while start < count:
        end = min(start + size, count)
        if end < count and times[end] == times[start]:
            end = int(np.searchsorted(times, times[start], "right"))
        ranges.append((start, end))
        start = end
    return ranges


def _raw_chunks(times: Any, values: Any) -> list[NewChunk]:
    """Raw chunks of a run (lists or arrays), cut by :func:`_pack`."""
    return [
        NewChunk(int(times[a]), int(times[b - 1]), b - a, encode_raw(times[a:b], values[a:b]))
        for a, b in _pack(times, CHUNK_POINTS)
    ]


#: Reads made again when a chunk was rewritten under them (storages without snapshots).
_REREADS = 5


class RawPlan(NamedTuple):
    """Where a window of raw datapoints is (:meth:`ChunkStore.raw_blobs`): ``chunks`` as
    ``(chunk bytes, first index, end index, decoded columns or None)`` in order, then the
    head's ``(seconds, value)`` rows, and how many datapoints the time range holds in all."""

    chunks: list[tuple[bytes, int, int, tuple[np.ndarray, Any] | None]]
    head: list[tuple[int, Any]]
    total: int


class _Rewritten(Exception):
    """A chunk listed by the index was gone when its bytes were read."""


def _found(data: dict[Any, bytes], ids: list[Any]) -> dict[Any, bytes]:
    """``data``, which must hold every one of ``ids``."""
    if len(data) < len(set(ids)):
        raise _Rewritten
    return data


def _concatenate(parts: list[Any]) -> np.ndarray | list:
    """Value columns joined: one array when every part is an array of one dtype."""
    if all(isinstance(p, np.ndarray) for p in parts) and len({p.dtype for p in parts}) == 1:
        return np.concatenate(parts)
    joined: list[Any] = []
    for part in parts:
        joined += part.tolist() if isinstance(part, np.ndarray) else part
    return joined


class ChunkStore:
    """Raw datapoints and buckets of streams, on ``storage``'s chunks and heads."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # Appends (inside a unit of work) ---------------------------------------------------------

    def insert_datapoints(self, rows: list[tuple[StreamRecord, int, Any]]) -> None:
        """Store raw datapoints ``(record, seconds, stored value)`` in the given order,
        updating each record's :data:`LAYOUT_FIELDS`."""
        if not rows:
            return
        first = rows[0][0]
        if all(row[0] is first for row in rows):
            groups = {first["stream_id"]: (first, rows)}
        else:
            groups = {}
            for row in rows:
                group = groups.get(row[0]["stream_id"])
                if group is None:
                    groups[row[0]["stream_id"]] = (row[0], [row])
                else:
                    group[1].append(row)
        head_rows: list[tuple[StreamRecord, int, Any]] = []
        for record, stream_rows in groups.values():
            sealed = record.get("sealed_until")
            if sealed is not None and any(row[1] < sealed for row in stream_rows):
                past = [(s, v) for _r, s, v in stream_rows if s < sealed]
                self._insert_past(record, past)
                stream_rows = [row for row in stream_rows if row[1] >= sealed]
            if not stream_rows:
                continue
            held = record.get("head_count") or 0
            if held + len(stream_rows) >= HEAD_POINTS:
                self._seal(record, [(s, v) for _r, s, v in stream_rows])
            else:
                record["head_count"] = held + len(stream_rows)
                head_rows.extend(stream_rows)
        if head_rows:
            self.storage.insert_datapoints(head_rows)

    def append_columns(
        self, record: StreamRecord, times: np.ndarray, values: np.ndarray | list
    ) -> None:
        """Store datapoints given as columns (times ascending when they follow the stream's
        data), updating the record's :data:`LAYOUT_FIELDS`: straight into chunks, without a
        Python step per datapoint, unless they are few or go into the past."""
        sealed = record.get("sealed_until")
        held = record.get("head_count") or 0
        ascending = len(times) < 2 or bool((np.diff(times) >= 0).all())
        if (
            not ascending
            or (sealed is not None and int(times[0]) < sealed)
            or held + len(times) < HEAD_POINTS
        ):
            listed = values.tolist() if isinstance(values, np.ndarray) else values
            self.insert_datapoints([(record, t, v) for t, v in zip(times.tolist(), listed)])
            return
        head = self._head(record)
        if head and int(times[0]) < head[-1][0]:
            listed = values.tolist() if isinstance(values, np.ndarray) else values
            self._seal(record, list(zip(times.tolist(), listed)), head=head)
            return
        if head:
            times = np.concatenate([np.array([row[0] for row in head], np.int64), times])
            values = _concatenate([[row[1] for row in head], values])
        self._write_sealed(record, times, values, head, None, 0)

    def _last_chunk(self, record: StreamRecord) -> ChunkInfo | None:
        sealed = record.get("sealed_until")
        if sealed is None:
            return None
        chunks = self.storage.chunk_index(record, RAW_SERIES, sealed, _ALL[1])
        return chunks[-1] if chunks else None

    def _head(self, record: StreamRecord) -> list[tuple[int, Any]]:
        """The stream's head (not read when the record says it is empty)."""
        return self.storage.fetch_head(record) if record.get("head_count", 1) else []

    def _seal(
        self,
        record: StreamRecord,
        extra: list[tuple[int, Any]],
        before: int | None = None,
        head: list[tuple[int, Any]] | None = None,
    ) -> None:
        """Move the head's datapoints (those before ``before``), then ``extra``, into chunks
        (``head``: the head, when the caller has read it already)."""
        if head is None:
            head = self.storage.fetch_head(record)
        kept = 0
        if before is not None:
            cut = bisect.bisect_left(head, before, key=lambda row: row[0])
            head, kept = head[:cut], len(head) - cut
        rows = head + extra
        if extra and head and extra[0][0] < head[-1][0]:
            rows.sort(key=lambda row: row[0])  # stable: insertion order within a second
        if rows:
            times = [row[0] for row in rows]
            self._write_sealed(record, times, [row[1] for row in rows], head, before, kept)

    def _write_sealed(
        self,
        record: StreamRecord,
        times: Any,
        values: Any,
        head: list[tuple[int, Any]],
        before: int | None,
        kept: int,
    ) -> None:
        """Write a run of datapoints (lists or arrays, after every chunk) as sealed chunks,
        merged into the last chunk when it has room (or starts in the run's first second, so
        that no two chunks start in one second); then drop the sealed ``head`` rows (those
        before ``before``), ``kept`` staying."""
        remove = []
        last = self._last_chunk(record)
        if last is not None and (last.count < CHUNK_POINTS or last.first == int(times[0])):
            old_times, old_values = decode_raw(self.storage.chunk_data([last.id])[last.id])
            times = np.concatenate([old_times, np.asarray(times, np.int64)])
            values = _concatenate([old_values, values])
            remove.append(last.id)
        self.storage.write_chunks(record, RAW_SERIES, remove, _raw_chunks(times, values))
        if head:
            self.storage.clear_head(record, before)
        record["head_count"] = kept
        record["sealed_until"] = int(times[-1])

    def seal_passed(self, record: StreamRecord, before: int) -> bool:
        """Seal the head's datapoints before ``before`` (passed by downsampling) when there
        are at least :data:`SEAL_AFTER_DOWNSAMPLING`; whether it did."""
        if (record.get("head_count") or 0) < SEAL_AFTER_DOWNSAMPLING:
            return False
        head = self.storage.fetch_head(record)
        passed = bisect.bisect_left(head, before, key=lambda row: row[0])
        if passed < SEAL_AFTER_DOWNSAMPLING:
            return False
        self._seal(record, [], before, head)
        return True

    def _insert_past(self, record: StreamRecord, rows: list[tuple[int, Any]]) -> None:
        """Insert datapoints before ``sealed_until`` into the chunks they fall in."""
        chunks = self.storage.chunk_index(record, RAW_SERIES, *_ALL)
        firsts = [chunk.first for chunk in chunks]
        targets: dict[int, list[tuple[int, Any]]] = {}
        for row in rows:
            index = max(bisect.bisect_right(firsts, row[0]) - 1, 0)
            targets.setdefault(index, []).append(row)
        # A chunk ending in the second the next one starts is rewritten with it (so that no
        # new chunk starts in that second beside the next one).
        groups: list[list[int]] = []
        for index in sorted(targets):
            group = [index]
            while group[-1] + 1 < len(chunks) and chunks[group[-1]].last == firsts[group[-1] + 1]:
                group.append(group[-1] + 1)
            if groups and groups[-1][-1] >= group[0]:
                groups[-1] = sorted(set(groups[-1]) | set(group))
            else:
                groups.append(group)
        data = self.storage.chunk_data([chunks[i].id for group in groups for i in group])
        for group in groups:
            times: list[int] = []
            values: list[Any] = []
            for i in group:
                chunk_times, chunk_values = decode_raw(data[chunks[i].id])
                times += as_list(chunk_times)
                values += as_list(chunk_values)  # type: ignore[arg-type]
            for i in group:
                for seconds, value in targets.get(i, ()):
                    at = bisect.bisect_right(times, seconds)
                    times.insert(at, seconds)
                    values.insert(at, value)
            self.storage.write_chunks(
                record, RAW_SERIES, [chunks[i].id for i in group], _raw_chunks(times, values)
            )

    def delete_before(self, record: StreamRecord, series: int, before: int) -> int:
        """Drop the datapoints (raw series) or buckets of ``series`` before the second
        ``before``: whole chunks where they lie entirely before it, the one it cuts rewritten,
        and the head's; returns how many were dropped. Updates :data:`LAYOUT_FIELDS`."""
        storage = self.storage
        chunks = storage.chunk_index(record, series, MIN_BOUND_SECONDS, before)
        dropped = sum(c.count for c in chunks if c.last < before)
        cut = [c for c in chunks if c.first < before <= c.last]
        storage.delete_chunks(record, series, before)
        for chunk in cut:
            blob = storage.chunk_data([chunk.id])[chunk.id]
            if series == RAW_SERIES:
                times, values = decode_raw(blob)
                at = int(np.searchsorted(times, before))
                kept = _raw_chunks(times[at:], values[at:])  # type: ignore[index]
            else:
                starts, columns = decode_buckets(blob)
                at = int(np.searchsorted(starts, before))
                piece = starts[at:]
                kept = [NewChunk(int(piece[0]), int(piece[-1]), len(piece), encode_buckets(
                    piece, {name: column[at:] for name, column in columns.items()}))]
            storage.write_chunks(record, series, [chunk.id], kept)
            dropped += at
        if series == RAW_SERIES:
            head = self._head(record)
            passed = bisect.bisect_left(head, before, key=lambda row: row[0])
            if passed:
                storage.clear_head(record, before)
                record["head_count"] = len(head) - passed
                dropped += passed
            last = self._last_chunk(record)
            if last is None:
                remaining = storage.chunk_index(record, RAW_SERIES, *_ALL)
                record["sealed_until"] = remaining[-1].last if remaining else None
        return dropped

    def first_time(self, record: StreamRecord, series: int) -> int | None:
        """The second of the first datapoint (bucket start) of ``series``, or ``None``."""
        chunks = self.storage.chunk_index(record, series, *_ALL)
        first = chunks[0].first if chunks else None
        if series == RAW_SERIES:
            head = self._head(record)
            if head and (first is None or head[0][0] < first):
                first = head[0][0]
        return first

    def delete_datapoints(self, record: StreamRecord) -> None:
        """Remove every datapoint (raw and downsampled) of one stream."""
        self.storage.delete_chunks(record)
        self.storage.clear_head(record)
        record["head_count"] = 0
        record["sealed_until"] = None

    # Raw reads -------------------------------------------------------------------------------

    def _parts(
        self, record: StreamRecord, lo: int, hi: int, start: int, stop: int | None
    ) -> tuple[list[tuple[Any, Any]], int]:
        """The datapoints at positions ``[start, stop)`` of ``[lo, hi)`` (``stop=None``: to
        the end), read in one snapshot, as ``(times array, values)`` parts in order, with how
        many ``[lo, hi)`` holds in all."""
        plan = self._plan(record, lo, hi, start, stop)
        parts: list[tuple[Any, Any]] = []
        for blob, a, b, decoded in plan.chunks:
            times, values = decoded if decoded is not None else decode_raw(blob)
            parts.append((times[a:b], values[a:b]))  # type: ignore[index]
        if plan.head:
            rows = plan.head
            parts.append((np.array([r[0] for r in rows], np.int64), [r[1] for r in rows]))
        return parts, plan.total

    def raw_blobs(
        self, record: StreamRecord, lo: int, hi: int, start: int, stop: int | None
    ) -> RawPlan:
        """Where the datapoints at positions ``[start, stop)`` of ``[lo, hi)`` are, read in one
        snapshot: slices of chunks (their bytes, for readers that keep what they made of a
        chunk; chunks never change) and the head's rows."""
        return self._plan(record, lo, hi, start, stop)

    def _plan(
        self, record: StreamRecord, lo: int, hi: int, start: int, stop: int | None
    ) -> RawPlan:
        """:meth:`_read_plan`, made again when a storage without snapshots (MongoDB without
        transactions) rewrote a listed chunk between the index and its bytes."""
        for _attempt in range(_REREADS):
            try:
                return self._read_plan(record, lo, hi, start, stop)
            except _Rewritten:
                continue
        return self._read_plan(record, lo, hi, start, stop)

    def _read_plan(
        self, record: StreamRecord, lo: int, hi: int, start: int, stop: int | None
    ) -> RawPlan:
        storage = self.storage
        with storage.read_snapshot():
            chunks = storage.chunk_index(record, RAW_SERIES, lo, hi)
            head = self._head(record)
            # Positions of whole chunks come from their counts; edge chunks are decoded.
            plan: list[tuple[ChunkInfo, int | None]] = []  # (chunk, count inside or None)
            for chunk in chunks:
                inside = lo <= chunk.first and chunk.last < hi
                plan.append((chunk, chunk.count if inside else None))
            edges = [chunk.id for chunk, count in plan if count is None]
            data = _found(storage.chunk_data(edges), edges) if edges else {}
            decoded: dict[Any, tuple[np.ndarray, Any]] = {}
            cuts: dict[Any, tuple[int, int]] = {}  # the part of an edge chunk in [lo, hi)
            for chunk_id in edges:
                decoded[chunk_id] = times, _values = decode_raw(data[chunk_id])
                cuts[chunk_id] = int(np.searchsorted(times, lo)), int(np.searchsorted(times, hi))
            counts = [cuts[c.id][1] - cuts[c.id][0] if n is None else n for c, n in plan]
            head_lo = bisect.bisect_left(head, lo, key=lambda row: row[0])
            head_hi = bisect.bisect_left(head, hi, key=lambda row: row[0])
            total = sum(counts) + head_hi - head_lo
            end = total if stop is None else min(stop, total)
            wanted = []
            position = 0
            for (chunk, _n), count in zip(plan, counts):
                if position + count > start and position < end:
                    wanted.append((chunk, position, count))
                position += count
            missing = [c.id for c, _p, _n in wanted if c.id not in decoded]
            if missing:
                data.update(_found(storage.chunk_data(missing), missing))
        parts = []
        for chunk, position, count in wanted:
            cut = cuts.get(chunk.id, (0, count))[0]
            a = cut + max(start - position, 0)
            b = cut + min(end - position, count)
            parts.append((bytes(data[chunk.id]), a, b, decoded.get(chunk.id)))
        head_start = sum(counts)
        rows: list[tuple[int, Any]] = []
        if end > head_start:
            rows = head[max(start - head_start, 0) + head_lo : end - head_start + head_lo]
        return RawPlan(parts, rows, total)

    def _window(
        self, record: StreamRecord, lo: int, hi: int, start: int, stop: int | None
    ) -> tuple[list[int], list[Any], int]:
        """The datapoints at positions ``[start, stop)`` of ``[lo, hi)`` as two lists, with
        how many ``[lo, hi)`` holds in all."""
        parts, total = self._parts(record, lo, hi, start, stop)
        times_out: list[int] = []
        values_out: list[Any] = []
        for times, values in parts:
            times_out += times.tolist()
            values_out += as_list(values)
        return times_out, values_out, total

    def columns(
        self, record: StreamRecord, lo: int, hi: int, start: int, stop: int | None
    ) -> tuple[np.ndarray, np.ndarray | list]:
        """The datapoints at positions ``[start, stop)`` of ``[lo, hi)`` as two columns: int64
        seconds, and the values (an array when every part decoded to one of one dtype)."""
        parts, _total = self._parts(record, lo, hi, start, stop)
        if not parts:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        times = np.concatenate([p[0] for p in parts])
        return times, _concatenate([p[1] for p in parts])

    def scan_datapoints(
        self, record: StreamRecord, lo: int, hi: int
    ) -> tuple[list[int], list[Any]]:
        """All raw datapoints with ``lo <= seconds < hi`` as two aligned, ascending lists."""
        times, values, _total = self._window(record, lo, hi, 0, None)
        return times, values

    def count_datapoints(self, record: StreamRecord, lo: int, hi: int) -> int:
        """Number of raw datapoints with ``lo <= seconds < hi`` (chunk counts, edges decoded)."""
        storage = self.storage
        with storage.read_snapshot():
            chunks = storage.chunk_index(record, RAW_SERIES, lo, hi)
            head = self._head(record)
            edges = [c.id for c in chunks if not (lo <= c.first and c.last < hi)]
            data = storage.chunk_data(edges) if edges else {}
        count = sum(c.count for c in chunks if lo <= c.first and c.last < hi)
        for chunk_id in edges:
            times, _values = decode_raw(data[chunk_id], values=False)
            count += int(np.searchsorted(times, hi) - np.searchsorted(times, lo))
        return count + sum(1 for seconds, _v in head if lo <= seconds < hi)

    def fetch_datapoints(self, scan: RawScan) -> Iterator[tuple[int, Any]]:
        """``(seconds, stored value)`` of the raw datapoints ``scan`` selects, in its order.

        Read ``scan.batch`` datapoints at a time, each window in one snapshot; windows follow
        each other by position (a datapoint appended at the end during a long read moves no
        earlier position)."""
        record, lo, hi, offset, limit = scan.record, scan.lo, scan.hi, scan.offset, scan.limit
        size = scan.batch
        if scan.reverse:
            total = self.count_datapoints(record, lo, hi)
            end = total - offset
            stop_at = 0 if limit is None else max(end - limit, 0)
            while end > stop_at:
                start = max(end - size, stop_at)
                times, values, _total = self._window(record, lo, hi, start, end)
                if not times:
                    return
                yield from zip(reversed(times), reversed(values))
                end = start
            return
        position = offset
        stop = None if limit is None else offset + limit
        while stop is None or position < stop:
            end = position + size if stop is None else min(position + size, stop)
            times, values, total = self._window(record, lo, hi, position, end)
            yield from zip(times, values)
            position += len(times)
            if position >= total or not times:
                return

    # Buckets ---------------------------------------------------------------------------------

    def upsert_buckets(
        self, record: StreamRecord, granularity: GranularityType, buckets: list[Bucket]
    ) -> None:
        """Store downsampled buckets ``(start, v, t)`` (ascending), replacing existing ones."""
        if not buckets:
            return
        series = bucket_series(granularity)
        storage = self.storage
        first, last = buckets[0][0], buckets[-1][0]
        # The chunks the buckets fall in, and the one just before them while it has room
        # (looked for within one chunk's span: further away, a new chunk starts).
        near = storage.chunk_index(
            record, series, first - granularity.seconds * BUCKETS_PER_CHUNK, last + 1
        )
        merge = [c for c in near if c.last >= first]
        previous = [c for c in near if c.last < first][-1:]
        if previous and previous[0].count < BUCKETS_PER_CHUNK:
            merge = previous + merge
        value_keys = [VALUE_DOWNSAMPLERS[name] for name in record["value_downsamplers"]]
        names = [f"v{key}" for key in value_keys] + [f"t{key}" for key in TIME_KEYS]
        merged: dict[int, tuple[dict, dict]] = {}
        if merge:
            data = storage.chunk_data([c.id for c in merge])
            for chunk in merge:
                starts, columns = decode_buckets(data[chunk.id], names)
                lists = [as_list(columns[name]) for name in names]
                for index, start in enumerate(starts.tolist()):
                    merged[start] = (
                        {key: lists[k][index] for k, key in enumerate(value_keys)},
                        {key: lists[len(value_keys) + k][index]
                         for k, key in enumerate(TIME_KEYS)},
                    )
        for start, value, time in buckets:
            merged[start] = (value, time)
        starts = sorted(merged)
        add = []
        for a in range(0, len(starts), BUCKETS_PER_CHUNK):
            piece = starts[a : a + BUCKETS_PER_CHUNK]
            columns: dict[str, list[Any]] = {}
            for key in value_keys:
                columns[f"v{key}"] = [merged[s][0].get(key) for s in piece]
            for key in TIME_KEYS:
                columns[f"t{key}"] = [merged[s][1].get(key) for s in piece]
            add.append(NewChunk(piece[0], piece[-1], len(piece), encode_buckets(piece, columns)))
        storage.write_chunks(record, series, [c.id for c in merge], add)

    def fetch_buckets(self, window: BucketWindow) -> Iterator[Bucket]:
        """Stored buckets ``(start, v, t)`` of ``window``, with exactly its keys."""
        value_keys, time_keys = window.value_keys, window.time_keys
        names = [f"v{k}" for k in value_keys or ()] + [f"t{k}" for k in time_keys or ()]
        series = bucket_series(window.granularity)
        lo, hi = window.lo, window.hi
        while lo < hi:
            with self.storage.read_snapshot():
                chunks = self.storage.chunk_index(window.record, series, lo, hi)
                if not chunks:
                    return
                chunks = chunks[-BUCKET_CHUNKS_PER_READ:] if window.reverse else chunks[
                    :BUCKET_CHUNKS_PER_READ
                ]
                data = self.storage.chunk_data([c.id for c in chunks])
            if window.reverse:
                chunks.reverse()
            for chunk in chunks:
                yield from self._buckets(data[chunk.id], names, window, lo, hi)
            # Bucket starts are unique: the next read goes on from the last one read.
            if window.reverse:
                hi = chunks[-1].first
            else:
                lo = chunks[-1].last + 1

    def bucket_blobs(self, window: BucketWindow) -> list[bytes]:
        """The bytes of the bucket chunks of ``window``, ascending (read in one snapshot)."""
        with self.storage.read_snapshot():
            chunks = self.storage.chunk_index(
                window.record, bucket_series(window.granularity), window.lo, window.hi
            )
            data = self.storage.chunk_data([c.id for c in chunks]) if chunks else {}
        return [bytes(data[c.id]) for c in chunks if c.id in data]

    @staticmethod
    def _buckets(
        blob: bytes, names: list[str], window: BucketWindow, lo: int, hi: int
    ) -> Iterator[Bucket]:
        starts, columns = decode_buckets(blob, names)
        a, b = int(np.searchsorted(starts, lo)), int(np.searchsorted(starts, hi))
        starts_list = starts[a:b].tolist()
        value_keys, time_keys = window.value_keys or (), window.time_keys or ()
        value_lists = [as_list(columns[f"v{k}"])[a:b] for k in value_keys]
        time_lists = [as_list(columns[f"t{k}"])[a:b] for k in time_keys]
        rows = zip(
            starts_list,
            zip(*value_lists) if value_lists else [()] * len(starts_list),
            zip(*time_lists) if time_lists else [()] * len(starts_list),
        )
        items = [
            (start, dict(zip(value_keys, values)), dict(zip(time_keys, times)))
            for start, values, times in rows
        ]
        if window.reverse:
            items.reverse()
        yield from items
