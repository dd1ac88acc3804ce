"""The reference storage: every stream and datapoint in Python dictionaries of this process.

``Backend(database_name=None, clock=None)`` is the smallest complete storage: the abstract
methods of :class:`~datastream.storage.BaseStorage` and ``switch_database``, nothing else (no
tag index). The engine's
own tests run on it, and it shows what a new storage has to do. Nothing survives the process.

Without a ``database_name`` a backend has a database of its own; backends given the same name
share one (as several processes share a database file), for as long as one of them uses it.

Units of work are serialised by the database's lock, which readers outside a unit take as
well. The first change a unit makes to a stream's record, head or chunks keeps the value
it replaces; a unit whose block raises puts those back. Everything stored is a copy, and so is
everything read: neither the engine nor its callers can change the stored data in place.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import threading
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from ..storage import BaseStorage, ChunkInfo, Clock, NewChunk, StreamRecord, record_fields
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
        #: The write heads: stream id -> [(seconds, insertion number, value)], ascending.
        self.datapoints: dict[str, list[tuple[int, int, Any]]] = {}
        #: (stream id, series) -> [(chunk, bytes)] ordered by first; replaced, never changed.
        self.chunks: dict[tuple[str, int], list[tuple[ChunkInfo, bytes]]] = {}
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
        self._chunks = database.chunks

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

    def read_snapshot(self) -> contextlib.AbstractContextManager[Any]:
        """The database's lock: no unit changes anything while it is held."""
        return self._lock

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
                row = (seconds, next(self._database.numbers), _copy(value))
                if points and points[-1][0] > seconds:
                    points.insert(bisect_right(points, seconds, key=_SECONDS), row)
                else:
                    points.append(row)

    def fetch_head(self, record: StreamRecord) -> list[tuple[int, Any]]:
        with self._lock:
            points = self._datapoints.get(record["stream_id"], [])
            return [(seconds, _copy(value)) for seconds, _n, value in points]

    def clear_head(self, record: StreamRecord, before: int | None = None) -> None:
        with self._lock:
            stream_id = record["stream_id"]
            points = self._datapoints.get(stream_id)
            if not points:
                return
            self._keep(self._datapoints, stream_id)
            if before is None:
                del self._datapoints[stream_id]
            else:
                self._datapoints[stream_id] = points[bisect_left(points, before, key=_SECONDS) :]

    def _delete_data(self, stream_id: str) -> None:
        """Every datapoint of a deleted stream."""
        for table, key in [
            (self._datapoints, stream_id),
            *((self._chunks, key) for key in self._chunks if key[0] == stream_id),
        ]:
            self._keep(table, key)
            table.pop(key, None)

    # Chunks ----------------------------------------------------------------------------------

    def chunk_index(
        self, record: StreamRecord, series: int, lo: int, hi: int
    ) -> list[ChunkInfo]:
        with self._lock:
            chunks = self._chunks.get((record["stream_id"], series), [])
            return [c for c, _data in chunks if c.last >= lo and c.first < hi]

    def chunk_data(self, ids: list[Any]) -> dict[Any, bytes]:
        with self._lock:
            wanted = set(ids)
            return {
                chunk.id: data
                for chunks in self._chunks.values()
                for chunk, data in chunks
                if chunk.id in wanted
            }

    def write_chunks(
        self, record: StreamRecord, series: int, remove: list[Any], add: list[NewChunk]
    ) -> None:
        with self._lock:
            key = (record["stream_id"], series)
            self._keep(self._chunks, key)
            doomed = set(remove)
            chunks = [item for item in self._chunks.get(key, []) if item[0].id not in doomed]
            for new in add:
                chunk = ChunkInfo(next(self._database.numbers), new.first, new.last, new.count)
                chunks.append((chunk, bytes(new.data)))
            chunks.sort(key=lambda item: item[0].first)
            self._chunks[key] = chunks

    def delete_chunks(
        self, record: StreamRecord, series: int | None = None, before: int | None = None
    ) -> None:
        with self._lock:
            for key in [k for k in self._chunks if k[0] == record["stream_id"]]:
                if series is not None and key[1] != series:
                    continue
                self._keep(self._chunks, key)
                if before is None:
                    del self._chunks[key]
                else:
                    self._chunks[key] = [c for c in self._chunks[key] if c[0].last >= before]
