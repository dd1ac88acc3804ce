"""The writes of a unit of work, as data, and :func:`apply`: the one place that performs them.

A unit of work collects its writes as operations (plain lists, so that the journal can store
them) and applies them when it commits: inside the transaction, or from the journal, possibly
twice (a unit whose writer died is finished by the next writer). :func:`apply` is therefore
idempotent outside transactions: head datapoint and chunk documents carry their ``_id`` from
the start (a repeated insert is a duplicate-key error, ignored), deletions repeat harmlessly,
operations are applied in their order (so a replay ends in the same state even where a later
operation removes what an earlier one wrote) and stream updates are guarded by the unit's lock.

Operations::

    ["insert_stream", document]
    ["update_stream", stream number, {field: value to $set}, [fields to $unset]]
    ["insert_datapoints", [head datapoint documents with _id]]
    ["clear_head", stream number, before second | None]     None: the whole head
    ["write_chunks", stream number, [chunk ids to remove], [chunk documents with _id]]
    ["delete_chunks", stream number, series | None, before second | None]
    ["delete_streams", [stream numbers] | None]     None: every stream

Two operations of the previous layout (one document per bucket) are still applied, so that
a journal left by it can be finished (:func:`datastream.backends.mongodb.upgrade.upgrade`
does so before converting)::

    ["delete_datapoints", stream number]            head datapoints, chunks and old buckets
    ["replace_buckets", [bucket documents of one stream and granularity, ascending]]
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from pymongo import DeleteMany, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

__all__ = [
    "Op",
    "apply",
    "clear_head",
    "creates_or_deletes_streams",
    "delete_chunks",
    "delete_streams",
    "insert_datapoints",
    "insert_stream",
    "streams_of",
    "update_stream",
    "write_chunks",
]

Op = list[Any]


def insert_stream(document: dict[str, Any]) -> Op:
    return ["insert_stream", document]


def update_stream(stream: int, set_fields: dict[str, Any], unset_fields: list[str]) -> Op:
    return ["update_stream", stream, set_fields, unset_fields]


def insert_datapoints(documents: list[dict[str, Any]]) -> Op:
    return ["insert_datapoints", documents]


def clear_head(stream: int, before: int | None) -> Op:
    return ["clear_head", stream, before]


def write_chunks(stream: int, remove: list[Any], documents: list[dict[str, Any]]) -> Op:
    return ["write_chunks", stream, remove, documents]


def delete_chunks(stream: int, series: int | None, before: int | None) -> Op:
    return ["delete_chunks", stream, series, before]


def delete_streams(streams: list[int] | None) -> Op:
    return ["delete_streams", streams]


#: Operations whose second element is the one stream they change.
_ONE_STREAM = frozenset(
    {"update_stream", "clear_head", "write_chunks", "delete_chunks", "delete_datapoints"}
)


def streams_of(op: Op) -> set[int]:
    """The existing streams an operation changes (a new stream's insert changes none)."""
    kind = op[0]
    if kind in _ONE_STREAM:
        return {op[1]}
    if kind in ("insert_datapoints", "replace_buckets"):
        return {document["s"] for document in op[1]}
    if kind == "delete_streams":
        return set(op[1] or ())
    return set()


def creates_or_deletes_streams(ops: Iterable[Op]) -> bool:
    return any(op[0] in ("insert_stream", "delete_streams") for op in ops)


def apply(
    db: Any,
    ops: list[Op],
    session: Any = None,
    owner: str | None = None,
    locked: Iterable[int] = (),
    read_only: Iterable[int] = (),
) -> None:
    """Perform ``ops`` in order, with as few commands as possible.

    Stream updates are merged and sent last, one per stream, each incrementing ``rev``.
    ``owner`` (the journal's unit id) guards the updates of the ``locked`` streams by that
    unit's lock and releases it; the ``read_only`` streams' locks are only released.
    """
    ops, updates = _plan(ops)
    index = 0
    while index < len(ops):
        kind = ops[index][0]
        run = [ops[index]]
        index += 1
        while index < len(ops) and _joins(run, ops[index]):
            run.append(ops[index])
            index += 1
        if kind == "insert_stream":
            for op in run:
                _insert(db.streams, [op[1]], session)
        elif kind == "insert_datapoints":
            _insert(db.datapoints, [d for op in run for d in op[1]], session)
        elif kind == "clear_head":
            for op in run:
                db.datapoints.delete_many(_range(op[1], None, "t", op[2]), session=session)
        elif kind == "write_chunks":
            remove = [chunk for op in run for chunk in op[2]]
            if remove:
                db.chunks.delete_many({"_id": {"$in": remove}}, session=session)
            _insert(db.chunks, [d for op in run for d in op[3]], session)
        elif kind == "delete_chunks":
            for op in run:
                db.chunks.delete_many(_range(op[1], op[2], "l", op[3]), session=session)
        elif kind == "replace_buckets":
            _replace_buckets(db, run, session)
        elif kind == "delete_datapoints":
            streams = {"s": {"$in": [op[1] for op in run]}}
            db.datapoints.delete_many(streams, session=session)
            db.chunks.delete_many(streams, session=session)
            db.buckets.delete_many(streams, session=session)
        elif kind == "delete_streams":
            _delete_streams(db, run[0][1], session)
        else:  # pragma: no cover - a journal written by a newer version
            raise ValueError(f"Unknown write operation {kind!r}")
    locked = set(locked)
    requests = []
    for stream in sorted(updates.keys() | locked):
        sets, unsets = updates.get(stream, ({}, {}))
        query: dict[str, Any] = {"_id": stream}
        if owner is not None and stream in locked:
            query["lock.id"] = owner
            unsets = {**unsets, "lock": ""}
        change: dict[str, Any] = {"$inc": {"rev": 1}}
        if sets:
            change["$set"] = sets
        if unsets:
            change["$unset"] = unsets
        requests.append(UpdateOne(query, change))
    if requests:
        db.streams.bulk_write(requests, ordered=True, session=session)
    read_only = sorted(read_only)
    if owner is not None and read_only:
        db.streams.update_many(
            {"_id": {"$in": read_only}, "lock.id": owner}, {"$unset": {"lock": ""}},
            session=session,
        )


def _plan(ops: list[Op]) -> tuple[list[Op], dict[int, tuple[dict[str, Any], dict[str, str]]]]:
    """The operations without stream updates, and the merged updates per stream.

    Updates of a stream inserted by the same unit are folded into its insert (a copy), so
    that the new stream appears complete in one write.
    """
    inserted: dict[int, dict[str, Any]] = {}
    rest: list[Op] = []
    updates: dict[int, tuple[dict[str, Any], dict[str, str]]] = {}
    for op in ops:
        kind = op[0]
        if kind == "insert_stream":
            document = copy.deepcopy(op[1])
            inserted[document["_id"]] = document
            rest.append(["insert_stream", document])
        elif kind == "update_stream" and op[1] in inserted:
            document = inserted[op[1]]
            for name in op[3]:
                _drop_path(document, name)
            for name, value in op[2].items():
                _set_path(document, name, value)
        elif kind == "update_stream":
            sets, unsets = updates.setdefault(op[1], ({}, {}))
            for name in op[3]:
                sets.pop(name, None)
                unsets[name] = ""
            for name, value in op[2].items():
                unsets.pop(name, None)
                sets[name] = value
        else:
            rest.append(op)
    return rest, updates


def _joins(run: list[Op], op: Op) -> bool:
    """Whether ``op`` can be sent in one command with the operations of ``run``."""
    kind = run[0][0]
    if op[0] != kind or kind in ("insert_stream", "delete_streams"):
        return False
    if kind == "replace_buckets":
        key = (op[1][0]["s"], op[1][0]["g"])
        return all((other[1][0]["s"], other[1][0]["g"]) != key for other in run)
    if kind == "write_chunks":
        # A run deletes before it inserts: an operation removing a chunk that an earlier one
        # of the run adds (a chunk rewritten twice in one unit) must wait for the next run.
        added = {document["_id"] for other in run for document in other[3]}
        return added.isdisjoint(op[2])
    return True


def _range(stream: int, series: int | None, field: str, before: int | None) -> dict[str, Any]:
    """The filter of a stream's documents (of one ``series``) with ``field < before``."""
    query: dict[str, Any] = {"s": stream}
    if series is not None:
        query["k"] = series
    if before is not None:
        query[field] = {"$lt": before}
    return query


def _replace_buckets(db: Any, run: list[Op], session: Any) -> None:
    # Every non-empty bucket of the recomputed range is in the list, so replacing the range
    # is replacing the buckets (and a range delete is cheap where nothing is stored).
    deletes = []
    inserts = []
    for op in run:
        documents = op[1]
        starts = [d["b"] for d in documents]
        deletes.append(DeleteMany({
            "s": documents[0]["s"], "g": documents[0]["g"],
            "b": {"$gte": min(starts), "$lte": max(starts)},
        }))
        inserts.extend(InsertOne(dict(d)) for d in documents)
    db.buckets.bulk_write(deletes + inserts, ordered=True, session=session)


def _delete_streams(db: Any, streams: list[int] | None, session: Any) -> None:
    query = {} if streams is None else {"s": {"$in": streams}}
    db.datapoints.delete_many(query, session=session)
    db.chunks.delete_many(query, session=session)
    db.streams.delete_many({} if streams is None else {"_id": {"$in": streams}}, session=session)


def _insert(collection: Any, documents: list[dict[str, Any]], session: Any) -> None:
    """Insert ``documents``; outside a transaction a repeated insert (a replay) is ignored."""
    if not documents:
        return
    try:
        if len(documents) == 1:
            collection.insert_one(documents[0], session=session)
        else:
            collection.insert_many(documents, ordered=session is not None, session=session)
    except DuplicateKeyError:
        if session is not None:
            raise
    except BulkWriteError as error:
        if session is not None or any(
            e.get("code") != 11000 for e in error.details.get("writeErrors", ())
        ):
            raise


def _set_path(document: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        document[head] = value
    else:
        _set_path(document.setdefault(head, {}), rest, value)


def _drop_path(document: dict[str, Any], path: str) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        document.pop(head, None)
    elif isinstance(document.get(head), dict):
        _drop_path(document[head], rest)
