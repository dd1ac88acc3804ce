"""The MongoDB storage (pymongo 4): a replica set or a sharded cluster as the database.

``Backend(database_name, clock=None, **connection_settings)``; the connection settings go to
:class:`pymongo.MongoClient` (``host`` may be a ``mongodb://`` URI; ``tz_aware`` defaults to
``True`` and ``serverSelectionTimeoutMS`` to :data:`SERVER_SELECTION_TIMEOUT_MS`). One client
per backend and process, created on first use (and again in a forked child); nothing touches
the network at construction.

Collections (see ``docs/backends.rst`` for the reasoning)::

    streams     {_id: int s, sid: uuid str, rev, n, tags, ...record fields, _json: {...}}
                unique index sid; wildcard index tags.$**; sparse index tags_json
    datapoints  the write heads: {_id, s, t: int64 POSIX seconds, q: per-stream insertion
                number, v | j}; unique index (s, t, q)
    chunks      {_id: ObjectId (new for every chunk written), s, k: series (0 raw, 1 + the
                granularity code for buckets), f: first second, l: last second, n: count,
                d: the chunk's bytes (BSON binary, opaque here)}; unique index (s, k, f)
    meta        {_id: 'stream_seq', n}, {_id: 'catalog', rev}
    journal     units of work without transactions (see .journal)

Values BSON cannot hold exactly (integers beyond 64 bits, odd dictionary keys) are stored as
JSON text (``j``, ``_json``; see :mod:`.codec`). A database written by the previous layout
(one document per bucket in ``buckets``) is converted by :func:`.upgrade.upgrade`.

Every read and write goes through the current unit of work (:mod:`.units`): a transaction
where the deployment supports them, the journal (:mod:`.journal`) where it does not, and
:class:`~.units.Autocommit` outside units. Writes become operations (:mod:`.writes`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pymongo
from bson import Binary, ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import ConfigurationError, InvalidURI, OperationFailure

from ... import exceptions
from ...storage import (
    READ_BATCH,
    RECORD_FIELDS,
    BaseStorage,
    ChunkInfo,
    Clock,
    NewChunk,
    StreamRecord,
    record_fields,
)
from ...tagquery import Condition, matches
from . import writes
from .checks import check_settings, redact
from .codec import decode_fields, dumps, encode_fields, is_plain, loads
from .journal import JournalSnapshot, JournalUnit, lock_is_live
from .query import tags_filter
from .server import (
    available,
    check_database_name,
    discard_inherited,
    ensure_indexes,
    supports_transactions,
)
from .units import Autocommit, SnapshotReads, TransactionUnit, UnitOfWork
from .upgrade import upgrade as upgrade_database

__all__ = ["SERVER_SELECTION_TIMEOUT_MS", "Backend"]

#: The default ``serverSelectionTimeoutMS``: how long an operation waits for an unreachable
#: server before raising ``BackendUnavailable`` (pymongo's own default is 30 s). Ten seconds
#: ride out a replica-set election, and an HTTP client gets its 503 in time.
SERVER_SELECTION_TIMEOUT_MS = 10_000


@dataclasses.dataclass
class _Private:
    """What a stream record carries for this storage (its ``private`` key)."""

    number: int  # the stream document's ``_id``, repeated in datapoints and buckets
    appended: int  # datapoints appended so far: the last ``q`` given
    in_flight: int | None = None  # lowest second a journaled, unapplied batch may land at


class Backend(BaseStorage):
    """Datastream storage in a MongoDB database (``database_name``) reached with pymongo.

    ``connection_settings`` are ``pymongo.MongoClient`` keyword arguments, e.g. ``host``
    (a host name or a ``mongodb://`` URI), ``port``, ``tz_aware``, ``replicaSet``,
    ``serverSelectionTimeoutMS``, credentials. Invalid settings raise :class:`ValueError`
    at construction; an unreachable server raises
    :class:`~datastream.exceptions.BackendUnavailable` on use.

    The original's backend attributes (``value_downsamplers``, ``time_downsamplers`` and the
    capability flags) come from :class:`~datastream.storage.BaseStorage`. It can switch
    databases (:class:`~datastream.storage.SwitchableStorage`).

    Snapshots (:meth:`read_snapshot`): with transactions (replica sets, sharded clusters) a
    chunk index, the chunks' bytes and the write head are read in one state. Without them
    (a standalone server: the journal) they are not: reads wait for a committed unit being
    applied to their stream and the chunks an index lists stay readable, but a read
    overlapping the apply step of another unit (milliseconds) may still see part of its
    writes, e.g. a rewritten chunk missing from the index or a sealed run both in a chunk and
    in the head.
    """
    #: ``None``: use transactions when the deployment supports them; ``False``: never (the
    #: journal, as on a standalone server).
    transactions: bool | None = None

    def __init__(
        self, database_name: str, clock: Clock | None = None, **connection_settings: Any
    ) -> None:
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable returning a datetime, not {clock!r}")
        if clock is not None:
            self.clock = clock
        self.database_name = check_database_name(database_name)
        settings = dict(connection_settings)
        settings.setdefault("tz_aware", True)
        settings.setdefault("connect", False)
        settings.setdefault("serverSelectionTimeoutMS", SERVER_SELECTION_TIMEOUT_MS)
        self._settings = settings
        self._client_lock = threading.Lock()
        self._client: pymongo.MongoClient | None = None
        self._client_pid: int | None = None
        self._supports_transactions: bool | None = None
        self._ready: set[tuple[int, str]] = set()
        self._local = threading.local()
        self._new_client()  # validates the settings; connects lazily

    def __repr__(self) -> str:
        return f"<datastream.backends.mongodb.Backend {self.database_name!r}>"

    @classmethod
    def check(cls, settings: Mapping[str, Any], *, connect: bool = False) -> list[str]:
        """What is wrong with ``Backend(**settings)``: an empty list when nothing is.

        Without ``connect`` nothing touches the network: pymongo's own parsing validates the
        URI, its options (an option pymongo does not know is a problem here, though pymongo
        only warns about it) and the keyword arguments. With ``connect`` the server is also
        pinged, waiting at most two seconds (see :mod:`.checks`).
        """
        client_settings = dict(settings)
        database_name = client_settings.pop("database_name", None)
        client_settings.pop("clock", None)
        client_settings.setdefault("tz_aware", True)
        client_settings.setdefault("serverSelectionTimeoutMS", SERVER_SELECTION_TIMEOUT_MS)
        return check_settings(database_name, client_settings, connect=connect)

    @classmethod
    def upgrade(
        cls, settings: Mapping[str, Any], progress: Callable[[int, int], None] | None = None
    ) -> bool:
        """Convert the database of ``cls(**settings)`` from the previous layout (a document per
        bucket) to chunks, calling ``progress(done, total)`` per stream; whether there was
        anything to convert. See :mod:`.upgrade` (stop every other user of the database)."""
        backend = cls(**settings)
        try:
            with available(backend.client):
                return upgrade_database(backend.database(), progress)
        finally:
            backend.close()

    # Connection ------------------------------------------------------------------------------

    def _new_client(self) -> pymongo.MongoClient:
        try:
            client: pymongo.MongoClient = pymongo.MongoClient(**self._settings)
        except (ConfigurationError, InvalidURI, TypeError, ValueError) as error:
            message = redact(str(error), self._settings)
            raise ValueError(
                f"Invalid MongoDB connection settings for datastream: {message}"
            ) from None
        self._client, self._client_pid = client, os.getpid()
        self._supports_transactions = None
        return client

    @property
    def client(self) -> pymongo.MongoClient:
        """This process's :class:`pymongo.MongoClient` (a forked child makes its own)."""
        client = self._client
        if client is None or self._client_pid != os.getpid():
            with self._client_lock:
                if self._client is None or self._client_pid != os.getpid():
                    if self._client is not None:
                        discard_inherited(self._client)
                    self._local = threading.local()  # units belong to the old client
                    self._ready = set()
                    client = self._new_client()
                else:
                    client = self._client
        return client

    def close(self) -> None:
        """Close the client of this process (it is recreated on next use)."""
        with self._client_lock:
            if self._client is not None and self._client_pid == os.getpid():
                self._client.close()
            self._client = None
            self._local = threading.local()
            self._ready = set()

    def database(self) -> Any:
        """The :class:`pymongo.database.Database`, with collections and indexes in place."""
        client = self.client
        key = (os.getpid(), self.database_name)
        database = client[self.database_name]
        if key not in self._ready:
            with available(client):
                ensure_indexes(database)
            self._ready.add(key)
        return database

    def switch_database(self, database_name: str) -> None:
        """Use another database of the same server from now on."""
        self.database_name = check_database_name(database_name)

    def uses_transactions(self) -> bool:
        """Whether units of work are transactions (else the journal is used)."""
        if self.transactions is False:
            return False
        if self._supports_transactions is None:
            with available(self.client):
                self._supports_transactions = supports_transactions(self.client)
        return self._supports_transactions

    # Units of work ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """A transaction, or a journaled unit without transactions (see the module doc)."""
        self._open_unit()
        try:
            yield
        except BaseException:
            self._close_unit(commit=False)
            raise
        self._close_unit(commit=True)

    def _open_unit(self) -> None:
        database = self.database()
        unit: UnitOfWork
        if self.uses_transactions():
            unit = TransactionUnit(database)
        else:
            unit = JournalUnit(database, self.clock)
        self._local.unit = unit

    def _close_unit(self, commit: bool) -> None:
        unit = getattr(self._local, "unit", None)
        self._local.unit = None
        if unit is None:
            return
        if commit:
            unit.commit()
        else:
            unit.rollback()

    def _current(self) -> UnitOfWork | None:
        """This thread's unit of work, else its snapshot, else ``None``."""
        unit = getattr(self._local, "unit", None)
        return unit if unit is not None else getattr(self._local, "snapshot", None)

    def _unit(self) -> UnitOfWork:
        unit = self._current()
        return unit if unit is not None else Autocommit(self.database())

    # Stream records --------------------------------------------------------------------------

    def load_stream(self, stream_id: str) -> StreamRecord | None:
        """The record of one stream, read for writing inside a unit of work."""
        document = self._unit().load_stream(stream_id)
        return None if document is None else self._decode(document)

    def load_streams(self, stream_ids: list[str]) -> list[StreamRecord]:
        """The records of those of ``stream_ids`` that exist, each read as :meth:`load_stream`
        reads one (the unit of work tracks every stream it reads for writing)."""
        records = (self.load_stream(stream_id) for stream_id in stream_ids)
        return [record for record in records if record is not None]

    def list_streams(
        self, conditions: list[Condition], offset: int = 0, limit: int | None = None
    ) -> list[StreamRecord]:
        """Records matching ``conditions`` in creation order, filtered on the server first."""
        unit = self._unit()
        # Serialise stream creation and deletion: ensure_stream must not create twins.
        unit.guard_catalog()
        if not conditions:
            documents = unit.find_streams({}, offset, limit or 0)
            return [self._decode(d) for d in documents]
        stop = None if limit is None else offset + limit
        return self._matching(unit, conditions)[offset:stop]

    def count_streams(self, conditions: list[Condition]) -> int:
        """How many streams match ``conditions``."""
        unit = self._unit()
        if not conditions:
            database = self.database()
            return unit.run(lambda s: database.streams.count_documents({}, session=s))
        return len(self._matching(unit, conditions))

    def _matching(self, unit: UnitOfWork, conditions: list[Condition]) -> list[StreamRecord]:
        try:
            documents = unit.find_streams(tags_filter(conditions), 0, 0)
        except OperationFailure as error:
            # The filter is built from the query alone; a server refusing it refuses the query.
            raise exceptions.InvalidTagQuery(
                f"MongoDB refused the tag query: {error.details.get('errmsg', error)}"
            ) from None
        records = [self._decode(d) for d in documents]
        return [r for r in records if matches(conditions, r["tags"])]

    def insert_stream(self, record: StreamRecord) -> None:
        """Store a new stream record (its number comes from a counter outside the unit)."""
        database = self.database()
        with available(database.client):
            counter = database.meta.find_one_and_update(
                {"_id": "stream_seq"}, {"$inc": {"n": 1}}, upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        number = counter["n"]
        document: dict[str, Any] = {"_id": number, "sid": record["stream_id"], "rev": 0, "n": 0}
        set_fields, _unset = encode_fields(record_fields(record))
        for name, value in set_fields.items():
            if name.startswith("_json."):
                document.setdefault("_json", {})[name[6:]] = value
            else:
                document[name] = value
        record["private"] = _Private(number, 0)
        self._unit().write(writes.insert_stream(document))

    def update_streams(self, changes: list[tuple[StreamRecord, dict[str, Any]]]) -> None:
        """Set top-level ``fields`` of stored records."""
        unit = self._unit()
        for record, fields in changes:
            set_fields, unset_fields = encode_fields(fields)
            unit.write(writes.update_stream(_private(record).number, set_fields, unset_fields))

    def delete_streams(self, stream_ids: list[str] | None) -> None:
        """Remove streams with all their datapoints; ``None`` removes everything."""
        unit = self._unit()
        if stream_ids is None:
            unit.write(writes.delete_streams(None))
            return
        database = self.database()
        documents = unit.run(
            lambda s: list(database.streams.find({"sid": {"$in": stream_ids}}, {"_id": 1},
                                                 session=s))
        )
        if documents:
            unit.write(writes.delete_streams(sorted(d["_id"] for d in documents)))

    def safe_latest(self, record: StreamRecord) -> int:
        """The latest second no in-flight (journaled, unapplied) batch can still land before."""
        latest = record["latest_datapoint"]
        low = _private(record).in_flight
        if low is not None and latest is not None and low < latest:
            return low
        return latest

    def _decode(self, document: dict[str, Any]) -> StreamRecord:
        record: StreamRecord = decode_fields(document, RECORD_FIELDS)  # type: ignore[assignment]
        if "tags_json" in document:
            record["tags"] = loads(document["tags_json"])
        record["stream_id"] = document["sid"]
        private = _Private(document["_id"], document.get("n", 0))
        lock = document.get("lock")
        if lock and "lo" in lock and lock_is_live(lock, self.clock()):
            private.in_flight = lock["lo"]
        record["private"] = private
        return record

    # Reads ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the database, as far as the deployment allows.

        Inside a unit of work, the unit's state (a transaction's snapshot; the journal's
        reads, see below); nested snapshots share the outer one. Outside, where the deployment
        has transactions, a read-only transaction with read concern ``snapshot``
        (:class:`~.units.SnapshotReads`). Without transactions (the journal) there is no
        snapshot; :class:`~.journal.JournalSnapshot` does the best it can: it does not start
        reading a stream while a committed unit is being applied to it (it waits, or rolls a
        dead writer's unit forward), and the chunks its index lists stay readable. A unit
        applied while the reads go on may still be seen in part (a rewritten chunk missing
        from the index, or a sealed run both in its chunk and still in the head).
        """
        if self._current() is not None:
            yield
            return
        database = self.database()
        snapshot: SnapshotReads | JournalSnapshot
        if self.uses_transactions():
            snapshot = SnapshotReads(database)
        else:
            snapshot = JournalSnapshot(database, self.clock)
        self._local.snapshot = snapshot
        try:
            yield
        finally:
            self._local.snapshot = None
            if isinstance(snapshot, SnapshotReads):
                snapshot.close()

    # Write heads -----------------------------------------------------------------------------

    def insert_datapoints(self, rows: list[tuple[StreamRecord, int, Any]]) -> None:
        """Append raw datapoints to write heads in order: one insert, plus each stream's
        counter (``n``, the last insertion number ``q`` given)."""
        documents = []
        counters: dict[int, _Private] = {}
        for record, seconds, value in rows:
            private = _private(record)
            private = counters.setdefault(private.number, private)
            private.appended += 1
            document = {"_id": ObjectId(), "s": private.number, "t": seconds,
                        "q": private.appended}
            if is_plain(value):
                document["v"] = value
            else:
                document["j"] = dumps(value)
            documents.append(document)
        if not documents:
            return
        unit = self._unit()
        unit.write(writes.insert_datapoints(documents))
        for number, private in counters.items():
            unit.write(writes.update_stream(number, {"n": private.appended}, []))

    def fetch_head(self, record: StreamRecord) -> list[tuple[int, Any]]:
        """The stream's head datapoints by ``(t, q)``: one indexed ``find``, with the unit's
        own pending writes of the head applied (read your writes)."""
        database = self.database()
        unit = self._unit()
        number = _private(record).number
        if isinstance(unit, JournalSnapshot):
            unit.settle(number)

        def fetch(session: Any) -> list[dict[str, Any]]:
            cursor = database.datapoints.find(
                {"s": number}, {"_id": 0, "t": 1, "q": 1, "v": 1, "j": 1},
                sort=[("t", ASCENDING), ("q", ASCENDING)], batch_size=READ_BATCH,
                session=session,
            )
            with cursor:
                return list(cursor)

        documents = unit.run(fetch)
        pending = _pending(unit, number)
        if pending:
            documents = _pending_head(documents, pending, number)
        return [_row(document) for document in documents]

    def clear_head(self, record: StreamRecord, before: int | None = None) -> None:
        """Remove the head's datapoints before ``before`` (all when ``None``)."""
        self._unit().write(writes.clear_head(_private(record).number, before))

    # Chunks ----------------------------------------------------------------------------------

    def chunk_index(
        self, record: StreamRecord, series: int, lo: int, hi: int
    ) -> list[ChunkInfo]:
        """The chunks of ``series`` overlapping ``[lo, hi)`` by ``first``, without their bytes.

        Two indexed reads on ``(s, k, f)``: the chunk starting last before ``lo`` (the only
        one starting before ``lo`` that can reach it, chunks of a series never overlapping),
        then the chunks starting in ``[lo, hi)``. The unit's own pending chunk writes are
        applied to the answer (read your writes).
        """
        database = self.database()
        unit = self._unit()
        number = _private(record).number
        series_query = {"s": number, "k": series}
        fields = _INDEX_FIELDS
        if isinstance(unit, JournalSnapshot):
            unit.settle(number)
            fields = _INDEX_AND_DATA  # no snapshot: keep the bytes of what is listed

        def index(session: Any) -> list[dict[str, Any]]:
            before = list(database.chunks.find(
                {**series_query, "f": {"$lt": lo}}, fields,
                sort=[("f", DESCENDING)], limit=1, session=session,
            ))
            found = [d for d in before if d["l"] >= lo and d["f"] < hi]
            if lo < hi:
                found.extend(database.chunks.find(
                    {**series_query, "f": {"$gte": lo, "$lt": hi}}, fields,
                    sort=[("f", ASCENDING)], batch_size=READ_BATCH, session=session,
                ))
            return found

        documents = unit.run(index)
        if isinstance(unit, JournalSnapshot):
            unit.chunks.update((d["_id"], bytes(d["d"])) for d in documents)
        pending = _pending(unit, number)
        if pending:
            documents = _pending_chunks(documents, pending, series, lo, hi)
        return [ChunkInfo(d["_id"], d["f"], d["l"], d["n"]) for d in documents]

    def chunk_data(self, ids: list[Any]) -> dict[Any, bytes]:
        """The bytes of the chunks ``ids`` that still exist: one ``find`` by ``_id`` (chunks
        the unit wrote or removed itself answered as it left them)."""
        if not ids:
            return {}
        database = self.database()
        unit = self._unit()
        found: dict[Any, bytes] = {}
        wanted = list(ids)
        if isinstance(unit, JournalSnapshot):
            found = {i: unit.chunks[i] for i in wanted if i in unit.chunks}
            wanted = [i for i in wanted if i not in found]
            if not wanted:
                return found
        ops = getattr(unit, "ops", None)
        deletes: list[writes.Op] = []
        if ops:
            written, removed = _pending_chunk_ids(ops)
            found = {i: bytes(written[i]["d"]) for i in wanted if i in written}
            wanted = [i for i in wanted if i not in found and i not in removed]
            deletes = [op for op in ops if op[0] in _CHUNK_OPS and op[0] != "write_chunks"]
            if not wanted:
                return found

        def fetch(session: Any) -> list[dict[str, Any]]:
            cursor = database.chunks.find(
                {"_id": {"$in": wanted}}, {"s": 1, "k": 1, "l": 1, "d": 1}, session=session
            )
            with cursor:
                return list(cursor)

        for document in unit.run(fetch):
            if not any(_deletes(op, document) for op in deletes):
                found[document["_id"]] = bytes(document["d"])
        return found

    def write_chunks(
        self, record: StreamRecord, series: int, remove: list[Any], add: list[NewChunk]
    ) -> None:
        """Remove the chunks ``remove`` and store ``add``, each with a new ``ObjectId`` given
        here (a replayed journal inserts the same documents again: no duplicates)."""
        if not remove and not add:
            return
        number = _private(record).number
        documents = [
            {"_id": ObjectId(), "s": number, "k": series, "f": chunk.first, "l": chunk.last,
             "n": chunk.count, "d": Binary(chunk.data)}
            for chunk in add
        ]
        self._unit().write(writes.write_chunks(number, list(remove), documents))

    def delete_chunks(
        self, record: StreamRecord, series: int | None = None, before: int | None = None
    ) -> None:
        """Remove the chunks of ``series`` (every series when ``None``) whose last datapoint
        is before ``before`` (all when ``None``)."""
        self._unit().write(writes.delete_chunks(_private(record).number, series, before))


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------


def _private(record: StreamRecord) -> _Private:
    return record["private"]


#: What :meth:`Backend.chunk_index` reads of a chunk document (all but its bytes).
_INDEX_FIELDS = {"_id": 1, "f": 1, "l": 1, "n": 1}
#: The same with the bytes (a journal snapshot keeps them).
_INDEX_AND_DATA = {**_INDEX_FIELDS, "d": 1}


def _row(document: dict[str, Any]) -> tuple[int, Any]:
    """``(seconds, stored value)`` of a head datapoint document."""
    if "j" in document:
        return document["t"], loads(document["j"])
    return document["t"], document.get("v")


# The unit's own writes, as its reads see them ------------------------------------------------
#
# A unit of work applies its writes when it commits (:mod:`.units`), so its reads of heads and
# chunks add what it has written so far: the engine reads what it wrote in the same unit (a
# batch that rewrites a chunk, then seals the head into the chunk it just wrote).

_CHUNK_OPS = frozenset({"write_chunks", "delete_chunks", "delete_datapoints", "delete_streams"})
_HEAD_OPS = frozenset({"insert_datapoints", "clear_head", "delete_datapoints", "delete_streams"})


def _pending(unit: UnitOfWork, stream: int) -> list[writes.Op]:
    """The unit's pending operations on the heads and chunks of ``stream``, in order."""
    ops = getattr(unit, "ops", None)
    if not ops:
        return []
    return [op for op in ops if (op[0] in _CHUNK_OPS or op[0] in _HEAD_OPS)
            and (op[0] == "delete_streams" and op[1] is None or stream in writes.streams_of(op))]


def _deletes_stream(op: writes.Op) -> bool:
    return op[0] in ("delete_datapoints", "delete_streams")


def _pending_head(
    documents: list[dict[str, Any]], ops: list[writes.Op], stream: int
) -> list[dict[str, Any]]:
    """The head ``documents`` (sorted by ``(t, q)``) once the unit's ``ops`` are applied."""
    changed = False
    for op in ops:
        if op[0] == "insert_datapoints":
            documents = documents + [d for d in op[1] if d["s"] == stream]
            changed = True
        elif op[0] == "clear_head":
            documents = [] if op[2] is None else [d for d in documents if d["t"] >= op[2]]
        elif _deletes_stream(op):
            documents = []
    if changed:
        documents.sort(key=lambda d: (d["t"], d["q"]))
    return documents


def _pending_chunks(
    documents: list[dict[str, Any]], ops: list[writes.Op], series: int, lo: int, hi: int
) -> list[dict[str, Any]]:
    """The chunk index ``documents`` of ``series`` on ``[lo, hi)`` once ``ops`` are applied."""
    for op in ops:
        if op[0] == "write_chunks":
            removed = set(op[2])
            documents = [d for d in documents if d["_id"] not in removed]
            documents += [d for d in op[3]
                          if d["k"] == series and d["l"] >= lo and d["f"] < hi]
        elif op[0] == "delete_chunks":
            _, _, op_series, before = op
            documents = [
                d for d in documents
                if not ((op_series is None or op_series == series)
                        and (before is None or d["l"] < before))
            ]
        elif _deletes_stream(op):
            documents = []
    documents.sort(key=lambda d: d["f"])
    return documents


def _deletes(op: writes.Op, document: dict[str, Any]) -> bool:
    """Whether ``op`` (a deletion by stream, series or time) removes the chunk ``document``."""
    if op[0] == "delete_chunks":
        _, stream, series, before = op
        return document["s"] == stream and (series is None or document["k"] == series) and (
            before is None or document["l"] < before
        )
    if op[0] == "delete_streams" and op[1] is None:
        return True
    return document["s"] in writes.streams_of(op)


def _pending_chunk_ids(ops: list[writes.Op]) -> tuple[dict[Any, dict[str, Any]], set[Any]]:
    """The chunk documents the unit's ``ops`` write and keep, and the ids they remove."""
    written: dict[Any, dict[str, Any]] = {}
    removed: set[Any] = set()
    for op in ops:
        if op[0] == "write_chunks":
            for chunk in op[2]:
                written.pop(chunk, None)
                removed.add(chunk)
            written.update((d["_id"], d) for d in op[3])
        elif op[0] in _CHUNK_OPS:
            written = {i: d for i, d in written.items() if not _deletes(op, d)}
    return written, removed
