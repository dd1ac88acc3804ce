"""Column chunks on every storage: pages, counts, reverse reads and cursors across chunk
boundaries, appends into sealed chunks, exact round trips of every value type, and bucket JSON
written from columns equal to the datapoints' own JSON.

The chunk sizes are made tiny (:data:`concurrency_workers.SMALL_CHUNKS`) so that a few dozen
datapoints cross many chunk boundaries, and every read is compared with a plain Python model
of the stream (datapoints ordered by time, then by insertion).
"""

from __future__ import annotations

import datetime
import decimal
import math

import numpy as np
import pytest
from concurrency_workers import SMALL_CHUNKS
from helpers import ALL_VALUE, EVERY_VALUE, G, new_stream, seconds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datastream import Datastream
from datastream.backends.memory import Backend as MemoryBackend
from datastream.constants import UNIX_EPOCH
from datastream.engine import chunks, chunkstore
from datastream.granularity import to_seconds
from datastream.jsonformat import ISO_SECOND_SUFFIXES, dumps, hour_parts, timestamp_texts
from datastream.limits import MAX_DATAPOINT_SECONDS, MIN_DATAPOINT_SECONDS

T0 = datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    for name, value in SMALL_CHUNKS.items():
        monkeypatch.setattr(chunkstore, name, value)


def _model_append(model: list, second: int, value) -> None:
    """Where a datapoint goes: after every datapoint of its second or earlier."""
    index = len(model)
    while index and model[index - 1][0] > second:
        index -= 1
    model.insert(index, (second, value))


def _rows(data) -> list[tuple[int, object]]:
    """``(seconds after T0, value)`` of datapoints."""
    return [(to_seconds(d["t"]) - to_seconds(T0), d["v"]) for d in data]


def _read(ds, sid, **kwargs) -> list[tuple[int, object]]:
    return _rows(ds.get_data(sid, G.Seconds, **kwargs))


def _stream_with_chunks(ds) -> tuple[str, list]:
    """A stream of 120 datapoints over many chunks, with seconds holding several datapoints
    across chunk boundaries, a head, and appends into sealed chunks."""
    sid = new_stream(ds, downsamplers=["count", "mean"])
    model: list = []
    batch = []
    for i in range(100):
        second = i // 3 * 2  # three datapoints a second, every other second
        batch.append({"stream_id": sid, "value": i, "timestamp": T0 + seconds(second)})
        _model_append(model, second, i)
    ds.append_multiple(batch)
    for value, second in ((1000, 0), (1001, 31), (1002, 31), (1003, -5), (1004, 64), (1005, 7)):
        ds.append(sid, value, T0 + seconds(second), check_timestamp=False)
        _model_append(model, second, value)
    for i in range(14):  # into the head
        ds.append(sid, 2000 + i, T0 + seconds(66 + i))
        _model_append(model, 66 + i, 2000 + i)
    return sid, model


def test_reads_across_chunk_boundaries_follow_time_then_insertion_order(ds):
    sid, model = _stream_with_chunks(ds)
    record = ds.backend.load_stream(sid)
    assert record["sealed_until"] is not None and 0 < record["head_count"] < 8
    assert _read(ds, sid, start=T0 - seconds(10)) == model
    assert _read(ds, sid, start=T0 - seconds(10), reverse=True) == model[::-1]
    for lo, hi in ((0, 31), (31, 32), (5, 70), (64, 66), (66, 999), (-5, -4)):
        inside = [row for row in model if lo <= row[0] < hi]
        data = ds.get_data(sid, G.Seconds, start=T0 + seconds(lo),
                           end_exclusive=T0 + seconds(hi))
        assert data.count() == len(inside), (lo, hi)
        assert _rows(data) == inside


def test_pages_and_reverse_pages_cut_anywhere_give_the_model(ds):
    sid, model = _stream_with_chunks(ds)
    data = ds.get_data(sid, G.Seconds, start=T0 - seconds(10))
    backwards = ds.get_data(sid, G.Seconds, start=T0 - seconds(10), reverse=True)
    for offset in (0, 1, 15, 16, 17, 47, 100, 115, 119, 120, 200):
        for limit in (1, 7, 16, 33):
            page = _rows(data[offset : offset + limit])
            assert page == model[offset : offset + limit], (offset, limit)
            page = _rows(backwards[offset : offset + limit])
            assert page == model[::-1][offset : offset + limit], (offset, limit)
    assert data.count() == len(model) == backwards.count()
    times, values = data.columns()
    assert chunks.as_list(values) == [v for _t, v in model]
    assert (times.astype(np.int64) - to_seconds(T0)).tolist() == [t for t, _v in model]


def test_appends_into_sealed_chunks_reopen_their_buckets(ds):
    sid, model = _stream_with_chunks(ds)
    ds.downsample_streams(until=T0 + seconds(600))
    ds.append(sid, 5000, T0 + seconds(12), check_timestamp=False)
    _model_append(model, 12, 5000)
    ds.downsample_streams(until=T0 + seconds(600))
    buckets = ds.get_data(sid, G.Seconds10, start=T0 - seconds(10), end=T0 + seconds(59))
    for bucket in buckets:
        start = to_seconds(bucket["t"]["a"]) - to_seconds(T0)
        start -= start % 10
        inside = [v for t, v in model if start <= t < start + 10]
        assert bucket["v"]["c"] == len(inside)
    assert _read(ds, sid, start=T0 - seconds(10)) == model


def test_pages_walked_one_after_another_neither_repeat_nor_skip(ds):
    sid, model = _stream_with_chunks(ds)
    seen, position = [], 0
    data = ds.get_data(sid, G.Seconds, start=T0 - seconds(10))
    while position < data.count():
        page = _rows(data[position : position + 9])
        seen += page
        position += len(page)
    assert seen == model


# Round trips ------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)
_column = st.one_of(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=40),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=40),
    st.lists(st.integers(), max_size=40),
    st.lists(st.none() | st.floats(allow_nan=False, allow_infinity=False), max_size=40),
    st.lists(st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=40),
    st.lists(_json, max_size=20),
)


def _same(a, b) -> bool:
    """Equal, with floats compared bit for bit (so -0.0 differs from 0.0) and types kept."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and a == b
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=200, deadline=None)
@given(_column)
def test_every_column_round_trips_exactly(values):
    decoded = chunks.as_list(chunks.decode_column(chunks.encode_column(values), len(values)))
    assert _same(decoded, values)
    times = list(range(len(values)))
    got_times, got_values = chunks.decode_raw(chunks.encode_raw(times, values))
    assert got_times.tolist() == times and _same(chunks.as_list(got_values), values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.one_of(
            st.none(), st.floats(allow_nan=False, allow_infinity=False),
            st.integers(-(2**70), 2**70),
        )),
        max_size=60,
    )
)
def test_numeric_datapoints_round_trip_through_chunks_exactly(rows):
    ds = Datastream(MemoryBackend())
    sid = new_stream(ds, downsamplers=["count"])
    model: list = []
    for second, value in rows:
        ds.append(sid, value, T0 + seconds(second), check_timestamp=False)
        stored = float(value) if type(value) is int and abs(value) >= 2**63 else value
        _model_append(model, second, stored)
    assert all(_same(a, b) for a, b in zip(_read(ds, sid, start=T0), model, strict=True))


def test_nominal_graph_and_accurate_values_round_trip_on_every_storage(ds):
    nominal = ds.ensure_stream({"n": 1}, {}, ["count"], G.Seconds, value_type="nominal")
    values = ["a", True, 2**80, {"k": [1, None, -0.0]}, None, 1.5, "", [1, "2"]] * 3
    ds.append_multiple([{"stream_id": nominal, "value": v, "timestamp": T0 + seconds(i)}
                        for i, v in enumerate(values)])
    assert all(_same(d["v"], v) for d, v in
               zip(ds.get_data(nominal, G.Seconds, start=T0), values, strict=True))
    accurate = new_stream(ds, "acc", ["mean"], value_type_options={"high_accuracy": True})
    exact = [decimal.Decimal(f"{i}.{'1' * 40}") for i in range(20)]
    ds.append_multiple([{"stream_id": accurate, "value": v, "timestamp": T0 + seconds(i)}
                        for i, v in enumerate(exact)])
    assert [d["v"] for d in ds.get_data(accurate, G.Seconds, start=T0)] == exact


def test_bucket_json_written_from_columns_is_the_datapoints_json(ds):
    numeric = new_stream(ds, "num", EVERY_VALUE)
    nominal = ds.ensure_stream({"n": 2}, {}, ["most_often", "frequencies", "count"],
                               G.Seconds, value_type="nominal")
    points = []
    for i in range(400):
        points.append({"stream_id": numeric, "value": [i, -0.0, 1.25, None][i % 4],
                       "timestamp": T0 + seconds(i)})
        points.append({"stream_id": nominal, "value": ["x", "y", {"z": 1}][i % 3],
                       "timestamp": T0 + seconds(i)})
    ds.append_multiple(points)
    ds.downsample_streams(until=T0 + seconds(3600))
    for sid in (numeric, nominal):
        for reverse in (False, True):
            for keys in ({}, {"value_downsamplers": ["count"], "time_downsamplers": ["last"]}):
                data = ds.get_data(sid, G.Seconds10, start=T0, end=T0 + seconds(399),
                                   reverse=reverse, **keys)
                expected = b"[" + b",".join(dumps(d) for d in data) + b"]"
                assert data.json_array() == expected
                assert data[3:7].json_array() == b"[" + b",".join(
                    dumps(d) for d in data[3:7]) + b"]"


def test_raw_json_pages_from_chunk_texts_are_the_datapoints_json(ds):
    from datastream.engine import rawjson

    sid, model = _stream_with_chunks(ds)  # integers, across chunks and the head
    mixed = new_stream(ds, "mixed", ["mean"])
    values = [1.5, None, -0.0, 2**70, 3, 1e300, -7] * 6  # an int/float mixture, big integers
    nominal = ds.ensure_stream({"n": 3}, {}, ["count"], G.Seconds, value_type="nominal")
    kinds = ["a", {"k": [1, None]}, True, 2**80, None, "\u00e9\"q\""] * 7
    for stream, series in ((mixed, values), (nominal, kinds)):
        ds.append_multiple([{"stream_id": stream, "value": v, "timestamp": T0 + seconds(i // 2)}
                            for i, v in enumerate(series)])
        ds.append(stream, series[0], T0 + seconds(len(series)))  # a head
    for stream in (sid, mixed, nominal):
        record = ds.backend.load_stream(stream)
        assert record["sealed_until"] is not None and record["head_count"] > 0
        for reverse in (False, True):
            for start, end in ((-10, 200), (3, 20), (20, 21), (31, 75)):
                data = ds.get_data(stream, G.Seconds, start=T0 + seconds(start),
                                   end=T0 + seconds(end), reverse=reverse)
                for offset in (0, 1, 7, 16, 17, 40, 500):
                    for limit in (0, 1, 9, 16, 10_000):
                        page = data[offset : offset + limit]
                        expected = b"[" + b",".join(dumps(d) for d in page) + b"]"
                        assert page.json_array() == expected, (stream, start, offset, limit)
    # The texts of each chunk are kept: reading again finds them.
    rawjson.chunk_texts.cache_clear()
    ds.get_data(sid, G.Seconds, start=T0)[:50].json_array()
    misses = rawjson.chunk_texts.cache_info().misses
    ds.get_data(sid, G.Seconds, start=T0)[:50].json_array()
    info = rawjson.chunk_texts.cache_info()
    assert misses > 0 and info.misses == misses and info.hits >= misses


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(MIN_DATAPOINT_SECONDS, MAX_DATAPOINT_SECONDS), max_size=50))
def test_timestamp_texts_of_whole_columns_are_the_datetimes_json(moments):
    """Both ways of writing a column of timestamps (numpy for each one, or each hour once)
    give what the encoder gives each ``datetime``, over the whole supported range."""
    moments = sorted(moments + [MIN_DATAPOINT_SECONDS, MAX_DATAPOINT_SECONDS, 0, -1, 3599])
    expected = [dumps(UNIX_EPOCH + datetime.timedelta(seconds=t)).decode() for t in moments]
    assert timestamp_texts(np.array(moments, np.int64)) == expected
    prefixes, indexes, within = hour_parts(np.array(moments, np.int64))
    written = [f'"{prefixes[i]}{ISO_SECOND_SUFFIXES[s]}"' for i, s in zip(indexes, within)]
    assert written == expected


def test_append_columns_is_validated_and_atomic(ds):
    from datastream import exceptions

    sid = new_stream(ds, downsamplers=ALL_VALUE)
    start = np.datetime64("2024-03-01T00:00:00")
    times = start + np.arange(50) * np.timedelta64(1, "s")
    assert ds.append_columns(sid, times, np.arange(50) / 4) == 50
    bad = np.arange(50, dtype=np.float64)
    bad[20] = np.inf
    with pytest.raises(exceptions.InvalidValue, match="Datapoint 20"):
        ds.append_columns(sid, times + np.timedelta64(60, "s"), bad)
    with pytest.raises(exceptions.InvalidTimestamp, match="older"):
        ds.append_columns(sid, times, np.arange(50.0))
    backwards = times[::-1] + np.timedelta64(120, "s")
    with pytest.raises(exceptions.InvalidTimestamp, match="Datapoint 1"):
        ds.append_columns(sid, backwards, np.arange(50.0))
    with pytest.raises(exceptions.InvalidValueType):
        ds.append_columns(sid, times + np.timedelta64(60, "s"), np.ones(50, dtype=bool))
    with pytest.raises(exceptions.InvalidValue, match="50 times but 3 values"):
        ds.append_columns(sid, times + np.timedelta64(60, "s"), [1, 2, 3])
    assert ds.get_data(sid, G.Seconds, start=T0).count() == 50
    listed = [T0 + seconds(100 + i) for i in range(30)]
    assert ds.append_columns(sid, listed, [i if i % 2 else float(i) for i in range(30)]) == 30
    values = [d["v"] for d in ds.get_data(sid, G.Seconds, start=T0 + seconds(100))]
    assert values == [i if i % 2 else float(i) for i in range(30)]
    assert [type(v) for v in values[:2]] == [float, int]
