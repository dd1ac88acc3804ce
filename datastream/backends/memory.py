"""The reference storage: every stream and datapoint in Python dictionaries of this process.

``Backend(database_name=None, clock=None)`` is the smallest complete storage: the abstract
methods of :class:`~datastream.storage.BaseStorage`, a cheaper ``count_datapoints`` and
``switch_database``, nothing else (no tag index, no JSON written by the database). The engine's
own tests run on it, and it shows what a new storage has to do. Nothing survives the process.

Without a ``database_name`` a backend has a database of its own; backends given the same name
share one (as several processes share a database file), for as long as one of them uses it.

Units of work are serialised by the database's lock, which readers outside a unit take as
well. The first change a unit makes to a stream's record, datapoints or buckets keeps the value
it replaces; a unit whose block raises puts those back. Everything stored is a copy, and so is
everything read: neither the engine nor its callers can change the stored data in place.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import threading
import weakref
from bisect import bisect_left
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from ..granularity import GranularityType
from ..storage import BaseStorage, Bucket, BucketWindow, Clock, RawScan, StreamRecord, record_fields
from ..tagquery import Condition, matches

__all__ = ["Backend"]

_SECONDS = itemgetter(0)
_MISSING = object()


def _copy(value: Any) -> Any:
    """``value``, or a deep copy of it when it can be changed in place."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


class _Database:
    """The data of one memory database, and the lock of its units of work."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: stream id -> (creation number, stored fields); replaced, never changed in place.
        self.records: dict[str, tuple[int, dict[str, Any]]] = {}
        #: stream id -> [(seconds, insertion number, value)], ascending.
        self.datapoints: dict[str, list[tuple[int, int, Any]]] = {}
        #: (stream id, granularity) -> {bucket start: (v, t)}.
        self.buckets: dict[tuple[str, GranularityType], dict[int, tuple[dict, dict]]] = {}
        self.numbers = itertools.count(1)
        #: In a unit (one at a time: it holds the lock), ``(table, key) -> (table, key, value
        #: before the unit's first change)``.
        self.saved: dict[tuple[int, Any], tuple[dict, Any, Any]] | None = None


#: Named databases, alive while a backend uses them.
_DATABASES: weakref.WeakValueDictionary[str, _Database] = weakref.WeakValueDictionary()
_DATABASES_LOCK = threading.Lock()


def _database(name: str | None) -> _Database:
    if name is None:
        return _Database()
    with _DATABASES_LOCK:
        database = _DATABASES.get(name)
        if database is None:
            database = _DATABASES[name] = _Database()
        return database


class Backend(BaseStorage):
    """Datastream storage in memory, for tests and as the reference storage.

    Backends with the same ``database_name`` share their data (``None``: a database of its
    own). ``clock`` is the default clock of a :class:`~datastream.Datastream` built on it.
    """

    def __init__(self, database_name: str | None = None, clock: Clock | None = None) -> None:
        if clock is not None:
            if not callable(clock):
                raise TypeError(f"clock must be a callable returning a datetime, not {clock!r}")
            self.clock = clock
        if database_name is not None and not isinstance(database_name, str):
            raise ValueError(f"database_name must be a string or None, not {database_name!r}")
        self.switch_database(database_name)

    def __repr__(self) -> str:
        return f"<datastream.backends.memory.Backend {self.database_name!r}>"

    def switch_database(self, database_name: str | None) -> None:
        """Use the memory database ``database_name`` from now on (``None``: a new one)."""
        self.database_name = database_name
        database = _database(database_name)
        self._database = database
        self._lock = database.lock
        self._records, self._datapoints = database.records, database.datapoints
        self._buckets = database.buckets

    # Units of work ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Hold the database's lock for the block; undo its changes if it raises."""
        database = self._database
        with database.lock:
            database.saved = saved = {}
            try:
                yield
            except BaseException:
                for table, key, value in saved.values():
                    if value is _MISSING:
                        table.pop(key, None)
                    else:
                        table[key] = value
                raise
            finally:
                database.saved = None

    def _keep(self, table: dict, key: Any) -> None:
        """Keep ``table[key]`` as it was before the current unit first changes it."""
        saved = self._database.saved
        if saved is None or (id(table), key) in saved:
            return
        value = table.get(key, _MISSING)
        if isinstance(value, list | dict):
            value = value.copy()  # the items themselves are replaced, never changed
        saved[(id(table), key)] = (table, key, value)

    # Stream records --------------------------------------------------------------------------

    def _record(self, stream_id: str) -> StreamRecord:
        fields = copy.deepcopy(self._records[stream_id][1])
        fields["stream_id"] = stream_id
        return fields  # type: ignore[return-value]

    def load_streams(self, stream_ids: list[str]) -> list[StreamRecord]:
        with self._lock:
            return [self._record(s) for s in dict.fromkeys(stream_ids) if s in self._records]

    def list_streams(
        self, conditions: list[Condition], offset: int = 0, limit: int | None = None
    ) -> list[StreamRecord]:
        with self._lock:
            ordered = sorted(self._records.items(), key=lambda item: item[1][0])
            found = [s for s, (_n, fields) in ordered if matches(conditions, fields["tags"])]
            stop = None if limit is None else offset + limit  # beyond sys.maxsize, too
            return [self._record(s) for s in found[offset:stop]]

    def insert_stream(self, record: StreamRecord) -> None:
        with self._lock:
            stream_id = record["stream_id"]
            self._keep(self._records, stream_id)
            number = next(self._database.numbers)
            self._records[stream_id] = (number, copy.deepcopy(record_fields(record)))

    def update_streams(self, changes: list[tuple[StreamRecord, dict[str, Any]]]) -> None:
        with self._lock:
            for record, fields in changes:
                stream_id = record["stream_id"]
                number, stored = self._records[stream_id]
                self._keep(self._records, stream_id)
                self._records[stream_id] = (number, {**stored, **copy.deepcopy(fields)})

    def delete_streams(self, stream_ids: list[str] | None) -> None:
        with self._lock:
            doomed = set(self._records if stream_ids is None else stream_ids)
            for stream_id in doomed & self._records.keys():
                self._keep(self._records, stream_id)
                del self._records[stream_id]
                self._delete_data(stream_id)

    # Raw datapoints --------------------------------------------------------------------------

    def insert_datapoints(self, rows: list[tuple[StreamRecord, int, Any]]) -> None:
        with self._lock:
            for record, seconds, value in rows:
                stream_id = record["stream_id"]
                self._keep(self._datapoints, stream_id)
                points = self._datapoints.setdefault(stream_id, [])
                item = (seconds, next(self._database.numbers), _copy(value))
                if not points or points[-1][0] <= seconds:
                    points.append(item)
                else:  # into the past: after every datapoint of the same second
                    points.insert(bisect_left(points, seconds + 1, key=_SECONDS), item)

    def delete_datapoints(self, record: StreamRecord) -> None:
        with self._lock:
            self._delete_data(record["stream_id"])

    def _delete_data(self, stream_id: str) -> None:
        """Remove the raw and downsampled datapoints of one stream."""
        for table, key in [
            (self._datapoints, stream_id),
            *((self._buckets, key) for key in self._buckets if key[0] == stream_id),
        ]:
            self._keep(table, key)
            table.pop(key, None)

    def _range(self, stream_id: str, lo: int, hi: int) -> list[tuple[int, int, Any]]:
        points = self._datapoints.get(stream_id, [])
        return points[bisect_left(points, lo, key=_SECONDS) : bisect_left(points, hi, key=_SECONDS)]

    def fetch_datapoints(self, scan: RawScan) -> Iterator[tuple[int, Any]]:
        with self._lock:
            points = self._range(scan.record["stream_id"], scan.lo, scan.hi)
        if scan.reverse:
            points.reverse()
        stop = None if scan.limit is None else scan.offset + scan.limit
        return ((t, _copy(v)) for t, _n, v in points[scan.offset : stop])

    def count_datapoints(self, record: StreamRecord, lo: int, hi: int) -> int:
        with self._lock:
            return len(self._range(record["stream_id"], lo, hi))

    # Downsampled buckets ---------------------------------------------------------------------

    def upsert_buckets(
        self, record: StreamRecord, granularity: GranularityType, buckets: list[Bucket]
    ) -> None:
        if not buckets:
            return
        key = (record["stream_id"], granularity)
        with self._lock:
            self._keep(self._buckets, key)
            stored = self._buckets.setdefault(key, {})
            for start, value, time in buckets:
                stored[start] = (copy.deepcopy(value), dict(time))

    def fetch_buckets(self, window: BucketWindow) -> Iterator[Bucket]:
        with self._lock:
            stored = self._buckets.get((window.record["stream_id"], window.granularity), {})
            starts = sorted(
                (start for start in stored if window.lo <= start < window.hi),
                reverse=window.reverse,
            )
            rows = [(start, *stored[start]) for start in starts]
        value_keys, time_keys = window.value_keys or (), window.time_keys or ()
        return (
            (
                start,
                {key: _copy(value[key]) for key in value_keys if key in value},
                {key: time.get(key) for key in time_keys},
            )
            for start, value, time in rows
        )
