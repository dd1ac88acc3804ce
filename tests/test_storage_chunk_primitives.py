"""The storage primitives of column chunks, on every storage: write heads (insert_datapoints,
fetch_head, clear_head), chunks (chunk_index, chunk_data, write_chunks, delete_chunks), the
record fields head_count and sealed_until, atomic units, and read_snapshot where a storage has
snapshots. MongoDB specifics: journal replays and splits, BSON limits, indexes.

A storage class that does not implement the primitives yet is skipped, saying so.
"""

from __future__ import annotations

import threading

import pytest

from datastream.engine.records import new_record
from datastream.granularity import Granularity
from datastream.storage import RAW_SERIES, NewChunk, bucket_series, missing_methods

SERIES_1S = bucket_series(Granularity.Seconds10)


@pytest.fixture
def storage(make_backend, clock, backend_name):
    backend = make_backend(clock=clock)
    if missing_methods(backend):
        pytest.skip(f"{backend_name} does not implement the chunk primitives yet")
    yield backend
    backend.close()


def _new_stream(storage) -> str:
    record = new_record({"name": "x"}, ["mean"], Granularity.Seconds, "numeric", {})
    with storage.unit_of_work():
        storage.insert_stream(record)
    return record["stream_id"]


def _chunks(storage, sid, series=RAW_SERIES, lo=-(2**40), hi=2**40):
    return [(c.first, c.last, c.count) for c in storage.chunk_index(
        storage.load_stream(sid), series, lo, hi)]


def _write(storage, sid, series, add, remove=()):
    with storage.unit_of_work():
        record = storage.load_stream(sid)
        storage.write_chunks(record, series, list(remove), add)


def _chunk(first, last, count=1, data=None):
    return NewChunk(first, last, count, data if data is not None else f"{first}-{last}".encode())


# Write heads ---------------------------------------------------------------------------------


def test_the_head_keeps_datapoints_by_second_then_insertion(storage):
    sid = _new_stream(storage)
    with storage.unit_of_work():
        record = storage.load_stream(sid)
        storage.insert_datapoints([(record, 5, 1.5), (record, 3, "a"), (record, 5, {"k": [1]})])
    with storage.unit_of_work():
        record = storage.load_stream(sid)
        storage.insert_datapoints([(record, 5, 2**70), (record, 4, None)])
    record = storage.load_stream(sid)
    assert storage.fetch_head(record) == [
        (3, "a"), (4, None), (5, 1.5), (5, {"k": [1]}), (5, 2**70)
    ]


def test_clear_head_removes_datapoints_before_a_second_or_all(storage):
    sid = _new_stream(storage)
    other = _new_stream(storage)
    with storage.unit_of_work():
        record, second = storage.load_stream(sid), storage.load_stream(other)
        storage.insert_datapoints([(record, t, t) for t in range(10)] + [(second, 1, 1)])
    with storage.unit_of_work():
        storage.clear_head(storage.load_stream(sid), 6)
    assert storage.fetch_head(storage.load_stream(sid)) == [(t, t) for t in range(6, 10)]
    with storage.unit_of_work():
        storage.clear_head(storage.load_stream(sid))
    assert storage.fetch_head(storage.load_stream(sid)) == []
    assert storage.fetch_head(storage.load_stream(other)) == [(1, 1)]


def test_head_count_and_sealed_until_are_stored_record_fields(storage):
    sid = _new_stream(storage)
    record = storage.load_stream(sid)
    assert record["head_count"] == 0 and record["sealed_until"] is None
    with storage.unit_of_work():
        record = storage.load_stream(sid)
        record["head_count"], record["sealed_until"] = 7, 1234
        storage.update_streams([(record, {"head_count": 7, "sealed_until": 1234})])
    record = storage.load_stream(sid)
    assert (record["head_count"], record["sealed_until"]) == (7, 1234)


# Chunks --------------------------------------------------------------------------------------


def test_chunk_index_lists_the_chunks_overlapping_a_range(storage):
    sid = _new_stream(storage)
    _write(storage, sid, RAW_SERIES, [_chunk(0, 9, 3), _chunk(10, 19, 4), _chunk(30, 39, 5)])
    _write(storage, sid, SERIES_1S, [_chunk(0, 100, 11)])
    assert _chunks(storage, sid, lo=5, hi=15) == [(0, 9, 3), (10, 19, 4)]
    assert _chunks(storage, sid, lo=20, hi=30) == []
    assert _chunks(storage, sid, lo=20, hi=31) == [(30, 39, 5)]
    assert _chunks(storage, sid, lo=19, hi=20) == [(10, 19, 4)]
    assert _chunks(storage, sid, lo=9, hi=10) == [(0, 9, 3)]
    assert _chunks(storage, sid, lo=40, hi=50) == []
    assert _chunks(storage, sid, lo=-5, hi=0) == []
    assert _chunks(storage, sid, lo=-5, hi=1) == [(0, 9, 3)]
    assert _chunks(storage, sid) == [(0, 9, 3), (10, 19, 4), (30, 39, 5)]
    assert _chunks(storage, sid, SERIES_1S, 50, 51) == [(0, 100, 11)]
    assert _chunks(storage, sid, bucket_series(Granularity.Minutes)) == []
    assert _chunks(storage, _new_stream(storage)) == []


def test_chunk_data_returns_the_bytes_of_existing_chunks(storage):
    sid = _new_stream(storage)
    big = bytes(range(256)) * 1200  # ~300 KB with every byte value, NULs included
    _write(storage, sid, RAW_SERIES, [_chunk(0, 9, data=b"\x00\x01"), _chunk(10, 19, data=big)])
    ids = [c.id for c in storage.chunk_index(storage.load_stream(sid), RAW_SERIES, 0, 100)]
    data = storage.chunk_data(ids)
    assert data == {ids[0]: b"\x00\x01", ids[1]: big}
    assert all(type(value) is bytes for value in data.values())
    _write(storage, sid, RAW_SERIES, [], remove=[ids[0]])
    assert storage.chunk_data(ids) == {ids[1]: big}
    assert storage.chunk_data([]) == {}


def test_write_chunks_replaces_chunks_with_new_ids(storage):
    sid = _new_stream(storage)
    _write(storage, sid, RAW_SERIES, [_chunk(0, 9, 3), _chunk(10, 19, 3)])
    old = storage.chunk_index(storage.load_stream(sid), RAW_SERIES, 0, 100)
    # The last chunk grows: same first second, a new id.
    _write(storage, sid, RAW_SERIES, [_chunk(10, 25, 6, b"new")], remove=[old[1].id])
    new = storage.chunk_index(storage.load_stream(sid), RAW_SERIES, 0, 100)
    assert [(c.first, c.last, c.count) for c in new] == [(0, 9, 3), (10, 25, 6)]
    assert new[0].id == old[0].id and new[1].id != old[1].id
    assert storage.chunk_data([new[1].id]) == {new[1].id: b"new"}
    # Rewritten twice in one unit.
    with storage.unit_of_work():
        record = storage.load_stream(sid)
        storage.write_chunks(record, RAW_SERIES, [new[1].id], [_chunk(10, 30, 7, b"a")])
        middle = storage.chunk_index(record, RAW_SERIES, 10, 11)
        storage.write_chunks(record, RAW_SERIES, [middle[0].id], [_chunk(10, 31, 8, b"b")])
    last = storage.chunk_index(storage.load_stream(sid), RAW_SERIES, 10, 11)
    assert [(c.first, c.last, c.count) for c in last] == [(10, 31, 8)]
    assert storage.chunk_data([last[0].id]) == {last[0].id: b"b"}


def test_a_unit_reads_its_own_writes(storage):
    """The engine reads what it wrote in the same unit (a batch that rewrites a chunk, then
    seals the head into the chunk it just wrote): MongoDB, which applies a unit's writes at
    commit, answers reads with them."""
    sid = _new_stream(storage)
    _write(storage, sid, RAW_SERIES, [_chunk(0, 9, 1, b"a"), _chunk(10, 19, 1, b"b")])
    with storage.unit_of_work():
        record = storage.load_stream(sid)
        storage.insert_datapoints([(record, 30, 1), (record, 25, 2)])
        assert storage.fetch_head(record) == [(25, 2), (30, 1)]
        storage.clear_head(record, 26)
        storage.insert_datapoints([(record, 26, 3)])
        assert storage.fetch_head(record) == [(26, 3), (30, 1)]
        first, second = storage.chunk_index(record, RAW_SERIES, 0, 100)
        storage.write_chunks(record, RAW_SERIES, [second.id], [_chunk(10, 40, 2, b"c")])
        index = storage.chunk_index(record, RAW_SERIES, 15, 100)
        assert [(c.first, c.last) for c in index] == [(10, 40)]
        assert storage.chunk_data([first.id, second.id, index[0].id]) == {
            first.id: b"a", index[0].id: b"c"
        }
        storage.delete_chunks(record, RAW_SERIES, 10)
        assert [c.first for c in storage.chunk_index(record, RAW_SERIES, 0, 100)] == [10]
        assert storage.chunk_data([first.id]) == {}
        storage.write_chunks(record, SERIES_1S, [], [_chunk(0, 0, 1, b"s")])
        storage.delete_chunks(record)
        assert storage.chunk_index(record, RAW_SERIES, 0, 100) == []
        assert storage.chunk_index(record, SERIES_1S, 0, 100) == []
        assert storage.chunk_data([index[0].id]) == {}
    assert _chunks(storage, sid) == []
    assert storage.fetch_head(storage.load_stream(sid)) == [(26, 3), (30, 1)]


def test_a_failed_unit_writes_no_chunk_and_clears_no_head(storage):
    sid = _new_stream(storage)
    with storage.unit_of_work():
        record = storage.load_stream(sid)
        storage.insert_datapoints([(record, t, t) for t in range(5)])
    with pytest.raises(RuntimeError), storage.unit_of_work():
        record = storage.load_stream(sid)
        storage.write_chunks(record, RAW_SERIES, [], [_chunk(0, 2, 3)])
        storage.clear_head(record, 3)
        raise RuntimeError("rolled back")
    record = storage.load_stream(sid)
    assert _chunks(storage, sid) == []
    assert len(storage.fetch_head(record)) == 5


def test_sealing_moves_a_run_from_the_head_to_a_chunk_in_one_unit(storage):
    sid = _new_stream(storage)
    with storage.unit_of_work():
        record = storage.load_stream(sid)
        storage.insert_datapoints([(record, t, t) for t in range(10)])
    with storage.unit_of_work():
        record = storage.load_stream(sid)
        storage.write_chunks(record, RAW_SERIES, [], [_chunk(0, 5, 6)])
        storage.clear_head(record, 6)
        record["sealed_until"], record["head_count"] = 5, 4
        storage.update_streams([(record, {"sealed_until": 5, "head_count": 4})])
    record = storage.load_stream(sid)
    assert _chunks(storage, sid) == [(0, 5, 6)]
    assert [t for t, _ in storage.fetch_head(record)] == [6, 7, 8, 9]
    assert (record["sealed_until"], record["head_count"]) == (5, 4)


def test_delete_chunks_by_series_and_before(storage):
    sid = _new_stream(storage)
    other = _new_stream(storage)
    _write(storage, sid, RAW_SERIES, [_chunk(0, 9), _chunk(10, 19), _chunk(20, 29)])
    _write(storage, sid, SERIES_1S, [_chunk(0, 9), _chunk(10, 19)])
    _write(storage, other, RAW_SERIES, [_chunk(0, 9)])
    with storage.unit_of_work():
        storage.delete_chunks(storage.load_stream(sid), RAW_SERIES, 19)
    assert _chunks(storage, sid) == [(10, 19, 1), (20, 29, 1)]
    assert len(_chunks(storage, sid, SERIES_1S)) == 2
    with storage.unit_of_work():
        storage.delete_chunks(storage.load_stream(sid), None, 20)
    assert _chunks(storage, sid) == [(20, 29, 1)]
    assert _chunks(storage, sid, SERIES_1S) == []
    with storage.unit_of_work():
        storage.delete_chunks(storage.load_stream(sid))
    assert _chunks(storage, sid) == []
    assert _chunks(storage, other) == [(0, 9, 1)]


def test_delete_streams_removes_their_chunks_and_heads(storage):
    sid = _new_stream(storage)
    kept = _new_stream(storage)
    for stream in (sid, kept):
        _write(storage, stream, RAW_SERIES, [_chunk(0, 9)])
        with storage.unit_of_work():
            record = storage.load_stream(stream)
            storage.insert_datapoints([(record, 10, 1)])
    record = storage.load_stream(sid)
    ids = [c.id for c in storage.chunk_index(record, RAW_SERIES, 0, 100)]
    with storage.unit_of_work():
        storage.delete_streams([sid])
    assert storage.load_stream(sid) is None
    assert storage.chunk_data(ids) == {}
    assert storage.fetch_head(record) == []
    assert _chunks(storage, kept) == [(0, 9, 1)]
    with storage.unit_of_work():
        storage.delete_streams(None)
    assert storage.load_stream(kept) is None


# Snapshots -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend_name", ["mongodb"])
def test_read_snapshot_reads_one_state(storage, make_backend, clock):
    """Where the storage gives snapshots (MongoDB with transactions), a write committed by
    another writer during the snapshot is not seen inside it."""
    sid = _new_stream(storage)
    _write(storage, sid, RAW_SERIES, [_chunk(0, 9, 1, b"old")])
    writer = make_backend(clock=clock)
    with storage.read_snapshot():
        record = storage.load_stream(sid)
        before = storage.chunk_index(record, RAW_SERIES, 0, 100)

        def rewrite():
            with writer.unit_of_work():
                other = writer.load_stream(sid)
                writer.write_chunks(other, RAW_SERIES, [before[0].id], [_chunk(0, 12, 2)])
                writer.insert_datapoints([(other, 20, 1)])

        thread = threading.Thread(target=rewrite)
        thread.start()
        thread.join()
        assert storage.chunk_index(record, RAW_SERIES, 0, 100) == before
        assert storage.chunk_data([before[0].id]) == {before[0].id: b"old"}
        assert storage.fetch_head(record) == []
        with storage.read_snapshot():  # nested: the same snapshot
            assert storage.fetch_head(record) == []
    assert _chunks(storage, sid) == [(0, 12, 2)]
    assert storage.fetch_head(storage.load_stream(sid)) == [(20, 1)]


# MongoDB -------------------------------------------------------------------------------------


MONGODB = pytest.mark.parametrize("backend_name", ["mongodb", "mongodb-fallback"])


@pytest.fixture
def mongo_storage(storage):
    return storage


@MONGODB
def test_mongodb_chunk_documents_and_indexes(mongo_storage):
    from bson import Binary, ObjectId

    sid = _new_stream(mongo_storage)
    _write(mongo_storage, sid, SERIES_1S, [_chunk(0, 9, 2, b"xy")])
    database = mongo_storage.database()
    document = database.chunks.find_one({})
    number = database.streams.find_one({"sid": sid})["_id"]
    assert type(document["_id"]) is ObjectId
    assert {k: v for k, v in document.items() if k != "_id"} == {
        "s": number, "k": SERIES_1S, "f": 0, "l": 9, "n": 2, "d": b"xy"
    }
    raw = database.chunks.find_raw_batches({}).next()
    assert isinstance(Binary(b"xy"), bytes) and b"xy" in raw
    index = database.chunks.index_information()["s_k_f"]
    assert index["key"] == [("s", 1), ("k", 1), ("f", 1)] and index["unique"] is True
    assert "buckets" not in database.list_collection_names()


@MONGODB
def test_mongodb_chunk_index_reads_use_the_index(mongo_storage):
    sid = _new_stream(mongo_storage)
    _write(mongo_storage, sid, RAW_SERIES, [_chunk(i * 10, i * 10 + 9) for i in range(50)])
    database = mongo_storage.database()
    record = mongo_storage.load_stream(sid)
    query = {"s": record["private"].number, "k": RAW_SERIES, "f": {"$gte": 100, "$lt": 200}}
    plan = database.chunks.find(query).sort("f", 1).explain()["queryPlanner"]["winningPlan"]
    assert "s_k_f" in str(plan) and "COLLSCAN" not in str(plan)
    assert len(mongo_storage.chunk_index(record, RAW_SERIES, 105, 200)) == 10


@MONGODB
def test_mongodb_apply_is_idempotent_for_journal_replays(mongo_storage):
    from datastream.backends.mongodb import writes

    sid = _new_stream(mongo_storage)
    _write(mongo_storage, sid, RAW_SERIES, [_chunk(0, 9, 1, b"a")])
    database = mongo_storage.database()
    record = mongo_storage.load_stream(sid)
    number = record["private"].number
    old = mongo_storage.chunk_index(record, RAW_SERIES, 0, 100)[0].id
    from bson import ObjectId

    first, second = ObjectId(), ObjectId()
    ops = [
        writes.insert_datapoints([{"_id": ObjectId(), "s": number, "t": t, "q": t, "v": t}
                                  for t in range(1, 6)]),
        writes.write_chunks(number, [old], [
            {"_id": first, "s": number, "k": 0, "f": 0, "l": 12, "n": 2, "d": b"b"}]),
        writes.write_chunks(number, [first], [
            {"_id": second, "s": number, "k": 0, "f": 0, "l": 13, "n": 3, "d": b"c"}]),
        writes.clear_head(number, 4),
        writes.delete_chunks(number, SERIES_1S, None),
    ]
    for _ in range(3):  # the writer, then the recovery of a unit thought dead, twice
        writes.apply(database, ops)
        assert _chunks(mongo_storage, sid) == [(0, 13, 3)]
        assert mongo_storage.chunk_data([second]) == {second: b"c"}
        assert [t for t, _ in mongo_storage.fetch_head(record)] == [4, 5]
    assert writes.streams_of(ops[1]) == writes.streams_of(ops[3]) == {number}
    assert writes.streams_of(ops[4]) == {number}


@MONGODB
def test_mongodb_journal_splits_big_chunk_writes(mongo_storage, monkeypatch):
    from datastream.backends.mongodb import journal

    monkeypatch.setattr(journal, "_CHUNK_BYTES", 50_000)
    ops = [["write_chunks", 1, ["gone"], [{"_id": i, "d": b"x" * 20_000} for i in range(7)]]]
    pieces = journal._split(ops)
    assert [len(op[3]) for op in pieces] == [2, 2, 2, 1]
    assert pieces[0][2] == ["gone"] and all(op[2] == [] for op in pieces[1:])
    sid = _new_stream(mongo_storage)
    chunks = [_chunk(i * 10, i * 10 + 9, 1, bytes([i]) * 30_000) for i in range(12)]
    _write(mongo_storage, sid, RAW_SERIES, chunks)
    index = mongo_storage.chunk_index(mongo_storage.load_stream(sid), RAW_SERIES, 0, 1000)
    assert len(index) == 12
    data = mongo_storage.chunk_data([c.id for c in index])
    assert [data[c.id][:1] for c in index] == [bytes([i]) for i in range(12)]
    assert mongo_storage.database().journal.count_documents({}) == 0


@MONGODB
def test_mongodb_many_large_chunks_in_one_unit(mongo_storage):
    """More than one BSON document's worth (16 MB) of chunks in one unit: pymongo splits the
    insert, the journal splits its chunks."""
    sid = _new_stream(mongo_storage)
    chunks = [_chunk(i * 10, i * 10 + 9, 1, bytes([i]) * 400_000) for i in range(45)]
    _write(mongo_storage, sid, RAW_SERIES, chunks)
    index = mongo_storage.chunk_index(mongo_storage.load_stream(sid), RAW_SERIES, 0, 10_000)
    assert len(index) == 45
    assert sum(len(v) for v in mongo_storage.chunk_data([c.id for c in index]).values()) == (
        45 * 400_000
    )


@pytest.mark.parametrize("backend_name", ["mongodb-fallback"])
def test_mongodb_journal_snapshot_keeps_listed_chunks_readable(mongo_storage, make_backend, clock):
    sid = _new_stream(mongo_storage)
    _write(mongo_storage, sid, RAW_SERIES, [_chunk(0, 9, 1, b"old")])
    writer = make_backend(clock=clock)
    with mongo_storage.read_snapshot():
        record = mongo_storage.load_stream(sid)
        (listed,) = mongo_storage.chunk_index(record, RAW_SERIES, 0, 100)
        _write(writer, sid, RAW_SERIES, [_chunk(0, 12, 2, b"new")], remove=[listed.id])
        assert mongo_storage.chunk_data([listed.id]) == {listed.id: b"old"}
    assert mongo_storage.chunk_data([listed.id]) == {}


@pytest.mark.parametrize("backend_name", ["mongodb-fallback"])
def test_mongodb_journal_snapshot_rolls_a_dead_writers_unit_forward(mongo_storage, clock):
    import datetime

    from bson import ObjectId

    from datastream.backends.mongodb import writes

    sid = _new_stream(mongo_storage)
    database = mongo_storage.database()
    number = database.streams.find_one({"sid": sid})["_id"]
    chunk = ObjectId()
    ops = [writes.write_chunks(number, [], [
        {"_id": chunk, "s": number, "k": 0, "f": 0, "l": 5, "n": 2, "d": b"sealed"}])]
    # A writer committed (journal head inserted) and died before applying.
    database.journal.insert_one({"tx": "dead", "i": 0, "ops": ops})
    database.journal.insert_one({"_id": "dead", "streams": [number], "read_only": []})
    expired = clock() - datetime.timedelta(seconds=1)
    database.streams.update_one({"_id": number}, {"$set": {"lock": {"id": "dead", "exp": expired}}})
    record = mongo_storage.load_stream(sid)  # outside a unit: no lock taken
    with mongo_storage.read_snapshot():
        index = mongo_storage.chunk_index(record, RAW_SERIES, 0, 100)
        assert [(c.first, c.last, c.count) for c in index] == [(0, 5, 2)]
        assert mongo_storage.chunk_data([chunk]) == {chunk: b"sealed"}
    assert database.journal.count_documents({}) == 0
    assert "lock" not in database.streams.find_one({"_id": number})


@pytest.mark.parametrize("backend_name", ["mongodb-fallback"])
def test_mongodb_journal_in_flight_raw_chunks_hold_back_safe_latest(
    mongo_storage, monkeypatch
):
    """A batch sealed straight into raw chunks is in flight like one into the head: until it
    is applied, ``safe_latest`` stays below its first chunk (bucket chunks do not count)."""
    from datastream.backends.mongodb import journal

    sid = _new_stream(mongo_storage)
    with mongo_storage.unit_of_work():
        record = mongo_storage.load_stream(sid)
        record["latest_datapoint"] = 100
        mongo_storage.update_streams([(record, {"latest_datapoint": 100})])

    def crash(*args, **kwargs):
        raise RuntimeError("the writer died while applying")

    monkeypatch.setattr(journal, "apply", crash)
    with pytest.raises(RuntimeError), mongo_storage.unit_of_work():
        record = mongo_storage.load_stream(sid)
        mongo_storage.write_chunks(record, SERIES_1S, [], [_chunk(10, 20)])
        mongo_storage.write_chunks(record, RAW_SERIES, [], [_chunk(150, 160), _chunk(120, 140)])
    monkeypatch.undo()
    record = mongo_storage.load_stream(sid)
    assert mongo_storage.safe_latest(record) == 100
    record["latest_datapoint"] = 160
    assert mongo_storage.safe_latest(record) == 120
