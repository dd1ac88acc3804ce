"""Units of work on MongoDB deployments without transactions (a standalone ``mongod``).

A replica set or a sharded cluster runs every unit of work in a multi-document transaction
(see :mod:`datastream.backends.mongodb`). A standalone server cannot, so there the backend
buffers the unit's writes and commits them with a small journal protocol:

1. **Lock** every stream the unit writes, in ascending internal id order, with a lease
   (``lock: {id, exp, lo}`` in the stream document) taken by compare-and-set on the stream's
   ``rev`` as the unit read it. A changed ``rev`` means another writer committed in between: the
   unit's decisions may be stale, every lock taken is released and
   :class:`~datastream.exceptions.StreamAppendContended` is raised, nothing being written. A
   live lock is waited for; an expired one is recovered (step 5) first.
2. **Journal**: the buffered writes are stored in ``journal`` chunk documents, then the
   journal head document is inserted. Inserting the head is the commit point.
3. **Apply** the writes idempotently: datapoints carry pre-generated ``_id`` values (a replay
   ignores the duplicate-key errors), buckets are upserted by ``(s, g, b)``, deletions are
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

from bson import ObjectId
from pymongo import ReplaceOne
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
    """One unit of work without a transaction: reads go to the server, writes are buffered."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.reads: dict[int, int] = {}  # internal stream id -> rev as first read
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

    # Commit --------------------------------------------------------------------------------

    def commit(self, backend: Backend) -> None:
        if not self.ops:
            return
        db = backend._database()
        locked: list[int] = []
        try:
            if self.catalog_rev is not None and any(
                op[0] in ("insert_stream", "delete_streams") for op in self.ops
            ):
                self._bump_catalog(db)
            for stream in sorted(self.touched):
                self._lock(backend, db, stream)
                locked.append(stream)
            self._write_journal(db)
        except BaseException:
            self._release(db, locked)
            raise
        apply(db, self.id, self.ops, locked)
        db.journal.delete_many({"tx": self.id})
        db.journal.delete_one({"_id": self.id})

    def _bump_catalog(self, db: Any) -> None:
        result = db.meta.update_one(
            {"_id": "catalog", "rev": self.catalog_rev}, {"$inc": {"rev": 1}}
        )
        if result.matched_count == 0:
            raise exceptions.StreamAppendContended(
                "Streams were created or deleted concurrently; retry the operation"
            )

    def _lock(self, backend: Backend, db: Any, stream: int) -> None:
        deadline = time.monotonic() + LOCK_WAIT
        delay = 0.002
        while True:
            now = _now()
            query: dict[str, Any] = {
                "_id": stream,
                "$or": [{"lock": None}, {"lock.exp": {"$lt": now}}],
            }
            if stream in self.reads:
                query["rev"] = self.reads[stream]
            lock = {"id": self.id, "exp": now + LEASE}
            if stream in self.lows:
                lock["lo"] = self.lows[stream]
            if db.streams.update_one(query, {"$set": {"lock": lock}}).matched_count:
                return
            current = db.streams.find_one({"_id": stream}, {"rev": 1, "lock": 1})
            if current is None:
                raise exceptions.StreamNotFound(f"Stream {stream} was deleted concurrently")
            if stream in self.reads and current.get("rev", 0) != self.reads[stream]:
                raise exceptions.StreamAppendContended(
                    "Another writer changed the stream concurrently; nothing was written, "
                    "retry the operation"
                )
            held = current.get("lock")
            if held and _aware(held["exp"]) < _now():
                recover(db, held["id"])
                continue
            if time.monotonic() > deadline:
                raise exceptions.StreamAppendContended(
                    f"A stream stayed locked by another writer for {LOCK_WAIT:.0f} s"
                )
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.2)

    def _release(self, db: Any, locked: list[int]) -> None:
        for stream in locked:
            db.streams.update_one({"_id": stream, "lock.id": self.id}, {"$unset": {"lock": ""}})

    def _write_journal(self, db: Any) -> None:
        from bson import encode

        chunks: list[list[Any]] = [[]]
        size = 0
        for op in self.ops:
            op_size = len(encode({"op": op}))
            if chunks[-1] and size + op_size > _CHUNK_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append(op)
            size += op_size
        db.journal.insert_many(
            [{"tx": self.id, "i": i, "ops": ops} for i, ops in enumerate(chunks)], ordered=True
        )
        streams = sorted(self.touched)
        db.journal.insert_one({"_id": self.id, "chunks": len(chunks), "streams": streams})


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
        apply(db, unit_id, ops, head["streams"])
        db.journal.delete_many({"tx": unit_id})
        db.journal.delete_one({"_id": unit_id})
    else:
        db.journal.delete_many({"tx": unit_id})
        db.streams.update_many({"lock.id": unit_id}, {"$unset": {"lock": ""}})


def apply(db: Any, unit_id: str, ops: list[list[Any]], locked: list[int]) -> None:
    """Apply journaled writes; safe to repeat."""
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
            db.buckets.bulk_write(
                [ReplaceOne({"s": d["s"], "g": d["g"], "b": d["b"]}, d, upsert=True)
                 for d in op[1]],
                ordered=True,
            )
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
