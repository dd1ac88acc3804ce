"""Talking to the server: errors translated to datastream's, indexes, deployment detection."""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pymongo
from pymongo import ASCENDING
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DocumentTooLarge,
    OperationFailure,
    PyMongoError,
)

from ... import exceptions
from .backoff import Backoff

__all__ = [
    "INDEXES",
    "abort",
    "available",
    "check_database_name",
    "discard_inherited",
    "ensure_indexes",
    "supports_transactions",
]

#: Server error codes meaning "this document would exceed the BSON size limit".
_TOO_LARGE = {10334, 17419, 17420}
#: Server error codes of processes racing to create the same collection or index.
_RACES = {11000, 48, 68, 85, 86, 276, 112}
_INVALID_NAME = re.compile(r'[/\\. "$*<>:|?\x00]')

INDEXES: dict[str, list[tuple[list[tuple[str, Any]], dict[str, Any]]]] = {
    "streams": [
        ([("sid", ASCENDING)], {"name": "sid", "unique": True}),
        ([("tags.$**", ASCENDING)], {"name": "tags"}),
        ([("tags_json", ASCENDING)], {"name": "tags_json", "sparse": True}),
    ],
    "datapoints": [
        ([("s", ASCENDING), ("t", ASCENDING), ("q", ASCENDING)], {"name": "s_t_q", "unique": True}),
    ],
    "chunks": [
        ([("s", ASCENDING), ("k", ASCENDING), ("f", ASCENDING)], {"name": "s_k_f", "unique": True}),
    ],
    "journal": [([("tx", ASCENDING), ("i", ASCENDING)], {"name": "tx_i"})],
}


@contextlib.contextmanager
def available(client: Any, outcome: str | None = None) -> Iterator[None]:
    """Translate "server unreachable" and "document too large" into datastream exceptions.

    ``outcome`` says what became of the caller's writes when the server went away ("nothing
    was written", "the outcome of the commit is unknown"); reads leave it out.
    """
    try:
        yield
    except ConnectionFailure as error:
        where = ", ".join(f"{h}:{p}" for h, p in getattr(client, "_seeds", None) or ()) or "?"
        said = f"; {outcome}" if outcome else ""
        raise exceptions.BackendUnavailable(
            f"MongoDB server unavailable ({where}){said}: {error}"
        ) from error
    except DocumentTooLarge:
        raise _too_large() from None
    except BulkWriteError as error:
        if any(e.get("code") in _TOO_LARGE for e in error.details.get("writeErrors", ())):
            raise _too_large() from None
        raise
    except OperationFailure as error:
        if error.code in _TOO_LARGE:
            raise _too_large() from None
        if outcome and error.has_error_label("UnknownTransactionCommitResult"):
            raise exceptions.BackendUnavailable(
                f"MongoDB commit failed; the outcome is unknown: {error}"
            ) from error
        raise


def _too_large() -> exceptions.InvalidValue:
    return exceptions.InvalidValue(
        "The value or tags are too large for MongoDB (a stored document is limited to 16 MB); "
        "nothing was written"
    )


def discard_inherited(client: pymongo.MongoClient) -> None:
    """Close, in a forked child, the client inherited from the parent (never used here)."""
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        client.close()


def check_database_name(name: Any) -> str:
    """``name`` if MongoDB accepts it as a database name, else :class:`ValueError`."""
    if not isinstance(name, str) or not name or len(name) > 63 or _INVALID_NAME.search(name):
        raise ValueError(
            "database_name must be a MongoDB database name (1-63 characters, none of "
            f'/\\. "$*<>:|? or NUL), not {name!r}'
        )
    return name


def ensure_indexes(database: Any) -> None:
    """Create collections and indexes; idempotent and safe when processes race to do it."""
    backoff = Backoff(patience=1.0, first=0.05)
    while True:
        try:
            for name, specs in INDEXES.items():
                collection = database[name]
                for keys, options in specs:
                    collection.create_index(keys, **options)
            database.meta.update_one(
                {"_id": "catalog"}, {"$setOnInsert": {"rev": 0}}, upsert=True
            )
            return
        except OperationFailure as error:
            # Another process creating the same collection or index at the same moment.
            if error.code not in _RACES or not backoff.wait():
                raise


def supports_transactions(client: Any) -> bool:
    """True for a replica set or a sharded cluster (multi-document transactions)."""
    try:
        hello = client.admin.command("hello")
    except OperationFailure:  # servers before 4.4.2 only know the old name
        hello = client.admin.command("isMaster")
    return bool(
        hello.get("logicalSessionTimeoutMinutes") is not None
        and (hello.get("setName") or hello.get("msg") == "isdbgrid")
    )


def abort(session: Any) -> None:
    """Abort the session's transaction if one is running (errors ignored: it is dropped)."""
    if session.in_transaction:
        with contextlib.suppress(PyMongoError):
            session.abort_transaction()
