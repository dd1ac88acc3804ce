"""The MongoDB storage backend (pymongo 4): a replica set or a sharded cluster as the engine.

``Backend(database_name, clock=None, **connection_settings)``; the connection settings go to
:class:`pymongo.MongoClient` unchanged (``host`` may be a ``mongodb://`` URI; ``tz_aware``
defaults to ``True``). One client per backend and process, created on first use (and again
in a forked child); nothing touches the network at construction.

Collections (see ``docs/backends.rst`` for the reasoning)::

    streams     {_id: int s, sid: uuid str, rev, n, tags, ...record fields, _json: {...}}
                unique index sid; wildcard index tags.$**; sparse index tags_json
    datapoints  {_id, s, t: int64 POSIX seconds, q: per-stream insertion number, v | j}
                unique index (s, t, q)       -- every range scan and page uses it
    buckets     {_id, s, g: granularity code, b: bucket start seconds, v | vj, t}
                unique index (s, g, b)
    meta        {_id: 'stream_seq', n}, {_id: 'catalog', rev}
    journal     units of work of the no-transaction fallback (mongodb_fallback)

Values BSON cannot hold exactly (integers beyond 64 bits, odd dictionary keys) are stored as
JSON text (``j``, ``vj``, ``_json``; see :mod:`.mongodb_codec`).

Units of work (``_begin``/``_commit``) are multi-document transactions with snapshot reads
whenever the deployment supports them (replica sets, sharded clusters). Reading a stream
record inside a transaction also bumps its ``rev``, which makes concurrent writers of one
stream conflict on their first operation, where the backend restarts the transaction after a
short back-off instead of failing: writers of one stream queue up, writers of different
streams run in parallel. On a standalone server :mod:`.mongodb_fallback` is used instead.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pymongo
from pymongo import ASCENDING, DESCENDING, DeleteMany, InsertOne, ReturnDocument, UpdateOne
from pymongo.errors import (
    ConfigurationError,
    ConnectionFailure,
    InvalidURI,
    OperationFailure,
    PyMongoError,
)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from .. import exceptions
from ..tagquery import Condition, matches
from . import mongodb_fallback as fallback
from .base import GRANULARITY_CODES, RECORD_FIELDS, Clock
from .base import Backend as _EngineBackend
from .mongodb_codec import decode_fields, dumps, is_plain, loads
from .mongodb_query import tags_filter

__all__ = ["Backend"]

_T = TypeVar("_T")

_FIELDS = RECORD_FIELDS
_BATCH = 10000
#: How long a writer keeps retrying while other writers hold a stream it needs.
_CONFLICT_WAIT = 60.0
_INVALID_NAME = re.compile(r'[/\\. "$*<>:|?\x00]')

_INDEXES: dict[str, list[tuple[list[tuple[str, Any]], dict[str, Any]]]] = {
    "streams": [
        ([("sid", ASCENDING)], {"name": "sid", "unique": True}),
        ([("tags.$**", ASCENDING)], {"name": "tags"}),
        ([("tags_json", ASCENDING)], {"name": "tags_json", "sparse": True}),
    ],
    "datapoints": [
        ([("s", ASCENDING), ("t", ASCENDING), ("q", ASCENDING)], {"name": "s_t_q", "unique": True}),
    ],
    "buckets": [
        ([("s", ASCENDING), ("g", ASCENDING), ("b", ASCENDING)], {"name": "s_g_b", "unique": True}),
    ],
    "journal": [([("tx", ASCENDING), ("i", ASCENDING)], {"name": "tx_i"})],
}


class _Unit:
    """A unit of work in a transaction: its session and what it read (to replay on retry)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.log: list[tuple[Any, ...]] = []  # replayable reads: ('touch', sid, fp) ...
        self.dirty = False  # a write or a non-replayable read happened
        self.pending: dict[int, dict[str, dict[str, Any]]] = {}  # buffered stream updates
        self.buckets: list[Any] = []  # buffered bucket replacements (bulk write requests)


class Backend(_EngineBackend):
    """Datastream storage in a MongoDB database (``database_name``) reached with pymongo.

    ``connection_settings`` are ``pymongo.MongoClient`` keyword arguments, e.g. ``host``
    (a host name or a ``mongodb://`` URI), ``port``, ``tz_aware``, ``replicaSet``,
    ``serverSelectionTimeoutMS``, credentials. Invalid settings raise :class:`ValueError`
    at construction; an unreachable server raises
    :class:`~datastream.exceptions.BackendUnavailable` on use.
    """

    #: ``None``: use transactions when the deployment supports them; ``False``: never.
    transactions: bool | None = None
    #: ``_fetch_buckets`` returns exactly the requested keys (projected on the server).
    _projects_buckets = True

    def __init__(
        self, database_name: str, clock: Clock | None = None, **connection_settings: Any
    ) -> None:
        super().__init__(clock=clock)
        self.database_name = _check_database_name(database_name)
        settings = dict(connection_settings)
        settings.setdefault("tz_aware", True)
        settings.setdefault("connect", False)
        self._settings = settings
        self._client_lock = threading.Lock()
        self._client: pymongo.MongoClient | None = None
        self._client_pid: int | None = None
        self._supports_transactions: bool | None = None
        self._ready: set[tuple[int, str]] = set()
        self._local = threading.local()
        #: (database, stream id) -> internal stream number; both never change.
        self._numbers: dict[tuple[str, str], int] = {}
        self._new_client()  # validates the settings; connects lazily

    def __repr__(self) -> str:
        return f"<datastream.backends.mongodb.Backend {self.database_name!r}>"

    # Connection ------------------------------------------------------------------------------

    def _new_client(self) -> pymongo.MongoClient:
        try:
            client: pymongo.MongoClient = pymongo.MongoClient(**self._settings)
        except (ConfigurationError, InvalidURI, TypeError, ValueError) as error:
            raise ValueError(
                f"Invalid MongoDB connection settings for datastream: {error}"
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
                        _discard_inherited(self._client)
                    self._local = threading.local()  # sessions belong to the old client
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

    def _database(self) -> Any:
        client = self.client
        key = (os.getpid(), self.database_name)
        database = client[self.database_name]
        if key not in self._ready:
            with _available(client):
                _ensure_indexes(database)
            self._ready.add(key)
        return database

    def _switch_database(self, database_name: str) -> None:
        """Use another database of the same server from now on."""
        self.database_name = _check_database_name(database_name)

    def _use_transactions(self) -> bool:
        if self.transactions is False:
            return False
        if self._supports_transactions is None:
            with _available(self.client):
                try:
                    hello = self.client.admin.command("hello")
                except OperationFailure:  # servers before 4.4.2 only know the old name
                    hello = self.client.admin.command("isMaster")
            self._supports_transactions = bool(
                hello.get("logicalSessionTimeoutMinutes") is not None
                and (hello.get("setName") or hello.get("msg") == "isdbgrid")
            )
        return self._supports_transactions

    # Units of work -------------------------------------------------------------------------

    def _unit(self) -> Any:
        return getattr(self._local, "unit", None)

    def _begin(self) -> None:
        database = self._database()
        if not self._use_transactions():
            self._local.unit = fallback.FallbackUnit()
            return
        with _available(database.client):
            session = database.client.start_session(causal_consistency=False)
            try:
                _start(session)
            except BaseException:
                session.end_session()
                raise
        self._local.unit = _Unit(session)

    def _commit(self) -> None:
        unit = self._unit()
        if unit is None:
            return
        try:
            database = self._database()
            if isinstance(unit, fallback.FallbackUnit):
                with _available(database.client, committing=True):
                    unit.commit(self)
                return
            try:
                self._flush_pending(unit)
                with _available(database.client, committing=True):
                    unit.session.commit_transaction()
            except BaseException:
                _abort(unit.session)
                raise
            finally:
                unit.session.end_session()
        finally:
            self._local.unit = None

    def _rollback(self) -> None:
        unit = self._unit()
        self._local.unit = None
        if isinstance(unit, fallback.FallbackUnit):
            with contextlib.suppress(PyMongoError):
                unit.release(self._database())
        elif isinstance(unit, _Unit):
            _abort(unit.session)
            unit.session.end_session()

    def _op(self, action: Callable[[Any], _T], replayable: bool = False) -> _T:
        """Run ``action(session)`` in the current unit of work (or alone, without one).

        A write conflict on a unit that has only done replayable reads so far (stream touches,
        stream lists) restarts the transaction after a back-off and replays those reads, which
        must return what they returned before; any other conflict raises
        ``StreamAppendContended`` (nothing is written).
        """
        unit = self._unit()
        client = self.client
        if not isinstance(unit, _Unit):
            with _available(client):
                return action(None)
        deadline = time.monotonic() + _CONFLICT_WAIT
        while True:
            try:
                with _available(client):
                    result = action(unit.session)
                if not replayable:
                    unit.dirty = True
                return result
            except OperationFailure as error:
                if not error.has_error_label("TransientTransactionError"):
                    raise
                if unit.dirty:
                    raise _contended(error) from None
            self._restart(unit, deadline)

    def _restart(self, unit: _Unit, deadline: float) -> None:
        """Abort and restart the transaction, then replay its reads (see :meth:`_op`)."""
        delay = 0.002
        while True:
            if time.monotonic() > deadline:
                raise exceptions.StreamAppendContended(
                    f"Streams stayed busy with other writers for {_CONFLICT_WAIT:.0f} s; "
                    "nothing was written, retry the operation"
                )
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.1)
            _abort(unit.session)
            with _available(unit.session.client):
                _start(unit.session)
                try:
                    for entry in unit.log:
                        self._replay_read(unit.session, entry)
                    return
                except OperationFailure as error:
                    if not error.has_error_label("TransientTransactionError"):
                        raise

    def _replay_read(self, session: Any, entry: tuple[Any, ...]) -> None:
        kind = entry[0]
        if kind == "touch":
            same = _fingerprint(self._touch(entry[1], session)) == entry[2]
        elif kind == "catalog":
            self._touch_catalog(session)
            same = True
        else:
            cursor = self._database().streams.find(entry[1], session=session).sort("_id", 1)
            documents = list(cursor)
            same = _list_fingerprint(documents) == entry[2]
        if not same:
            raise exceptions.StreamAppendContended(
                "Streams changed while waiting for another writer; nothing was written, "
                "retry the operation"
            )

    def _touch(self, sid: str, session: Any) -> dict[str, Any] | None:
        return self._database().streams.find_one_and_update(
            {"sid": sid},
            {"$inc": {"rev": 1}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    def _touch_catalog(self, session: Any) -> None:
        self._database().meta.update_one(
            {"_id": "catalog"}, {"$inc": {"rev": 1}}, upsert=True, session=session
        )

    def _flush_buckets(self, unit: Any) -> None:
        """Send buffered bucket replacements: one ``delete`` and one ``insert`` command."""
        if not isinstance(unit, _Unit) or not unit.buckets:
            return
        requests, unit.buckets = unit.buckets, []
        deletes = [r for r in requests if isinstance(r, DeleteMany)]
        inserts = [r for r in requests if isinstance(r, InsertOne)]
        database = self._database()
        self._op(lambda s: database.buckets.bulk_write(deletes + inserts, ordered=True,
                                                       session=s))

    def _flush_pending(self, unit: _Unit) -> None:
        self._flush_buckets(unit)
        if not unit.pending:
            return
        requests = [UpdateOne({"_id": stream}, update) for stream, update in unit.pending.items()]
        unit.pending = {}
        self._op(lambda s: self._database().streams.bulk_write(requests, ordered=True, session=s))

    # Stream records -------------------------------------------------------------------------

    def _remember(self, document: dict[str, Any]) -> dict[str, Any]:
        self._numbers[(self.database_name, document["sid"])] = document["_id"]
        return _decode_record(document)

    def _load_stream(self, stream_id: str) -> dict[str, Any] | None:
        unit = self._unit()
        if isinstance(unit, _Unit):
            stream = self._numbers.get((self.database_name, stream_id))
            if stream is not None and stream in unit.pending:
                self._flush_pending(unit)
            document = self._op(lambda s: self._touch(stream_id, s), replayable=True)
            unit.log.append(("touch", stream_id, _fingerprint(document)))
        elif isinstance(unit, fallback.FallbackUnit):
            database = self._database()
            document = self._op(lambda s: unit.lock_and_read(database, {"sid": stream_id}))
        else:
            document = self._op(
                lambda s: self._database().streams.find_one({"sid": stream_id}, session=s)
            )
        return None if document is None else self._remember(document)

    def _all_streams(self) -> Iterator[dict[str, Any]]:
        return iter(self._find_streams({}))

    def _list_streams(self, conditions: list[Condition]) -> list[dict[str, Any]]:
        unit = self._unit()
        if isinstance(unit, _Unit):
            # Serialise stream creation and deletion: ensure_stream must not create twins.
            self._op(self._touch_catalog, replayable=True)
            unit.log.append(("catalog",))
        elif isinstance(unit, fallback.FallbackUnit) and unit.catalog_rev is None:
            catalog = self._op(lambda s: self._database().meta.find_one({"_id": "catalog"}))
            unit.catalog_rev = (catalog or {}).get("rev", 0)
        records = self._find_streams(tags_filter(conditions))
        return [r for r in records if matches(conditions, r["tags"])]

    def _find_streams(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        unit = self._unit()

        def find(session: Any) -> list[dict[str, Any]]:
            cursor = self._database().streams.find(query, session=session).sort("_id", 1)
            return list(cursor)

        documents = self._op(find, replayable=True)
        if isinstance(unit, _Unit):
            unit.log.append(("find", query, _list_fingerprint(documents)))
        elif isinstance(unit, fallback.FallbackUnit):
            for document in documents:
                unit.note_read(document)
        return [self._remember(d) for d in documents]

    def _insert_stream(self, record: dict[str, Any]) -> None:
        database = self._database()
        with _available(database.client):
            counter = database.meta.find_one_and_update(
                {"_id": "stream_seq"},
                {"$inc": {"n": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        stream = counter["n"]
        document: dict[str, Any] = {"_id": stream, "sid": record["stream_id"], "rev": 0, "n": 0}
        set_fields, _unset = _encode_fields({f: record[f] for f in _FIELDS})
        document.update(set_fields)
        record.update(_s=stream, _n=0, _rev=0)
        self._numbers[(self.database_name, record["stream_id"])] = stream
        unit = self._unit()
        if isinstance(unit, fallback.FallbackUnit):
            unit.new_streams.add(stream)
            unit.add(["insert_stream", document], [stream])
            return
        self._op(lambda s: database.streams.insert_one(document, session=s))

    def _update_stream(self, stream_id: str, fields: dict[str, Any]) -> None:
        stream = self._numbers.get((self.database_name, stream_id))
        if stream is None:
            document = self._op(
                lambda s: self._database().streams.find_one(
                    {"sid": stream_id}, {"_id": 1, "sid": 1}, session=s
                )
            )
            if document is None:
                return
            stream = document["_id"]
        set_fields, unset_fields = _encode_fields(fields)
        self._queue_update(stream, set_fields, unset_fields)

    def _queue_update(
        self, stream: int, set_fields: dict[str, Any], unset_fields: list[str]
    ) -> None:
        unit = self._unit()
        if isinstance(unit, fallback.FallbackUnit):
            if stream in unit.new_streams:
                for op in unit.ops:
                    if op[0] == "insert_stream" and op[1]["_id"] == stream:
                        op[1].update(set_fields)
                        for name in unset_fields:
                            _drop_path(op[1], name)
                return
            unit.add(["update_stream", stream, set_fields, unset_fields], [stream])
            return
        if isinstance(unit, _Unit):
            update = unit.pending.setdefault(stream, {})
            _merge_update(update, set_fields, unset_fields)
            return
        update: dict[str, Any] = {}
        _merge_update(update, set_fields, unset_fields)
        update.setdefault("$inc", {})["rev"] = 1
        self._op(lambda s: self._database().streams.update_one({"_id": stream}, update))

    def _delete_streams(self, stream_ids: list[str]) -> None:
        database = self._database()
        documents = self._op(
            lambda s: list(
                database.streams.find({"sid": {"$in": stream_ids}}, {"_id": 1}, session=s)
            )
        )
        numbers = [d["_id"] for d in documents]
        if not numbers:
            return
        unit = self._unit()
        self._flush_buckets(unit)
        if isinstance(unit, fallback.FallbackUnit):
            unit.add(["delete_streams", numbers], numbers)
            return
        query = {"s": {"$in": numbers}}

        def delete(session: Any) -> None:
            database.datapoints.delete_many(query, session=session)
            database.buckets.delete_many(query, session=session)
            database.streams.delete_many({"_id": {"$in": numbers}}, session=session)

        self._op(delete)
        if isinstance(unit, _Unit):
            for number in numbers:
                unit.pending.pop(number, None)

    def _delete_everything(self) -> None:
        database = self._database()
        with _available(database.client):
            database.streams.delete_many({})
            database.datapoints.delete_many({})
            database.buckets.delete_many({})
            database.journal.delete_many({})
            database.meta.delete_many({"_id": "catalog"})

    def _safe_latest(self, record: dict[str, Any]) -> int:
        latest = record["latest_datapoint"]
        low = record.get("_in_flight")
        if low is not None and latest is not None and low < latest:
            return low
        return latest

    # Raw datapoints -------------------------------------------------------------------------

    def _insert_datapoints(self, datapoints: list[tuple[dict[str, Any], int, Any]]) -> None:
        unit = self._unit()
        documents = []
        counters: dict[int, tuple[dict[str, Any], int]] = {}
        for record, seconds, value in datapoints:
            stream = record["_s"]
            if stream in counters:
                owner, number = counters[stream]
            else:
                owner, number = record, record["_n"]
            number += 1
            counters[stream] = (owner, number)
            document = {"s": stream, "t": seconds, "q": number}
            if is_plain(value):
                document["v"] = value
            else:
                document["j"] = dumps(value)
            documents.append(document)
            if isinstance(unit, fallback.FallbackUnit):
                document["_id"] = fallback.new_object_id()
                unit.note_low(stream, seconds)
        if not documents:
            return
        for stream, (record, number) in counters.items():
            record["_n"] = number
            self._queue_update(stream, {"n": number}, [])
        if isinstance(unit, fallback.FallbackUnit):
            unit.add(["insert_datapoints", documents], list(counters))
            return
        database = self._database()
        self._op(lambda s: database.datapoints.insert_many(documents, ordered=True, session=s))

    def _delete_datapoints(self, record: dict[str, Any]) -> None:
        stream = record["_s"]
        unit = self._unit()
        self._flush_buckets(unit)
        if isinstance(unit, fallback.FallbackUnit):
            unit.add(["delete_datapoints", stream], [stream])
            return
        database = self._database()

        def delete(session: Any) -> None:
            database.datapoints.delete_many({"s": stream}, session=session)
            database.buckets.delete_many({"s": stream}, session=session)

        self._op(delete)

    def _fetch_datapoints(
        self,
        record: dict[str, Any],
        lo: int,
        hi: int,
        reverse: bool,
        offset: int,
        limit: int | None,
        batch_size: int | None,
    ) -> Iterator[tuple[int, Any]]:
        direction = DESCENDING if reverse else ASCENDING
        batch = max(1, min(batch_size or _BATCH, _BATCH))
        if limit is not None:
            batch = max(1, min(batch, limit))
        database = self._database()

        def find(session: Any) -> Any:
            return database.datapoints.find(
                {"s": record["_s"], "t": {"$gte": lo, "$lt": hi}},
                {"_id": 0, "t": 1, "v": 1, "j": 1},
                sort=[("t", direction), ("q", direction)],
                skip=offset,
                limit=limit or 0,
                batch_size=batch,
                session=session,
            )

        cursor = self._op(find)
        return _rows(cursor, database.client)

    def _count_datapoints(self, record: dict[str, Any], lo: int, hi: int) -> int:
        database = self._database()
        query = {"s": record["_s"], "t": {"$gte": lo, "$lt": hi}}
        unit = self._unit()
        if isinstance(unit, _Unit):
            return self._op(
                lambda s: database.datapoints.count_documents(query, session=s)
            )
        # The plain count command is not allowed in transactions, but it is an index count.
        return self._op(lambda s: database.command("count", "datapoints", query=query)["n"])

    def _scan_datapoints(
        self, record: dict[str, Any], lo: int, hi: int
    ) -> tuple[list[int], list[Any]]:
        times: list[int] = []
        values: list[Any] = []
        database = self._database()

        def find(session: Any) -> Any:
            return database.datapoints.find(
                {"s": record["_s"], "t": {"$gte": lo, "$lt": hi}},
                {"_id": 0, "t": 1, "v": 1, "j": 1},
                sort=[("t", ASCENDING), ("q", ASCENDING)],
                batch_size=_BATCH,
                session=session,
            )

        cursor = self._op(find)
        for seconds, value in _rows(cursor, database.client):
            times.append(seconds)
            values.append(value)
        return times, values

    # Downsampled buckets --------------------------------------------------------------------

    def _upsert_buckets(
        self, record: dict[str, Any], granularity: Any, buckets: list[tuple[int, dict, dict]]
    ) -> None:
        if not buckets:
            return
        stream, code = record["_s"], GRANULARITY_CODES[granularity]
        documents = []
        for bucket, value, time_ in buckets:
            document: dict[str, Any] = {"s": stream, "g": code, "b": bucket}
            if is_plain(value):
                document["v"] = value
            else:
                document["vj"] = dumps(value)
            if is_plain(time_):
                document["t"] = time_
            else:
                document["tj"] = dumps(time_)
            documents.append(document)
        unit = self._unit()
        if isinstance(unit, fallback.FallbackUnit):
            unit.add(["upsert_buckets", documents], [stream])
            return
        # Every non-empty bucket of the recomputed range is in the list, so replacing the
        # range is replacing the buckets (and a range delete is cheap where nothing is stored).
        starts = [d["b"] for d in documents]
        query = {"s": stream, "g": code, "b": {"$gte": min(starts), "$lte": max(starts)}}
        if isinstance(unit, _Unit):
            # Sent at commit with the other granularities' (see _flush_buckets).
            unit.buckets.append(DeleteMany(query))
            unit.buckets.extend(InsertOne(d) for d in documents)
            return
        database = self._database()
        self._op(lambda s: database.buckets.bulk_write(
            [DeleteMany(query), *map(InsertOne, documents)], ordered=True, session=s))

    def _fetch_buckets(
        self,
        record: dict[str, Any],
        granularity: Any,
        lo: int,
        hi: int,
        reverse: bool,
        value_keys: list[str] | None = None,
        time_keys: list[str] | None = None,
    ) -> Iterator[tuple[int, dict, dict]]:
        self._flush_buckets(self._unit())
        database = self._database()
        direction = DESCENDING if reverse else ASCENDING
        projection: dict[str, int] = {"_id": 0, "b": 1, "vj": 1, "tj": 1}
        if value_keys is None:
            projection["v"] = 1
        else:
            projection.update({f"v.{key}": 1 for key in value_keys})
        if time_keys is None:
            projection["t"] = 1
        else:
            projection.update({f"t.{key}": 1 for key in time_keys})

        def find(session: Any) -> Any:
            return database.buckets.find(
                {"s": record["_s"], "g": GRANULARITY_CODES[granularity],
                 "b": {"$gte": lo, "$lt": hi}},
                projection,
                sort=[("b", direction)],
                batch_size=_BATCH,
                session=session,
            )

        cursor = self._op(find)
        return _bucket_rows(cursor, database.client, value_keys, time_keys)


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _available(client: Any, committing: bool = False) -> Iterator[None]:
    """Translate "server unreachable" errors into ``BackendUnavailable``."""
    try:
        yield
    except ConnectionFailure as error:
        where = ", ".join(f"{h}:{p}" for h, p in getattr(client, "_seeds", None) or ()) or "?"
        outcome = (
            "the outcome of the commit is unknown"
            if committing
            else "nothing was written"
        )
        raise exceptions.BackendUnavailable(
            f"MongoDB server unavailable ({where}); {outcome}: {error}"
        ) from error
    except OperationFailure as error:
        if committing and error.has_error_label("UnknownTransactionCommitResult"):
            raise exceptions.BackendUnavailable(
                f"MongoDB commit failed; the outcome is unknown: {error}"
            ) from error
        raise


def _discard_inherited(client: pymongo.MongoClient) -> None:
    """Close, in a forked child, the client inherited from the parent (never used here)."""
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        client.close()


def _start(session: Any) -> None:
    session.start_transaction(
        read_concern=ReadConcern("snapshot"),
        write_concern=WriteConcern("majority"),
        read_preference=pymongo.ReadPreference.PRIMARY,
    )


def _abort(session: Any) -> None:
    if session.in_transaction:
        with contextlib.suppress(PyMongoError):
            session.abort_transaction()


def _rows(cursor: Any, client: Any) -> Iterator[tuple[int, Any]]:
    with _available(client), cursor:
        for document in cursor:
            if "j" in document:
                yield document["t"], loads(document["j"])
            else:
                yield document["t"], document.get("v")


def _bucket_rows(
    cursor: Any, client: Any, value_keys: list[str] | None, time_keys: list[str] | None
) -> Iterator[tuple[int, dict, dict]]:
    """``(start, v, t)`` with exactly the requested keys (``None``: all stored keys)."""
    with _available(client), cursor:
        for document in cursor:
            value = loads(document["vj"]) if "vj" in document else document.get("v", {})
            time_ = loads(document["tj"]) if "tj" in document else document.get("t", {})
            if value_keys is not None:
                value = {key: value[key] for key in value_keys if key in value}
            if time_keys is not None:
                time_ = {key: time_.get(key) for key in time_keys}
            yield document["b"], value, time_


def _fingerprint(document: dict[str, Any] | None) -> Any:
    if document is None:
        return None
    return {k: v for k, v in document.items() if k != "rev"}


def _list_fingerprint(documents: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a replayed stream list must return again: identities and tag-like fields."""
    return [
        (d["sid"], d.get("tags"), d.get("tags_json"), d.get("derived_from"),
         d.get("contributes_to"), d.get("_json"))
        for d in documents
    ]


def _contended(error: Exception) -> exceptions.StreamAppendContended:
    return exceptions.StreamAppendContended(
        f"Another writer changed the same streams concurrently; nothing was written, retry "
        f"the operation ({error})"
    )


def _decode_record(document: dict[str, Any]) -> dict[str, Any]:
    record = decode_fields(document, _FIELDS)
    if "tags_json" in document:
        record["tags"] = loads(document["tags_json"])
    record["stream_id"] = document["sid"]
    record["_s"] = document["_id"]
    record["_n"] = document.get("n", 0)
    record["_rev"] = document.get("rev", 0)
    lock = document.get("lock")
    if lock and "lo" in lock:
        expires = lock["exp"]
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=datetime.UTC)
        if expires > datetime.datetime.now(datetime.UTC):
            record["_in_flight"] = lock["lo"]
    return record


def _encode_fields(fields: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``$set`` and ``$unset`` parts storing ``fields`` (natively, or as JSON text)."""
    set_fields: dict[str, Any] = {}
    unset_fields: list[str] = []
    for name, value in fields.items():
        if name == "tags":
            if is_plain(value):
                set_fields["tags"] = value
                unset_fields.append("tags_json")
            else:
                set_fields["tags"] = {}
                set_fields["tags_json"] = dumps(value)
        elif is_plain(value):
            set_fields[name] = value
            unset_fields.append(f"_json.{name}")
        else:
            set_fields[f"_json.{name}"] = dumps(value)
            unset_fields.append(name)
    return set_fields, unset_fields


def _merge_update(update: dict[str, Any], set_fields: dict[str, Any], unset: list[str]) -> None:
    sets = update.setdefault("$set", {})
    unsets = update.setdefault("$unset", {})
    for name, value in set_fields.items():
        sets[name] = value
        unsets.pop(name, None)
    for name in unset:
        unsets[name] = ""
        sets.pop(name, None)
    if not unsets:
        update.pop("$unset")


def _drop_path(document: dict[str, Any], path: str) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        document.pop(head, None)
    elif isinstance(document.get(head), dict):
        _drop_path(document[head], rest)


def _check_database_name(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > 63 or _INVALID_NAME.search(name):
        raise ValueError(
            "database_name must be a MongoDB database name (1-63 characters, none of "
            f'/\\. "$*<>:|? or NUL), not {name!r}'
        )
    return name


def _ensure_indexes(database: Any) -> None:
    """Create collections and indexes; idempotent and safe when processes race to do it."""
    for attempt in range(5):
        try:
            for name, specs in _INDEXES.items():
                collection = database[name]
                for keys, options in specs:
                    collection.create_index(keys, **options)
            database.meta.update_one(
                {"_id": "catalog"}, {"$setOnInsert": {"rev": 0}}, upsert=True
            )
            return
        except OperationFailure as error:
            # Another process creating the same collection or index at the same moment.
            if attempt == 4 or error.code not in (11000, 48, 68, 85, 86, 276, 112):
                raise
            time.sleep(0.05 * (attempt + 1))
