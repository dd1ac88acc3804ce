"""Units of work on MongoDB deployments without transactions (a standalone ``mongod``).

A replica set or a sharded cluster runs every unit of work in a multi-document transaction
(see :mod:`datastream.backends.mongodb`). A standalone server cannot, so there the backend
buffers the unit's writes and commits them with a small journal protocol:

1. **Lock**: reading a stream record inside a unit locks it with a lease
   (``lock: {id, exp, lo}`` in the stream document, set by ``find_one_and_update`` only when
   no live lock is held), so units of one stream queue up, as they would behind a
   transaction's first write. Streams the unit writes without having read them are locked at
   commit by compare-and-set on the ``rev`` the unit saw; a changed ``rev`` means another
   writer committed in between, so every lock is released and
   :class:`~datastream.exceptions.StreamAppendContended` is raised, nothing being written.
   A live lock is waited for (long for a unit's first lock, briefly for later ones, since two
   units may wait for each other); an expired one is recovered (step 5) first.
2. **Journal**: the buffered writes are stored in ``journal`` chunk documents, then the
   journal head document is inserted. Inserting the head is the commit point.
3. **Apply** the writes idempotently: datapoints carry pre-generated ``_id`` values (a replay
   ignores the duplicate-key errors), buckets are replaced by range, deletions are
   repeatable, and each stream document is updated (``$set`` of the new fields, ``rev``
   incremented, lock released) only while it still holds this unit's lock.
4. **Forget** the journal.
5. **Recovery**: a writer that finds an expired lock rolls the dead unit's journal forward
   when its head exists (the unit had committed) and otherwise just drops the chunks and the
   locks (nothing had been applied).

Guarantees: a batch lands whole or not at all, once (also when its writer dies mid-way and
another process finishes it); concurrent writers of one stream are serialised; a downsampler
never writes buckets over data it did not see, because its commit compares ``rev`` and the
engine's ``version``, and ``lock.lo`` tells it (through ``_safe_latest``) where an in-flight
batch may still land. Not guaranteed: readers may see a batch half applied for the moment
step 3 takes (there is no snapshot isolation without transactions).
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

import bson
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from .. import exceptions

if TYPE_CHECKING:
    from .mongodb import Backend

__all__ = ["FallbackUnit", "recover"]

#: How long a lock is valid; a writer that died is recovered after this.
LEASE = datetime.timedelta(seconds=30)
#: How long a writer waits for a live lock before giving up.
LOCK_WAIT = 60.0
_CHUNK_BYTES = 4_000_000


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class FallbackUnit:
    """One unit of work without a transaction: reads go to the server, writes are buffered.

    Reading a stream record inside the unit locks it (like the first write of a transaction
    would), so units touching the same stream queue up instead of computing from stale reads.
    """

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.reads: dict[int, int] = {}  # internal stream id -> rev as first read
        self.held: set[int] = set()  # streams locked by this unit
        self.catalog_rev: int | None = None
        self.ops: list[list[Any]] = []
        self.new_streams: set[int] = set()
        self.touched: set[int] = set()
        self.lows: dict[int, int] = {}

    @property
    def session(self) -> None:
        return None

    def note_read(self, document: dict[str, Any]) -> None:
        self.reads.setdefault(document["_id"], document.get("rev", 0))

    def add(self, op: list[Any], streams: list[int]) -> None:
        self.ops.append(op)
        self.touched.update(s for s in streams if s not in self.new_streams)

    def note_low(self, stream: int, seconds: int) -> None:
        if stream not in self.lows or seconds < self.lows[stream]:
            self.lows[stream] = seconds

    # Locks ---------------------------------------------------------------------------------

    def lock_and_read(self, db: Any, query: dict[str, Any]) -> dict[str, Any] | None:
        """Lock the stream document matching ``query`` for this unit and return it."""
        # The first lock of a unit waits long; a later one briefly (two units may wait for
        # each other), then the unit gives up without having written anything.
        patience = LOCK_WAIT if not self.held else 2.0
        document = self._acquire(db, query, None, patience)
        if document is not None:
            self.held.add(document["_id"])
            self.note_read(document)
        return document

    def _acquire(
        self, db: Any, query: dict[str, Any], rev: int | None, patience: float
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + patience
        delay = 0.002
        while True:
            now = _now()
            condition = {
                **query,
                "$or": [{"lock": None}, {"lock.id": self.id}],
            }
            if rev is not None:
                condition["rev"] = rev
            document = db.streams.find_one_and_update(
                condition,
                {"$set": {"lock": {"id": self.id, "exp": now + LEASE}}},
                return_document=ReturnDocument.AFTER,
            )
            if document is not None:
                return document
            current = db.streams.find_one(query, {"rev": 1, "lock": 1})
            if current is None:
                return None
            if rev is not None and current.get("rev", 0) != rev:
                raise exceptions.StreamAppendContended(
                    "Another writer changed a stream concurrently; nothing was written, "
                    "retry the operation"
                )
            held = current.get("lock")
            if held and _aware(held["exp"]) < _now():
                recover(db, held["id"])
                continue
            if time.monotonic() > deadline:
                raise exceptions.StreamAppendContended(
                    f"A stream stayed locked by another writer for {patience:.0f} s; nothing "
                    "was written, retry the operation"
                )
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.1)

    def release(self, db: Any) -> None:
        """Give back every lock (rollback); lost locks simply expire."""
        if self.held:
            db.streams.update_many(
                {"_id": {"$in": sorted(self.held)}, "lock.id": self.id}, {"$unset": {"lock": ""}}
            )
        self.held = set()

    # Commit --------------------------------------------------------------------------------

    def commit(self, backend: Backend) -> None:
        db = backend._database()
        if not self.ops:
            self.release(db)
            return
        try:
            if self.catalog_rev is not None and any(
                op[0] in ("insert_stream", "delete_streams") for op in self.ops
            ):
                self._bump_catalog(db)
            for stream in sorted(self.touched | self.held):
                lock: dict[str, Any] = {"id": self.id, "exp": _now() + LEASE}
                if stream in self.lows:
                    lock["lo"] = self.lows[stream]
                if stream in self.held:
                    result = db.streams.update_one(
                        {"_id": stream, "lock.id": self.id}, {"$set": {"lock": lock}}
                    )
                    if result.matched_count == 0:
                        raise exceptions.StreamAppendContended(
                            "This unit of work took longer than its lock lease; nothing was "
                            "written, retry the operation"
                        )
                    continue
                document = self._acquire(db, {"_id": stream}, self.reads.get(stream), LOCK_WAIT)
                if document is None:
                    raise exceptions.StreamNotFound(f"Stream {stream} was deleted concurrently")
                self.held.add(stream)
                if "lo" in lock:
                    db.streams.update_one(
                        {"_id": stream, "lock.id": self.id}, {"$set": {"lock": lock}}
                    )
            self._write_journal(db)
        except BaseException:
            self.release(db)
            raise
        apply(db, self.id, self.ops, sorted(self.touched), sorted(self.held - self.touched))
        db.journal.delete_many({"tx": self.id})
        db.journal.delete_one({"_id": self.id})
        self.held = set()

    def _bump_catalog(self, db: Any) -> None:
        result = db.meta.update_one(
            {"_id": "catalog", "rev": self.catalog_rev}, {"$inc": {"rev": 1}}
        )
        if result.matched_count == 0:
            raise exceptions.StreamAppendContended(
                "Streams were created or deleted concurrently; retry the operation"
            )

    def _write_journal(self, db: Any) -> None:
        chunks: list[list[Any]] = [[]]
        size = 0
        for op in self.ops:
            op_size = len(bson.encode({"op": op}))
            if chunks[-1] and size + op_size > _CHUNK_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append(op)
            size += op_size
        db.journal.insert_many(
            [{"tx": self.id, "i": i, "ops": ops} for i, ops in enumerate(chunks)], ordered=True
        )
        db.journal.insert_one(
            {"_id": self.id, "chunks": len(chunks), "streams": sorted(self.touched),
             "read_only": sorted(self.held - self.touched)}
        )


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def recover(db: Any, unit_id: str) -> None:
    """Finish (or forget) a unit of work whose writer died holding locks."""
    head = db.journal.find_one({"_id": unit_id})
    if head is not None:
        ops = [
            op
            for chunk in db.journal.find({"tx": unit_id}).sort("i", 1)
            for op in chunk["ops"]
        ]
        apply(db, unit_id, ops, head["streams"], head.get("read_only", []))
        db.journal.delete_many({"tx": unit_id})
        db.journal.delete_one({"_id": unit_id})
    else:
        db.journal.delete_many({"tx": unit_id})
        db.streams.update_many({"lock.id": unit_id}, {"$unset": {"lock": ""}})


def apply(
    db: Any, unit_id: str, ops: list[list[Any]], locked: list[int], read_only: list[int]
) -> None:
    """Apply journaled writes, then release the unit's locks; safe to repeat."""
    updates: dict[int, dict[str, dict[str, Any]]] = {}
    for op in ops:
        kind = op[0]
        if kind == "insert_stream":
            try:
                db.streams.insert_one(op[1])
            except DuplicateKeyError:
                pass
        elif kind == "update_stream":
            _, stream, set_fields, unset_fields = op
            update = updates.setdefault(stream, {"$set": {}, "$unset": {}})
            update["$set"].update(set_fields)
            for name in unset_fields:
                update["$set"].pop(name, None)
            update["$unset"].update(dict.fromkeys(unset_fields, ""))
            for name in set_fields:
                update["$unset"].pop(name, None)
        elif kind == "insert_datapoints":
            _insert_ignoring_duplicates(db.datapoints, op[1])
        elif kind == "delete_datapoints":
            db.datapoints.delete_many({"s": op[1]})
            db.buckets.delete_many({"s": op[1]})
        elif kind == "upsert_buckets":
            documents = op[1]
            starts = [d["b"] for d in documents]
            db.buckets.delete_many({"s": documents[0]["s"], "g": documents[0]["g"],
                                    "b": {"$gte": min(starts), "$lte": max(starts)}})
            _insert_ignoring_duplicates(db.buckets, documents)
        elif kind == "delete_streams":
            db.datapoints.delete_many({"s": {"$in": op[1]}})
            db.buckets.delete_many({"s": {"$in": op[1]}})
            db.streams.delete_many({"_id": {"$in": op[1]}})
        else:  # pragma: no cover - journal written by a newer version
            raise ValueError(f"Unknown journal operation {kind!r}")
    for stream in locked:
        update = updates.get(stream, {"$set": {}, "$unset": {}})
        unset = {**update["$unset"], "lock": ""}
        change: dict[str, Any] = {"$unset": unset, "$inc": {"rev": 1}}
        if update["$set"]:
            change["$set"] = update["$set"]
        db.streams.update_one({"_id": stream, "lock.id": unit_id}, change)
    if read_only:
        db.streams.update_many(
            {"_id": {"$in": read_only}, "lock.id": unit_id}, {"$unset": {"lock": ""}}
        )


def _insert_ignoring_duplicates(collection: Any, documents: list[dict[str, Any]]) -> None:
    if not documents:
        return
    try:
        collection.insert_many(documents, ordered=False)
    except BulkWriteError as error:
        if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
            raise


def new_object_id() -> ObjectId:
    """A fresh ``_id`` for a journaled insert (fixed before the journal is written)."""
    return ObjectId()
