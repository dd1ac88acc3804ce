"""The documented limits (``datastream.limits``): values right at a limit are accepted and read
back unchanged on every backend, query bounds beyond the supported range are clamped, result
windows of any size work, and each limit is defined once."""

import datetime
import decimal

import pytest
from helpers import ALL_VALUE, EPOCH, G, at, new_stream, values

from datastream import constants, exceptions, jsonformat, limits, validation
from datastream import granularity as granularity_module
from datastream import values as values_module
from datastream.limits import (
    MAX_DERIVE_ARGS_SIZE,
    MAX_ENCODED_SIZE,
    MAX_INTEGER_DIGITS,
    MAX_NESTING_DEPTH,
    MAX_TEXT_PATTERN_LENGTH,
)

T0 = at(2000, 1, 1)
PLUS_14 = datetime.timezone(datetime.timedelta(hours=14))
MINUS_14 = datetime.timezone(datetime.timedelta(hours=-14))


def nested(depth, leaf=1, kind=dict):
    value = leaf
    for _ in range(depth):
        value = {"a": value} if kind is dict else [value]
    return value


def test_tags_and_values_nested_exactly_to_the_limit_are_kept(ds):
    tags = nested(MAX_NESTING_DEPTH)  # the tag set itself is level 1
    sid = ds.ensure_stream({"name": "deep"}, tags, ALL_VALUE, G.Seconds)
    assert ds.get_tags(sid)["a"] == tags["a"]
    assert [s["stream_id"] for s in ds.find_streams(nested(MAX_NESTING_DEPTH))] == [sid]
    nominal = new_stream(ds, "nominal", ["count"], value_type="nominal")
    ds.append(nominal, nested(MAX_NESTING_DEPTH, kind=list), T0)
    ds.append(nominal, nested(MAX_NESTING_DEPTH), T0)
    assert values(ds.get_data(nominal, G.Seconds, start=T0)) == [
        nested(MAX_NESTING_DEPTH, kind=list), nested(MAX_NESTING_DEPTH)]


def test_values_and_tags_of_exactly_the_size_limit_are_kept(ds):
    text = "x" * (MAX_ENCODED_SIZE - 2)  # plus the quotes: exactly the limit
    nominal = new_stream(ds, "nominal", ["count"], value_type="nominal")
    ds.append(nominal, text, T0)
    assert ds.get_data(nominal, G.Seconds, start=T0)[0]["v"] == text
    sid = new_stream(ds)
    overhead = len('{"name":"s","a":""}')
    ds.update_tags(sid, {"a": "y" * (MAX_ENCODED_SIZE - overhead)})
    assert len(ds.get_tags(sid)["a"]) == MAX_ENCODED_SIZE - overhead
    with pytest.raises(exceptions.InvalidValue, match="bytes"):
        ds.update_tags(sid, {"a": "y" * (MAX_ENCODED_SIZE - overhead + 1)})


def test_the_size_limit_counts_utf8_bytes(ds):
    nominal = new_stream(ds, "nominal", ["count"], value_type="nominal")
    with pytest.raises(exceptions.InvalidValue, match="bytes"):
        ds.append(nominal, "€" * (MAX_ENCODED_SIZE // 3), T0)  # 3 bytes each
    ds.append(nominal, "€" * (MAX_ENCODED_SIZE // 3 - 1), T0)


def test_integers_up_to_the_digit_limit_are_exact(ds):
    largest = 10**MAX_INTEGER_DIGITS - 1
    sid = ds.ensure_stream({"name": "big"}, {"n": largest, "m": [-largest]}, ALL_VALUE, G.Seconds)
    assert ds.get_tags(sid)["n"] == largest and ds.get_tags(sid)["m"] == [-largest]
    assert [s["stream_id"] for s in ds.find_streams({"n": largest})] == [sid]
    nominal = new_stream(ds, "nominal", ["count"], value_type="nominal")
    ds.append(nominal, {"n": -largest}, T0)
    assert ds.get_data(nominal, G.Seconds, start=T0)[0]["v"] == {"n": -largest}
    accurate = new_stream(ds, "accurate", value_type_options={"high_accuracy": True})
    ds.append(accurate, largest, T0)
    ds.append(accurate, decimal.Decimal(f"9.5e{MAX_INTEGER_DIGITS - 1}"), T0)
    assert values(ds.get_data(accurate, G.Seconds, start=T0)) == [
        largest, decimal.Decimal(f"9.5e{MAX_INTEGER_DIGITS - 1}")]
    with pytest.raises(exceptions.InvalidValue, match="too large"):
        ds.append(accurate, decimal.Decimal(f"1e{MAX_INTEGER_DIGITS}"), T0)


def test_derive_args_up_to_their_size_limit_are_kept(ds):
    source = new_stream(ds, "source")
    padding = "x" * (MAX_DERIVE_ARGS_SIZE - len('{"note":""}'))
    derived = ds.ensure_stream({"name": "derived"}, {}, ALL_VALUE, G.Seconds,
                               derive_from=[source], derive_op="derivative",
                               derive_args={"note": padding})
    assert ds.get_tags(derived)["derived_from"]["args"] == {"note": padding}


@pytest.mark.parametrize("operator", ["iexact", "contains", "icontains", "startswith",
                                      "istartswith", "endswith", "iendswith"])
def test_text_operands_of_the_maximum_length_are_matched_literally(ds, operator):
    text = ".*" * (MAX_TEXT_PATTERN_LENGTH // 2)  # every character special to regexes
    match = ds.ensure_stream({"title": text}, {}, ALL_VALUE, G.Seconds)
    ds.ensure_stream({"title": "x" * MAX_TEXT_PATTERN_LENGTH}, {}, ALL_VALUE, G.Seconds)
    found = ds.find_streams({"title": {operator: text}})
    assert [s["stream_id"] for s in found] == [match]


def test_query_bounds_beyond_the_supported_range_are_clamped(ds):
    sid = new_stream(ds)
    ds.append_multiple([{"stream_id": sid, "value": i, "timestamp": T0 + datetime.timedelta(
        seconds=i)} for i in range(3)])
    earliest = datetime.datetime.min.replace(tzinfo=PLUS_14)  # before year 1 in UTC
    latest = datetime.datetime.max.replace(tzinfo=MINUS_14)  # after year 9999 in UTC
    assert values(ds.get_data(sid, G.Seconds, start=earliest)) == [0, 1, 2]
    assert values(ds.get_data(sid, G.Seconds, start=earliest, end=latest)) == [0, 1, 2]
    assert values(ds.get_data(sid, G.Seconds, start_exclusive=earliest,
                              end_exclusive=latest)) == [0, 1, 2]
    assert values(ds.get_data(sid, G.Seconds, start=latest)) == []
    assert values(ds.get_data(sid, G.Seconds, start=datetime.datetime.min,
                              end=earliest)) == []
    ds.append(sid, 3, T0 + datetime.timedelta(days=2))  # closes the buckets of the first three
    assert ds.downsample_streams(until=latest, return_datapoints=True) != []
    assert values(ds.get_data(sid, G.Days, start=earliest, end=latest), "c")[0] == 3


def test_datapoint_timestamps_at_both_ends_of_the_supported_range(ds):
    sid = new_stream(ds)
    ds.append(sid, 1, limits.MIN_DATAPOINT_TIMESTAMP)
    ds.append(sid, 2, limits.MAX_DATAPOINT_TIMESTAMP)
    assert [d["t"] for d in ds.get_data(sid, G.Seconds, start=datetime.datetime.min)] == [
        limits.MIN_DATAPOINT_TIMESTAMP, limits.MAX_DATAPOINT_TIMESTAMP]
    for outside in (limits.MIN_DATAPOINT_TIMESTAMP - datetime.timedelta(seconds=1),
                    limits.MAX_DATAPOINT_TIMESTAMP + datetime.timedelta(seconds=1)):
        with pytest.raises(exceptions.InvalidTimestamp,
                           match="Timestamp.* out of (the supported )?range"):
            ds.append(sid, 3, outside, check_timestamp=False)


def test_result_windows_of_any_size(ds):
    ids = [new_stream(ds, f"s{i}") for i in range(3)]
    streams = ds.find_streams()
    assert list(streams[2**63:]) == [] and len(streams[10**30:]) == 0
    assert [s["stream_id"] for s in streams[:10**30]] == ids
    assert [s["stream_id"] for s in streams[1:][:2**64]] == ids[1:]
    assert [s["stream_id"] for s in streams[-10**30:]] == ids
    assert list(streams[2**63 - 1:2**64]) == []
    sid = ids[0]
    ds.append(sid, 1, T0)
    data = ds.get_data(sid, G.Seconds, start=EPOCH)
    assert list(data[10**30:]) == [] and values(data[:10**30]) == [1]
    assert values(data[0:1]) == [1] and data[-1]["v"] == 1
    assert list(data[1:].batch_size(10**30)) == []


def test_each_limit_has_one_definition():
    assert limits.MIN_DATAPOINT_SECONDS == int(
        (limits.MIN_DATAPOINT_TIMESTAMP - EPOCH).total_seconds())
    assert limits.MAX_DATAPOINT_SECONDS == int(
        (limits.MAX_DATAPOINT_TIMESTAMP - EPOCH).total_seconds())
    # The bounds of a time range are another range, with names of their own.
    assert limits.MIN_BOUND_SECONDS < limits.MIN_DATAPOINT_SECONDS
    assert limits.MAX_DATAPOINT_SECONDS < limits.MAX_BOUND_SECONDS
    # The former names of the datapoint range are the same objects, outside __all__.
    assert limits.MIN_TIMESTAMP is limits.MIN_DATAPOINT_TIMESTAMP
    assert limits.MAX_SECONDS is limits.MAX_DATAPOINT_SECONDS
    assert not {"MIN_SECONDS", "MAX_SECONDS", "MIN_TIMESTAMP", "MAX_TIMESTAMP"} & {
        *limits.__all__, *validation.__all__}
    # One Unix epoch for the library's time arithmetic and its JSON.
    assert granularity_module.EPOCH is constants.UNIX_EPOCH == EPOCH
    assert jsonformat.iso_seconds(0) == "1970-01-01T00:00:00Z"
    assert values_module.INT64_MAX is limits.INT64_MAX
    assert limits.MIN_SECONDS == int((limits.MIN_DATAPOINT_TIMESTAMP - EPOCH).total_seconds())
    assert limits.MAX_SECONDS == int((limits.MAX_DATAPOINT_TIMESTAMP - EPOCH).total_seconds())
    assert (limits.INT64_MIN, limits.INT64_MAX) == (-(2**63), 2**63 - 1)
    # The documented numbers (docs/library.rst, "Limits and errors").
    assert (MAX_NESTING_DEPTH, MAX_ENCODED_SIZE, MAX_DERIVE_ARGS_SIZE, MAX_INTEGER_DIGITS,
            MAX_TEXT_PATTERN_LENGTH) == (64, 2**20, 2**16, 600, 256)


def test_values_at_the_limits_downsample_and_serialise(ds):
    from datastream.constants import VALUE_DOWNSAMPLERS
    from datastream.downsamplers import SUPPORTED_TYPES

    def downsamplers(kind):
        return [name for name in VALUE_DOWNSAMPLERS if kind in SUPPORTED_TYPES[name]]

    largest = 10**MAX_INTEGER_DIGITS - 1
    accurate = ds.ensure_stream({"name": "accurate"}, {}, downsamplers("numeric"), G.Seconds,
                                value_type_options={"high_accuracy": True})
    nominal = ds.ensure_stream({"name": "nominal"}, {}, downsamplers("nominal"), G.Seconds,
                               value_type="nominal")
    numbers = [largest, -largest, decimal.Decimal(f"9.9e{MAX_INTEGER_DIGITS - 1}"),
               decimal.Decimal("1e-999999"), 2**63]
    odd = ["\ud800", largest, {"$where": 1, "a.b": [1, {"": None}]}, [True, 1], None,
           nested(MAX_NESTING_DEPTH - 1, kind=list), {"\x00": "\udfff"}]
    for sid, series in ((accurate, numbers), (nominal, odd)):
        ds.append_multiple([{"stream_id": sid, "value": v, "timestamp": T0 + datetime.timedelta(
            seconds=i)} for i, v in enumerate(series)])
        ds.append(sid, 1, T0 + datetime.timedelta(days=2))
    ds.downsample_streams(until=T0 + datetime.timedelta(days=3))
    assert values(ds.get_data(accurate, G.Seconds, start=T0))[:5] == numbers
    assert values(ds.get_data(nominal, G.Seconds, start=T0))[:7] == odd
    for sid, count in ((accurate, 5), (nominal, 6)):  # None is no value
        for granularity in (G.Minutes, G.Days):
            data = ds.get_data(sid, granularity, start=T0)
            assert data[0]["v"]["c"] == count
            assert data.json_array().startswith(b"[{")


@pytest.mark.parametrize(("options", "series"), [
    ({"high_accuracy": True}, [1000000000000.25, 1000000000000.25]),  # squares in decimal
    ({"high_accuracy": True}, [decimal.Decimal("393314.253768365")] * 2),
    ({"high_accuracy": False}, [1.3407807929942597e154]),  # its square is beyond floats
    ({"high_accuracy": False}, [1e300, 1e300, -1e300]),
])
def test_accepted_numbers_downsample_without_warnings(ds, options, series):
    from datastream.constants import VALUE_DOWNSAMPLERS
    from datastream.downsamplers import SUPPORTED_TYPES

    names = [n for n in VALUE_DOWNSAMPLERS if "numeric" in SUPPORTED_TYPES[n]]
    sid = ds.ensure_stream({"name": "s"}, {}, names, G.Seconds, value_type_options=options)
    ds.append_multiple([{"stream_id": sid, "value": v, "timestamp": T0 + datetime.timedelta(
        seconds=i)} for i, v in enumerate(series)])
    ds.append(sid, None, T0 + datetime.timedelta(days=2))
    ds.downsample_streams(until=T0 + datetime.timedelta(days=3))  # warnings are errors here
    minute = ds.get_data(sid, G.Minutes, start=T0)[0]["v"]
    assert minute["c"] == len(series)
    if len(set(series)) == 1:
        assert minute["d"] == 0
