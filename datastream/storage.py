"""The storage plug-in point: :class:`BaseStorage`, the one class a database implements.

The engine (:mod:`datastream.engine`) holds a storage; a storage never inherits the engine and
never decides semantics. It stores, indexes and scans. Where it pushes a tag filter down, it
answers exactly what :func:`datastream.tagquery.matches` would (re-checking in Python where its
index is only approximate). As ``httpx.BaseTransport`` is to a client, :class:`BaseStorage` is
the whole interface: a storage subclasses it, writes the abstract methods and overrides a
default where it can do better.

Timestamps are integer POSIX seconds throughout; stream records are :class:`StreamRecord`
dictionaries (the stored keys are :data:`RECORD_FIELDS`), whose ``private`` key belongs to the
storage alone (a row number, a version counter, a lease...).

Abstract methods (what a storage must write, 13)::

    unit_of_work()                   context manager: one atomic, consistent unit
    load_streams(stream_ids)         the records of those that exist (a batch's streams)
    list_streams(conditions, offset, limit)   records matching, in creation order
    insert_stream(record)            store a new record (may set record['private'])
    update_streams(changes)          set top-level fields of several records at once
    delete_streams(stream_ids)       streams and all their data; None: everything
    insert_datapoints(rows)          append raw (record, seconds, stored value) to write heads
    fetch_head(record)               a stream's write head, in order
    clear_head(record, before)       drop the head's datapoints before a second (None: all)
    chunk_index(record, series, lo, hi)   ChunkInfo of the chunks overlapping [lo, hi)
    chunk_data(ids)                  the bytes of chunks by id
    write_chunks(record, series, remove, add)   replace chunks (ids) by new ones
    delete_chunks(record, series, before)       drop whole chunks

Inside a unit of work, reads (``fetch_head``, ``chunk_index``, ``chunk_data``, the records)
see the unit's own writes: the engine reads a head it appended to, or a chunk it just wrote,
in the same unit. A storage that applies writes only at commit must overlay them.

A stream's raw datapoints live in *chunks* (immutable runs of datapoints, opaque bytes encoded
by :mod:`datastream.engine.chunks`, in series :data:`RAW_SERIES`) and in its *write head* (the
latest datapoints, one stored row each, sealed into chunks by the engine). Downsampled buckets
live in chunks too, one series per granularity (:func:`bucket_series`). The engine decides
what goes where (:mod:`datastream.engine.chunkstore`); a storage keeps rows and bytes.

Defaults (override where the database does better)::

    load_stream(stream_id)           load_streams([stream_id])
    count_streams(conditions)        len(list_streams(conditions))
    read_snapshot()                  context manager: reads inside see one state (default:
                                     nothing; a storage with snapshots must give them)
    safe_latest(record)              record['latest_datapoint']
    close()                          nothing to release
    check(settings, *, connect)      class method: no problem found
    clock                            the real time, UTC

Optional abilities are runtime-checkable protocols, detected with ``isinstance`` (never by a
flag or ``getattr``): :class:`SwitchableStorage` (the storage moves to another database: the
Django test runner uses it).

The engine (:class:`datastream.engine.Engine`) is the only caller; ``Datastream(storage)``
builds it. A storage's ``clock`` is the default clock of that engine.

:class:`BaseStorage` also carries the original library's backend attributes (the downsampler
sets and the flags its test-suite and applications read, as
``Datastream(...).backend.requires_downsampling`` and so on). Since the engine, not the
storage, holds the semantics, the values are the same for every storage and live there once.
``datastream.backends.memory.Backend`` is the reference storage: the smallest complete one.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import datetime
from collections.abc import Callable, Mapping
from typing import Any, NotRequired, Protocol, TypedDict, runtime_checkable

from .constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from .granularity import GRANULARITY_CODES, UTC, GranularityType
from .tagquery import Condition

__all__ = [
    "READ_BATCH",
    "RECORD_FIELDS",
    "RAW_SERIES",
    "BaseStorage",
    "Bucket",
    "BucketWindow",
    "ChunkInfo",
    "Clock",
    "NewChunk",
    "RawScan",
    "Storage",
    "StreamRecord",
    "SwitchableStorage",
    "bucket_series",
    "missing_methods",
    "record_fields",
]

#: A callable returning the current time as an aware UTC datetime.
Clock = Callable[[], datetime.datetime]

#: A downsampled bucket as stored: ``(bucket start, v, t)``, the value and time summaries by
#: one-letter downsampler key.
Bucket = tuple[int, dict[str, Any], dict[str, Any]]

#: Most rows one round trip of a storage read fetches (a larger batch size hint is cut to it).
READ_BATCH = 10_000

#: The series of a stream's raw datapoints; :func:`bucket_series` gives its buckets' series.
RAW_SERIES = 0


def bucket_series(granularity: GranularityType) -> int:
    """The chunk series of a stream's buckets at ``granularity`` (1 and above)."""
    return 1 + GRANULARITY_CODES[granularity]


@dataclasses.dataclass(frozen=True, slots=True)
class ChunkInfo:
    """A stored chunk as :meth:`BaseStorage.chunk_index` lists it (without its bytes).

    ``first`` and ``last`` are the seconds of its first and last datapoint (bucket starts in a
    bucket series), ``count`` how many it holds; ``id`` is the storage's own, new for every
    chunk written (a rewritten chunk gets a new one).
    """

    id: Any
    first: int
    last: int
    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class NewChunk:
    """A chunk to store: its bytes and, beside them, what :class:`ChunkInfo` lists."""

    first: int
    last: int
    count: int
    data: bytes


class StreamRecord(TypedDict):
    """A stream's stored state. The engine reads and changes every key but ``private``, the
    storage's own slot (never read by the engine, never stored as a field of the record).

    Timestamps are integer POSIX seconds.
    """

    #: Canonical UUID text.
    stream_id: str
    #: User tags.
    tags: dict[str, Any]
    #: Stored value downsampler names (expanded).
    value_downsamplers: list[str]
    #: Granularity class attribute name, e.g. ``'Seconds'``.
    highest_granularity: str
    #: ``'numeric'``, ``'nominal'`` or ``'graph'``.
    value_type: str
    value_type_options: dict[str, Any]
    earliest_datapoint: int | None
    latest_datapoint: int | None
    #: ``{granularity name: int | None}`` for every lower granularity.
    downsampled_until: dict[str, int | None]
    #: ``None`` or ``{'sources': [{'stream_id', 'name', 'granularity'}], 'op', 'args'}``.
    derived_from: dict[str, Any] | None
    #: Opaque JSON text of the derive operator's state.
    derive_state: str | None
    #: ``{derived stream id: {'op', 'args'}}``.
    contributes_to: dict[str, dict[str, Any]]
    pending_backprocess: bool
    #: Bumped whenever downsampled data must be (re)computed.
    version: int
    #: ``None`` or ``{'at': int, 'error': str}``.
    last_downsampling_error: dict[str, Any] | None
    #: Bumped by every unit of work that stores datapoints of the stream (``None`` in records
    #: written before it existed: 0).
    data_version: int
    #: Datapoints in the write head (see :mod:`datastream.engine.chunkstore`).
    head_count: int
    #: The second of the last datapoint in a raw chunk (``None``: no chunk yet).
    sealed_until: int | None
    #: The stream's own retention policy (:mod:`datastream.retention`), or ``None``.
    retention: dict[str, int | None] | None
    #: ``{'raw' or granularity name: second}``: where retention last cut each series.
    retained_since: dict[str, int]
    #: The storage's own slot.
    private: NotRequired[Any]


#: The fields of a stream record besides ``stream_id`` and ``private`` (what a storage keeps).
RECORD_FIELDS: tuple[str, ...] = tuple(
    name for name in StreamRecord.__annotations__ if name not in ("stream_id", "private")
)

_STORED_KEYS = frozenset({"stream_id", *RECORD_FIELDS})
_STORED_AND_PRIVATE = _STORED_KEYS | {"private"}


def record_fields(record: StreamRecord) -> dict[str, Any]:
    """The stored fields of ``record`` (without ``stream_id`` and ``private``), for a storage to
    serialise."""
    keys = record.keys()
    if keys == _STORED_AND_PRIVATE or keys == _STORED_KEYS:  # the usual case: one copy
        fields: dict[str, Any] = dict(record)
        del fields["stream_id"]
        fields.pop("private", None)
        return fields
    return {field: record.get(field) for field in RECORD_FIELDS}


@dataclasses.dataclass(frozen=True, slots=True)
class RawScan:
    """Which raw datapoints to read: those of one stream with ``lo <= seconds < hi``, in time
    order (``reverse``: newest first), skipping ``offset`` and at most ``limit`` of them.

    ``batch_size`` is the caller's hint of how many to read per round trip (``None``: the
    storage's choice); :attr:`batch` is the hint a storage should follow.
    """

    record: StreamRecord
    lo: int
    hi: int
    reverse: bool = False
    offset: int = 0
    limit: int | None = None
    batch_size: int | None = None

    @property
    def batch(self) -> int:
        """Rows per round trip: the hint (default :data:`READ_BATCH`) within ``[1,
        READ_BATCH]``, and no more than ``limit``."""
        batch = max(1, min(self.batch_size or READ_BATCH, READ_BATCH))
        return batch if self.limit is None else max(1, min(batch, self.limit))


@dataclasses.dataclass(frozen=True, slots=True)
class BucketWindow:
    """Which stored buckets to read: those of one stream at ``granularity`` whose start lies in
    ``[lo, hi)``, ordered by start (``reverse``: newest first), with these keys.

    ``value_keys`` and ``time_keys`` are the one-letter keys wanted (the engine keeps only keys
    the stream stores, in the stored order); ``None`` means the datapoints have no such part
    at all (``value_downsamplers=[]``): the engine's bucket reads then give ``{}``, and their
    JSON leaves out the ``"v"`` (or ``"t"``) member.
    """

    record: StreamRecord
    granularity: GranularityType
    lo: int
    hi: int
    reverse: bool = False
    value_keys: tuple[str, ...] | None = ()
    time_keys: tuple[str, ...] | None = ()

    def within(self, lo: int, hi: int) -> BucketWindow:
        """The same window on ``[lo, hi)``."""
        return dataclasses.replace(self, lo=lo, hi=hi)


def _real_clock() -> datetime.datetime:
    return datetime.datetime.now(UTC)


class BaseStorage(abc.ABC):
    """The base class of storages: the abstract methods a database implements, defaults for
    the others, and the original library's backend attributes.

    The backend attributes are class attributes, read by code written for the original library
    (its test-suite branches on the flags), e.g. ``ds.backend.value_downsamplers``. Their
    values describe what a :class:`~datastream.Datastream` on this storage does, which is
    decided by the engine and is therefore the same for every storage.
    """

    #: "Now" for the engine built on this storage (a storage may take one as an argument).
    clock: Clock = staticmethod(_real_clock)  # type: ignore[assignment]
    #: The original library's test hook: called as the engine's ``observer`` is, when set
    #: before the engine is built.
    _test_callback: Callable[[str, GranularityType, dict[str, Any]], None] | None = None

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

    # Settings --------------------------------------------------------------------------------

    @classmethod
    def check(cls, settings: Mapping[str, Any], *, connect: bool = False) -> list[str]:
        """What is wrong with ``cls(**settings)``, found without writing anything (``connect``:
        the database may be reached); an empty list when nothing is. By default nothing is."""
        return []

    @classmethod
    def upgrade(
        cls, settings: Mapping[str, Any], progress: Callable[[int, int], None] | None = None
    ) -> bool:
        """Convert the database of ``cls(**settings)`` from an earlier layout of this library,
        calling ``progress(done, total)`` as it goes; whether there was anything to convert.
        By default there never is."""
        return False

    # Units of work ---------------------------------------------------------------------------

    @abc.abstractmethod
    def unit_of_work(self) -> contextlib.AbstractContextManager[None]:
        """An atomic unit: reads see one consistent state, writes land together or not at all.

        Not re-entrant (the engine nests units itself). Rolls back when the block raises.
        """

    # Stream records --------------------------------------------------------------------------

    @abc.abstractmethod
    def load_streams(self, stream_ids: list[str]) -> list[StreamRecord]:
        """The records of those of ``stream_ids`` that exist, in any order (a batch of appends
        loads its streams at once). Each is the caller's to change, and inside a unit of work
        it is read for writing (the unit may serialise writers of that stream)."""

    def load_stream(self, stream_id: str) -> StreamRecord | None:
        """The record of one stream, or ``None`` (read as :meth:`load_streams` reads)."""
        records = self.load_streams([stream_id])
        return records[0] if records else None

    @abc.abstractmethod
    def list_streams(
        self, conditions: list[Condition], offset: int = 0, limit: int | None = None
    ) -> list[StreamRecord]:
        """A window of the records matching ``conditions``, in creation order (read only)."""

    def count_streams(self, conditions: list[Condition]) -> int:
        """How many streams match ``conditions``."""
        return len(self.list_streams(conditions))

    @abc.abstractmethod
    def insert_stream(self, record: StreamRecord) -> None:
        """Store a new stream record (the storage may set ``record['private']``)."""

    @abc.abstractmethod
    def update_streams(self, changes: list[tuple[StreamRecord, dict[str, Any]]]) -> None:
        """For each ``(record, fields)``, set top-level ``fields`` of the stored record
        (``record`` was loaded in this unit of work and holds every field's new value;
        ``fields`` names what changed, with the new values)."""

    @abc.abstractmethod
    def delete_streams(self, stream_ids: list[str] | None) -> None:
        """Remove streams with all their datapoints; ``None`` removes everything."""

    def safe_latest(self, record: StreamRecord) -> int:
        """The latest timestamp up to which no in-flight append can still land. By default
        the record's latest datapoint: every append is one unit of work."""
        return record["latest_datapoint"]  # type: ignore[return-value]

    # Reads ---------------------------------------------------------------------------------

    def read_snapshot(self) -> contextlib.AbstractContextManager[None]:
        """A context in which reads see one state of the database (inside a unit of work, the
        unit's). The engine reads a chunk index and the chunks' bytes (and the head) in one
        snapshot. By default nothing: a storage whose reads could see a write half done must
        override it."""
        return contextlib.nullcontext()

    # Write heads -----------------------------------------------------------------------------

    @abc.abstractmethod
    def insert_datapoints(self, rows: list[tuple[StreamRecord, int, Any]]) -> None:
        """Append raw datapoints ``(record, seconds, storable value)`` to their streams' write
        heads, in the given order (within a second, a head keeps insertion order)."""

    @abc.abstractmethod
    def fetch_head(self, record: StreamRecord) -> list[tuple[int, Any]]:
        """``(seconds, stored value)`` of every datapoint in the stream's write head, ordered by
        seconds and, within a second, by insertion."""

    @abc.abstractmethod
    def clear_head(self, record: StreamRecord, before: int | None = None) -> None:
        """Remove the head's datapoints with ``seconds < before`` (``None``: all of them)."""

    # Chunks ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def chunk_index(
        self, record: StreamRecord, series: int, lo: int, hi: int
    ) -> list[ChunkInfo]:
        """The chunks of ``series`` with ``last >= lo`` and ``first < hi``, ordered by
        ``first``. (Chunks of a series never overlap; ``first`` is unique in a series.)"""

    @abc.abstractmethod
    def chunk_data(self, ids: list[Any]) -> dict[Any, bytes]:
        """The bytes of the chunks ``ids`` (those that still exist)."""

    @abc.abstractmethod
    def write_chunks(
        self, record: StreamRecord, series: int, remove: list[Any], add: list[NewChunk]
    ) -> None:
        """Remove the chunks with ids ``remove`` and store ``add`` (in one unit of work)."""

    @abc.abstractmethod
    def delete_chunks(
        self, record: StreamRecord, series: int | None = None, before: int | None = None
    ) -> None:
        """Remove the chunks of ``series`` (``None``: every series) whose ``last < before``
        (``None``: all of them)."""

    # Connections -----------------------------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - a default, not an abstract method
        """Release connections held by this storage (nothing, by default)."""


#: The storage protocol (the name by which the engine and the facade refer to storages).
Storage = BaseStorage


@runtime_checkable
class SwitchableStorage(Protocol):
    """A storage that can move to another database (test runners use it)."""

    def switch_database(self, database_name: str) -> None:
        """Use the database ``database_name`` from now on."""
        ...


def missing_methods(storage: object) -> list[str]:
    """The abstract methods the class of ``storage`` (or ``storage``, a class) leaves
    unimplemented: empty for a complete storage; every one for a class that is no storage."""
    cls = storage if isinstance(storage, type) else type(storage)
    if not issubclass(cls, BaseStorage):
        return sorted(BaseStorage.__abstractmethods__)
    return sorted(cls.__abstractmethods__)
