"""The MongoDB storage (pymongo 4): a replica set or a sharded cluster as the database.

``Backend(database_name, clock=None, **connection_settings)``; the connection settings go to
:class:`pymongo.MongoClient` (``host`` may be a ``mongodb://`` URI; ``tz_aware`` defaults to
``True`` and ``serverSelectionTimeoutMS`` to :data:`SERVER_SELECTION_TIMEOUT_MS`). One client
per backend and process, created on first use (and again in a forked child); nothing touches
the network at construction.

Collections (see ``docs/backends.rst`` for the reasoning)::

    streams     {_id: int s, sid: uuid str, rev, n, tags, ...record fields, _json: {...}}
                unique index sid; wildcard index tags.$**; sparse index tags_json
    datapoints  {_id, s, t: int64 POSIX seconds, q: per-stream insertion number, v | j}
                unique index (s, t, q)       -- every range scan and page uses it
    buckets     {_id, s, g: granularity code, b: bucket start seconds, v | vj, t | tj}
                unique index (s, g, b)
    meta        {_id: 'stream_seq', n}, {_id: 'catalog', rev}
    journal     units of work without transactions (see .journal)

Values BSON cannot hold exactly (integers beyond 64 bits, odd dictionary keys) are stored as
JSON text (``j``, ``vj``, ``_json``; see :mod:`.codec`).

Every read and write goes through the current unit of work (:mod:`.units`): a transaction
where the deployment supports them, the journal (:mod:`.journal`) where it does not, and
:class:`~.units.Autocommit` outside units. Writes become operations (:mod:`.writes`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pymongo
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import ConfigurationError, InvalidURI, OperationFailure

from ... import exceptions
from ...granularity import GRANULARITY_CODES, GranularityType
from ...storage import (
    READ_BATCH,
    RECORD_FIELDS,
    BaseStorage,
    Bucket,
    BucketWindow,
    Clock,
    RawScan,
    StreamRecord,
    record_fields,
)
from ...tagquery import Condition, matches
from . import writes
from .checks import check_settings, redact
from .codec import decode_fields, dumps, encode_fields, is_plain, loads
from .journal import JournalUnit, lock_is_live
from .query import tags_filter
from .server import (
    available,
    check_database_name,
    discard_inherited,
    ensure_indexes,
    supports_transactions,
)
from .units import Autocommit, TransactionUnit, UnitOfWork

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

    def _unit(self) -> UnitOfWork:
        unit = getattr(self._local, "unit", None)
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

    # Raw datapoints --------------------------------------------------------------------------

    def insert_datapoints(self, rows: list[tuple[StreamRecord, int, Any]]) -> None:
        """Store raw datapoints in order: one insert, plus each stream's counter."""
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

    def delete_datapoints(self, record: StreamRecord) -> None:
        """Remove every datapoint (raw and downsampled) of one stream."""
        self._unit().write(writes.delete_datapoints(_private(record).number))

    def fetch_datapoints(self, scan: RawScan) -> Iterator[tuple[int, Any]]:
        """Raw ``(seconds, stored value)`` of ``scan``: one indexed ``find`` with the window."""
        direction = DESCENDING if scan.reverse else ASCENDING
        database = self.database()
        cursor = self._unit().run(
            lambda s: database.datapoints.find(
                {"s": _private(scan.record).number, "t": {"$gte": scan.lo, "$lt": scan.hi}},
                {"_id": 0, "t": 1, "v": 1, "j": 1},
                sort=[("t", direction), ("q", direction)],
                skip=scan.offset,
                limit=scan.limit or 0,
                batch_size=scan.batch,
                session=s,
            )
        )
        return _rows(cursor, database.client)

    def count_datapoints(self, record: StreamRecord, lo: int, hi: int) -> int:
        """Number of raw datapoints of ``[lo, hi)`` (an index count)."""
        database = self.database()
        query = {"s": _private(record).number, "t": {"$gte": lo, "$lt": hi}}

        def count(session: Any) -> int:
            if session is not None:  # the count command is not allowed in transactions
                return database.datapoints.count_documents(query, session=session)
            return database.command("count", "datapoints", query=query)["n"]

        return self._unit().run(count)

    # Downsampled buckets ---------------------------------------------------------------------

    def upsert_buckets(
        self, record: StreamRecord, granularity: GranularityType, buckets: list[Bucket]
    ) -> None:
        """Replace the stored buckets of the range ``buckets`` covers by ``buckets``."""
        if not buckets:
            return
        number, code = _private(record).number, GRANULARITY_CODES[granularity]
        documents = []
        for bucket, value, time_ in buckets:
            document: dict[str, Any] = {"s": number, "g": code, "b": bucket}
            if is_plain(value):
                document["v"] = value
            else:
                document["vj"] = dumps(value)
            if is_plain(time_):
                document["t"] = time_
            else:
                document["tj"] = dumps(time_)
            documents.append(document)
        self._unit().write(writes.replace_buckets(documents))

    def fetch_buckets(self, window: BucketWindow) -> Iterator[Bucket]:
        """Stored buckets of ``window``, projected on the server to its keys."""
        database = self.database()
        direction = DESCENDING if window.reverse else ASCENDING
        value_keys, time_keys = window.value_keys or (), window.time_keys or ()
        projection: dict[str, int] = {"_id": 0, "b": 1, "vj": 1, "tj": 1}
        projection.update({f"v.{key}": 1 for key in value_keys})
        projection.update({f"t.{key}": 1 for key in time_keys})
        cursor = self._unit().run(
            lambda s: database.buckets.find(
                {"s": _private(window.record).number,
                 "g": GRANULARITY_CODES[window.granularity],
                 "b": {"$gte": window.lo, "$lt": window.hi}},
                projection,
                sort=[("b", direction)],
                batch_size=READ_BATCH,
                session=s,
            )
        )
        return _bucket_rows(cursor, database.client, value_keys, time_keys)


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------


def _private(record: StreamRecord) -> _Private:
    return record["private"]


def _rows(cursor: Any, client: Any) -> Iterator[tuple[int, Any]]:
    with available(client), cursor:
        for document in cursor:
            if "j" in document:
                yield document["t"], loads(document["j"])
            else:
                yield document["t"], document.get("v")


def _bucket_rows(
    cursor: Any, client: Any, value_keys: tuple[str, ...], time_keys: tuple[str, ...]
) -> Iterator[Bucket]:
    """``(start, v, t)`` with exactly the requested keys."""
    with available(client), cursor:
        for document in cursor:
            value = loads(document["vj"]) if "vj" in document else document.get("v", {})
            time_ = loads(document["tj"]) if "tj" in document else document.get("t", {})
            yield (
                document["b"],
                {key: value[key] for key in value_keys if key in value},
                {key: time_.get(key) for key in time_keys},
            )
