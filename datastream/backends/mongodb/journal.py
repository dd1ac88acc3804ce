"""Units of work on MongoDB deployments without transactions (a standalone ``mongod``).

A replica set or a sharded cluster runs every unit of work in a multi-document transaction
(:class:`~.units.TransactionUnit`). A standalone server cannot, so there a
:class:`JournalUnit` buffers the unit's writes and commits them with a small journal
protocol:

1. **Lock**: reading a stream for writing takes a lease on it (``lock: {id, exp, lo}`` in the
   stream document, set by ``find_one_and_update`` only when no lock is held), so units of
   one stream queue up, as they would behind a transaction's first write. Streams the unit
   writes without having read them for writing are locked at commit by compare-and-set on the
   ``rev`` the unit saw; a changed ``rev`` means another writer committed in between, so every
   lock is released and :class:`~datastream.exceptions.StreamAppendContended` is raised,
   nothing being written. A live lock is waited for (long for a unit's first lock, briefly for
   later ones, since two units may wait for each other); an expired one is recovered (step 5)
   first. A unit renews its leases while it works, so only a dead writer's lease expires.
2. **Journal**: the buffered writes are stored in ``journal`` chunk documents, then the
   journal head document is inserted. Inserting the head is the commit point.
3. **Apply** the writes with :func:`.writes.apply`, idempotently; each stream document is
   updated (new fields, ``rev`` incremented, lock released) only while it still holds this
   unit's lock.
4. **Forget** the journal.
5. **Recovery**: a writer that finds an expired lease rolls the dead unit's journal forward
   when its head exists (the unit had committed) and otherwise just drops the chunks and the
   locks (nothing had been applied).

Leases are measured on the storage's clock (the injectable ``clock``), so every process
sharing a database must have clocks that agree to well within :data:`LEASE`.

Guarantees: a batch lands whole or not at all, once (also when its writer dies mid-way and
another process finishes it); concurrent writers of one stream are serialised; a downsampler
never writes buckets over data it did not see, because its commit compares ``rev`` and the
engine's ``version``, and ``lock.lo`` tells it (through ``safe_latest``) where an in-flight
batch may still land. Not guaranteed: readers may see a batch half applied for the moment
step 3 takes (there is no snapshot isolation without transactions).
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import bson
from pymongo import ReturnDocument
from pymongo.errors import PyMongoError

from ... import exceptions
from .backoff import Backoff
from .server import available
from .units import CONFLICT_WAIT, NOTHING_WRITTEN, Autocommit, find_streams
from .writes import Op, apply, creates_or_deletes_streams, streams_of

__all__ = ["LEASE", "SETTLE_WAIT", "JournalSnapshot", "JournalUnit", "lock_is_live", "recover"]

_T = TypeVar("_T")
Clock = Callable[[], datetime.datetime]

#: How long a lease lasts without renewal: how long a dead writer's streams stay blocked.
LEASE = datetime.timedelta(seconds=10)
#: Patience for a lock held by another unit when the unit holds none yet.
LOCK_WAIT = CONFLICT_WAIT
#: Patience for a further lock (two units may wait for each other).
NEXT_LOCK_WAIT = 2.0
#: How long a read waits for a committed unit of its stream to finish being applied.
SETTLE_WAIT = 2.0
_CHUNK_BYTES = 4_000_000
_APPLYING = (
    "the batch is committed in the journal and is completed by the next writer of its "
    "streams once the lease has expired"
)


class JournalUnit:
    """One unit of work without a transaction: reads go to the server, writes are buffered."""

    def __init__(self, db: Any, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.id = uuid.uuid4().hex
        self.ops: list[Op] = []
        self.reads: dict[int, int] = {}  # stream number -> rev as first read
        self.held: set[int] = set()  # streams locked by this unit
        self.new_streams: set[int] = set()
        self.touched: set[int] = set()  # existing streams the writes change
        self.catalog_rev: int | None = None
        self._renew_at: datetime.datetime | None = None

    # The protocol ------------------------------------------------------------------------

    def run(
        self, action: Callable[[Any], _T], replayable: bool = False, outcome: str | None = None
    ) -> _T:
        with available(self.db.client, outcome):
            self._renew()
            return action(None)

    def load_stream(self, sid: str) -> dict[str, Any] | None:
        with available(self.db.client):
            self._renew()
            # The first lock of a unit waits long; a later one briefly (two units may wait
            # for each other), then the unit gives up without having written anything.
            patience = LOCK_WAIT if not self.held else NEXT_LOCK_WAIT
            document = self._acquire({"sid": sid}, None, patience)
        if document is not None:
            self.held.add(document["_id"])
            self._note_read(document)
        return document

    def find_streams(self, query: dict[str, Any], skip: int, limit: int) -> list[dict[str, Any]]:
        documents = self.run(lambda s: find_streams(self.db, query, skip, limit, None))
        for document in documents:
            self._note_read(document)
        return documents

    def guard_catalog(self) -> None:
        if self.catalog_rev is None:
            catalog = self.run(lambda s: self.db.meta.find_one({"_id": "catalog"}))
            self.catalog_rev = (catalog or {}).get("rev", 0)

    def write(self, op: Op) -> None:
        self.ops.append(op)
        if op[0] == "insert_stream":
            self.new_streams.add(op[1]["_id"])
        self.touched.update(streams_of(op) - self.new_streams)

    def commit(self) -> None:
        if not self.ops:
            self.rollback()
            return
        try:
            with available(self.db.client, NOTHING_WRITTEN):
                if self.catalog_rev is not None and creates_or_deletes_streams(self.ops):
                    self._bump_catalog()
                self._lock_for_commit()
                self._write_chunks()
        except BaseException:
            self.rollback()
            raise
        # From here on the locks stay until the unit is applied: if inserting the head (the
        # commit point) or applying fails, the next writer finds the lease expired and
        # recovers the unit from the journal.
        with available(self.db.client, "the outcome of the commit is unknown"):
            self.db.journal.insert_one(
                {"_id": self.id, "streams": sorted(self.touched),
                 "read_only": sorted(self.held - self.touched)}
            )
        with available(self.db.client, _APPLYING):
            apply(self.db, self.ops, owner=self.id, locked=sorted(self.touched),
                  read_only=sorted(self.held - self.touched))
            self.db.journal.delete_many({"tx": self.id})
            self.db.journal.delete_one({"_id": self.id})
        self.held = set()

    def rollback(self) -> None:
        """Give back every lock and drop journal chunks; what fails to go simply expires."""
        with contextlib.suppress(PyMongoError):
            if self.held:
                self.db.streams.update_many(
                    {"_id": {"$in": sorted(self.held)}, "lock.id": self.id},
                    {"$unset": {"lock": ""}},
                )
            if self.ops:
                self.db.journal.delete_many({"tx": self.id})
        self.held = set()

    # Locks ---------------------------------------------------------------------------------

    def _note_read(self, document: dict[str, Any]) -> None:
        self.reads.setdefault(document["_id"], document.get("rev", 0))

    def _lease(self) -> datetime.datetime:
        now = self.clock()
        self._renew_at = now + LEASE / 2
        return now + LEASE

    def _renew(self) -> None:
        """Extend the leases of a unit that is still working (past half of the lease)."""
        if not self.held or self._renew_at is None or self.clock() < self._renew_at:
            return
        result = self.db.streams.update_many(
            {"_id": {"$in": sorted(self.held)}, "lock.id": self.id},
            {"$set": {"lock.exp": self._lease()}},
        )
        if result.matched_count < len(self.held):
            raise exceptions.StreamAppendContended(
                "This unit of work lost its lock lease to another writer; nothing was written, "
                "retry the operation"
            )

    def _acquire(
        self, query: dict[str, Any], rev: int | None, patience: float
    ) -> dict[str, Any] | None:
        backoff = Backoff(patience)
        while True:
            condition = {**query, "$or": [{"lock": None}, {"lock.id": self.id}]}
            if rev is not None:
                condition["rev"] = rev
            document = self.db.streams.find_one_and_update(
                condition,
                {"$set": {"lock": {"id": self.id, "exp": self._lease()}}},
                return_document=ReturnDocument.AFTER,
            )
            if document is not None:
                return document
            current = self.db.streams.find_one(query, {"rev": 1, "lock": 1})
            if current is None:
                return None
            if rev is not None and current.get("rev", 0) != rev:
                raise exceptions.StreamAppendContended(
                    "Another writer changed a stream concurrently; nothing was written, "
                    "retry the operation"
                )
            held = current.get("lock")
            if held and not lock_is_live(held, self.clock()):
                recover(self.db, held["id"])
                continue
            if not backoff.wait():
                raise exceptions.StreamAppendContended(
                    f"A stream stayed locked by another writer for {patience:.0f} s; nothing "
                    "was written, retry the operation"
                )

    def _lock_for_commit(self) -> None:
        """Lock every stream the writes change; renew the leases, noting where data lands."""
        lows: dict[int, int] = {}
        for op in self.ops:
            if op[0] == "insert_datapoints":
                landing = [(document["s"], document["t"]) for document in op[1]]
            elif op[0] == "write_chunks":  # raw chunks (series 0): a seal or a past append
                landing = [(document["s"], document["f"]) for document in op[3]
                           if document["k"] == 0]
            else:
                continue
            for stream, seconds in landing:
                if stream not in lows or seconds < lows[stream]:
                    lows[stream] = seconds
        for stream in sorted(self.touched | self.held):
            if stream not in self.held:
                document = self._acquire({"_id": stream}, self.reads.get(stream), LOCK_WAIT)
                if document is None:
                    raise exceptions.StreamNotFound(f"Stream {stream} was deleted concurrently")
                self.held.add(stream)
            lock: dict[str, Any] = {"id": self.id, "exp": self._lease()}
            if stream in lows:
                lock["lo"] = lows[stream]
            result = self.db.streams.update_one(
                {"_id": stream, "lock.id": self.id}, {"$set": {"lock": lock}}
            )
            if result.matched_count == 0:
                raise exceptions.StreamAppendContended(
                    "This unit of work outlived its lock lease; nothing was written, retry "
                    "the operation"
                )

    def _bump_catalog(self) -> None:
        result = self.db.meta.update_one(
            {"_id": "catalog", "rev": self.catalog_rev}, {"$inc": {"rev": 1}}
        )
        if result.matched_count == 0:
            raise exceptions.StreamAppendContended(
                "Streams were created or deleted concurrently; retry the operation"
            )

    def _write_chunks(self) -> None:
        chunks: list[list[Op]] = [[]]
        size = 0
        for op in _split(self.ops):
            op_size = len(bson.encode({"op": op}))
            if chunks[-1] and size + op_size > _CHUNK_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append(op)
            size += op_size
        self.db.journal.insert_many(
            [{"tx": self.id, "i": i, "ops": ops} for i, ops in enumerate(chunks)], ordered=True
        )


def _split(ops: list[Op]) -> list[Op]:
    """``ops`` with their document lists cut so that each piece fits a journal chunk.

    Datapoint inserts are cut into runs of inserts; a chunk write into the write removing the
    old chunks with the first new ones, then writes adding the rest (chunk documents carry up
    to a few hundred KB of bytes each). Applied in order, the pieces do what the whole did.
    """
    out: list[Op] = []
    for op in ops:
        if op[0] == "insert_datapoints":
            out.extend(["insert_datapoints", piece] for piece in _pieces(op[1]))
        elif op[0] == "write_chunks" and len(op[3]) > 1:
            pieces = _pieces(op[3])
            out.append(["write_chunks", op[1], op[2], pieces[0]])
            out.extend(["write_chunks", op[1], [], piece] for piece in pieces[1:])
        else:
            out.append(op)
    return out


def _pieces(documents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``documents`` in consecutive runs of at most about :data:`_CHUNK_BYTES` of BSON (a
    larger document alone; none exceeds the 16 MB of one BSON document)."""
    pieces: list[list[dict[str, Any]]] = [[]]
    size = 0
    for document in documents:
        document_size = len(bson.encode(document))
        if pieces[-1] and size + document_size > _CHUNK_BYTES:
            pieces.append([])
            size = 0
        pieces[-1].append(document)
        size += document_size
    return pieces


class JournalSnapshot(Autocommit):
    """The best a ``read_snapshot`` can do without transactions (there is no snapshot).

    Before its first read of a stream it waits (up to :data:`SETTLE_WAIT`) while a unit that
    has committed (its journal head exists) is being applied to that stream, and finishes a
    dead writer's committed unit itself (:func:`recover`), so that it does not read a stream
    left half applied. It keeps the bytes of the chunks its chunk index read (``chunks``), so
    that a chunk listed stays readable. A unit committing after that first read can still be
    seen in part.
    """

    def __init__(self, db: Any, clock: Clock) -> None:
        super().__init__(db)
        self.clock = clock
        self.settled: set[int] = set()
        self.chunks: dict[Any, bytes] = {}

    def settle(self, stream: int) -> None:
        """Wait until no committed unit is being applied to ``stream`` (once per stream)."""
        if stream in self.settled:
            return
        self.settled.add(stream)
        backoff = Backoff(SETTLE_WAIT)
        with available(self.db.client):
            while True:
                document = self.db.streams.find_one({"_id": stream}, {"lock": 1})
                lock = (document or {}).get("lock")
                if not lock or self.db.journal.find_one({"_id": lock["id"]}, {"_id": 1}) is None:
                    return  # nothing committed is being applied
                if not lock_is_live(lock, self.clock()):
                    recover(self.db, lock["id"])
                elif not backoff.wait():
                    return


def lock_is_live(lock: dict[str, Any], now: datetime.datetime) -> bool:
    """Whether a stream's ``lock`` is still within its lease at ``now``."""
    expires = lock["exp"]
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=datetime.UTC)
    return expires > now


def recover(db: Any, unit_id: str) -> None:
    """Finish (or forget) a unit of work whose writer died holding locks."""
    head = db.journal.find_one({"_id": unit_id})
    if head is not None:
        ops = [op for chunk in db.journal.find({"tx": unit_id}).sort("i", 1) for op in chunk["ops"]]
        apply(db, ops, owner=unit_id, locked=head["streams"], read_only=head.get("read_only", []))
        db.journal.delete_many({"tx": unit_id})
        db.journal.delete_one({"_id": unit_id})
    else:
        db.journal.delete_many({"tx": unit_id})
        db.streams.update_many({"lock.id": unit_id}, {"$unset": {"lock": ""}})
