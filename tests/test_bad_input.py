"""Every invalid argument raises the documented exception, names the problem, and leaves the
stored data unchanged (one test per case, run on every backend)."""

import datetime
import decimal
import fractions

import pytest
from helpers import ALL_VALUE, EPOCH, G, at, new_stream

from datastream import exceptions
from datastream.limits import (
    MAX_DERIVE_ARGS_SIZE,
    MAX_ENCODED_SIZE,
    MAX_INTEGER_DIGITS,
    MAX_NESTING_DEPTH,
    MAX_TEXT_PATTERN_LENGTH,
)

T0 = at(2000, 1, 1)
LATER = T0 + datetime.timedelta(hours=1)
PLUS_14 = datetime.timezone(datetime.timedelta(hours=14))
MINUS_14 = datetime.timezone(datetime.timedelta(hours=-14))
#: ``datetime.min``/``max`` whose UTC time is outside ``datetime``'s range.
BEFORE_EVERYTHING = datetime.datetime.min.replace(tzinfo=PLUS_14)
AFTER_EVERYTHING = datetime.datetime.max.replace(tzinfo=MINUS_14)
HUGE = 10**5000  # Python refuses to turn it into text
UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


def nested(depth, leaf=1, kind=dict):
    """``leaf`` inside ``depth`` levels of one-key dictionaries (or one-item lists)."""
    value = leaf
    for _ in range(depth):
        value = {"a": value} if kind is dict else [value]
    return value


class BrokenZone(datetime.tzinfo):
    """A time zone that breaks the ``tzinfo`` contract."""

    def utcoffset(self, moment):
        return 5

    def dst(self, moment):
        return None


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


# ----------------------------------------------------------------------------------------------
# Every bad input found by probing: a datastream exception naming the argument, on every
# backend, and nothing stored.
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def catalog(ds):
    """Streams of every kind with one datapoint each, and a snapshot of everything stored."""
    ids = {
        "numeric": new_stream(ds, "numeric"),
        "accurate": new_stream(ds, "accurate", value_type_options={"high_accuracy": True}),
        "nominal": new_stream(ds, "nominal", ["count"], value_type="nominal"),
        "graph": new_stream(ds, "graph", ["count"], value_type="graph"),
    }
    ds.append(ids["numeric"], 1, T0)
    ds.append(ids["accurate"], 1, T0)
    ds.append(ids["nominal"], "a", T0)
    ds.append(ids["graph"], {"v": [{"i": 1}], "e": []}, T0)

    def snapshot():
        streams = list(ds.find_streams())
        return streams, [list(ds.get_data(s["stream_id"], G.Seconds, start=EPOCH))
                         for s in streams]

    return ids, snapshot


def _derived(ds, ids, **arguments):
    return ds.ensure_stream({"name": "derived"}, {}, ALL_VALUE, G.Seconds,
                            **{"derive_from": [ids["numeric"]], "derive_op": "sum", **arguments})


def _find(ds, query):
    return list(ds.find_streams(query))


DEPTH = MAX_NESTING_DEPTH + 1
TOO_BIG = "x" * MAX_ENCODED_SIZE  # two more bytes as JSON (the quotes)
GRAPH = {"v": [{"i": 1}], "e": []}

#: (case, call(ds, ids), exception, message pattern): every case from probing the library.
CASES = [
    # Nesting deeper than MAX_NESTING_DEPTH (a RecursionError before).
    ("tags nested 5000 deep", lambda ds, i: ds.update_tags(i["numeric"], nested(5000)),
     exceptions.InvalidValue, "Tags: nested deeper than the limit of 64 levels"),
    ("tags nested just too deep", lambda ds, i: ds.update_tags(i["numeric"], nested(DEPTH)),
     exceptions.InvalidValue, "64 levels"),
    ("tag lists nested 5000 deep",
     lambda ds, i: ds.update_tags(i["numeric"], {"a": nested(5000, kind=list)}),
     exceptions.InvalidValue, "64 levels"),
    ("ensure_stream tags nested too deep",
     lambda ds, i: ds.ensure_stream({"name": "new"}, nested(5000), ALL_VALUE, G.Seconds),
     exceptions.InvalidValue, "Tags: nested deeper"),
    ("ensure_stream query tags nested too deep",
     lambda ds, i: ds.ensure_stream(nested(DEPTH), {}, ALL_VALUE, G.Seconds),
     exceptions.InvalidTagQuery, "Query tags: nested deeper"),
    ("remove_tag nested too deep", lambda ds, i: ds.remove_tag(i["numeric"], nested(5000)),
     exceptions.InvalidValue, "Tag: nested deeper"),
    ("find_streams 1000 segments deep", lambda ds, i: _find(ds, nested(1000)),
     exceptions.InvalidTagQuery, "Query tags: nested deeper"),
    ("find_streams lists nested too deep",
     lambda ds, i: _find(ds, {"a": {"in": nested(5000, kind=list)}}),
     exceptions.InvalidTagQuery, "64 levels"),
    ("delete_streams query nested too deep", lambda ds, i: ds.delete_streams(nested(5000)),
     exceptions.InvalidTagQuery, "64 levels"),
    ("downsample_streams query nested too deep",
     lambda ds, i: ds.downsample_streams(nested(5000)), exceptions.InvalidTagQuery, "64 levels"),
    ("backprocess_streams query nested too deep",
     lambda ds, i: ds.backprocess_streams(nested(5000)), exceptions.InvalidTagQuery,
     "64 levels"),
    ("nominal value nested 5000 deep", lambda ds, i: ds.append(i["nominal"], nested(5000), LATER),
     exceptions.InvalidValue, "Nominal value: nested deeper"),
    ("nominal lists nested too deep",
     lambda ds, i: ds.append(i["nominal"], nested(DEPTH, kind=list), LATER),
     exceptions.InvalidValue, "64 levels"),
    ("graph value nested too deep",
     lambda ds, i: ds.append(i["graph"], {"v": [{"i": 1, "x": nested(5000)}], "e": []}, LATER),
     exceptions.InvalidValue, "Graph value: nested deeper"),
    ("derive_args nested too deep", lambda ds, i: _derived(ds, i, derive_args=nested(5000)),
     exceptions.InvalidOperatorArguments, "derive_args: nested deeper"),
    ("derive source granularity nested too deep",
     lambda ds, i: _derived(ds, i, derive_from=[{"stream": i["numeric"],
                                                 "granularity": nested(5000, kind=list)}]),
     exceptions.UnsupportedGranularity, "source granularity"),
    ("append_multiple datapoint nested too deep",
     lambda ds, i: ds.append_multiple([nested(5000, kind=list)]),
     exceptions.InvalidValueType, "Datapoint 0: must be a dictionary"),
    # Integers Python will not turn into text (a ValueError before).
    ("numeric value 10**5000", lambda ds, i: ds.append(i["numeric"], HUGE, LATER),
     exceptions.InvalidValue, "too large"),
    ("high-accuracy value 10**5000", lambda ds, i: ds.append(i["accurate"], HUGE, LATER),
     exceptions.InvalidValue, f"limit of {MAX_INTEGER_DIGITS} digits"),
    ("high-accuracy value just too long",
     lambda ds, i: ds.append(i["accurate"], 10**MAX_INTEGER_DIGITS, LATER),
     exceptions.InvalidValue, "digits"),
    ("high-accuracy decimal 1e999999",
     lambda ds, i: ds.append(i["accurate"], decimal.Decimal("1e999999"), LATER),
     exceptions.InvalidValue, "too large"),
    ("numeric fraction beyond floats",
     lambda ds, i: ds.append(i["numeric"], fractions.Fraction(10**400, 3), LATER),
     exceptions.InvalidValue, "float"),
    ("downsampled value 10**5000",
     lambda ds, i: ds.append(i["numeric"], {"m": HUGE, "s": 1, "l": 1, "u": 1, "q": 1, "d": 0,
                                            "c": 1}, LATER),
     exceptions.InvalidValue, "too large"),
    ("downsampled count beyond 64 bits",
     lambda ds, i: ds.append(i["numeric"], {"m": 1, "s": 1, "l": 1, "u": 1, "q": 1, "d": 0,
                                            "c": 2**64}, LATER),
     exceptions.InvalidValue, "count 'c'"),
    ("nominal value 10**5000", lambda ds, i: ds.append(i["nominal"], [HUGE], LATER),
     exceptions.InvalidValue, "Nominal value: .*digits"),
    ("tag 10**5000", lambda ds, i: ds.update_tags(i["numeric"], {"a": HUGE}),
     exceptions.InvalidValue, "Tags: .*digits"),
    ("query 10**5000", lambda ds, i: _find(ds, {"a": {"ne": HUGE}}),
     exceptions.InvalidTagQuery, "Query tags: .*digits"),
    ("ensure_stream query 10**5000",
     lambda ds, i: ds.ensure_stream({"a": {"ne": HUGE}}, {}, ALL_VALUE, G.Seconds),
     exceptions.InvalidTagQuery, "digits"),
    ("derive_args 10**5000", lambda ds, i: _derived(ds, i, derive_args={"x": HUGE}),
     exceptions.InvalidOperatorArguments, "derive_args: .*digits"),
    ("derive source name 10**5000",
     lambda ds, i: _derived(ds, i, derive_from=[{"stream": i["numeric"], "name": HUGE}]),
     exceptions.InvalidOperatorArguments, "source name"),
    ("stream id 10**5000", lambda ds, i: ds.append(HUGE, 1), exceptions.StreamNotFound,
     "not a valid stream id"),
    ("append_multiple datapoint 10**5000", lambda ds, i: ds.append_multiple([HUGE]),
     exceptions.InvalidValueType, "Datapoint 0: must be a dictionary"),
    ("append_multiple key 10**5000",
     lambda ds, i: ds.append_multiple([{"stream_id": i["numeric"], "value": 1, HUGE: 1}]),
     exceptions.InvalidValue, "Datapoint 0: unknown keys"),
    ("append_multiple stream id a list, after a good datapoint",
     lambda ds, i: ds.append_multiple([{"stream_id": i["numeric"], "value": 1},
                                       {"stream_id": [i["numeric"]], "value": 2}]),
     exceptions.StreamNotFound, "Datapoint 1: .*not a valid stream id"),
    ("append_multiple keys of mixed types",
     lambda ds, i: ds.append_multiple([{"stream_id": i["numeric"], "value": 1, 1: 1, "x": 1}]),
     exceptions.InvalidValue, "Datapoint 0: unknown keys"),
    # Timestamps whose UTC time is outside datetime's range (an OverflowError before).
    ("timestamp datetime.min at +14:00",
     lambda ds, i: ds.append(i["numeric"], 1, BEFORE_EVERYTHING),
     exceptions.InvalidTimestamp, "Timestamp 0001-01-01T00:00:00\\+14:00 is out of the supported"),
    ("timestamp datetime.max at -14:00",
     lambda ds, i: ds.append(i["numeric"], 1, AFTER_EVERYTHING),
     exceptions.InvalidTimestamp, "Timestamp 9999-12-31.* is out of the supported range"),
    ("append_multiple timestamp datetime.min at +14:00",
     lambda ds, i: ds.append_multiple([{"stream_id": i["numeric"], "value": 1,
                                        "timestamp": BEFORE_EVERYTHING}]),
     exceptions.InvalidTimestamp, "Datapoint 0: Timestamp .* out of the supported range"),
    ("timestamp with a broken time zone",
     lambda ds, i: ds.append(i["numeric"], 1, datetime.datetime(2001, 1, 1, tzinfo=BrokenZone())),
     exceptions.InvalidTimestamp, "Timestamp has an unusable time zone"),
    ("get_data start with a broken time zone",
     lambda ds, i: ds.get_data(i["numeric"], G.Seconds,
                               start=datetime.datetime(2001, 1, 1, tzinfo=BrokenZone())),
     exceptions.InvalidTimestamp, "Start has an unusable time zone"),
    ("downsample_streams filter_stream taking no argument",
     lambda ds, i: ds.downsample_streams(filter_stream=G.Seconds),
     exceptions.InvalidArgument, "filter_stream must take 1 positional argument"),
    ("downsample_streams until not a datetime",
     lambda ds, i: ds.downsample_streams(until="tomorrow"),
     exceptions.InvalidTimestamp, "Until must be a datetime"),
    # Result windows beyond 64 bits (an OverflowError before) and odd indices.
    ("find_streams()[2**63]", lambda ds, i: ds.find_streams()[2**63],
     exceptions.IndexOutOfRange, "9223372036854775808"),
    ("get_data(...)[10**30]",
     lambda ds, i: ds.get_data(i["numeric"], G.Seconds, start=EPOCH)[10**30],
     exceptions.IndexOutOfRange, "out of range"),
    ("get_data(...)[-10**30]",
     lambda ds, i: ds.get_data(i["numeric"], G.Seconds, start=EPOCH)[-10**30],
     exceptions.IndexOutOfRange, "out of range"),
    ("find_streams()[1]", lambda ds, i: ds.find_streams({"name": "numeric"})[1],
     exceptions.IndexOutOfRange, "out of range"),
    ("find_streams()['a':]", lambda ds, i: ds.find_streams()["a":],
     exceptions.InvalidArgument, "slice start must be an integer"),
    ("find_streams()[1.5:]", lambda ds, i: ds.find_streams()[1.5:],
     exceptions.InvalidArgument, "slice start must be an integer"),
    ("find_streams()[:None:2]", lambda ds, i: ds.find_streams()[::2],
     exceptions.InvalidArgument, "step 1"),
    ("find_streams()[1.5]", lambda ds, i: ds.find_streams()[1.5],
     exceptions.InvalidArgument, "index must be an integer"),
    ("get_data(...)[True]",
     lambda ds, i: ds.get_data(i["numeric"], G.Seconds, start=EPOCH)[True],
     exceptions.InvalidArgument, "index must be an integer"),
    ("batch_size(-1)", lambda ds, i: ds.find_streams().batch_size(-1),
     exceptions.InvalidArgument, "batch_size"),
    # Arguments of the wrong kind (builtin TypeError/ValueError before).
    ("append_multiple(None)", lambda ds, i: ds.append_multiple(None),
     exceptions.InvalidArgument, "'datapoints', not None"),
    ("append_multiple(5)", lambda ds, i: ds.append_multiple(5),
     exceptions.InvalidArgument, "'datapoints', not 5"),
    ("append_multiple of one dictionary",
     lambda ds, i: ds.append_multiple({"stream_id": i["numeric"], "value": 1}),
     exceptions.InvalidArgument, "list of datapoint dictionaries"),
    ("append_multiple of a string", lambda ds, i: ds.append_multiple("datapoints"),
     exceptions.InvalidArgument, "list of datapoint dictionaries"),
    ("filter_stream not callable", lambda ds, i: ds.downsample_streams(filter_stream=5),
     exceptions.InvalidArgument, "filter_stream must be a callable"),
    ("derive_op without derive_from",
     lambda ds, i: ds.ensure_stream({"name": "d"}, {}, ALL_VALUE, G.Seconds, derive_op="sum"),
     exceptions.InvalidOperatorArguments, "'derive_op' given without 'derive_from'"),
    ("derive_from without derive_op", lambda ds, i: _derived(ds, i, derive_op=None),
     exceptions.InvalidOperatorArguments, "Missing 'derive_op'"),
    ("derive_op not hashable", lambda ds, i: _derived(ds, i, derive_op=["sum"]),
     exceptions.UnsupportedDeriveOperator, "\\['sum'\\]"),
    ("derive_args not JSON", lambda ds, i: _derived(ds, i, derive_args={"x": object()}),
     exceptions.InvalidOperatorArguments, "derive_args: not JSON data"),
    ("derive_args NaN", lambda ds, i: _derived(ds, i, derive_args={"x": float("nan")}),
     exceptions.InvalidOperatorArguments, "derive_args: not a finite number"),
    ("derive_args decimal max_value",
     lambda ds, i: ds.ensure_stream(
         {"name": "d"}, {}, ALL_VALUE, G.Seconds, derive_op="counter_derivative",
         derive_from=[{"stream": i["numeric"], "name": "reset"}, i["accurate"]],
         derive_args={"max_value": decimal.Decimal(10)}),
     exceptions.InvalidOperatorArguments, "derive_args: not JSON data"),
    ("value_type not hashable",
     lambda ds, i: ds.ensure_stream({"name": "d"}, {}, ["count"], G.Seconds, value_type=["x"]),
     exceptions.UnsupportedValueType, "\\['x'\\]"),
    ("value_type_options not a dictionary",
     lambda ds, i: ds.ensure_stream({"name": "d"}, {}, ALL_VALUE, G.Seconds,
                                    value_type_options=5),
     exceptions.InvalidArgument, "Value type options must be a dictionary"),
    ("value_type_options with keys of mixed types",
     lambda ds, i: ds.ensure_stream({"name": "d"}, {}, ALL_VALUE, G.Seconds,
                                    value_type_options={1: 2, "x": 3}),
     exceptions.InvalidArgument, "Unknown value type option"),
    ("query operand not JSON", lambda ds, i: _find(ds, {"name": decimal.Decimal("sNaN")}),
     exceptions.InvalidTagQuery, "not JSON data"),
    ("query operand a datetime", lambda ds, i: _find(ds, {"name": {"lt": T0}}),
     exceptions.InvalidTagQuery, "not JSON data"),
    # Sizes beyond MAX_ENCODED_SIZE (BulkWriteError/DocumentTooLarge on MongoDB before).
    ("nominal value beyond the size limit",
     lambda ds, i: ds.append(i["nominal"], TOO_BIG, LATER),
     exceptions.InvalidValue, f"Nominal value: .* beyond the limit of {MAX_ENCODED_SIZE} bytes"),
    ("nominal list beyond the size limit",
     lambda ds, i: ds.append(i["nominal"], ["x" * 1000] * (MAX_ENCODED_SIZE // 1000), LATER),
     exceptions.InvalidValue, "bytes"),
    ("graph value beyond the size limit",
     lambda ds, i: ds.append(i["graph"], {"v": [{"i": 1, "x": TOO_BIG}], "e": []}, LATER),
     exceptions.InvalidValue, "Graph value: .* bytes"),
    ("tags beyond the size limit", lambda ds, i: ds.update_tags(i["numeric"], {"a": TOO_BIG}),
     exceptions.InvalidValue, "Tags: .* bytes"),
    ("ensure_stream tags beyond the size limit",
     lambda ds, i: ds.ensure_stream({"name": "big"}, {"a": TOO_BIG}, ALL_VALUE, G.Seconds),
     exceptions.InvalidValue, "Tags: .* bytes"),
    ("derive_args beyond their size limit",
     lambda ds, i: _derived(ds, i, derive_args={"x": "x" * MAX_DERIVE_ARGS_SIZE}),
     exceptions.InvalidOperatorArguments, f"limit of {MAX_DERIVE_ARGS_SIZE} bytes"),
    ("downsampled frequencies beyond the size limit",
     lambda ds, i: ds.append(i["numeric"], {"m": 1, "s": 1, "l": 1, "u": 1, "q": 1, "d": 0,
                                            "c": 1, "f": {TOO_BIG: 1}}, LATER),
     exceptions.InvalidValue, "Unknown downsampled datapoint key|frequencies 'f'"),
] + [
    # Text-match operands longer than MAX_TEXT_PATTERN_LENGTH (OperationFailure on MongoDB).
    (f"{operator} operand too long",
     lambda ds, i, operator=operator: _find(
         ds, {"title": {operator: "." * (MAX_TEXT_PATTERN_LENGTH + 1)}}),
     exceptions.InvalidTagQuery, f"'{operator}' on tag 'title'.*limit of 256 characters")
    for operator in ("iexact", "contains", "icontains", "startswith", "istartswith", "endswith",
                     "iendswith")
] + [
    ("ensure_stream with a too long text operand",
     lambda ds, i: ds.ensure_stream({"title": {"contains": "a" * 1001}}, {}, ALL_VALUE,
                                    G.Seconds),
     exceptions.InvalidTagQuery, "limit of 256 characters"),
    ("delete_streams with a too long text operand",
     lambda ds, i: ds.delete_streams({"name": {"endswith": "*" * 501}}),
     exceptions.InvalidTagQuery, "limit of 256 characters"),
]


@pytest.mark.parametrize(("case", "call", "error", "message"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_raises_a_datastream_exception_and_stores_nothing(
        ds, catalog, case, call, error, message):
    ids, snapshot = catalog
    before = snapshot()
    with pytest.raises(error, match=message) as raised:
        call(ds, ids)
    assert isinstance(raised.value, exceptions.DatastreamException)
    assert type(raised.value).__module__ == "datastream.exceptions"
    assert type(raised.value).__name__ in exceptions.__all__
    assert snapshot() == before


def test_tags_cannot_grow_beyond_the_size_limit_by_updates(ds, catalog):
    ids, snapshot = catalog
    half = "x" * (MAX_ENCODED_SIZE // 2)
    ds.update_tags(ids["numeric"], {"a": half})
    before = snapshot()
    with pytest.raises(exceptions.InvalidValue, match="Tags: .* bytes"):
        ds.update_tags(ids["numeric"], {"b": half})
    assert snapshot() == before
    ds.update_tags(ids["numeric"], {"a": "", "b": half})  # replacing keeps it within the limit
    assert ds.get_tags(ids["numeric"])["b"] == half


@pytest.mark.parametrize(("tags", "error"), [
    (None, exceptions.InvalidValueType), (5, exceptions.InvalidValueType),
    ({"name": "x"}, exceptions.InvalidValue), ({"stream_id": 1}, exceptions.InvalidValue),
])
def test_stream_descriptor_of_bad_tags(tags, error):
    from datastream import Stream

    with pytest.raises(error, match="get_tags|Supplied tags are missing"):
        Stream(tags)
