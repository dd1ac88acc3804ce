"""Contract: every downsampler, exactly, at every granularity (spec §1.4, §1.5; upstream
test_downsamplers), with hand-computed expectations for the ones upstream never had."""

import decimal
import math
import random
import statistics
import warnings

import pytest
from helpers import ALL_VALUE, EVERY_VALUE, G, at, new_stream, seconds, values

from datastream import Stream, exceptions

T0 = at(2000, 1, 1)


def test_no_warning_for_inexact_floats(ds):
    sid = new_stream(ds)
    for i in range(100):
        ds.append(sid, 0.05, T0 + seconds(i))
    with warnings.catch_warnings():
        warnings.simplefilter("error", exceptions.InvalidValueWarning)
        ds.downsample_streams(until=T0 + seconds(200))
    bucket = ds.get_data(sid, G.Seconds10, start=T0)[0]["v"]
    assert bucket["d"] == 0 and bucket["m"] == pytest.approx(0.05)


def test_every_granularity_matches_a_recomputation_from_raw_values(ds, backend_name):
    # Two days and a bit of random integers every 2 s (fewer points on the slow test server).
    step, total = (2, 43205) if backend_name == "sqlite" else (20, 8645)
    rng = random.Random(42)
    series = [rng.randint(-1000, 1000) for _ in range(total)]
    sid = new_stream(ds, downsamplers=EVERY_VALUE)
    for start in range(0, total, 5000):
        ds.append_multiple(
            [{"stream_id": sid, "value": series[i], "timestamp": T0 + seconds(i * step)}
             for i in range(start, min(total, start + 5000))]
        )
        ds.downsample_streams(until=T0 + seconds(start * step))
    ds.downsample_streams(until=T0 + seconds(total * step))
    assert len(ds.get_data(sid, G.Seconds, start=T0)) == total
    for granularity in G.values[1:]:
        n = granularity.duration_in_seconds() // step
        if n == 0 or granularity.duration_in_seconds() >= (total - 1) * step:
            continue
        first = series[:n]
        buckets = ds.get_data(sid, granularity, start=T0)
        assert len(buckets) == (total - 1) * step // granularity.duration_in_seconds()
        point = buckets[0]
        v, t = point["v"], point["t"]
        assert v["c"] == n
        assert v["m"] == pytest.approx(statistics.fmean(first))
        assert (v["l"], v["u"], v["s"]) == (min(first), max(first), sum(first))
        assert v["q"] == sum(x * x for x in first)
        assert v["d"] == pytest.approx(statistics.pstdev(first))
        assert v["n"] == statistics.median(first)
        counts = statistics.multimode(first)
        assert v["o"] == counts[0] or (len(counts) > 1 and v["o"] in counts)
        assert sum(v["f"].values()) == n and v["f"][str(first[0])] == first.count(first[0])
        assert t["a"] == T0 and t["z"] == T0 + seconds(step * (n - 1))
        assert t["m"] == T0 + seconds((n - 1) * step // 2)
        assert (t["i"], t["l"], t["u"], t["d"]) == (step, step, step, 0)
        assert t["q"] == (n - 1) * step * step
        # The last complete bucket too, so buckets are not all the same.
        last = buckets[len(buckets) - 1]
        index = (len(buckets) - 1) * granularity.duration_in_seconds() // step
        chunk = series[index:index + n]
        assert last["v"]["s"] == sum(chunk) and last["v"]["n"] == statistics.median(chunk)


def test_new_value_downsamplers_by_hand(ds):
    sid = new_stream(ds, downsamplers=EVERY_VALUE)
    for i, value in enumerate([4, 1, None, 4, 2.5, 1, 4]):
        ds.append(sid, value, T0 + seconds(i))
    ds.append(sid, 0, T0 + seconds(10))
    ds.downsample_streams(until=T0 + seconds(20))
    (bucket,) = ds.get_data(sid, G.Seconds10, start=T0, end=T0)
    v = bucket["v"]
    assert v["c"] == 6 and v["s"] == 16.5 and v["m"] == 2.75
    assert v["n"] == 3.25  # the mean of the two middle values 2.5 and 4
    assert v["o"] == 4 and v["r"] == 2.5  # 1 and 2.5: 2.5 is rarer (once)
    assert v["f"] == {"4": 3, "1": 2, "2.5": 1}
    assert v["d"] == pytest.approx(math.sqrt(sum((x - 2.75) ** 2 for x in
                                                 [4, 1, 4, 2.5, 1, 4]) / 6))


def test_time_downsamplers_by_hand(ds):
    sid = new_stream(ds)
    for offset, value in ((1, 1), (2, None), (4, 3), (9, 5)):
        ds.append(sid, value, T0 + seconds(offset))
    ds.append(sid, 1, T0 + seconds(30))
    ds.downsample_streams(until=T0 + seconds(40))
    first, empty = ds.get_data(sid, G.Seconds10, start=T0)[:2]
    t = first["t"]
    assert (t["a"], t["z"]) == (T0 + seconds(1), T0 + seconds(9))
    assert t["m"] == T0 + seconds((1 + 4 + 9) // 3)  # nulls do not count in the mean
    # Intervals 1, 2 and 5 s.
    assert (t["i"], t["l"], t["u"], t["q"]) == (pytest.approx(8 / 3), 1, 5, 30)
    assert t["d"] == pytest.approx(statistics.pstdev([1, 2, 5]))
    e = empty["t"]
    assert e["a"] == e["z"] == e["m"] == T0 + seconds(15)
    assert all(e[k] is None for k in "iluqd")


def test_single_datapoint_has_no_intervals(ds):
    sid = new_stream(ds)
    ds.append(sid, 7, T0)
    ds.append(sid, 7, T0 + seconds(10))
    ds.downsample_streams(until=T0 + seconds(40))
    t = ds.get_data(sid, G.Seconds10, start=T0)[0]["t"]
    assert t["a"] == t["z"] == t["m"] == T0
    assert all(t[k] is None for k in "iluqd")


def test_coarse_median_is_exact_not_a_median_of_medians(ds):
    sid = new_stream(ds, downsamplers=["median"])
    # Minute 1: 1, 2, 100 (median 2); minute 2: 3, 4 (median 3.5). Median of all five: 3.
    for offset, value in ((0, 1), (1, 2), (2, 100), (60, 3), (61, 4)):
        ds.append(sid, value, T0 + seconds(offset))
    ds.append(sid, 0, T0 + seconds(3600))
    ds.downsample_streams(until=T0 + seconds(7200))
    assert values(ds.get_data(sid, G.Minutes, start=T0, end=T0 + seconds(60)), "n") == [2, 3.5]
    assert ds.get_data(sid, G.Hours, start=T0)[0]["v"] == {"c": 5, "n": 3}


def test_concurrent_downsamplers_produce_each_bucket_once(ds, make_backend, clock):
    from concurrent.futures import ThreadPoolExecutor

    from datastream import Datastream

    ids = [new_stream(ds, f"s{i}") for i in range(10)]
    for sid in ids:
        ds.append_multiple([{"stream_id": sid, "value": i, "timestamp": T0 + seconds(4 * i)}
                            for i in range(1000)])
    workers = [Datastream(make_backend(clock=clock)) for _ in range(5)]

    def run(worker):
        return len(worker.downsample_streams(until=T0 + seconds(5000), return_datapoints=True))

    with ThreadPoolExecutor(5) as pool:
        produced = sum(pool.map(run, workers))
    assert produced == 10 * (399 + 66 + 6 + 1)
    for sid in ids:
        counts = [len(ds.get_data(sid, g, start=T0)) for g in G.values[1:5]]
        assert counts == [399, 66, 6, 1]


def test_every_downsampler_is_supported_and_unstored_ones_read_as_nothing(ds):
    every = new_stream(ds, "every", downsamplers=list(ds.VALUE_DOWNSAMPLERS))
    tags = ds.get_tags(every)
    assert set(tags["value_downsamplers"]) == set(ds.VALUE_DOWNSAMPLERS)
    assert set(tags["time_downsamplers"]) == set(ds.TIME_DOWNSAMPLERS)
    sid = new_stream(ds, downsamplers=ALL_VALUE)
    assert ds.get_data(sid, G.Seconds10, start=T0, value_downsamplers=["median"]).count() == 0


def test_values_near_the_float_limit_downsample_without_overflow(ds):
    sid = new_stream(ds)
    for i, value in enumerate([1.7e308, 1.7e308, -1.7e308, 1.7e308]):
        ds.append(sid, value, T0 + seconds(i))
    ds.append(sid, 0.0, T0 + seconds(10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.downsample_streams(until=T0 + seconds(20))
    v = ds.get_data(sid, G.Seconds10, start=T0)[0]["v"]
    assert v["c"] == 4 and v["l"] == -1.7e308 and v["u"] == 1.7e308
    assert v["m"] == pytest.approx(0.85e308)
    assert v["d"] == pytest.approx(statistics.pstdev([1.7, 1.7, -1.7, 1.7]) * 1e308)
    assert math.isinf(v["q"])


def test_big_nominal_integers_keep_their_type(ds):
    sid = ds.ensure_stream({"name": "n"}, {}, ["count", "most_often"], G.Seconds,
                           value_type="nominal")
    ds.append(sid, 2**70, T0)
    ds.append(sid, [2**80, "x"], T0 + seconds(1))
    ds.append(sid, 1, T0 + seconds(20))
    got = values(ds.get_data(sid, G.Seconds, start=T0))
    assert got == [2**70, [2**80, "x"], 1] and type(got[0]) is int and type(got[1][0]) is int
    ds.downsample_streams(until=T0 + seconds(30))
    most = ds.get_data(sid, G.Seconds10, start=T0)[0]["v"]["o"]
    assert most == 2**70 and type(most) is int


@pytest.mark.parametrize(
    "names",
    [["most_often"], ["least_often"], ["frequencies"],
     ["most_often", "least_often", "frequencies", "median", "mean"]],
)
def test_high_accuracy_ranked_downsamplers_keep_exact_decimals(ds, names):
    d = decimal.Decimal
    sid = ds.ensure_stream({"name": "exact"}, {}, names, G.Seconds,
                           value_type_options={"high_accuracy": True})
    series = [d("2.5"), d("0.1"), d("2.5"), d("0.30000000000000000001"), 7, d("2.50")]
    for i, value in enumerate(series):
        ds.append(sid, value, T0 + seconds(i))
    ds.append(sid, d("1.5"), T0 + seconds(130))  # closes the first minute
    ds.downsample_streams(until=T0 + seconds(3600))
    expected_f = {"2.5": 3, "0.1": 1, "0.30000000000000000001": 1, "7": 1}
    for granularity in (G.Seconds10, G.Minutes):
        v = ds.get_data(sid, granularity, start=T0)[0]["v"]
        assert v["c"] == 6
        if "o" in v:
            assert v["o"] == d("2.5") and isinstance(v["o"], d)
        if "r" in v:
            assert v["r"] == d("0.1") and isinstance(v["r"], d)
        if "f" in v:
            assert v["f"] == expected_f


def test_a_stream_that_fails_to_downsample_is_reported_and_the_others_are_done(
    ds, clock, monkeypatch
):
    good, bad = new_stream(ds, "good"), new_stream(ds, "bad")
    for sid in (good, bad):
        for i in range(30):
            ds.append(sid, i, T0 + seconds(i))
    upsert = ds._engine.data.upsert_buckets

    def upsert_failing_for_bad(record, granularity, buckets):
        if record["stream_id"] == bad:
            raise RuntimeError("disk on fire")
        return upsert(record, granularity, buckets)

    monkeypatch.setattr(ds._engine.data, "upsert_buckets", upsert_failing_for_bad)
    with pytest.raises(exceptions.DownsamplingFailed) as raised:
        ds.downsample_streams(until=T0 + seconds(100))
    assert raised.value.failures == {bad: "RuntimeError: disk on fire"}
    assert bad in str(raised.value)
    assert values(ds.get_data(good, G.Seconds10, start=T0), "c") == [10, 10]
    assert len(ds.get_data(bad, G.Seconds10, start=T0)) == 0
    tags = ds.get_tags(bad)
    failure = {"at": clock.now, "error": "RuntimeError: disk on fire"}
    assert tags["last_downsampling_error"] == failure
    assert Stream(tags).tags == {"name": "bad"}
    assert "last_downsampling_error" not in ds.get_tags(good)

    monkeypatch.setattr(ds._engine.data, "upsert_buckets", upsert)
    assert ds.downsample_streams(until=T0 + seconds(100)) == []
    assert values(ds.get_data(bad, G.Seconds10, start=T0), "c") == [10, 10]
    assert "last_downsampling_error" not in ds.get_tags(bad)


def test_an_unavailable_storage_stops_downsampling_at_once(ds, monkeypatch):
    first, second = new_stream(ds, "first"), new_stream(ds, "second")
    for sid in (first, second):
        for i in range(30):
            ds.append(sid, i, T0 + seconds(i))

    def unavailable(record, granularity, buckets):
        raise exceptions.BackendUnavailable("the database went away")

    monkeypatch.setattr(ds._engine.data, "upsert_buckets", unavailable)
    with pytest.raises(exceptions.BackendUnavailable):
        ds.downsample_streams(until=T0 + seconds(100))
    for sid in (first, second):
        assert "last_downsampling_error" not in ds.get_tags(sid)
