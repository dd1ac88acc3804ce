"""Contract: appending and reading datapoints (spec §2; upstream test_count_limit_offset,
test_granularities, test_null_values, test_monotonicity_*, test_already_downsampled,
test_high_accuracy, test_big_integers, test_append_multiple)."""

import datetime
import decimal
import itertools

import pytest
from helpers import ALL_VALUE, EPOCH, G, append_series, at, new_stream, seconds, values

from datastream import Stream, exceptions

T0 = at(2000, 1, 1, 12)


def test_count_limit_offset(ds):
    sid = new_stream(ds)
    append_series(ds, sid, range(200), T0)
    data = ds.get_data(sid, G.Seconds, start=T0)
    assert len(data) == 200
    assert len(data[:20]) == 20 and len(data[50:70]) == 20 and len(data[190:210]) == 10
    assert values(data[50:53]) == [50, 51, 52]
    assert data[199]["v"] == 199 and data[-1]["v"] == 199
    with pytest.raises(IndexError):
        data[200]
    assert values(ds.get_data(sid, G.Seconds, start=T0, reverse=True)[:3]) == [199, 198, 197]
    ds.downsample_streams(until=T0 + seconds(300))
    tens = ds.get_data(sid, G.Seconds10, start=T0)
    assert len(tens) == 19
    assert len(tens[:10]) == 10 and len(tens[5:15]) == 10
    assert values(tens[5:7], "m") == [54.5, 64.5]
    assert values(ds.get_data(sid, G.Seconds10, start=T0, reverse=True)[:2], "m") == [184.5,
                                                                                     174.5]


def test_append_multiple_interleaved_streams(ds):
    a, b = new_stream(ds, "a"), new_stream(ds, "b")
    ds.append_multiple(
        [{"stream_id": (a, b)[i % 2], "value": i, "timestamp": T0 + seconds(i // 2)}
         for i in range(200)]
    )
    assert len(ds.get_data(a, G.Seconds, start=EPOCH)) == 100
    assert len(ds.get_data(b, G.Seconds, start=EPOCH)) == 100


@pytest.fixture
def twenty_minutes(ds):
    sid = new_stream(ds)
    append_series(ds, sid, range(1200), T0)
    ds.downsample_streams(until=T0 + seconds(1200))
    return sid


@pytest.mark.parametrize(
    ("granularity", "counts"),
    [("Seconds", (61, 60, 60, 59)), ("Seconds10", (7, 6, 6, 5)), ("Minutes", (2, 1, 1, 0))],
)
def test_inclusive_and_exclusive_bounds(ds, twenty_minutes, granularity, counts):
    g, s, e = getattr(G, granularity), T0, T0 + seconds(60)
    got = (
        len(ds.get_data(twenty_minutes, g, start=s, end=e)),
        len(ds.get_data(twenty_minutes, g, start_exclusive=s, end=e)),
        len(ds.get_data(twenty_minutes, g, start=s, end_exclusive=e)),
        len(ds.get_data(twenty_minutes, g, start_exclusive=s, end_exclusive=e)),
    )
    assert got == counts


def test_unbounded_ranges_and_coarse_granularities(ds, twenty_minutes):
    sid, mn, mx = twenty_minutes, datetime.datetime.min, datetime.datetime.max
    assert len(ds.get_data(sid, G.Seconds, start=T0)) == 1200
    assert len(ds.get_data(sid, G.Seconds, start_exclusive=T0)) == 1199
    assert len(ds.get_data(sid, G.Seconds, start=mn, end=T0 + seconds(60))) == 61
    assert len(ds.get_data(sid, G.Seconds, start_exclusive=mn, end=T0 + seconds(60))) == 61
    for kwargs in ({"start": mn}, {"start": mn, "end": mx}, {"start_exclusive": mn},
                   {"start_exclusive": mn, "end_exclusive": mx}):
        assert len(ds.get_data(sid, G.Seconds, **kwargs)) == 1200
    assert len(ds.get_data(sid, G.Seconds, start_exclusive=mx)) == 0
    assert len(ds.get_data(sid, G.Seconds, start=mn, end_exclusive=mn)) == 0
    assert len(ds.get_data(sid, G.Minutes10, start=mn)) == 1
    for g in (G.Hours, G.Hours6, G.Days):
        assert len(ds.get_data(sid, g, start=mn)) == 0
    # A granularity finer than the stream's highest gives raw datapoints.
    minutes = ds.ensure_stream({"name": "m"}, {}, ALL_VALUE, G.Minutes)
    ds.append(minutes, 5, T0 + seconds(30))
    assert ds.get_data(minutes, G.Seconds, start=T0)[0] == {"t": T0 + seconds(30), "v": 5}


def test_several_datapoints_per_second(ds):
    sid = new_stream(ds)
    ds.append_multiple(
        [{"stream_id": sid, "value": j * i, "timestamp": T0 + seconds(i)}
         for i in range(1200) for j in range(3)]
    )
    ds.downsample_streams(until=T0 + seconds(1200))
    s, e = T0, T0 + seconds(60)
    assert len(ds.get_data(sid, G.Seconds, start=s, end=e)) == 183
    assert len(ds.get_data(sid, G.Seconds, start_exclusive=s, end=e)) == 180
    assert len(ds.get_data(sid, G.Seconds, start=s, end_exclusive=e)) == 180
    assert len(ds.get_data(sid, G.Seconds, start_exclusive=s, end_exclusive=e)) == 177
    assert len(ds.get_data(sid, G.Seconds, start=s)) == 3600
    assert len(ds.get_data(sid, G.Seconds, start_exclusive=s)) == 3597
    assert len(ds.get_data(sid, G.Seconds10, start=datetime.datetime.min)) == 119
    assert len(ds.get_data(sid, G.Minutes, start=datetime.datetime.min)) == 19
    # Insertion order is kept within one second.
    assert values(ds.get_data(sid, G.Seconds, start=T0 + seconds(5))[:3]) == [0, 5, 10]
    assert values(ds.get_data(sid, G.Seconds, start=s, end=T0 + seconds(5), reverse=True)[:3]) == [
        10, 5, 0]


def test_monotonicity_within_one_second(ds):
    sid = new_stream(ds)
    for value in range(1, 6):
        ds.append(sid, value, T0)
    ds.append(sid, None, T0 + datetime.timedelta(hours=10))
    ds.downsample_streams(until=T0 + datetime.timedelta(hours=11))
    assert len(ds.get_data(sid, G.Seconds, start=T0)) == 6
    assert len(ds.get_data(sid, G.Seconds, start=T0, end=T0)) == 5
    assert len(ds.get_data(sid, G.Seconds, start_exclusive=T0)) == 1
    assert len(ds.get_data(sid, G.Seconds, start_exclusive=T0, end=T0)) == 0
    assert len(ds.get_data(sid, G.Seconds, start_exclusive=T0, end_exclusive=T0)) == 0
    assert len(ds.get_data(sid, G.Seconds, start=T0, end_exclusive=T0)) == 0
    tens = ds.get_data(sid, G.Seconds10, start=T0)
    assert len(tens) == 3600
    first = tens[0]
    assert first["t"]["a"] == first["t"]["z"] == first["t"]["m"] == T0
    assert first["v"] == {"c": 5, "d": pytest.approx(1.4142135623730951), "m": 3.0, "l": 1,
                          "q": 55, "s": 15, "u": 5}
    assert tens[1]["v"] == {"c": 0, "d": None, "m": None, "l": None, "q": None, "s": None,
                            "u": None}
    assert tens[1]["t"]["a"] == tens[1]["t"]["m"] == T0 + seconds(15)
    counts = [len(ds.get_data(sid, g, start=T0)) for g in G.values[2:]]
    assert counts == [600, 60, 10, 1, 0]


def test_monotonic_timestamps(ds):
    sid = new_stream(ds)
    ds.append(sid, 1, at(2000, 1, 1))
    ds.append(sid, 1, at(2000, 1, 3))
    with pytest.raises(exceptions.InvalidTimestamp):
        ds.append(sid, 1, at(2000, 1, 2))
    ds.append(sid, 1, at(2000, 1, 2), check_timestamp=False)
    # The latest datapoint never moves backwards.
    assert Stream(ds.get_tags(sid)).latest_datapoint == at(2000, 1, 3)
    assert len(ds.get_data(sid, G.Seconds, start=EPOCH)) == 3


def test_monotonicity_with_the_clock(ds, clock):
    sid = new_stream(ds)
    ds.append(sid, 1)
    clock.advance(minutes=1)
    ds.append(sid, 1)
    clock.advance(seconds=-30)
    with pytest.raises(exceptions.InvalidTimestamp):
        ds.append(sid, 1)
    ds.append(sid, 1, check_timestamp=False)


def test_appending_into_a_downsampled_range_reopens_its_buckets(ds):
    sid = new_stream(ds)
    append_series(ds, sid, [1] * 30, T0)
    ds.append(sid, 1, T0 + seconds(120))
    ds.downsample_streams(until=T0 + seconds(200))
    assert values(ds.get_data(sid, G.Minutes, start=T0), "c") == [30, 0]
    ds.append(sid, 5, T0 + seconds(45), check_timestamp=False)
    ds.downsample_streams(until=T0 + seconds(200))
    assert values(ds.get_data(sid, G.Minutes, start=T0), "c") == [31, 0]
    assert values(ds.get_data(sid, G.Minutes, start=T0), "s") == [35, None]


@pytest.mark.parametrize(
    "when",
    [datetime.datetime.min, datetime.datetime.max, at(1, 1, 1, 23, 59, 59),
     at(9999, 12, 31)],
)
def test_timestamps_out_of_range(ds, when):
    sid = new_stream(ds)
    with pytest.raises(exceptions.InvalidTimestamp, match="out of range"):
        ds.append(sid, 1, when)
    assert ds.get_tags(sid)["latest_datapoint"] is None


def test_null_values_and_null_buckets(ds):
    sid = new_stream(ds)
    for offset, value in ((0, None), (1, 10), (60, None), (61, None), (120, 2)):
        ds.append(sid, value, T0 + seconds(offset))
    assert values(ds.get_data(sid, G.Seconds, start=T0)) == [None, 10, None, None, 2]
    ds.downsample_streams(until=T0 + seconds(200))
    tens = ds.get_data(sid, G.Seconds10, start=T0)
    assert tens[0]["v"] == {"c": 1, "d": 0, "m": 10.0, "l": 10, "q": 100, "s": 10, "u": 10}
    assert tens[0]["t"]["a"] == T0 and tens[0]["t"]["z"] == T0 + seconds(1)
    assert tens[0]["t"]["m"] == T0 + seconds(1)
    assert tens[1]["v"] == {"c": 0, "d": None, "m": None, "l": None, "q": None, "s": None,
                            "u": None}
    only_nulls = tens[6]
    assert only_nulls["v"]["c"] == 0 and only_nulls["t"]["a"] == T0 + seconds(60)
    assert only_nulls["t"]["z"] == T0 + seconds(61)


def test_null_buckets_between_downsampling_runs(ds):
    sid = new_stream(ds)
    ds.append(sid, 10, T0)
    ds.append(sid, 20, T0 + seconds(600))
    ds.downsample_streams(until=T0 + seconds(825))
    ds.append(sid, 30, T0 + seconds(1200))
    ds.append(sid, 30, T0 + seconds(1260))
    ds.downsample_streams(until=T0 + seconds(1300))
    means = values(ds.get_data(sid, G.Minutes, start=T0, end_exclusive=T0 + seconds(1260)), "m")
    assert means == [10.0] + [None] * 9 + [20.0] + [None] * 9 + [30.0]


def test_downsampling_counts(ds, clock):
    sid = new_stream(ds)
    ds.append(sid, 1, at(2000, 1, 1, 12))
    ds.append(sid, 1, at(2000, 1, 3, 12))
    ds.downsample_streams(until=at(2000, 1, 3, 12, 0, 10))
    assert len(ds.get_data(sid, G.Seconds10, start=datetime.datetime.min)) == 17280
    # Appending at the latest timestamp and after a downsampled range works.
    for when in (at(2000, 1, 3, 12), at(2000, 1, 3, 12, 0, 5), at(2000, 1, 3, 12, 0, 10),
                 at(2000, 1, 4, 12)):
        ds.append(sid, 1, when)
    ds.downsample_streams(until=at(2000, 1, 10, 12))
    for when in (at(2000, 1, 5, 12), at(2000, 1, 9, 12), at(2000, 1, 10, 12),
                 at(2000, 1, 10, 12, 0, 1)):
        ds.append(sid, 1, when)
    # The bucket holding the latest datapoint is never closed, even with a future ``until``.
    ds.downsample_streams(until=at(2100, 1, 1))
    assert ds.get_tags(sid)["downsampled_until"]["days"] == at(2000, 1, 10)


def test_empty_value_downsamplers_mean_no_downsampled_data(ds):
    sid = new_stream(ds, downsamplers=[])
    append_series(ds, sid, range(100), T0)
    ds.downsample_streams(until=T0 + datetime.timedelta(days=3))
    assert len(ds.get_data(sid, G.Seconds, start=T0)) == 100
    for g in G.values[1:]:
        assert len(ds.get_data(sid, g, start=T0)) == 0


def test_already_downsampled_values(ds):
    sid = new_stream(ds)
    keys = {"m": 3, "s": 9, "l": 3, "u": 3, "q": 27, "d": 0, "c": 3}
    with pytest.raises(ValueError, match="Missing datapoint value"):
        ds.append(sid, {"m": 3}, T0)
    with pytest.raises(ValueError, match="Unknown downsampled datapoint key"):
        ds.append(sid, {**keys, "extra": 1}, T0)
    assert len(ds.get_data(sid, G.Seconds, start=EPOCH)) == 0
    for i in range(30):
        ds.append(sid, keys, T0 + seconds(i))
        for _ in range(3):
            ds.append(sid, 3, T0 + seconds(i))
    assert ds.get_data(sid, G.Seconds, start=T0)[0]["v"] == keys
    ds.append(sid, 3, T0 + seconds(40))
    ds.downsample_streams(until=T0 + seconds(100))
    for bucket in ds.get_data(sid, G.Seconds10, start=T0, end_exclusive=T0 + seconds(30)):
        assert bucket["v"] == {"c": 60, "m": 3.0, "l": 3, "u": 3, "s": 180, "q": 540, "d": 0.0}

    other = new_stream(ds, "other")
    nones = dict.fromkeys(keys)
    fortytwo = {"m": 42, "s": 42, "l": 42, "u": 42, "q": None, "d": 0, "c": 1}
    for i in range(30):
        ds.append(other, nones, T0 + seconds(i))
        ds.append(other, fortytwo, T0 + seconds(i))
    ds.append(other, 1, T0 + seconds(40))
    ds.downsample_streams(until=T0 + seconds(100))
    for bucket in ds.get_data(other, G.Seconds10, start=T0, end_exclusive=T0 + seconds(30)):
        v = bucket["v"]
        assert (v["c"], v["m"], v["l"], v["u"], v["s"], v["q"]) == (10, 42, 42, 42, 420, None)


HIGH = decimal.Decimal("2.71828182845904523536028747135266249775724709369995957496696762")


def test_high_accuracy_keeps_decimals_exact(ds):
    sid = ds.ensure_stream({"name": "e"}, {}, ALL_VALUE, G.Seconds,
                           value_type_options={"high_accuracy": True})
    append_series(ds, sid, [HIGH] * 40, T0)
    assert all(d["v"] == HIGH for d in ds.get_data(sid, G.Seconds, start=T0))
    ds.downsample_streams(until=T0 + seconds(60))
    assert ds.get_data(sid, G.Seconds10, start=T0)[0]["v"]["m"] == HIGH


def test_big_integers(ds):
    big = 2**128
    sid = new_stream(ds)
    append_series(ds, sid, [big] * 20 + [decimal.Decimal(big)] * 20, T0)
    assert all(d["v"] == big for d in ds.get_data(sid, G.Seconds, start=T0))
    ds.downsample_streams(until=T0 + seconds(60))
    v = ds.get_data(sid, G.Seconds10, start=T0)[0]["v"]
    assert v["c"] == 10 and v["d"] == 0.0 and v["m"] == pytest.approx(big)
    assert v["l"] == v["u"] == big and v["s"] == 10 * big
    assert v["q"] == pytest.approx(10 * big**2)


def test_an_out_of_order_append_during_downsampling_is_not_lost(ds, monkeypatch):
    sid = new_stream(ds)
    append_series(ds, sid, [1] * 50, T0)
    ds.append(sid, 1, T0 + seconds(70))
    scan = ds._engine.data.scan_datapoints
    raced = []

    def scan_then_race(*args):
        result = scan(*args)
        if not raced:  # another writer lands between the downsampler's scan and its commit
            raced.append(ds.append(sid, 5, T0 + seconds(55), check_timestamp=False))
        return result

    monkeypatch.setattr(ds._engine.data, "scan_datapoints", scan_then_race)
    ds.downsample_streams(until=T0 + seconds(100))
    ds.downsample_streams(until=T0 + seconds(100))
    tens = ds.get_data(sid, G.Seconds10, start=T0)
    assert raced and values(tens, "c") == [10, 10, 10, 10, 10, 1, 0]
    assert tens[5]["v"]["s"] == 5


@pytest.mark.parametrize(
    "query",
    [{}, {"value_downsamplers": ["mean", "max"]}, {"time_downsamplers": ["first", "mean"]},
     {"value_downsamplers": [], "time_downsamplers": []}, {"value_downsamplers": ["median"]},
     {"reverse": True}, {"reverse": True, "value_downsamplers": ["count"]}],
)
def test_json_lines_equal_the_datapoints(ds, query):
    import orjson

    sid = new_stream(ds, downsamplers=[*ALL_VALUE, "frequencies"])
    high = ds.ensure_stream({"name": "high"}, {}, ["mean"], G.Seconds,
                            value_type_options={"high_accuracy": True})
    for i in range(40):
        when = T0 + seconds(i if i < 20 else i + 30)  # leaves empty buckets in between
        ds.append(sid, i * 0.1, when)
        ds.append(high, decimal.Decimal("0.1") * i, when)
    ds.downsample_streams(until=T0 + seconds(3600))
    for stream in (sid, high):
        for granularity, window in itertools.product((G.Seconds, G.Seconds10),
                                                     (slice(1, None), slice(0, 2))):
            # [1:] has empty buckets in it; [:2] none (their JSON comes whole from storage)
            data = ds.get_data(stream, granularity, start=T0, **query)[window]
            expected = [
                orjson.loads(orjson.dumps(d, default=str, option=orjson.OPT_UTC_Z))
                for d in data
            ]
            assert [orjson.loads(line) for line in data.json_lines()] == expected
            assert orjson.loads(data.json_array()) == expected
