"""The unit-of-work protocol of the MongoDB storage, and its two implementations without a journal.

Every read and write of the storage goes through a :class:`UnitOfWork`:

* :class:`Autocommit` — no unit of work is open: each read and write stands alone;
* :class:`SnapshotReads` — no unit of work is open, but the storage's ``read_snapshot``: the
  reads share one read-only transaction (one state of the database);
* :class:`TransactionUnit` — a multi-document transaction (replica sets, sharded clusters);
* :class:`~.journal.JournalUnit` — locks and a journal, for deployments without transactions.

A unit collects its writes as operations (:mod:`.writes`) and applies them, with
:func:`.writes.apply`, when it commits. Reading a stream "for writing" (:meth:`load_stream`)
serialises the writers of one stream: a transaction bumps the stream's ``rev`` (concurrent
writers conflict on their first operation), the journal takes a lease on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import pymongo
from pymongo import ReturnDocument
from pymongo.errors import OperationFailure
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from ... import exceptions
from .backoff import Backoff
from .server import abort, available
from .writes import Op, apply

__all__ = ["CONFLICT_WAIT", "Autocommit", "SnapshotReads", "TransactionUnit", "UnitOfWork"]

_T = TypeVar("_T")

#: How long a writer keeps retrying while other writers hold a stream it needs.
CONFLICT_WAIT = 60.0
NOTHING_WRITTEN = "nothing was written"


class UnitOfWork(Protocol):
    """What the storage asks of a unit of work."""

    def run(
        self, action: Callable[[Any], _T], replayable: bool = False, outcome: str | None = None
    ) -> _T:
        """``action(session)`` inside the unit (``session`` is ``None`` without a transaction).

        ``replayable``: the action is a read the unit may repeat after a restart, expecting the
        same answer. ``outcome``: what became of the unit's writes if the server goes away.
        """
        ...

    def load_stream(self, sid: str) -> dict[str, Any] | None:
        """The stream document with public id ``sid``, read for writing, or ``None``."""
        ...

    def find_streams(self, query: dict[str, Any], skip: int, limit: int) -> list[dict[str, Any]]:
        """Stream documents matching ``query`` in creation order (``limit`` 0: all)."""
        ...

    def guard_catalog(self) -> None:
        """Serialise with other units creating or deleting streams (``ensure_stream``)."""
        ...

    def write(self, op: Op) -> None:
        """Add a write; it is applied at :meth:`commit` (at once by :class:`Autocommit`)."""
        ...

    def commit(self) -> None:
        """Apply the writes, all or none, and end the unit."""
        ...

    def rollback(self) -> None:
        """Drop the writes and end the unit."""
        ...


def find_streams(db: Any, query: dict[str, Any], skip: int, limit: int, session: Any) -> list:
    cursor = db.streams.find(query, sort=[("_id", 1)], skip=skip, limit=limit, session=session)
    return list(cursor)


class Autocommit:
    """No unit of work: every read and write stands alone."""

    #: The session actions run in (``None``: none; :class:`SnapshotReads` has one).
    session: Any = None

    def __init__(self, db: Any) -> None:
        self.db = db

    def run(
        self, action: Callable[[Any], _T], replayable: bool = False, outcome: str | None = None
    ) -> _T:
        with available(self.db.client, outcome):
            return action(self.session)

    def load_stream(self, sid: str) -> dict[str, Any] | None:
        return self.run(lambda s: self.db.streams.find_one({"sid": sid}, session=s))

    def find_streams(self, query: dict[str, Any], skip: int, limit: int) -> list[dict[str, Any]]:
        return self.run(lambda s: find_streams(self.db, query, skip, limit, s))

    def guard_catalog(self) -> None:
        pass

    def write(self, op: Op) -> None:
        self.run(lambda s: apply(self.db, [op]), outcome="the write may be incomplete")

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


class SnapshotReads(Autocommit):
    """Reads in one snapshot outside units of work: a read-only transaction.

    A transaction with read concern ``snapshot`` is the one way every MongoDB deployment with
    transactions pins a read view across collections and commands (a snapshot session outside
    transactions pins only its ``find``/``aggregate`` commands, and not on every server). It
    writes nothing and never conflicts; a write made meanwhile stands alone, outside it.
    Reads must end within the server's transaction lifetime (60 s by default).
    """

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.session = _transaction_session(db)

    def close(self) -> None:
        """End the transaction (it wrote nothing: aborting it is committing it)."""
        abort(self.session)
        self.session.end_session()


class TransactionUnit:
    """A multi-document transaction with snapshot reads and majority writes.

    The reads made for writing are logged with what they returned. A write conflict while
    the unit has made only such reads restarts the transaction after a back-off and replays
    them; when they return what they returned before, the unit carries on (writers of one
    stream queue up), otherwise it raises ``StreamAppendContended`` (nothing is written). The
    writes are applied at commit, so a conflict there is restarted the same way.
    """

    def __init__(self, db: Any) -> None:
        self.db = db
        self.ops: list[Op] = []
        self._log: list[tuple[Any, ...]] = []
        self._dirty = False  # a read the unit cannot replay happened
        self.session = _transaction_session(db)

    def run(
        self, action: Callable[[Any], _T], replayable: bool = False, outcome: str | None = None
    ) -> _T:
        backoff = None
        while True:
            try:
                with available(self.db.client, outcome):
                    result = action(self.session)
                if not replayable:
                    self._dirty = True
                return result
            except OperationFailure as error:
                if not error.has_error_label("TransientTransactionError"):
                    raise
                if self._dirty:
                    raise _contended(error) from None
            backoff = backoff or Backoff(CONFLICT_WAIT)
            self._restart(backoff)

    def load_stream(self, sid: str) -> dict[str, Any] | None:
        document = self.run(lambda s: _touch(self.db, sid, s), replayable=True)
        self._log.append(("touch", sid, _fingerprint(document)))
        return document

    def find_streams(self, query: dict[str, Any], skip: int, limit: int) -> list[dict[str, Any]]:
        documents = self.run(
            lambda s: find_streams(self.db, query, skip, limit, s), replayable=True
        )
        self._log.append(("find", query, skip, limit, _list_fingerprint(documents)))
        return documents

    def guard_catalog(self) -> None:
        self.run(lambda s: _touch_catalog(self.db, s), replayable=True)
        self._log.append(("catalog",))

    def write(self, op: Op) -> None:
        self.ops.append(op)

    def commit(self) -> None:
        try:
            if self.ops:
                self.run(lambda s: apply(self.db, self.ops, session=s), replayable=True,
                         outcome=NOTHING_WRITTEN)
            try:
                with available(self.db.client, "the outcome of the commit is unknown"):
                    self.session.commit_transaction()
            except OperationFailure as error:
                if error.has_error_label("TransientTransactionError"):
                    raise _contended(error) from None
                raise
        except BaseException:
            abort(self.session)
            raise
        finally:
            self.session.end_session()

    def rollback(self) -> None:
        abort(self.session)
        self.session.end_session()

    def _restart(self, backoff: Backoff) -> None:
        """Abort and restart the transaction, then replay its logged reads."""
        while True:
            if not backoff.wait():
                raise exceptions.StreamAppendContended(
                    f"Streams stayed busy with other writers for {backoff.patience:.0f} s; "
                    "nothing was written, retry the operation"
                )
            abort(self.session)
            with available(self.db.client):
                _start(self.session)
                try:
                    for entry in self._log:
                        self._replay(entry)
                    return
                except OperationFailure as error:
                    if not error.has_error_label("TransientTransactionError"):
                        raise

    def _replay(self, entry: tuple[Any, ...]) -> None:
        kind = entry[0]
        if kind == "touch":
            same = _fingerprint(_touch(self.db, entry[1], self.session)) == entry[2]
        elif kind == "catalog":
            _touch_catalog(self.db, self.session)
            same = True
        else:
            _, query, skip, limit, fingerprint = entry
            documents = find_streams(self.db, query, skip, limit, self.session)
            same = _list_fingerprint(documents) == fingerprint
        if not same:
            raise exceptions.StreamAppendContended(
                "Streams changed while waiting for another writer; nothing was written, "
                "retry the operation"
            )


def _transaction_session(db: Any) -> Any:
    """A new session of ``db``'s client with its transaction started."""
    with available(db.client):
        session = db.client.start_session(causal_consistency=False)
        try:
            _start(session)
        except BaseException:
            session.end_session()
            raise
    return session


def _start(session: Any) -> None:
    session.start_transaction(
        read_concern=ReadConcern("snapshot"),
        write_concern=WriteConcern("majority"),
        read_preference=pymongo.ReadPreference.PRIMARY,
    )


def _touch(db: Any, sid: str, session: Any) -> dict[str, Any] | None:
    """Read a stream and bump its ``rev``: the first write of the transaction on it."""
    return db.streams.find_one_and_update(
        {"sid": sid}, {"$inc": {"rev": 1}}, return_document=ReturnDocument.AFTER,
        session=session,
    )


def _touch_catalog(db: Any, session: Any) -> None:
    db.meta.update_one({"_id": "catalog"}, {"$inc": {"rev": 1}}, upsert=True, session=session)


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
