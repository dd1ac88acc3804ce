"""Contract: stream life cycle, tags and queries (spec §1.7–§1.10, §2.8; upstream test_basic,
test_find_streams, test_stream_types)."""

import datetime

import pytest
from helpers import ALL_VALUE, EPOCH, G, at, new_stream, seconds

from datastream import Datastream, Stream, exceptions


def test_basic_life_cycle(ds, clock):
    calls = []
    ds = Datastream(ds.backend, observer=lambda *args: calls.append(args))
    query, tags = {"name": "foobar"}, {"andmore": "bar", "andcomplex": {"foo": ["bar", "foo"]}}
    sid = ds.ensure_stream(query, tags, ALL_VALUE, G.Seconds)
    stream = Stream(ds.get_tags(sid))
    assert stream.id == sid
    assert set(stream.value_downsamplers) == set(ALL_VALUE)
    assert set(stream.time_downsamplers) == set(ds.TIME_DOWNSAMPLERS)
    assert stream.highest_granularity == G.Seconds
    assert stream.earliest_datapoint is None and stream.latest_datapoint is None
    assert stream.value_type == "numeric"
    assert stream.value_type_options == {"high_accuracy": False}
    assert stream.tags == {**query, **tags}
    assert not hasattr(stream, "contributes_to") and not hasattr(stream, "derived_from")

    assert ds.ensure_stream(query, tags, ALL_VALUE, G.Seconds) == sid
    other = ds.ensure_stream({"name": "foobar", "andmore": "wrong"}, tags, ALL_VALUE, G.Seconds)
    assert other != sid
    assert ds.get_tags(other)["andmore"] == "bar"  # tags win over query tags on creation
    with pytest.raises(exceptions.MultipleStreamsReturned):
        ds.ensure_stream(query, tags, ALL_VALUE, G.Seconds)

    ds.remove_tag(sid, {"andmore": ""})
    remaining = {"name": "foobar", "andcomplex": {"foo": ["bar", "foo"]}}
    assert Stream(ds.get_tags(sid)).tags == remaining
    ds.clear_tags(sid)
    assert Stream(ds.get_tags(sid)).tags == {}
    ds.update_tags(sid, {**query, **tags})
    assert Stream(ds.get_tags(sid)).tags == {**query, **tags}

    xyz = ds.ensure_stream({"name": "xyz"}, {"x": 1}, ALL_VALUE, G.Seconds)
    assert ds.ensure_stream({"name": "xyz"}, {"x": 2}, ALL_VALUE, G.Seconds) == xyz
    assert ds.get_tags(xyz)["x"] == 2

    now = clock.now
    assert ds.downsample_streams(return_datapoints=True) == []
    assert len(ds.get_data(sid, G.Seconds, start=EPOCH, end=now)) == 0
    assert len(ds.get_data(sid, G.Minutes, start=EPOCH, end=now)) == 0
    assert calls == []

    appended = ds.append(sid, 42, now)
    assert appended["stream_id"] == sid and appended["granularity"] == G.Seconds
    assert appended["datapoint"] == {"t": now, "v": 42}
    assert len(ds.get_data(sid, G.Seconds, start=EPOCH, end_exclusive=now)) == 0
    assert len(ds.get_data(sid, G.Seconds, start=EPOCH, end=now)) == 1
    assert calls == [(sid, G.Seconds, appended["datapoint"])]

    clock.advance(minutes=1)
    ds.append(sid, 42)
    new = ds.downsample_streams(return_datapoints=True)
    one = {"c": 1, "d": 0, "m": 42.0, "l": 42, "q": 1764, "s": 42, "u": 42}
    assert len(new) >= 2
    assert new[0]["datapoint"]["v"] == one
    assert new[6]["datapoint"]["v"] == one and new[6]["granularity"] == G.Minutes
    assert all(n["stream_id"] == sid for n in new)

    data = ds.get_data(sid, G.Seconds, start=EPOCH, end=now + seconds(61))
    assert len(data) == 2 and data[0]["v"] == 42
    assert len(ds.get_data(sid, G.Seconds, start=EPOCH)) == 2
    stream = Stream(ds.get_tags(sid))
    assert stream.earliest_datapoint == data[0]["t"] and stream.latest_datapoint == data[1]["t"]
    assert set(stream.downsampled_until) == {"10seconds", "minutes", "10minutes", "hours",
                                             "6hours", "days"}
    assert len(calls) >= 3 and calls[2][1] == G.Seconds10 and calls[8][1] == G.Minutes

    minutes = ds.get_data(sid, G.Minutes, start=EPOCH, end=clock.now)
    assert len(minutes) == 1
    point = minutes[0]
    assert set(point["v"]) == {"c", "d", "m", "l", "q", "s", "u"}
    assert set(point["t"]) == set(ds.TIME_DOWNSAMPLERS.values())
    assert point == calls[8][2]
    assert point["v"]["c"] == 1 and point["t"]["a"] == now
    assert list(ds.get_data(sid, G.Minutes, start=EPOCH)) == [point]

    only = ds.get_data(sid, G.Minutes, start=EPOCH, value_downsamplers=("count",))[0]
    assert only == {"v": {"c": 1}, "t": point["t"]}
    only = ds.get_data(sid, G.Minutes, start=EPOCH, time_downsamplers=("first",))[0]
    assert only == {"v": point["v"], "t": {"a": now}}
    only = ds.get_data(sid, G.Minutes, start=EPOCH, value_downsamplers=("count",),
                       time_downsamplers=("first",))[0]
    assert only == {"v": {"c": 1}, "t": {"a": now}}
    assert ds.get_data(sid, G.Minutes, start=EPOCH, value_downsamplers=())[0] == {"t": point["t"]}
    assert ds.get_data(sid, G.Minutes, start=EPOCH, time_downsamplers=())[0] == {"v": point["v"]}
    assert ds.get_data(sid, G.Minutes, start=EPOCH, value_downsamplers=(),
                       time_downsamplers=())[0] == {}

    ds.delete_streams({"name": "foobar"})
    with pytest.raises(exceptions.StreamNotFound):
        ds.get_data(sid, G.Seconds, start=EPOCH)
    with pytest.raises(exceptions.StreamNotFound):
        ds.get_tags(other)
    assert [s["stream_id"] for s in ds.find_streams()] == [xyz]


def test_find_streams(ds):
    assert len(ds.find_streams()) == 0
    for number in range(11):
        sid = ds.ensure_stream({"title": "Stream 1"}, {"stream_number": number % 10,
                               "visualization": {"value_downsamplers": ["mean", "min"]}},
                               ALL_VALUE, G.Seconds)
    streams = ds.find_streams()
    assert len(streams) == 1
    assert streams[0]["stream_number"] == 0 and streams[0]["title"] == "Stream 1"
    ds.update_tags(sid, {"stream_number": 9})
    assert len(ds.find_streams({"stream_id": sid})) == 0
    assert len(ds.find_streams({"tags": {"value_type": "numeric"}})) == 0
    assert len(ds.find_streams({"value_type": "numeric"})) == 0
    assert len(ds.find_streams({"tags": {"highest_granularity": "Seconds"}})) == 0
    assert len(ds.find_streams({"title": "Stream 1"})) == 1
    assert len(ds.find_streams({"stream_number": 1})) == 0
    assert len(ds.find_streams({"stream_number": "9"})) == 0
    assert len(ds.find_streams({"stream_number": 9})) == 1
    ds.delete_streams({"stream_id": sid})
    assert len(ds.find_streams()) == 0


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ({"title": {"iexact": "stream 1"}}, 1),
        ({"title": {"iexact": "strEAm 1"}}, 1),
        ({"title": {"iexact": "stream"}}, 0),
        ({"title": {"icontains": "strEAm"}}, 1),
        ({"title": {"contains": "strEAm"}}, 0),
        ({"title": {"startswith": "Str"}}, 1),
        ({"title": {"iendswith": " 1"}}, 1),
        ({"title": {"exact": "Stream 1"}}, 1),
        ({"title": {"ne": "Stream 1"}}, 1),
        ({"title": {"in": ["x", "Stream 1"]}}, 1),
        ({"title": {"nin": ["x", "Stream 1"]}}, 1),
        ({"stream_number": {"gte": 1}}, 1),
        ({"stream_number": {"gt": 1}}, 0),
        ({"stream_number": {"lt": 2}}, 1),
        ({"stream_number": {"lte": 0}}, 0),
        ({"stream_number": {"gt": "0"}}, 0),
        ({"flag": 1}, 0),
        ({"flag": True}, 1),
        ({"visualization": {"value_downsamplers": "mean"}}, 1),
        ({"visualization": {"value_downsamplers": {"in": ["mean"]}}}, 1),
        ({"visualization": {"value_downsamplers": {"all": ["mean", "min"]}}}, 1),
        ({"visualization": {"value_downsamplers": {"all": ["mean", "foobar"]}}}, 0),
        ({"visualization": {"value_downsamplers": {"size": 2}}}, 1),
        ({"visualization": {"value_downsamplers": ["mean", "min"]}}, 1),
        ({"visualization": {"missing": {"exists": False}}}, 2),
        ({"visualization": {"missing": {"exists": True}}}, 0),
        ({"title": "Stream 1", "stream_number": 1}, 1),
        ({"title": "Stream 1", "stream_number": 2}, 0),
        ({"title": {"icontains": ".*"}}, 1),
        ({"title": {"iexact": "other.+"}}, 0),
    ],
)
def test_tag_query_operators(ds, query, count):
    ds.ensure_stream({"title": "Stream 1"}, {"stream_number": 1, "flag": True,
                     "visualization": {"value_downsamplers": ["mean", "min"]}},
                     ALL_VALUE, G.Seconds)
    ds.ensure_stream({"title": "Other.*"}, {}, ALL_VALUE, G.Seconds)
    assert len(ds.find_streams(query)) == count


def test_find_streams_results_are_sliceable_in_creation_order(ds):
    ids = [new_stream(ds, f"s{i}") for i in range(5)]
    streams = ds.find_streams()
    assert [s["stream_id"] for s in streams] == ids
    assert [s["stream_id"] for s in streams[1:3]] == ids[1:3]
    assert len(streams[3:10]) == 2 and streams[4]["stream_id"] == ids[4]
    with pytest.raises(IndexError):
        streams[5]


def test_update_and_remove_tags_work_leaf_by_leaf(ds):
    sid = ds.ensure_stream({"name": "n"}, {"a": {"b": 1, "c": 2}, "d": 3}, ALL_VALUE, G.Seconds)
    ds.update_tags(sid, {"a": {"b": 10}, "e": [1, 2]})
    assert Stream(ds.get_tags(sid)).tags == {"name": "n", "a": {"b": 10, "c": 2}, "d": 3,
                                             "e": [1, 2]}
    ds.remove_tag(sid, {"a": {"c": None}, "d": ""})
    assert Stream(ds.get_tags(sid)).tags == {"name": "n", "a": {"b": 10}, "e": [1, 2]}


def test_stream_types(ds):
    with pytest.raises(exceptions.UnsupportedValueType):
        ds.ensure_stream({"name": "a"}, {}, ALL_VALUE, G.Seconds, value_type="wtfvaluewtf")
    with pytest.raises(TypeError):
        ds.ensure_stream({"name": "a"}, {}, ALL_VALUE, G.Seconds, value_type_options="bar")
    graph = ds.ensure_stream({"name": "g"}, {}, ["count"], G.Seconds, value_type="graph")
    with pytest.raises(exceptions.InconsistentStreamConfiguration):
        ds.ensure_stream({"name": "g"}, {}, ["count"], G.Seconds, value_type="numeric")
    for kind in ("graph", "nominal"):
        with pytest.raises(exceptions.UnsupportedDownsampler):
            ds.ensure_stream({"name": f"x{kind}"}, {}, ALL_VALUE, G.Seconds, value_type=kind)
    with pytest.raises(TypeError):
        ds.append(graph, 42)
    with pytest.raises(ValueError):
        ds.append(graph, {})
    bad_graphs = [
        {"v": [{"foo": "bar"}], "e": []},
        {"v": [{"i": "foo"}, {"i": "foo"}], "e": []},
        {"v": [{"i": "foo"}, {"i": "bar"}], "e": [{"t": "foo"}]},
        {"v": [{"i": "foo"}, {"i": "bar"}], "e": [{"f": "foo"}]},
        {"v": [{"i": "foo"}, {"i": "bar"}], "e": [{"f": "foo", "t": "xyz"}]},
    ]
    for bad in bad_graphs:
        with pytest.raises(ValueError):
            ds.append(graph, bad)
    good = {"v": [{"i": "foo"}, {"i": "bar"}], "e": [{"f": "foo", "t": "bar"}]}
    for when in (at(2000, 1, 1), at(2000, 1, 1, 0, 0, 1), at(2000, 1, 1, 0, 1, 1)):
        ds.append(graph, good, when)
    ds.downsample_streams(until=at(2000, 1, 1, 0, 2))
    minutes = ds.get_data(graph, G.Minutes, start=at(2000, 1, 1),
                          end_exclusive=at(2000, 1, 1, 0, 1))
    assert len(minutes) == 1 and minutes[0]["v"]["c"] == 2
    assert ds.get_data(graph, G.Seconds, start=at(2000, 1, 1))[0]["v"] == good

    nominal = ds.ensure_stream({"name": "n"}, {}, ["count"], G.Seconds, value_type="nominal")
    stored = [10, {}, "label", {"foo": "bar", "z": 42}, True, None, [1, "a"], 2**100]
    for index, value in enumerate(stored):
        ds.append(nominal, value, at(2000, 1, 1, 0, 0, index))
    assert [d["v"] for d in ds.get_data(nominal, G.Seconds, start=EPOCH)] == stored


def test_non_numeric_downsamplers_for_nominal_streams(ds):
    sid = ds.ensure_stream({"name": "n"}, {}, ["most_often", "least_often", "frequencies"],
                           G.Seconds, value_type="nominal")
    assert set(ds.get_tags(sid)["value_downsamplers"]) == {"most_often", "least_often",
                                                           "frequencies", "count"}
    for index, value in enumerate(["a", "b", "a", None, "c", "b", "a", {"k": 1}]):
        ds.append(sid, value, at(2000, 1, 1, 0, 0, index))
    ds.append(sid, "z", at(2000, 1, 1, 0, 0, 10))
    ds.downsample_streams(until=at(2000, 1, 2))
    (bucket,) = ds.get_data(sid, G.Seconds10, start=at(2000, 1, 1), end=at(2000, 1, 1, 0, 0, 5))
    assert bucket["v"] == {"c": 7, "o": "a", "r": "c", "f": {"a": 3, "b": 2, "c": 1, '{"k":1}': 1}}


def test_value_downsampler_dependencies_are_expanded(ds):
    mean = ds.ensure_stream({"name": "m"}, {}, ["mean"], G.Seconds)
    assert set(ds.get_tags(mean)["value_downsamplers"]) == {"mean", "sum", "count"}
    dev = ds.ensure_stream({"name": "d"}, {}, ["std_dev"], G.Seconds)
    assert set(ds.get_tags(dev)["value_downsamplers"]) == {"std_dev", "sum", "count",
                                                           "sum_squares"}
    empty = ds.ensure_stream({"name": "e"}, {}, [], G.Seconds)
    assert ds.get_tags(empty)["value_downsamplers"] == []


def test_ensure_stream_validates_before_changing_tags(ds):
    sid = ds.ensure_stream({"name": "a"}, {"x": 1}, ALL_VALUE, G.Seconds)
    with pytest.raises(exceptions.InconsistentStreamConfiguration):
        ds.ensure_stream({"name": "a"}, {"x": 2}, ["count"], G.Seconds, value_type="nominal")
    assert ds.get_tags(sid)["x"] == 1
    with pytest.raises(exceptions.InconsistentStreamConfiguration):
        ds.ensure_stream({"name": "a"}, {}, ALL_VALUE, G.Seconds,
                         value_type_options={"high_accuracy": True})


def test_datetimes_are_aware_utc_and_naive_input_is_utc(ds):
    sid = new_stream(ds)
    ds.append(sid, 1, datetime.datetime(2000, 1, 1, 12))
    tz = datetime.timezone(datetime.timedelta(hours=2))
    ds.append(sid, 2, datetime.datetime(2000, 1, 1, 14, 0, 1, 999999, tzinfo=tz))
    data = list(ds.get_data(sid, G.Seconds, start=datetime.datetime(2000, 1, 1, 12)))
    assert [d["t"] for d in data] == [at(2000, 1, 1, 12), at(2000, 1, 1, 12, 0, 1)]
    assert all(d["t"].tzinfo is not None for d in data)


def test_timestamps_beyond_1970_to_2038_are_supported(ds):
    sid = new_stream(ds)
    for when in (at(1900, 1, 1), at(1969, 12, 31, 23, 59, 59), at(2100, 6, 1), at(9999, 12, 30)):
        ds.append(sid, 1, when)
    assert len(ds.get_data(sid, G.Seconds, start=datetime.datetime.min)) == 4
    ds.downsample_streams(until=datetime.datetime.max)
    assert len(ds.get_data(sid, G.Days, start=at(1900, 1, 1), end=at(1900, 1, 1))) == 1
