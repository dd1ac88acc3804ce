"""Contract: derived streams and backprocessing (spec §1.6, §3.1.8; upstream
test_derived_streams, test_null_values, test_stream_types_derive_operators)."""

import pytest
from helpers import ALL_VALUE, EPOCH, G, at, new_stream, seconds, values

from datastream import exceptions

T0 = at(2000, 1, 1, 12)
A = [21, 25, 28, 32, 25, 70, 74]
B = [21, 25, 28, 32, 25, 42, 42]
TIMES = [0, 1, 2, 3, 4, 10, 11]


def raw(ds, sid):
    return values(ds.get_data(sid, G.Seconds, start=EPOCH))


def test_derive_validation(ds):
    seconds_stream = new_stream(ds, "a")
    minutes_stream = new_stream(ds, "b", granularity=G.Minutes)
    for granularity in (G.Seconds, G.Minutes):
        with pytest.raises(exceptions.IncompatibleGranularities):
            ds.ensure_stream({"name": f"sum{granularity}"}, {}, ALL_VALUE, granularity,
                             derive_from=[seconds_stream, minutes_stream], derive_op="sum")
    with pytest.raises(exceptions.UnsupportedDeriveOperator):
        ds.ensure_stream({"name": "x"}, {}, ALL_VALUE, G.Seconds,
                         derive_from=[seconds_stream], derive_op="foobar")
    with pytest.raises(exceptions.StreamNotFound):
        ds.ensure_stream({"name": "x"}, {}, ALL_VALUE, G.Seconds,
                         derive_from=["00000000-0000-0000-0000-000000000000"], derive_op="sum")
    with pytest.raises(exceptions.InvalidOperatorArguments):
        ds.ensure_stream({"name": "x"}, {}, ALL_VALUE, G.Seconds,
                         derive_from=[seconds_stream, seconds_stream], derive_op="derivative")
    with pytest.raises(ValueError, match="derive_op"):
        ds.ensure_stream({"name": "x"}, {}, ALL_VALUE, G.Seconds, derive_from=[seconds_stream])
    with pytest.raises(exceptions.IncompatibleGranularities):
        ds.ensure_stream({"name": "x"}, {}, ALL_VALUE, G.Minutes, derive_from=[
            {"stream": minutes_stream, "granularity": G.Seconds}], derive_op="sum")
    assert "contributes_to" not in ds.get_tags(seconds_stream)
    assert ds.find_streams({"name": "x"}).count() == 0


def test_derive_operators_do_not_support_other_types(ds):
    for kind in ("graph", "nominal"):
        one = ds.ensure_stream({"name": f"{kind}1"}, {}, ["count"], G.Seconds, value_type=kind)
        two = ds.ensure_stream({"name": f"{kind}2"}, {}, ["count"], G.Seconds, value_type=kind)
        with pytest.raises(exceptions.UnsupportedDeriveOperator):
            ds.ensure_stream({"name": f"{kind}sum"}, {}, ["count"], G.Seconds, value_type=kind,
                             derive_from=[one, two], derive_op="sum")


def test_sum_and_derivative_live(ds):
    a, b = new_stream(ds, "a"), new_stream(ds, "b")
    total = ds.ensure_stream({"name": "sum"}, {}, ALL_VALUE, G.Seconds,
                             derive_from=[a, b], derive_op="sum")
    with pytest.raises(exceptions.InconsistentStreamConfiguration):
        ds.ensure_stream({"name": "sum"}, {}, ALL_VALUE, G.Seconds, derive_from=[a, b],
                         derive_op="derivative")
    with pytest.raises(exceptions.InconsistentStreamConfiguration):
        ds.ensure_stream({"name": "sum"}, {}, ALL_VALUE, G.Seconds, derive_from=[b],
                         derive_op="sum")
    assert len(ds.get_tags(a)["contributes_to"]) == 1
    assert len(ds.get_tags(b)["contributes_to"]) == 1
    tags = ds.get_tags(total)
    assert tags["derived_from"] == {"stream_ids": [a, b], "op": "sum", "args": {}}
    assert "contributes_to" not in tags
    rate = ds.ensure_stream({"name": "rate"}, {}, ALL_VALUE, G.Seconds, derive_from=[a],
                            derive_op="derivative")
    assert len(ds.get_tags(a)["contributes_to"]) == 2
    chained = ds.ensure_stream({"name": "chained"}, {}, ALL_VALUE, G.Seconds,
                               derive_from=[a, rate], derive_op="sum")
    with pytest.raises(exceptions.AppendToDerivedStreamNotAllowed):
        ds.append(total, 1)
    for t, x, y in zip(TIMES, A, B):
        ds.append(a, x, T0 + seconds(t))
        ds.append(b, y, T0 + seconds(t))
    assert raw(ds, total) == [42, 50, 56, 64, 50, 112, 116]
    assert raw(ds, rate) == [4.0, 3.0, 4.0, -7.0, 7.5, 4.0]
    # The first input produced nothing: the derived stream starts at its first output.
    assert ds.get_tags(rate)["earliest_datapoint"] == T0 + seconds(1)
    assert raw(ds, chained) == [29.0, 31.0, 36.0, 18.0, 77.5, 78.0]


def test_named_sources_and_the_same_source_twice(ds):
    a, b = new_stream(ds, "a"), new_stream(ds, "b")
    named = ds.ensure_stream({"name": "named"}, {}, ALL_VALUE, G.Seconds, derive_op="sum",
                             derive_from=[{"name": "Stream A", "stream": a}, b])
    twice = ds.ensure_stream({"name": "twice"}, {}, ALL_VALUE, G.Seconds, derive_op="sum",
                             derive_from=[a, a])
    for t, x, y in zip(TIMES[:2], A, B):
        ds.append(a, x, T0 + seconds(t))
        ds.append(b, y, T0 + seconds(t))
    assert raw(ds, named) == [42, 50]
    assert raw(ds, twice) == [42, 50]


def test_sum_of_downsampled_sources(ds):
    one, two = new_stream(ds, "one"), new_stream(ds, "two")
    total = ds.ensure_stream({"name": "sum"}, {}, ALL_VALUE, G.Seconds10, derive_op="sum",
                             derive_from=[{"stream": one, "granularity": G.Seconds10},
                                          {"stream": two, "granularity": G.Seconds10}])
    for i in range(32):
        ds.append(one, 5, T0 + seconds(i))
        ds.append(two, 5, T0 + seconds(i))
    assert raw(ds, total) == []
    ds.downsample_streams(until=T0 + seconds(60))
    assert raw(ds, total) == [10.0, 10.0, 10.0]


def test_sum_of_downsampled_sources_with_an_empty_bucket(ds):
    one, two = new_stream(ds, "one"), new_stream(ds, "two")
    total = ds.ensure_stream({"name": "sum"}, {}, ALL_VALUE, G.Seconds10, derive_op="sum",
                             derive_from=[{"stream": one, "granularity": G.Seconds10},
                                          {"stream": two, "granularity": G.Seconds10}])
    for i in (0, 25):
        ds.append(one, 5, T0 + seconds(i))
        ds.append(two, 5, T0 + seconds(i))
    ds.downsample_streams(until=T0 + seconds(60))
    assert raw(ds, total) == [10.0, None]


def test_counter_reset_and_counter_derivative(ds):
    uptime = [10, 23, 28, 44, 2, 17, 90, 30, 2, 5, 10, 15, 23, 1, 7, 12, 15, 18, 22, 25, 28]
    up = new_stream(ds, "up")
    reset = ds.ensure_stream({"name": "reset"}, {}, ["count"], G.Seconds, value_type="nominal",
                             derive_from=[up], derive_op="counter_reset")
    for i, value in enumerate(uptime):
        ds.append(up, value, T0 + seconds(i))
    assert raw(ds, reset) == [1, 1, 1, 1]
    ds.downsample_streams(until=T0 + seconds(60))
    assert values(ds.get_data(reset, G.Seconds10, start=EPOCH), "c") == [3, 1]


def _counter_streams(ds, backprocess_at_creation=None):
    up = new_stream(ds, "up")
    data = new_stream(ds, "data")
    reset = ds.ensure_stream({"name": "reset"}, {}, ["count"], G.Seconds, value_type="nominal",
                             derive_from=[up], derive_op="counter_reset")

    def make_rate(name, **kwargs):
        return ds.ensure_stream({"name": name}, {}, ALL_VALUE, G.Seconds,
                                derive_from=[{"stream": reset, "name": "reset"}, data],
                                derive_op="counter_derivative", derive_args={"max_value": 256},
                                **kwargs)

    rate = make_rate("rate")
    for i, (u, d) in enumerate(zip([10, 23, 28, 44, 2, 17, 90, 30, 2],
                                   [5, 12, 7, 25, 7, 18, 33, 40, 5])):
        ds.append(up, u, T0 + seconds(i))
        ds.append(data, d, T0 + seconds(i))
    return up, data, reset, rate, make_rate


def test_counter_derivative_live_and_backprocessed(ds):
    up, data, reset, rate, make_rate = _counter_streams(ds)
    expected = [7.0, 251.0, 18.0, 11.0, 15.0]
    assert raw(ds, rate) == expected
    later = make_rate("later")
    assert ds.get_tags(later)["pending_backprocess"] is True
    assert raw(ds, later) == []
    ds.backprocess_streams()
    assert ds.get_tags(later)["pending_backprocess"] is False
    assert raw(ds, later) == expected
    ds.backprocess_streams()
    assert raw(ds, later) == expected
    never = make_rate("never", derive_backprocess=False)
    assert ds.get_tags(never)["pending_backprocess"] is False
    ds.backprocess_streams()
    assert raw(ds, never) == []


def test_deleting_streams_with_dependants(ds):
    up, data, reset, rate, make_rate = _counter_streams(ds)
    for query in ({"name": "up"}, {"name": "data"}, {"name": "reset"}):
        with pytest.raises(exceptions.OutstandingDependenciesError):
            ds.delete_streams(query)
    assert ds.find_streams().count() == 4  # nothing was deleted
    ds.delete_streams({"name": "rate"})
    ds.delete_streams({"name": "reset"})
    assert "contributes_to" not in ds.get_tags(up)
    ds.delete_streams({})
    assert ds.find_streams().count() == 0


def test_many_points_into_a_precreated_sum(ds):
    one, two = new_stream(ds, "one"), new_stream(ds, "two")
    total = ds.ensure_stream({"name": "sum"}, {}, ALL_VALUE, G.Seconds, derive_op="sum",
                             derive_from=[one, two])
    ds.append_multiple(
        [{"stream_id": sid, "value": 1, "timestamp": T0 + seconds(i)}
         for i in range(2000) for sid in (one, two)]
    )
    got = raw(ds, total)
    assert len(got) == 2000 and sum(got) == 4000


def test_derived_streams_with_null_values(ds):
    source = new_stream(ds, "source")
    ones = new_stream(ds, "ones")
    nones = new_stream(ds, "nones")
    series = [None, 10, None, None, 2]
    for i, value in enumerate(series):
        ds.append(source, value, T0 + seconds(i))
        ds.append(ones, 1, T0 + seconds(i))
        ds.append(nones, None, T0 + seconds(i))
    empty_reset = new_stream(ds, "empty reset")

    def derived(name, op, sources, **kwargs):
        return ds.ensure_stream({"name": name}, {}, kwargs.pop("downsamplers", ALL_VALUE),
                                G.Seconds, derive_from=sources, derive_op=op, **kwargs)

    with_ones = derived("s1", "sum", [source, ones])
    with_nones = derived("s2", "sum", [source, nones])
    rate = derived("rate", "derivative", [source])
    counter_rate = derived("crate", "counter_derivative",
                           [{"stream": empty_reset, "name": "reset"}, source])
    resets = derived("resets", "counter_reset", [source], value_type="nominal",
                     downsamplers=["count"])
    ds.backprocess_streams()
    assert raw(ds, with_ones) == [1, 11, 1, 1, 3]
    assert raw(ds, with_nones) == [None, 10, None, None, 2]
    assert raw(ds, rate) == [None, None, None]
    assert raw(ds, counter_rate) == [None, None, None]
    assert raw(ds, resets) == [1]
