"""The storage protocol (datastream.storage): every storage implements all of it, with the
protocol's signatures, and keeps a unit of work atomic; SQLite refuses unusable paths."""

from __future__ import annotations

import inspect
import os
import time

import pytest
from helpers import G

from datastream import exceptions
from datastream.backends import sqlite
from datastream.engine.records import new_record
from datastream.storage import RECORD_FIELDS, Storage, StorageCapabilities, missing_methods
from datastream.tagquery import parse_query

PROTOCOL_METHODS = sorted(
    name for name, member in vars(Storage).items()
    if callable(member) and not name.startswith("_")
)


def _parameters(function) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p != "self"]


def test_the_protocol_is_about_a_dozen_methods():
    assert 12 <= len(PROTOCOL_METHODS) <= 18
    assert "unit_of_work" in PROTOCOL_METHODS and "close" in PROTOCOL_METHODS


def test_every_storage_implements_the_whole_protocol(make_backend):
    storage = make_backend()
    assert missing_methods(storage) == []
    assert isinstance(storage, Storage)
    assert isinstance(storage.capabilities, StorageCapabilities)
    for name in PROTOCOL_METHODS:
        implemented = _parameters(getattr(type(storage), name))
        assert implemented == _parameters(getattr(Storage, name)), name


def test_declared_capabilities_have_their_methods(make_backend):
    storage = make_backend()
    if storage.capabilities.bucket_json:
        assert callable(storage.fetch_bucket_json)
        assert callable(storage.fetch_bucket_json_array)
    if storage.capabilities.switch_database:
        assert callable(storage.switch_database)


def test_missing_methods_names_what_a_storage_lacks():
    class Half:
        capabilities = StorageCapabilities(bucket_json=True)
        clock = staticmethod(time.time)

        def close(self) -> None: ...

    missing = missing_methods(Half())
    assert "unit_of_work" in missing and "fetch_bucket_json" in missing
    assert "fetch_bucket_json_array" in missing
    assert "close" not in missing and "clock" not in missing


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
    assert loaded.fields() == record.fields()
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

    from datastream import Datastream

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
    from datastream import Datastream

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
