"""The reference storage (datastream.backends.memory): named databases are shared by the
backends given the name, a unit of work that raises puts back everything it changed, and the
stored data is never changed through what was stored or read."""

from __future__ import annotations

import gc

import pytest
from helpers import ALL_VALUE, G, at, seconds

from datastream import Datastream
from datastream.backends.memory import Backend
from datastream.engine.chunkstore import ChunkStore
from datastream.engine.records import new_record
from datastream.storage import BucketWindow, RawScan

T0 = at(2020, 1, 1)


def _record():
    return new_record({"name": "x"}, ["mean", "count"], G.Seconds, "numeric",
                      {"high_accuracy": False})


def test_backends_with_one_database_name_share_it_and_others_do_not():
    first = Datastream(Backend("shared"))
    sid = first.ensure_stream({"name": "s"}, {}, ALL_VALUE, G.Seconds)
    assert [s["stream_id"] for s in Datastream(Backend("shared")).find_streams()] == [sid]
    assert len(Datastream(Backend("other")).find_streams()) == 0
    assert len(Datastream(Backend()).find_streams()) == 0
    first.backend.switch_database("elsewhere")
    assert len(first.find_streams()) == 0
    first.backend.switch_database("shared")
    assert len(first.find_streams()) == 1


def test_a_named_database_lives_while_a_backend_uses_it():
    backend = Backend("short-lived")
    Datastream(backend).ensure_stream({"name": "s"}, {}, ALL_VALUE, G.Seconds)
    del backend
    gc.collect()
    assert len(Datastream(Backend("short-lived")).find_streams()) == 0


def test_a_unit_that_raises_puts_back_records_heads_and_chunks():
    storage = Backend()
    data = ChunkStore(storage)
    kept, doomed = _record(), _record()
    with storage.unit_of_work():
        storage.insert_stream(kept)
        storage.insert_stream(doomed)
        data.insert_datapoints([(kept, 10, 1), (kept, 20, 2)])
        data.upsert_buckets(kept, G.Seconds10, [(10, {"m": 1, "c": 1}, {"a": 10})])
    before = (storage.list_streams([]), list(data.fetch_datapoints(RawScan(kept, 0, 99))))
    window = BucketWindow(kept, G.Seconds10, 0, 99, False, ("m", "c"), ("a",))
    buckets = list(data.fetch_buckets(window))
    with pytest.raises(RuntimeError):
        with storage.unit_of_work():
            kept["tags"] = {"name": "renamed"}
            storage.update_streams([(kept, {"tags": kept["tags"]})])
            data.insert_datapoints([(kept, 5, 0)])
            data.upsert_buckets(kept, G.Seconds10, [(10, {"m": 9, "c": 9}, {"a": 11})])
            storage.delete_streams([doomed["stream_id"]])
            data.delete_datapoints(kept)
            raise RuntimeError("abandon")
    kept["head_count"] = 2
    assert storage.list_streams([]) == before[0]  # in creation order, too
    assert list(data.fetch_datapoints(RawScan(kept, 0, 99))) == before[1]
    assert list(data.fetch_buckets(window)) == buckets


def test_what_was_stored_or_read_cannot_change_the_stored_data():
    ds = Datastream(Backend())
    sid = ds.ensure_stream({"name": "s"}, {"nested": {"a": 1}}, ["count"], G.Seconds,
                           value_type="nominal")
    value = {"nodes": [1, 2]}
    ds.append(sid, value, T0)
    value["nodes"].append(3)
    read = ds.get_data(sid, G.Seconds, start=T0)[0]["v"]
    read["nodes"].append(4)
    ds.get_tags(sid)["nested"]["a"] = 2
    assert ds.get_data(sid, G.Seconds, start=T0)[0]["v"] == {"nodes": [1, 2]}
    assert ds.get_tags(sid)["nested"] == {"a": 1}


def test_datapoints_appended_into_the_past_keep_their_order_within_a_second():
    ds = Datastream(Backend())
    sid = ds.ensure_stream({"name": "s"}, {}, ["count"], G.Seconds, value_type="nominal")
    for offset, value in ((5, "a"), (9, "b"), (5, "c"), (1, "d"), (9, "e")):
        ds.append(sid, value, T0 + seconds(offset), check_timestamp=False)
    assert [(p["t"], p["v"]) for p in ds.get_data(sid, G.Seconds, start=T0)] == [
        (T0 + seconds(1), "d"), (T0 + seconds(5), "a"), (T0 + seconds(5), "c"),
        (T0 + seconds(9), "b"), (T0 + seconds(9), "e"),
    ]
