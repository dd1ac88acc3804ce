"""Converting a MongoDB database of the previous layout (one document per bucket) to chunks.

The previous layout kept raw datapoints as one ``datapoints`` document each (now the write
heads, unchanged) and downsampled buckets as one ``buckets`` document each
(``{s, g: granularity code, b: bucket start, v | vj, t | tj}``). :func:`upgrade` converts such
a database in place:

1. units of work left in the journal by a writer that died are finished (or dropped), in the
   previous layout, as that writer would have;
2. stream records without ``head_count`` get the number of their ``datapoints`` documents
   (all of them are the write head now) and ``sealed_until = None`` (no raw chunk yet: the
   engine seals the head on the stream's next append or downsampling);
3. each stream's buckets become bucket chunks of the series :func:`~datastream.storage.
   bucket_series` gives, at most :data:`~datastream.engine.chunkstore.BUCKETS_PER_CHUNK`
   buckets each, encoded by :func:`datastream.engine.chunks.encode_buckets` with the columns
   ``v<key>`` for the stream's value downsamplers and ``t<key>`` for every time downsampler;
4. the ``buckets`` collection is dropped.

Run it with no other process using the database (``manage.py upgrade_datastream`` calls it
through :meth:`Backend.upgrade <datastream.backends.mongodb.Backend.upgrade>`). It is not one
transaction (a database may hold far more than one transaction can), but it can be
interrupted and run again: a stream's series are rewritten whole (its chunks of that series
deleted first), and the ``buckets`` collection goes only once every stream is converted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bson import Binary, ObjectId
from pymongo import ASCENDING
from pymongo.database import Database

from ...constants import VALUE_DOWNSAMPLERS
from ...downsamplers import TIME_KEYS
from ...engine.chunks import encode_buckets
from ...engine.chunkstore import BUCKETS_PER_CHUNK
from .codec import decode_fields, loads
from .journal import recover
from .server import ensure_indexes

__all__ = ["upgrade"]

#: ``progress(done, total)``: streams converted so far, of how many.
Progress = Callable[[int, int], None]

#: Chunk documents inserted per command (each up to a few hundred KB).
_INSERT_BATCH = 16


def upgrade(database: Any, progress: Progress | None = None) -> bool:
    """Convert ``database`` (a :class:`pymongo.database.Database`, or a
    :class:`~datastream.backends.mongodb.Backend`) from the previous layout to chunks;
    whether there was anything to convert (a database in the chunk layout is left alone).

    ``progress(done, total)`` is called with the number of streams converted, once at the
    start and after each stream.
    """
    if not isinstance(database, Database):  # a Backend
        database = database.database()
    has_buckets = "buckets" in database.list_collection_names(filter={"name": "buckets"})
    if not (
        has_buckets
        or database.journal.find_one({}, {"_id": 1}) is not None
        or database.streams.find_one({"head_count": {"$exists": False}}, {"_id": 1})
    ):
        return False
    _finish_journal(database)  # in the previous layout: it may write buckets
    has_buckets = "buckets" in database.list_collection_names(filter={"name": "buckets"})
    ensure_indexes(database)
    total = database.streams.count_documents({})
    done = 0
    if progress is not None:
        progress(done, total)
    for stream in database.streams.find(
        {}, {"_id": 1, "head_count": 1, "value_downsamplers": 1, "_json": 1},
        sort=[("_id", ASCENDING)],
    ):
        if "head_count" not in stream:
            _count_head(database, stream["_id"])
        if has_buckets:
            fields = decode_fields(stream, ("value_downsamplers",))
            value_keys = [VALUE_DOWNSAMPLERS[name] for name in fields["value_downsamplers"] or ()]
            _convert_buckets(database, stream["_id"], value_keys)
        done += 1
        if progress is not None:
            progress(done, total)
    if has_buckets:
        database.buckets.drop()
    return True


def _finish_journal(database: Any) -> None:
    """Roll forward the journaled units that had committed; drop those that had not."""
    heads = [d["_id"] for d in database.journal.find({"tx": {"$exists": False}}, {"_id": 1})]
    for unit in heads:
        recover(database, unit)
    orphans = {d["tx"] for d in database.journal.find({"tx": {"$exists": True}}, {"tx": 1})}
    for unit in sorted(orphans):
        recover(database, unit)
    # What is left are leases of units that had written nothing: no other process runs.
    database.streams.update_many({"lock": {"$exists": True}}, {"$unset": {"lock": ""}})


def _count_head(database: Any, stream: int) -> None:
    """Give a record of the previous layout the fields of the write head."""
    count = database.datapoints.count_documents({"s": stream})
    database.streams.update_one(
        {"_id": stream}, {"$set": {"head_count": count, "sealed_until": None}}
    )


def _convert_buckets(database: Any, stream: int, value_keys: list[str]) -> None:
    """Rewrite the stream's bucket documents as bucket chunks, granularity by granularity."""
    cursor = database.buckets.find(
        {"s": stream}, {"_id": 0, "g": 1, "b": 1, "v": 1, "vj": 1, "t": 1, "tj": 1},
        sort=[("g", ASCENDING), ("b", ASCENDING)],
    )
    code: int | None = None
    pending: list[dict[str, Any]] = []  # the granularity's buckets not yet in a chunk
    documents: list[dict[str, Any]] = []  # chunk documents not yet inserted
    with cursor:
        for bucket in cursor:
            if bucket["g"] != code:
                _flush(database, stream, code, pending, documents, value_keys, final=True)
                code = bucket["g"]
                database.chunks.delete_many({"s": stream, "k": code + 1})
            pending.append(bucket)
            if len(pending) == BUCKETS_PER_CHUNK:
                _flush(database, stream, code, pending, documents, value_keys, final=False)
    _flush(database, stream, code, pending, documents, value_keys, final=True)


def _flush(
    database: Any,
    stream: int,
    code: int | None,
    pending: list[dict[str, Any]],
    documents: list[dict[str, Any]],
    value_keys: list[str],
    final: bool,
) -> None:
    """Encode ``pending`` buckets as one chunk; insert the chunks when enough are waiting
    (or ``final``). Both lists are emptied as they are used."""
    if pending and code is not None:
        documents.append(_chunk_document(stream, code + 1, pending, value_keys))
        pending.clear()
    if documents and (final or len(documents) >= _INSERT_BATCH):
        database.chunks.insert_many(documents, ordered=True)
        documents.clear()


def _chunk_document(
    stream: int, series: int, buckets: list[dict[str, Any]], value_keys: list[str]
) -> dict[str, Any]:
    starts = [bucket["b"] for bucket in buckets]
    values = [loads(b["vj"]) if "vj" in b else b.get("v") or {} for b in buckets]
    times = [loads(b["tj"]) if "tj" in b else b.get("t") or {} for b in buckets]
    columns: dict[str, list[Any]] = {}
    for key in value_keys:
        columns["v" + key] = [value.get(key) for value in values]
    for key in TIME_KEYS:
        columns["t" + key] = [time_.get(key) for time_ in times]
    return {
        "_id": ObjectId(), "s": stream, "k": series, "f": starts[0], "l": starts[-1],
        "n": len(starts), "d": Binary(encode_buckets(starts, columns)),
    }
