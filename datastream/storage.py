"""The storage protocol: the whole plug-in point between the engine and a database.

The engine (:mod:`datastream.engine`) holds a storage; a storage never inherits the engine and
never decides semantics. It stores, indexes and scans. Where it pushes a tag filter down, it
answers exactly what :func:`datastream.tagquery.matches` would (re-checking in Python where its
index is only approximate).

A storage implements :class:`Storage`. Timestamps are integer POSIX seconds throughout; stream
records are :class:`StreamRecord` dictionaries (keys listed in :data:`RECORD_FIELDS`), whose
``private`` slot belongs to the storage alone (a row number, a version counter, a lease...).

Method list::

    unit_of_work()                         context manager: one atomic, consistent unit
    load_stream(stream_id)                 one record or None
    load_streams(stream_ids)               the records of those that exist (a batch's streams)
    list_streams(conditions, offset, limit)   records matching, in creation order
    count_streams(conditions)              how many match
    insert_stream(record)
    update_streams(changes)                set top-level fields of several records at once
    delete_streams(stream_ids)             streams and all their data; None: everything
    insert_datapoints(rows)                raw (record, seconds, stored value), in order
    delete_datapoints(record)              every datapoint of one stream, raw and downsampled
    fetch_datapoints(record, lo, hi, reverse, offset, limit, batch_size)
    count_datapoints(record, lo, hi)
    scan_datapoints(record, lo, hi)        (times, values), ascending
    upsert_buckets(record, granularity, buckets)
    fetch_buckets(record, granularity, lo, hi, reverse, value_keys, time_keys)
    safe_latest(record)                    latest second no in-flight append can still land at
    close()

Optional capabilities are declared in :attr:`Storage.capabilities`, never probed:
``bucket_json`` (then ``fetch_bucket_json(record, granularity, lo, hi, reverse, value_keys,
time_keys)`` yields ``(bucket start, datapoint JSON text)``, and ``fetch_bucket_json_array``
with the same arguments returns ``(stored buckets in the range, their texts as one JSON array
in order, or None if one has no text)``), ``projected_buckets``
(``fetch_buckets`` returns exactly the requested keys) and ``switch_database`` (then
``switch_database(database_name)`` moves the storage to another database).

The engine (:class:`datastream.engine.Engine`) is the only caller; ``Datastream(storage)``
builds it. A storage's ``clock`` is the default clock of that engine.

Storages inherit :class:`BaseStorage`, which gives them the original library's backend
attributes (the downsampler sets and the capability flags its test-suite and applications
read, as ``Datastream(...).backend.requires_downsampling`` and so on) and the default
capabilities. Since the engine, not the storage, holds the semantics, the values are the same
for every storage and live there once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

from .constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from .granularity import GranularityType
from .tagquery import Condition

__all__ = [
    "RECORD_FIELDS",
    "BaseStorage",
    "Clock",
    "Storage",
    "StorageCapabilities",
    "StreamRecord",
]

#: A callable returning the current time as an aware UTC datetime.
Clock = Callable[[], datetime.datetime]

#: The fields of a stream record besides ``stream_id`` (what a storage must keep).
RECORD_FIELDS = (
    "tags",
    "value_downsamplers",
    "highest_granularity",
    "value_type",
    "value_type_options",
    "earliest_datapoint",
    "latest_datapoint",
    "downsampled_until",
    "derived_from",
    "derive_state",
    "contributes_to",
    "pending_backprocess",
    "version",
    "last_downsampling_error",
    "data_version",
)

_STORED_KEYS = frozenset({"stream_id", *RECORD_FIELDS})


class StreamRecord(dict):
    """A stream's stored state: ``stream_id`` plus :data:`RECORD_FIELDS`.

    The engine reads and changes the keys; :attr:`private` is the storage's own slot (never
    read by the engine, never serialised as part of the record).

    Keys (timestamps are integer POSIX seconds)::

        stream_id            str, canonical UUID
        tags                 dict of user tags
        value_downsamplers   list of stored value downsampler names (expanded)
        highest_granularity  granularity class attribute name, e.g. 'Seconds'
        value_type           'numeric' | 'nominal' | 'graph'
        value_type_options   dict
        earliest_datapoint   int | None
        latest_datapoint     int | None
        downsampled_until    {granularity name: int | None} for every lower granularity
        derived_from         None | {'sources': [{'stream_id', 'name', 'granularity'}],
                             'op', 'args'}
        derive_state         str | None (opaque JSON text)
        contributes_to       {derived stream id: {'op', 'args'}}
        pending_backprocess  bool
        version              int, bumped whenever downsampled data must be (re)computed
        last_downsampling_error  None | {'at': int, 'error': str}
        data_version         int, bumped by every unit of work that stores datapoints of the
                             stream (None in records written before it existed: 0)
    """

    __slots__ = ("private",)

    def __init__(self, *args: Any, private: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.private = private

    def fields(self) -> dict[str, Any]:
        """The stored fields (without ``stream_id``), for a storage to serialise."""
        if self.keys() == _STORED_KEYS:  # the usual case: one copy, no lookups
            fields = dict(self)
            del fields["stream_id"]
            return fields
        return {field: self.get(field) for field in RECORD_FIELDS}


@dataclasses.dataclass(frozen=True)
class StorageCapabilities:
    """What a storage can do beyond the required protocol."""

    #: ``fetch_bucket_json`` and ``fetch_bucket_json_array`` produce datapoint JSON texts in
    #: the storage.
    bucket_json: bool = False
    #: ``fetch_buckets`` returns exactly the requested value and time keys.
    projected_buckets: bool = False
    #: ``switch_database`` moves the storage to another database (test runners use it).
    switch_database: bool = False


class BaseStorage:
    """The base class of storages: defaults, and the original library's backend attributes.

    The attributes below are class attributes, read by code written for the original library
    (its test-suite branches on the flags), e.g. ``ds.backend.value_downsamplers``. Their
    values describe what a :class:`~datastream.Datastream` on this storage does, which is
    decided by the engine and is therefore the same for every storage.
    """

    #: What the storage can do beyond the required protocol (nothing, by default).
    capabilities: StorageCapabilities = StorageCapabilities()

    #: Names of the value downsamplers streams may use: every one of
    #: :data:`datastream.VALUE_DOWNSAMPLERS` (the eleven, ``median`` and the frequency
    #: downsamplers included).
    value_downsamplers: frozenset[str] = frozenset(VALUE_DOWNSAMPLERS)
    #: Names of the time downsamplers every downsampled datapoint carries: every one of
    #: :data:`datastream.TIME_DOWNSAMPLERS` (the eight, the ``intervals_*`` ones included).
    time_downsamplers: frozenset[str] = frozenset(TIME_DOWNSAMPLERS)
    #: Downsampled datapoints appear only once ``downsample_streams`` closed their buckets.
    requires_downsampling: bool = True
    #: ``False``: derived streams are computed as their sources receive datapoints (live);
    #: ``backprocess_streams`` is only needed for data that existed before the derived stream.
    requires_derived_stream_backprocess: bool = False
    #: ``False``: downsampled datapoints exist only from the bucket of a stream's first
    #: datapoint up to where it was downsampled, not for any range asked for.
    downsampled_always_exist: bool = False
    #: ``False``: a downsampled datapoint's time ``mean`` (``t.m``) is the mean of its
    #: datapoints' timestamps, not the bucket start.
    downsampled_timestamps_start_bucket: bool = False


@runtime_checkable
class Storage(Protocol):
    """What the engine needs from a database. See the module docstring for the contract."""

    capabilities: StorageCapabilities
    clock: Clock

    def unit_of_work(self) -> contextlib.AbstractContextManager[None]:
        """An atomic unit: reads see one consistent state, writes land together or not at all.

        Not re-entrant (the engine nests units itself). Rolls back when the block raises.
        """
        ...

    def load_stream(self, stream_id: str) -> StreamRecord | None:
        """The record of one stream, or ``None``."""
        ...

    def load_streams(self, stream_ids: list[str]) -> list[StreamRecord]:
        """The records of those of ``stream_ids`` that exist, in any order, as
        :meth:`load_stream` reads them (a batch of appends loads its streams at once)."""
        ...

    def list_streams(
        self, conditions: list[Condition], offset: int = 0, limit: int | None = None
    ) -> list[StreamRecord]:
        """A window of the records matching ``conditions``, in creation order (read only)."""
        ...

    def count_streams(self, conditions: list[Condition]) -> int:
        """How many streams match ``conditions``."""
        ...

    def insert_stream(self, record: StreamRecord) -> None:
        """Store a new stream record (the storage may fill ``record.private``)."""
        ...

    def update_streams(self, changes: list[tuple[StreamRecord, dict[str, Any]]]) -> None:
        """For each ``(record, fields)``, set top-level ``fields`` of the stored record
        (``record`` holds the new values, ``fields`` only names what changed)."""
        ...

    def delete_streams(self, stream_ids: list[str] | None) -> None:
        """Remove streams with all their datapoints; ``None`` removes everything."""
        ...

    def insert_datapoints(self, rows: list[tuple[StreamRecord, int, Any]]) -> None:
        """Store raw datapoints ``(record, seconds, storable value)`` in the given order."""
        ...

    def delete_datapoints(self, record: StreamRecord) -> None:
        """Remove every datapoint (raw and downsampled) of one stream."""
        ...

    def fetch_datapoints(
        self,
        record: StreamRecord,
        lo: int,
        hi: int,
        reverse: bool,
        offset: int,
        limit: int | None,
        batch_size: int | None,
    ) -> Iterator[tuple[int, Any]]:
        """Raw ``(seconds, stored value)`` with ``lo <= seconds < hi``, windowed, in order.

        Within one second, datapoints come in insertion order (reversed with ``reverse``).
        """
        ...

    def count_datapoints(self, record: StreamRecord, lo: int, hi: int) -> int:
        """Number of raw datapoints with ``lo <= seconds < hi``."""
        ...

    def scan_datapoints(
        self, record: StreamRecord, lo: int, hi: int
    ) -> tuple[list[int], list[Any]]:
        """All raw datapoints with ``lo <= seconds < hi`` as two aligned, ascending lists."""
        ...

    def upsert_buckets(
        self,
        record: StreamRecord,
        granularity: GranularityType,
        buckets: list[tuple[int, dict, dict]],
    ) -> None:
        """Store downsampled buckets ``(bucket start, v, t)``, replacing existing ones."""
        ...

    def fetch_buckets(
        self,
        record: StreamRecord,
        granularity: GranularityType,
        lo: int,
        hi: int,
        reverse: bool,
        value_keys: list[str] | None = None,
        time_keys: list[str] | None = None,
    ) -> Iterator[tuple[int, dict, dict]]:
        """Stored buckets ``(start, v, t)`` with ``lo <= start < hi``, ordered by start.

        ``value_keys``/``time_keys`` (``None``: all) say which keys the caller needs; with the
        ``projected_buckets`` capability exactly those come back. The dictionaries are the
        caller's to change.
        """
        ...

    def safe_latest(self, record: StreamRecord) -> int:
        """The latest timestamp up to which no in-flight append can still land."""
        ...

    def close(self) -> None:
        """Release connections held by this storage."""
        ...


def missing_methods(storage: object) -> list[str]:
    """The protocol members ``storage`` lacks (empty for a complete storage)."""
    members = [
        name
        for name in dir(Storage)
        if not name.startswith("_") and name not in ("capabilities", "clock")
    ]
    missing = [name for name in members if not callable(getattr(storage, name, None))]
    missing += [name for name in ("capabilities", "clock") if not hasattr(storage, name)]
    capabilities = getattr(storage, "capabilities", StorageCapabilities())
    if capabilities.bucket_json:
        for name in ("fetch_bucket_json", "fetch_bucket_json_array"):
            if not callable(getattr(storage, name, None)):
                missing.append(name)
    if capabilities.switch_database and not callable(getattr(storage, "switch_database", None)):
        missing.append("switch_database")
    return sorted(missing)
