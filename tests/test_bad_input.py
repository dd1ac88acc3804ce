"""Every invalid argument raises the documented exception, names the problem, and leaves the
stored data unchanged (one test per case, run on every backend)."""

import datetime
import decimal

import pytest
from helpers import ALL_VALUE, EPOCH, G, at, new_stream

from datastream import exceptions

T0 = at(2000, 1, 1)


@pytest.fixture
def stored(ds):
    """A stream with three datapoints, and a snapshot function of everything stored."""
    sid = new_stream(ds, "existing")
    for i in range(3):
        ds.append(sid, i, T0 + datetime.timedelta(seconds=i))

    def snapshot():
        streams = list(ds.find_streams())
        return streams, [list(ds.get_data(s["stream_id"], G.Seconds, start=EPOCH))
                         for s in streams]

    return sid, snapshot


APPEND_CASES = [
    ("unknown id", "00000000-0000-0000-0000-000000000000", 1, None, exceptions.StreamNotFound,
     "not found"),
    ("malformed id", "not-a-uuid", 1, None, exceptions.StreamNotFound, "not-a-uuid"),
    ("id of wrong type", 42, 1, None, exceptions.StreamNotFound, "42"),
    ("string value", None, "12", None, exceptions.InvalidValueType, "numeric"),
    ("boolean value", None, True, None, exceptions.InvalidValueType, "Booleans"),
    ("NaN value", None, float("nan"), None, exceptions.InvalidValue, "finite"),
    ("infinite value", None, float("inf"), None, exceptions.InvalidValue, "finite"),
    ("infinite decimal", None, decimal.Decimal("-Infinity"), None, exceptions.InvalidValue,
     "finite"),
    ("list value", None, [1], None, exceptions.InvalidValueType, "numeric"),
    ("older timestamp", None, 1, T0, exceptions.InvalidTimestamp, "older"),
    ("timestamp not a datetime", None, 1, "2000-01-01", exceptions.InvalidTimestamp, "datetime"),
    ("date instead of datetime", None, 1, datetime.date(2001, 1, 1), exceptions.InvalidTimestamp,
     "datetime"),
    ("timestamp out of range", None, 1, datetime.datetime.max, exceptions.InvalidTimestamp,
     "out of range"),
    ("bad pre-aggregated key", None, {"x": 1}, None, exceptions.InvalidValue, "Missing"),
]


@pytest.mark.parametrize(("case", "target", "value", "timestamp", "error", "message"),
                         APPEND_CASES, ids=[c[0] for c in APPEND_CASES])
def test_bad_append_changes_nothing(ds, stored, case, target, value, timestamp, error, message):
    sid, snapshot = stored
    before = snapshot()
    with pytest.raises(error, match=message):
        ds.append(sid if target is None else target, value,
                  timestamp or T0 + datetime.timedelta(hours=1))
    assert snapshot() == before


def test_append_multiple_is_all_or_nothing(ds, stored):
    sid, snapshot = stored
    other = new_stream(ds, "other")
    before = snapshot()
    later = T0 + datetime.timedelta(hours=1)
    batch = [{"stream_id": other, "value": i, "timestamp": later + datetime.timedelta(seconds=i)}
             for i in range(10)]
    batch.insert(7, {"stream_id": sid, "value": "oops", "timestamp": later})
    with pytest.raises(exceptions.InvalidValueType, match="Datapoint 7:"):
        ds.append_multiple(batch)
    assert snapshot() == before
    assert ds.get_tags(other)["latest_datapoint"] is None
    with pytest.raises(exceptions.InvalidValue, match="Datapoint 1:"):
        ds.append_multiple([{"stream_id": other, "value": 1}, {"stream": other, "value": 1}])
    with pytest.raises(exceptions.InvalidTimestamp, match="Datapoint 2:"):
        ds.append_multiple([{"stream_id": other, "value": 1, "timestamp": T0},
                            {"stream_id": other, "value": 1, "timestamp": T0},
                            {"stream_id": other, "value": 1, "timestamp": "yesterday"}])
    with pytest.raises(TypeError):
        ds.append_multiple({"stream_id": other, "value": 1})
    assert snapshot() == before


ENSURE_CASES = [
    ("non-dict query", dict(query_tags=["name"]), TypeError, "dictionary"),
    ("non-dict tags", dict(tags="x"), TypeError, "dictionary"),
    ("reserved tag", dict(tags={"stream_id": 1}), exceptions.ReservedTagNameError, "stream_id"),
    ("double underscore", dict(tags={"a": {"b__c": 1}}), exceptions.ReservedTagNameError, "__"),
    ("double underscore in query", dict(query_tags={"a__b": 1}), exceptions.ReservedTagNameError,
     "__"),
    ("granularity as string", dict(highest_granularity="seconds"),
     exceptions.UnsupportedGranularity, "seconds"),
    ("unknown downsampler", dict(value_downsamplers=["mean", "foo"]),
     exceptions.UnsupportedDownsampler, "foo"),
    ("downsamplers as string", dict(value_downsamplers="mean"), exceptions.UnsupportedDownsampler,
     "list"),
    ("unknown value type", dict(value_type="text"), exceptions.UnsupportedValueType, "text"),
    ("bad value type options", dict(value_type_options={"high_accuracy": "yes"}), TypeError,
     "high_accuracy"),
    ("unknown value type option", dict(value_type_options={"precision": 3}), ValueError,
     "precision"),
    ("unknown derive operator", dict(derive_from=["x"], derive_op="avg"),
     exceptions.UnsupportedDeriveOperator, "avg"),
    ("tags that are not JSON", dict(tags={"when": datetime.datetime(2000, 1, 1)}),
     exceptions.InvalidValueType, "JSON"),
]


@pytest.mark.parametrize(("case", "override", "error", "message"), ENSURE_CASES,
                         ids=[c[0] for c in ENSURE_CASES])
def test_bad_ensure_stream_changes_nothing(ds, stored, case, override, error, message):
    _sid, snapshot = stored
    before = snapshot()
    arguments = dict(query_tags={"name": "new"}, tags={}, value_downsamplers=ALL_VALUE,
                     highest_granularity=G.Seconds)
    arguments.update(override)
    with pytest.raises(error, match=message):
        ds.ensure_stream(**arguments)
    assert snapshot() == before


GET_DATA_CASES = [
    ("no start", dict(), exceptions.InvalidTimeRange, "start"),
    ("two starts", dict(start=T0, start_exclusive=T0), AttributeError, "start"),
    ("two ends", dict(start=T0, end=T0, end_exclusive=T0), AttributeError, "end"),
    ("granularity name", dict(start=T0, granularity="seconds"), exceptions.UnsupportedGranularity,
     "seconds"),
    ("unknown value downsampler", dict(start=T0, value_downsamplers=["avg"]),
     exceptions.UnsupportedDownsampler, "avg"),
    ("unknown time downsampler", dict(start=T0, time_downsamplers=["middle"]),
     exceptions.UnsupportedDownsampler, "middle"),
    ("start not a datetime", dict(start=0), exceptions.InvalidTimestamp, "datetime"),
    ("unknown stream", dict(start=T0, stream_id="00000000-0000-0000-0000-000000000000"),
     exceptions.StreamNotFound, "not found"),
    ("malformed stream id", dict(start=T0, stream_id="../etc"), exceptions.StreamNotFound,
     "etc"),
]


@pytest.mark.parametrize(("case", "arguments", "error", "message"), GET_DATA_CASES,
                         ids=[c[0] for c in GET_DATA_CASES])
def test_bad_get_data(ds, stored, case, arguments, error, message):
    sid, _snapshot = stored
    arguments = {"stream_id": sid, "granularity": G.Seconds, **arguments}
    with pytest.raises(error, match=message):
        ds.get_data(**arguments)


def test_bad_tag_changes(ds, stored):
    sid, snapshot = stored
    before = snapshot()
    with pytest.raises(exceptions.ReservedTagNameError):
        ds.update_tags(sid, {"value_type": "graph"})
    with pytest.raises(exceptions.ReservedTagNameError):
        ds.remove_tag(sid, {"latest_datapoint": ""})
    with pytest.raises(exceptions.StreamNotFound):
        ds.update_tags("00000000-0000-0000-0000-000000000000", {"a": 1})
    with pytest.raises(exceptions.StreamNotFound):
        ds.clear_tags("nope")
    with pytest.raises(ValueError, match="list"):
        ds.find_streams({"name": {"in": "existing"}})
    assert snapshot() == before


def test_bad_graph_and_nominal_values(ds):
    nominal = ds.ensure_stream({"name": "n"}, {}, ["count"], G.Seconds, value_type="nominal")
    with pytest.raises(exceptions.InvalidValue):
        ds.append(nominal, {1: "a"})
    with pytest.raises(exceptions.InvalidValue):
        ds.append(nominal, [float("nan")])
    with pytest.raises(exceptions.InvalidValueType):
        ds.append(nominal, object())
    assert ds.get_tags(nominal)["latest_datapoint"] is None


def test_bad_clock_is_rejected():
    from datastream.backends.sqlite import Backend

    with pytest.raises(TypeError, match="clock"):
        Backend(":memory:", clock="now")
    with pytest.raises(ValueError, match="database_name"):
        Backend("")
