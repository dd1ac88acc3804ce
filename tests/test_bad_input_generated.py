"""Generated bad input: Hypothesis calls every public ``Datastream`` method (and indexes every
result set) with odd arguments: wrong types, huge and non-finite numbers, deep and large
structures, odd strings, extreme and oddly zoned datetimes, mixed with valid ones. Whatever the
arguments, a call either works or raises a ``datastream.exceptions`` class, and a call that
raises leaves everything stored as it was; on every backend."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable
from typing import Any

import pytest
from helpers import ALL_VALUE, EPOCH, EVERY_VALUE, G
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra.pytz import timezones as pytz_timezones

from datastream import ResultsBase, exceptions
from datastream.constants import DERIVE_OPERATORS, TIME_DOWNSAMPLERS, VALUE_TYPES
from datastream.limits import (
    MAX_DATAPOINT_TIMESTAMP,
    MAX_ENCODED_SIZE,
    MAX_INTEGER_DIGITS,
    MAX_NESTING_DEPTH,
    MAX_TEXT_PATTERN_LENGTH,
    MIN_DATAPOINT_TIMESTAMP,
)
from datastream.tagquery import OPERATORS
from datastream.validation import describe

# Hypothesis' failure report imports mypy_extensions, which warns; keep failures readable.
pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
)

#: Examples per method: the MongoDB-wire test server is slow.
EXAMPLES = {"sqlite": 400, "mongodb": 25, "mongodb-fallback": 15, "memory": 400}
KINDS = ("numeric", "accurate", "nominal", "graph")


class Ref:
    """A stream of the test's catalog, resolved to its id when the call runs."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"Ref({self.kind!r})"


class BrokenRepr:
    """A user object whose ``repr`` fails (error messages must still be written)."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def nested(depth: int, kind: type = dict) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value} if kind is dict else [value]
    return value


def resolve(value: Any, ids: dict[str, str], depth: int = 0) -> Any:
    """``value`` with every :class:`Ref` (at most three levels down) replaced by its id."""
    if isinstance(value, Ref):
        return ids[value.kind]
    if depth < 3:
        if type(value) is list:
            return [resolve(item, ids, depth + 1) for item in value]
        if type(value) is dict:
            return {key: resolve(item, ids, depth + 1) for key, item in value.items()}
    return value


# Building blocks ------------------------------------------------------------------------------

BIG_TEXT = "x" * MAX_ENCODED_SIZE
OFFSETS = st.integers(-14 * 60, 14 * 60).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)
zones = st.none() | OFFSETS | st.timezones() | pytz_timezones()
datetimes = st.one_of(
    st.datetimes(timezones=zones),
    st.datetimes(min_value=datetime.datetime(1999, 12, 31), max_value=datetime.datetime(2000, 1, 2),
                 timezones=zones),
    st.sampled_from([datetime.datetime.min, datetime.datetime.max, MIN_DATAPOINT_TIMESTAMP,
                     MAX_DATAPOINT_TIMESTAMP,
                     MIN_DATAPOINT_TIMESTAMP - datetime.timedelta(seconds=1),
                     MAX_DATAPOINT_TIMESTAMP + datetime.timedelta(seconds=1)]),
    st.builds(lambda moment, zone: moment.replace(tzinfo=zone),
              st.sampled_from([datetime.datetime.min, datetime.datetime.max]), OFFSETS),
)
strings = st.text(max_size=8) | st.sampled_from(
    ["", "\ud800", "a__b", "$where", "$gt", "a.b", ".*", "\x00", "name", "numeric",
     "stream_id", "x" * (MAX_TEXT_PATTERN_LENGTH + 1), "00000000-0000-0000-0000-000000000000"]
)

def _power(exponent: int, offset: int = 0) -> int:
    """``±10**|exponent| + offset``, built lazily: Hypothesis writes strategies with ``repr``,
    which Python refuses for integers of more than 4300 digits."""
    return (10 ** abs(exponent) + offset) * (1 if exponent >= 0 else -1)


integers = st.integers() | st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, 2**64]) | st.builds(
    _power, st.sampled_from([MAX_INTEGER_DIGITS, -MAX_INTEGER_DIGITS, 5000, -5000]),
    st.sampled_from([-1, 0]))
scalars = st.one_of(
    st.none(), st.booleans(), integers, st.floats(), strings,
    st.decimals(), st.fractions(), st.complex_numbers(max_magnitude=1e300),
    st.binary(max_size=4), datetimes, st.dates(), st.timedeltas(),
    st.sampled_from(G.values), st.just(G), st.uuids(), st.builds(object), st.builds(BrokenRepr),
    st.sampled_from([Ref(kind) for kind in KINDS]),
)
keys = strings | st.integers(-2, 2) | st.none() | st.just(("a",)) | st.builds(_power, st.just(5000))
special = st.one_of(
    st.builds(nested,
              st.sampled_from([MAX_NESTING_DEPTH - 1, MAX_NESTING_DEPTH, MAX_NESTING_DEPTH + 1,
                               3000]),
              st.sampled_from([dict, list])),
    st.sampled_from([1, 2, 3]).map(lambda n: [BIG_TEXT, [BIG_TEXT], {"a": BIG_TEXT}][n - 1]),
)
containers = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(keys, inner, max_size=3),
        st.frozensets(st.integers() | st.text(max_size=3), max_size=3),
    ),
    max_leaves=6,
).filter(lambda value: isinstance(value, list | tuple | dict | frozenset))
odd = st.one_of(scalars, scalars, containers, special)
json_leaves = st.none() | st.booleans() | integers | st.floats() | strings
tags = st.dictionaries(strings, st.recursive(
    json_leaves, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(strings, inner,
                                                                               max_size=2),
    max_leaves=4), max_size=3)
operands = odd | json_leaves
queries = st.dictionaries(
    strings,
    operands | st.dictionaries(st.sampled_from(sorted(OPERATORS)) | strings, operands,
                               min_size=1, max_size=2),
    max_size=2,
)
maybe = st.none()
streams = st.sampled_from([Ref(kind) for kind in KINDS]) | odd
granularities = st.sampled_from(G.values) | odd
value_names = st.lists(st.sampled_from(EVERY_VALUE), max_size=4) | odd
time_names = st.lists(st.sampled_from(list(TIME_DOWNSAMPLERS)), max_size=3) | odd
values = st.one_of(
    st.integers(-5, 5), st.floats(), st.decimals(), integers, st.text(max_size=5),
    st.fixed_dictionaries({"v": st.lists(st.fixed_dictionaries({"i": st.integers(0, 3)}),
                                         max_size=3),
                           "e": st.just([])}),
    st.dictionaries(st.sampled_from(list("mslu qdcf")), st.integers(-2, 2) | odd, max_size=9),
    odd,
)
indices = odd | st.integers() | st.builds(
    slice, integers | st.none() | odd, integers | st.none() | odd, st.none() | st.integers(-2, 2)
)


def call(method: str, *arguments: st.SearchStrategy, **keywords: st.SearchStrategy):
    """A strategy of ``(description, run(ds, ids))`` calling ``ds.<method>``."""

    def build(args: tuple, kwargs: dict) -> tuple[str, Callable]:
        def run(ds, ids):
            return getattr(ds, method)(*resolve(list(args), ids), **resolve(kwargs, ids))

        return f"{method}(*{describe(args)}, **{describe(kwargs)})", run

    return st.builds(build, st.tuples(*arguments), st.fixed_dictionaries({}, optional=keywords))


def windowed(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Calls returning a result set, then indexed or sliced by an odd key, and read."""

    def build(pair: tuple[str, Callable], key: Any, batch: Any) -> tuple[str, Callable]:
        description, run = pair

        def run_and_index(ds, ids):
            results = run(ds, ids)
            if batch is not None:
                results = results.batch_size(batch)
            return results[key]

        return f"{description}[{describe(key)}] (batch_size {describe(batch)})", run_and_index

    return st.builds(build, strategy, indices, st.none() | integers)


CALLS = {
    "ensure_stream": call(
        "ensure_stream",
        queries | odd,
        tags | odd,
        value_names,
        granularities,
        derive_from=maybe | st.lists(streams, max_size=2) | odd
        | st.lists(st.fixed_dictionaries({"stream": streams}, optional={
            "name": st.none() | strings | odd, "granularity": granularities}), max_size=2),
        derive_op=maybe | st.sampled_from(sorted(DERIVE_OPERATORS)) | odd,
        derive_args=maybe | tags | odd,
        value_type=maybe | st.sampled_from(VALUE_TYPES) | odd,
        value_type_options=maybe | st.fixed_dictionaries({"high_accuracy": st.booleans() | odd})
        | odd,
        derive_backprocess=st.booleans() | odd,
    ),
    "get_tags": call("get_tags", streams),
    "update_tags": call("update_tags", streams, tags | odd),
    "remove_tag": call("remove_tag", streams, tags | odd),
    "clear_tags": call("clear_tags", streams),
    "find_streams": windowed(call("find_streams", maybe | queries | odd)),
    "append": call("append", streams, values, maybe | datetimes | odd,
                   check_timestamp=st.booleans() | odd),
    "append_multiple": call("append_multiple", st.lists(
        st.fixed_dictionaries({"stream_id": streams, "value": values}, optional={
            "timestamp": datetimes | odd, "check_timestamp": st.booleans(), "extra": odd})
        | odd, max_size=3) | odd),
    "get_data": windowed(call(
        "get_data", streams, granularities,
        start=maybe | datetimes | odd, end=maybe | datetimes | odd,
        start_exclusive=maybe | datetimes | odd, end_exclusive=maybe | datetimes | odd,
        reverse=st.booleans() | odd, value_downsamplers=maybe | value_names,
        time_downsamplers=maybe | time_names,
    )),
    "downsample_streams": call(
        "downsample_streams", maybe | queries | odd, maybe | datetimes | odd,
        return_datapoints=st.booleans(),
        filter_stream=maybe | st.just(lambda stream: True) | odd,
    ),
    "backprocess_streams": call("backprocess_streams", maybe | queries | odd),
    "delete_streams": call("delete_streams", queries | odd),
}


def make_catalog(ds) -> dict[str, str]:
    """One stream of every kind with a datapoint (found again when it exists)."""
    options = {"numeric": ("numeric", {}), "accurate": ("numeric", {"high_accuracy": True}),
               "nominal": ("nominal", None), "graph": ("graph", None)}
    ids = {}
    for kind, (value_type, type_options) in options.items():
        downsamplers = ALL_VALUE if value_type == "numeric" else ["count"]
        ids[kind] = ds.ensure_stream({"name": kind}, {}, downsamplers, G.Seconds,
                                     value_type=value_type, value_type_options=type_options)
        if ds.get_tags(ids[kind])["latest_datapoint"] is None:
            value = {"v": [], "e": []} if kind == "graph" else 1
            ds.append(ids[kind], value, datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    return ids


def snapshot(ds) -> tuple[list, list]:
    found = list(ds.find_streams())
    return found, [list(ds.get_data(s["stream_id"], G.Seconds, start=EPOCH)) for s in found]


def read(result: Any) -> None:
    """Read what a call returned, so lazy result sets run their queries too."""
    if isinstance(result, ResultsBase):
        list(result[:3])
        result.count()
    elif isinstance(result, dict) and "stream_id" in result:
        str(result)


@pytest.mark.parametrize("method", sorted(CALLS))
def test_generated_calls_work_or_raise_a_datastream_exception_and_store_nothing(
        ds, backend_name, method):
    ids = make_catalog(ds)

    @settings(
        max_examples=EXAMPLES[backend_name],
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(generated=CALLS[method])
    def run(generated: tuple[str, Callable]) -> None:
        description, function = generated
        note(description)
        if method == "delete_streams":
            ids.update(make_catalog(ds))
        before = snapshot(ds)
        try:
            read(function(ds, ids))
        except exceptions.DatastreamException as error:
            assert type(error).__name__ in exceptions.__all__, description
            assert str(error), description
            assert snapshot(ds) == before, f"{description} raised {error!r} but changed data"

    run()


def test_the_generator_reaches_every_kind_of_odd_value():
    """The strategies above really produce what the module docstring promises."""
    seen = set()

    @settings(max_examples=400, database=None, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @given(value=odd)
    def collect(value: Any) -> None:
        for kind, test in {
            "huge integer": lambda v: isinstance(v, int) and abs(v) >= 10**MAX_INTEGER_DIGITS,
            "non-finite": lambda v: isinstance(v, float | decimal.Decimal)
            and not decimal.Decimal(v).is_finite(),
            "datetime": lambda v: isinstance(v, datetime.datetime),
            "container": lambda v: isinstance(v, list | dict | tuple),
            "object": lambda v: type(v) in (object, BrokenRepr),
        }.items():
            if test(value):
                seen.add(kind)

    collect()
    assert seen == {"huge integer", "non-finite", "datetime", "container", "object"}


#: Valid but odd values: anything the library accepts must also downsample and serialise.
json_values = st.recursive(
    st.none() | st.booleans() | integers.filter(lambda n: abs(n) < 10**MAX_INTEGER_DIGITS)
    | st.floats(allow_nan=False, allow_infinity=False) | strings,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings, inner, max_size=3),
    max_leaves=8,
)
accurate_numbers = st.one_of(
    integers.filter(lambda n: abs(n) < 10**MAX_INTEGER_DIGITS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False).filter(
        lambda d: d.adjusted() < MAX_INTEGER_DIGITS),
)


@pytest.mark.parametrize("kind", ["nominal", "accurate", "numeric"])
def test_accepted_odd_values_downsample_and_serialise(ds, backend_name, kind):
    from datastream.constants import VALUE_DOWNSAMPLERS
    from datastream.downsamplers import SUPPORTED_TYPES

    value_type = "nominal" if kind == "nominal" else "numeric"
    names = [n for n in VALUE_DOWNSAMPLERS if value_type in SUPPORTED_TYPES[n]]
    strategy = {"nominal": json_values, "accurate": accurate_numbers,
                "numeric": accurate_numbers.filter(lambda n: abs(n) < 1e300)}[kind]
    start = [datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)]

    @settings(max_examples={"sqlite": 60}.get(backend_name, 8), deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(series=st.lists(strategy, min_size=1, max_size=6))
    def run(series: list[Any]) -> None:
        note(f"{kind} series {describe(series)}")
        sid = ds.ensure_stream({"name": f"{kind}{start[0].year}"}, {}, names, G.Seconds,
                               value_type=value_type,
                               value_type_options={"high_accuracy": kind == "accurate"}
                               if value_type == "numeric" else None)
        begin = start[0]
        start[0] = begin.replace(year=begin.year + 1)
        try:
            ds.append_multiple([{"stream_id": sid, "value": v,
                                 "timestamp": begin + datetime.timedelta(seconds=i)}
                                for i, v in enumerate(series)])
        except exceptions.InvalidValue:
            return  # beyond a size limit: refused as a whole
        ds.append(sid, None, begin + datetime.timedelta(days=2))
        ds.downsample_streams({"name": f"{kind}{begin.year}"},
                              until=begin + datetime.timedelta(days=3))
        for granularity in (G.Seconds, G.Minutes, G.Days):
            data = ds.get_data(sid, granularity, start=begin)
            assert len(list(data)) >= 1 and data.json_array().startswith(b"[{")

    run()
