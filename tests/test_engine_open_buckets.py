"""The engine's open buckets (``Datastream.get_open_buckets``), on the reference storage: the
buckets downsampling has not closed yet, summarised from the raw datapoints exactly as
downsampling will close them, selected by the time range rules of ``get_data``."""

from __future__ import annotations

import decimal

import pytest
from helpers import ALL_VALUE, EVERY_VALUE, G, at, seconds

from datastream import Datastream, exceptions
from datastream.backends.memory import Backend
from datastream.downsamplers import TIME_KEYS, requested_keys

T0 = at(2020, 1, 1)
LATER = T0 + seconds(86400)


@pytest.fixture
def ds(clock) -> Datastream:
    return Datastream(Backend(clock=clock))


def _stream(ds: Datastream, name: str, downsamplers=ALL_VALUE, **kwargs) -> str:
    return ds.ensure_stream({"name": name}, {}, downsamplers, G.Seconds, **kwargs)


def _fill(ds: Datastream, sid: str, values: list) -> None:
    """``values`` every 7 seconds from ``T0``: buckets of several minutes, one with a gap."""
    ds.append_multiple([
        {"stream_id": sid, "value": value, "timestamp": T0 + seconds(7 * i + 100 * (i > 20))}
        for i, value in enumerate(values)
    ])


CASES = {
    "integers": ("numeric", {}, ALL_VALUE, list(range(40))),
    "floats and nulls": ("numeric", {}, EVERY_VALUE,
                         [i / 3 if i % 5 else None for i in range(40)]),
    "high accuracy": ("numeric", {"high_accuracy": True}, ALL_VALUE,
                      [decimal.Decimal(i) / 7 for i in range(40)]),
    "nominal": ("nominal", {}, ["count", "most_often", "least_often", "frequencies"],
                [f"v{i % 3}" for i in range(40)]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_open_bucket_is_the_bucket_downsampling_will_close(ds, case):
    value_type, options, downsamplers, series = CASES[case]
    sid = _stream(ds, case, downsamplers, value_type=value_type, value_type_options=options)
    _fill(ds, sid, series)
    ds.downsample_streams(until=T0 + seconds(120))  # some minutes closed, some open
    granularities = (G.Seconds10, G.Minutes, G.Hours)
    opened = {granularity: ds.get_open_buckets(sid, granularity) for granularity in granularities}
    # A datapoint in a later bucket closes them all.
    ds.append(sid, series[0], LATER)
    ds.downsample_streams(until=LATER)
    for granularity in granularities:
        assert opened[granularity], granularity
        closed = {
            granularity.round_timestamp(point["t"]["a"]): point
            for point in ds.get_data(sid, granularity, start=T0, end=LATER - seconds(1))
        }
        assert dict(opened[granularity]) == {
            start: closed[start] for start, _ in opened[granularity]
        }
        assert [start for start, _ in ds.get_open_buckets(sid, granularity)] == [LATER]


def test_open_buckets_begin_where_downsampling_stopped_and_end_with_the_latest(ds):
    sid = _stream(ds, "s")
    _fill(ds, sid, list(range(40)))
    everything = [start for start, _ in ds.get_open_buckets(sid, G.Minutes)]
    assert everything[0] == T0 and everything[-1] == G.Minutes.round_timestamp(
        ds.get_tags(sid)["latest_datapoint"])
    ds.downsample_streams(until=T0 + seconds(120))
    assert [start for start, _ in ds.get_open_buckets(sid, G.Minutes)] == [
        start for start in everything if start >= T0 + seconds(120)
    ]


@pytest.mark.parametrize(
    "bounds",
    [
        {"start": T0 + seconds(61)},
        {"start_exclusive": T0 + seconds(61)},
        {"end": T0 + seconds(119)},
        {"end": T0 + seconds(120)},
        {"end_exclusive": T0 + seconds(120)},
        {"start": T0 + seconds(60), "end_exclusive": T0 + seconds(181)},
    ],
    ids=lambda bounds: ",".join(bounds),
)
def test_open_buckets_are_selected_by_the_range_rules_of_get_data(ds, bounds):
    sid = _stream(ds, "s")
    _fill(ds, sid, list(range(40)))
    everything = dict(ds.get_open_buckets(sid, G.Minutes))
    selected = ds.get_open_buckets(sid, G.Minutes, **bounds)
    ds.append(sid, 0, LATER)
    ds.downsample_streams(until=LATER)
    if "start_exclusive" not in bounds:
        bounds = {"start": T0, **bounds}
    read = ds.get_data(sid, G.Minutes, **bounds)
    starts = {G.Minutes.round_timestamp(point["t"]["a"]) for point in read if point["v"]["c"]}
    assert selected == [(start, point) for start, point in everything.items() if start in starts]


def test_open_buckets_have_the_keys_get_data_gives_and_its_order(ds):
    sid = _stream(ds, "s")
    _fill(ds, sid, list(range(40)))
    opened = ds.get_open_buckets(
        sid, G.Minutes, value_downsamplers=["min", "max", "median"],
        time_downsamplers=["first"], reverse=True,
    )
    assert [start for start, _ in opened] == sorted((s for s, _ in opened), reverse=True)
    start, point = opened[-1]
    assert point == {"t": {"a": T0}, "v": {"l": 0, "u": 8}}
    assert {"v": {"c": 9}} == ds.get_open_buckets(
        sid, G.Minutes, value_downsamplers=["count"], time_downsamplers=[])[0][1]
    assert {"t": {"z": T0 + seconds(56)}} == ds.get_open_buckets(
        sid, G.Minutes, value_downsamplers=[], time_downsamplers=["last"])[0][1]


def test_there_are_no_open_buckets_of_raw_data_or_of_an_empty_stream(ds):
    sid = _stream(ds, "s")
    assert ds.get_open_buckets(sid, G.Minutes) == []
    _fill(ds, sid, list(range(40)))
    assert ds.get_open_buckets(sid, G.Seconds) == []
    nothing = _stream(ds, "nothing", downsamplers=[])
    ds.append(nothing, 1, T0)
    assert ds.get_open_buckets(nothing, G.Minutes) == []


def test_reading_open_buckets_stores_nothing(ds):
    sid = _stream(ds, "s")
    _fill(ds, sid, list(range(40)))
    version, tags = ds.get_data_version(sid), ds.get_tags(sid)
    assert ds.get_open_buckets(sid, G.Minutes)
    assert (ds.get_data_version(sid), ds.get_tags(sid)) == (version, tags)
    assert len(ds.get_data(sid, G.Minutes, start=T0)) == 0


def test_open_bucket_arguments_are_checked_as_get_data_checks_them(ds):
    sid = _stream(ds, "s")
    with pytest.raises(exceptions.InvalidTimeRange):
        ds.get_open_buckets(sid, G.Minutes, start=T0, start_exclusive=T0)
    with pytest.raises(exceptions.InvalidTimeRange):
        ds.get_open_buckets(sid, G.Minutes, end=T0, end_exclusive=T0)
    with pytest.raises(exceptions.UnsupportedGranularity):
        ds.get_open_buckets(sid, "minutes")
    with pytest.raises(exceptions.UnsupportedDownsampler):
        ds.get_open_buckets(sid, G.Minutes, value_downsamplers=["nope"])
    with pytest.raises(exceptions.StreamNotFound):
        ds.get_open_buckets("00000000-0000-4000-8000-000000000000", G.Minutes)


def test_key_projection_keeps_the_stored_keys_in_order_and_tells_a_part_not_asked_for():
    stored = ["mean", "sum", "count", "median"]
    assert requested_keys(stored, None, None) == (("m", "s", "c", "n"), TIME_KEYS)
    assert requested_keys(stored, ["median", "max", "mean"], ["last", "first"]) == (
        ("m", "n"), ("a", "z"))
    assert requested_keys(stored, [], []) == (None, None)
    assert requested_keys([], ["mean"], None) == ((), TIME_KEYS)
