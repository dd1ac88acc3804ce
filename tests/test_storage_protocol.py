"""The storage protocol (datastream.storage): every storage is a BaseStorage implementing its
abstract methods with their signatures, optional abilities are protocols detected with
isinstance, and a unit of work is atomic; SQLite refuses unusable paths."""

from __future__ import annotations

import inspect
import os
import time

import pytest
from helpers import G

from datastream import Datastream, exceptions
from datastream.backends import memory, sqlite
from datastream.engine.chunks import encode_raw
from datastream.engine.chunkstore import ChunkStore
from datastream.engine.records import new_record
from datastream.storage import (
    RAW_SERIES,
    RECORD_FIELDS,
    BaseStorage,
    BucketWindow,
    NewChunk,
    RawScan,
    SwitchableStorage,
    missing_methods,
    record_fields,
)
from datastream.tagquery import parse_query

ABSTRACT_METHODS = sorted(BaseStorage.__abstractmethods__)
OVERRIDABLE = sorted(
    name for name, member in vars(BaseStorage).items()
    if callable(member) and not name.startswith("_") and name not in ("check", "clock", "upgrade")
)


def _parameters(function) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p != "self"]


def test_a_new_storage_writes_thirteen_methods_and_may_override_the_others():
    assert len(ABSTRACT_METHODS) == 13
    assert "unit_of_work" in ABSTRACT_METHODS and "write_chunks" in ABSTRACT_METHODS
    assert {"load_stream", "count_streams", "read_snapshot", "safe_latest",
            "close"} == set(OVERRIDABLE) - set(ABSTRACT_METHODS)


def test_every_storage_implements_the_whole_protocol_with_its_signatures(make_backend):
    storage = make_backend()
    assert isinstance(storage, BaseStorage)
    assert missing_methods(storage) == []
    assert callable(storage.clock)
    for name in OVERRIDABLE:
        implemented = _parameters(getattr(type(storage), name))
        assert implemented == _parameters(getattr(BaseStorage, name)), name


def test_optional_abilities_are_protocols_detected_with_isinstance(make_backend, backend_name):
    storage = make_backend()
    assert not isinstance(object(), SwitchableStorage)
    assert isinstance(storage, SwitchableStorage)
    assert not hasattr(storage, "capabilities")


def test_a_storage_missing_abstract_methods_cannot_be_built_and_says_which():
    class Half(BaseStorage):
        def unit_of_work(self): ...

    missing = missing_methods(Half)
    assert "chunk_index" in missing and "unit_of_work" not in missing
    assert len(missing) == 12
    with pytest.raises(TypeError, match="abstract"):
        Half()
    assert missing_methods(object()) == ABSTRACT_METHODS


def test_the_defaults_answer_from_the_abstract_methods():
    """load_stream, count_streams and safe_latest are BaseStorage's on the memory storage."""
    storage = memory.Backend()
    record = _record()
    with storage.unit_of_work():
        storage.insert_stream(record)
        storage.insert_datapoints([(record, 10, 1), (record, 12, 2.5), (record, 11, None)])
    record = storage.load_stream(record["stream_id"])
    record["latest_datapoint"] = 12
    assert storage.fetch_head(record) == [(10, 1), (11, None), (12, 2.5)]
    assert storage.count_streams(parse_query({"name": "x"})) == 1
    assert storage.safe_latest(record) == 12
    assert storage.load_stream("00000000-0000-4000-8000-000000000000") is None


def test_a_raw_scan_batch_stays_within_the_read_batch_and_the_limit():
    record = _record()
    assert RawScan(record, 0, 10).batch == 10_000
    assert RawScan(record, 0, 10, batch_size=50_000).batch == 10_000
    assert RawScan(record, 0, 10, limit=7, batch_size=100).batch == 7
    assert RawScan(record, 0, 10, batch_size=0).batch == 10_000


def test_heads_and_chunks_keep_their_order_and_bounds_on_every_storage(make_backend):
    storage = make_backend()
    record = _stored_record(storage)
    with storage.unit_of_work():
        storage.insert_datapoints([(record, 30, "a"), (record, 20, 2), (record, 30, 3.5)])
        chunks = [NewChunk(1, 5, 2, encode_raw([1, 5], [1, 2])),
                  NewChunk(5, 9, 2, encode_raw([5, 9], [3, 4])),
                  NewChunk(12, 14, 1, encode_raw([12], [5]))]
        storage.write_chunks(record, RAW_SERIES, [], chunks)
    assert storage.fetch_head(record) == [(20, 2), (30, "a"), (30, 3.5)]
    index = storage.chunk_index(record, RAW_SERIES, 5, 12)
    assert [(c.first, c.last, c.count) for c in index] == [(1, 5, 2), (5, 9, 2)]
    assert [c.first for c in storage.chunk_index(record, RAW_SERIES, 10, 13)] == [12]
    assert storage.chunk_index(record, RAW_SERIES + 1, 0, 99) == []
    data = storage.chunk_data([index[1].id, "gone" if backend_is_mongo(storage) else -1])
    assert list(data) == [index[1].id] and bytes(data[index[1].id]) == chunks[1].data
    with storage.unit_of_work():
        storage.write_chunks(record, RAW_SERIES, [index[0].id], [])
        storage.clear_head(record, 30)
        storage.delete_chunks(record, RAW_SERIES, before=10)
    assert storage.fetch_head(record) == [(30, "a"), (30, 3.5)]
    assert [c.first for c in storage.chunk_index(record, RAW_SERIES, 0, 99)] == [12]


def _stored_record(storage):
    """A new stream record, stored in ``storage`` and loaded back."""
    record = _record()
    with storage.unit_of_work():
        storage.insert_stream(record)
    return storage.load_stream(record["stream_id"])


def backend_is_mongo(storage) -> bool:
    return type(storage).__module__.startswith("datastream.backends.mongodb")


def test_a_bucket_window_gives_exactly_its_keys_or_an_empty_part(make_backend):
    storage = make_backend()
    record = _stored_record(storage)
    bucket = ({"m": 1.5, "c": 2}, {"a": 10, "z": 12, "m": 11, "i": 2, "l": 2, "u": 2, "q": 4,
                                   "d": 0})
    data = ChunkStore(storage)
    with storage.unit_of_work():
        data.upsert_buckets(record, G.Seconds10, [(10, *bucket), (20, *bucket)])
    window = BucketWindow(record, G.Seconds10, 0, 30, True, ("c",), ("a", "z"))
    assert list(data.fetch_buckets(window)) == [
        (20, {"c": 2}, {"a": 10, "z": 12}),
        (10, {"c": 2}, {"a": 10, "z": 12}),
    ]
    nothing = BucketWindow(record, G.Seconds10, 15, 30, False, None, None)
    assert list(data.fetch_buckets(nothing)) == [(20, {}, {})]


def test_stream_records_are_typed_dictionaries_whose_private_key_is_not_stored():
    record = _record()
    record["private"] = 42
    assert type(record) is dict
    assert set(record_fields(record)) == set(RECORD_FIELDS)


def _record():
    return new_record({"name": "x", "nested": {"a": [1, 2]}}, ["mean", "count"], G.Seconds,
                      "numeric", {"high_accuracy": False})


def test_records_round_trip_with_every_field(make_backend):
    storage = make_backend()
    record = _record()
    record["last_downsampling_error"] = {"at": 1234, "error": "RuntimeError: boom"}
    with storage.unit_of_work():
        storage.insert_stream(record)
    loaded = storage.load_stream(record["stream_id"])
    assert record_fields(loaded) == record_fields(record)
    assert set(loaded) >= {"stream_id", *RECORD_FIELDS}
    with storage.unit_of_work():
        again = storage.load_stream(record["stream_id"])
        again["last_downsampling_error"] = None
        storage.update_streams([(again, {"last_downsampling_error": None})])
    assert storage.load_stream(record["stream_id"])["last_downsampling_error"] is None
    assert [r["stream_id"] for r in storage.list_streams([])] == [record["stream_id"]]
    assert storage.count_streams([]) == 1


def test_a_batch_of_records_loads_and_updates_at_once(make_backend):
    storage = make_backend()
    records = [_record() for _ in range(3)]
    with storage.unit_of_work():
        for record in records:
            storage.insert_stream(record)
    unknown = "00000000-0000-4000-8000-000000000000"
    wanted = [records[2]["stream_id"], unknown, records[0]["stream_id"]]
    with storage.unit_of_work():
        loaded = {r["stream_id"]: r for r in storage.load_streams(wanted)}
        assert set(loaded) == {records[2]["stream_id"], records[0]["stream_id"]}
        for number, record in enumerate(loaded.values()):
            record["latest_datapoint"] = 100 + number
            record["tags"] = {"renamed": number}
        storage.update_streams(
            [(r, {"latest_datapoint": r["latest_datapoint"], "tags": r["tags"]})
             for r in loaded.values()]
        )
    for number, stream_id in enumerate(loaded):
        again = storage.load_stream(stream_id)
        assert (again["latest_datapoint"], again["tags"]) == (100 + number, {"renamed": number})
        assert [r["stream_id"] for r in storage.list_streams(parse_query({"renamed": number}))] \
            == [stream_id]
    assert storage.load_stream(records[1]["stream_id"])["tags"] == records[1]["tags"]


def test_a_unit_of_work_that_raises_leaves_nothing(make_backend):
    storage = make_backend()
    record = _record()
    with pytest.raises(RuntimeError, match="abandon"):
        with storage.unit_of_work():
            storage.insert_stream(record)
            storage.insert_datapoints([(record, 10, 1.5)])
            raise RuntimeError("abandon")
    assert storage.load_stream(record["stream_id"]) is None
    assert storage.count_streams([]) == 0


# SQLite paths ---------------------------------------------------------------------------------


def test_sqlite_under_a_file_is_unavailable_at_once_naming_the_path(tmp_path):
    blocker = tmp_path / "hostname"
    blocker.write_text("a file, not a directory")
    path = str(blocker / "x.sqlite3")
    begin = time.monotonic()
    with pytest.raises(exceptions.BackendUnavailable, match="hostname") as raised:
        sqlite.Backend(path)
    assert time.monotonic() - begin < 1
    assert str(blocker) in str(raised.value)


def test_check_database_path_looks_without_creating_anything(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "not a directory" in sqlite.check_database_path(str(blocker / "db.sqlite3"))
    assert "not a directory" in sqlite.check_database_path(str(blocker / "deeper" / "db"))
    assert "is a directory" in sqlite.check_database_path(str(tmp_path))
    fresh = tmp_path / "new" / "dir" / "db.sqlite3"
    assert sqlite.check_database_path(str(fresh)) is None
    assert sqlite.check_database_path(":memory:") is None
    assert sorted(os.listdir(tmp_path)) == ["file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_database_path_refuses_a_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert "cannot write" in sqlite.check_database_path(str(locked / "db.sqlite3"))
    finally:
        locked.chmod(0o700)


def test_a_layout_1_sqlite_file_gets_its_tag_index(tmp_path):
    import sqlite3 as sqlite3_

    path = str(tmp_path / "old.sqlite3")
    ds = Datastream(sqlite.Backend(path))
    wanted = ds.ensure_stream({"device": "a"}, {"room": {"floor": 2}}, ["mean"], G.Seconds)
    ds.ensure_stream({"device": "b"}, {}, ["mean"], G.Seconds)
    ds.backend.close()
    connection = sqlite3_.connect(path)
    connection.executescript("DROP TABLE tag_index; PRAGMA user_version = 1;")
    connection.close()
    reopened = Datastream(sqlite.Backend(path))
    found = reopened.find_streams({"room": {"floor": 2}})
    assert [s["stream_id"] for s in found] == [wanted] and found.count() == 1


def test_sqlite_tag_queries_with_lone_surrogates_answer_like_the_matcher(tmp_path):
    ds = Datastream(sqlite.Backend(str(tmp_path / "s.sqlite3")))
    odd = ds.ensure_stream({"name": "odd\ud800"}, {}, ["mean"], G.Seconds)
    plain = ds.ensure_stream({"name": "plain"}, {}, ["mean"], G.Seconds)

    def found(query):
        return [s["stream_id"] for s in ds.find_streams(query)]

    assert found({"name": "odd\ud800"}) == [odd]
    assert found({"name": {"contains": "odd"}}) == [odd]
    assert found({"name": {"gt": "odd"}}) == [odd, plain]
    assert found({"name": {"startswith": "\ud800"}}) == []
    assert found({"\ud800": None}) == []
    ds.backprocess_streams({"\ud800": None})
    assert ds.find_streams({"name": {"in": ["plain", "x\udfff"]}}).count() == 1
