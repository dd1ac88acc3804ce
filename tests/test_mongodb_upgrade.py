"""Upgrading a MongoDB database of the previous layout (a document per bucket) to chunks:
datastream.backends.mongodb.upgrade.upgrade."""

from __future__ import annotations

import pytest
from helpers import ALL_VALUE, G, at, seconds
from pymongo import ASCENDING

from datastream import Datastream
from datastream.backends.mongodb import writes
from datastream.backends.mongodb.codec import dumps
from datastream.backends.mongodb.upgrade import upgrade
from datastream.engine.chunks import as_list, decode_buckets
from datastream.engine.chunkstore import BUCKETS_PER_CHUNK

T0 = at(2020, 1, 1)
GRANULARITIES = [G.Seconds, G.Seconds10, G.Minutes, G.Minutes10, G.Hours]


@pytest.fixture(params=[True, False], ids=["transactions", "journal"])
def make(request, mongodb_backend_factory, clock):
    return lambda: mongodb_backend_factory(clock=clock, transactions=request.param)


def _to_previous_layout(database) -> int:
    """Rewrite the database as the previous version kept it: buckets as documents (one of
    them in JSON text, as values BSON cannot hold were), no head fields, no bucket chunks."""
    database.buckets.create_index(
        [("s", ASCENDING), ("g", ASCENDING), ("b", ASCENDING)], name="s_g_b", unique=True
    )
    documents = []
    for chunk in database.chunks.find({"k": {"$gte": 1}}):
        starts, columns = decode_buckets(chunk["d"])
        columns = {name: as_list(column) for name, column in columns.items()}
        for i, start in enumerate(starts.tolist()):
            value = {n[1:]: c[i] for n, c in columns.items() if n[0] == "v"}
            time_ = {n[1:]: c[i] for n, c in columns.items() if n[0] == "t"}
            document = {"s": chunk["s"], "g": chunk["k"] - 1, "b": start, "t": time_}
            document.update({"v": value} if documents else {"vj": dumps(value)})
            documents.append(document)
    database.buckets.insert_many(documents)
    database.chunks.delete_many({"k": {"$gte": 1}})
    assert database.chunks.count_documents({}) == 0  # the raw data is all in the heads
    database.streams.update_many({}, {"$unset": {"head_count": "", "sealed_until": ""}})
    return len(documents)


def _everything(ds, sids):
    return {
        (sid, g): [(d["t"], d["v"]) for d in ds.get_data(sid, g, start=T0)]
        for sid in sids for g in GRANULARITIES
    }


def test_a_database_of_the_previous_layout_reads_the_same_once_upgraded(make):
    ds = Datastream(make())
    sids = [ds.ensure_stream({"name": "a"}, {}, ALL_VALUE, G.Seconds),
            ds.ensure_stream({"name": "b"}, {}, ["count"], G.Seconds, value_type="nominal"),
            ds.ensure_stream({"name": "c"}, {}, ["mean"], G.Seconds)]
    ds.append_multiple([{"stream_id": sids[0], "value": i * 0.5, "timestamp": T0 + seconds(i * 7)}
                        for i in range(200)])
    ds.append_multiple([{"stream_id": sids[1], "value": f"n{i % 3}",
                         "timestamp": T0 + seconds(i * 3)} for i in range(150)])
    ds.downsample_streams(until=T0 + seconds(3600))
    expected = _everything(ds, sids)
    assert sum(len(points) for points in expected.values()) > 400
    database = ds.backend.database()
    heads = {d["_id"]: database.datapoints.count_documents({"s": d["_id"]})
             for d in database.streams.find()}
    converted = _to_previous_layout(database)
    assert converted > 100

    calls = []
    upgrade(database, progress=lambda done, total: calls.append((done, total)))

    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert "buckets" not in database.list_collection_names()
    for document in database.streams.find():
        assert document["head_count"] == heads[document["_id"]]
        assert document["sealed_until"] is None
    for chunk in database.chunks.find():
        assert chunk["k"] >= 1 and chunk["n"] <= BUCKETS_PER_CHUNK
    assert _everything(Datastream(make()), sids) == expected
    # Appends and downsampling go on on the upgraded database.
    later = Datastream(make())
    later.append(sids[2], 1.0, T0 + seconds(10_000))
    later.downsample_streams(until=T0 + seconds(20_000))
    assert [d["v"] for d in later.get_data(sids[2], G.Seconds, start=T0)] == [1.0]
    assert len(later.get_data(sids[0], G.Seconds10, start=T0)) == len(
        expected[(sids[0], G.Seconds10)]
    )
    # Once more: nothing left to do.
    assert upgrade(make()) is False
    untouched = {key: points for key, points in expected.items() if key[0] != sids[2]}
    assert _everything(Datastream(make()), sids[:2]) == untouched


def test_many_buckets_make_several_chunks_and_an_interrupted_upgrade_runs_again(make):
    backend = make()
    database = backend.database()
    database.streams.insert_one({"_id": 1, "sid": "x", "rev": 0, "n": 0,
                                 "value_downsamplers": ["count", "sum"]})
    count = BUCKETS_PER_CHUNK * 2 + 5
    database.buckets.insert_many([
        {"s": 1, "g": 1, "b": 10 * i, "v": {"c": 1, "s": i}, "t": {"a": 10 * i, "z": 10 * i}}
        for i in range(count)
    ])
    # An interrupted run left a chunk behind; the series is rewritten whole.
    database.chunks.insert_one({"s": 1, "k": 2, "f": 0, "l": 0, "n": 1, "d": b"partial"})
    settings = {"database_name": backend.database_name, "host": backend._settings["host"]}
    calls = []
    assert type(backend).upgrade(settings, lambda *call: calls.append(call)) is True
    assert calls == [(0, 1), (1, 1)]
    assert type(backend).upgrade(settings, lambda *call: calls.append(call)) is False
    assert len(calls) == 2
    chunks = list(database.chunks.find({"s": 1}, sort=[("f", 1)]))
    assert [c["n"] for c in chunks] == [BUCKETS_PER_CHUNK, BUCKETS_PER_CHUNK, 5]
    assert chunks[1]["f"] == 10 * BUCKETS_PER_CHUNK and chunks[-1]["l"] == 10 * (count - 1)
    starts, columns = decode_buckets(chunks[2]["d"])
    assert starts.tolist() == [10 * i for i in range(count - 5, count)]
    assert list(columns["vs"]) == list(range(count - 5, count))
    assert list(columns["tz"]) == [10 * i for i in range(count - 5, count)]
    assert list(columns["tm"]) == [None] * 5
    assert "vm" not in columns
    assert database.streams.find_one({"_id": 1})["head_count"] == 0


def test_a_journaled_unit_of_the_previous_layout_is_finished_first(make):
    backend = make()
    database = backend.database()
    database.streams.insert_one({"_id": 1, "sid": "x", "rev": 0, "n": 0,
                                 "value_downsamplers": ["count"], "lock": {"id": "u"}})
    ops = [writes.insert_datapoints([{"_id": 1, "s": 1, "t": 5, "q": 1, "v": 1}]),
           ["replace_buckets", [{"s": 1, "g": 1, "b": 0, "v": {"c": 1}, "t": {"a": 5}}]]]
    database.journal.insert_one({"tx": "u", "i": 0, "ops": ops})
    database.journal.insert_one({"_id": "u", "streams": [1], "read_only": []})
    database.journal.insert_one({"tx": "dead", "i": 0, "ops": ops})  # never committed
    upgrade(backend)
    assert database.journal.count_documents({}) == 0
    document = database.streams.find_one({"_id": 1})
    assert "lock" not in document and document["head_count"] == 1
    (chunk,) = database.chunks.find({"s": 1})
    starts, columns = decode_buckets(chunk["d"])
    assert chunk["k"] == 2 and starts.tolist() == [0] and list(columns["vc"]) == [1]
