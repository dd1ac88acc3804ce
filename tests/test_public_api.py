"""The exported names are exactly the intended public API."""

import datetime
import inspect

import pytest

import datastream
from datastream import Granularity, exceptions
from datastream.arguments import DATA_ARGUMENTS


def test_package_exports_exactly_the_public_api():
    assert sorted(datastream.__all__) == sorted(
        [
            "DERIVE_OPERATORS",
            "Datapoints",
            "Datastream",
            "Granularity",
            "RESERVED_TAGS",
            "ResultsBase",
            "Stream",
            "Streams",
            "TIME_DOWNSAMPLERS",
            "VALUE_DOWNSAMPLERS",
            "VALUE_TYPES",
            "exceptions",
        ]
    )
    for name in datastream.__all__:
        assert getattr(datastream, name) is not None


@pytest.mark.parametrize("method", ["get_data", "get_open_buckets"])
def test_read_signatures_name_the_one_list_of_data_arguments(method):
    parameters = inspect.signature(getattr(datastream.Datastream, method)).parameters
    assert tuple(parameters) == ("self", "stream_id", *DATA_ARGUMENTS)
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters.values())


def test_exceptions_module_exports_the_whole_tree_with_builtin_bases():
    expected_bases = {
        "StreamNotFound": (),
        "MultipleStreamsReturned": (),
        "InconsistentStreamConfiguration": (),
        "OutstandingDependenciesError": (),
        "LockExpiredMidMaintenance": (),
        "StreamAppendContended": (),
        "StreamAppendFailed": (),
        "BackendUnavailable": (ConnectionError,),
        "DownsamplingFailed": (),
        "UnsupportedDownsampler": (ValueError,),
        "UnsupportedGranularity": (ValueError,),
        "UnsupportedDeriveOperator": (ValueError,),
        "UnsupportedValueType": (TypeError,),
        "ReservedTagNameError": (ValueError,),
        "InvalidTimestamp": (ValueError,),
        "IncompatibleGranularities": (ValueError,),
        "IncompatibleTypes": (TypeError,),
        "AppendToDerivedStreamNotAllowed": (ValueError,),
        "InvalidOperatorArguments": (ValueError,),
        "InvalidValue": (ValueError,),
        "InvalidTagQuery": (ValueError,),
        "InvalidValueType": (TypeError,),
        "InvalidTimeRange": (AttributeError, ValueError),
        "InvalidArgument": (TypeError, ValueError),
        "IndexOutOfRange": (IndexError,),
    }
    warnings_ = ["InvalidValueWarning", "InternalInconsistencyWarning",
                 "DownsampleConsistencyNotGuaranteed"]
    assert sorted(exceptions.__all__) == sorted(
        [*expected_bases, "DatastreamException", "DatastreamWarning", *warnings_]
    )
    for name, bases in expected_bases.items():
        cls = getattr(exceptions, name)
        assert issubclass(cls, exceptions.DatastreamException)
        for base in bases:
            assert issubclass(cls, base), (name, base)
    assert issubclass(exceptions.DatastreamWarning, RuntimeWarning)
    for name in warnings_:
        assert issubclass(getattr(exceptions, name), exceptions.DatastreamWarning)


def test_constants_are_also_datastream_class_attributes():
    ds = datastream.Datastream
    assert ds.Granularity is Granularity
    assert ds.VALUE_DOWNSAMPLERS == datastream.VALUE_DOWNSAMPLERS
    assert ds.TIME_DOWNSAMPLERS == datastream.TIME_DOWNSAMPLERS
    assert ds.DERIVE_OPERATORS == datastream.DERIVE_OPERATORS
    assert ds.VALUE_TYPES == ("numeric", "graph", "nominal")
    assert ds.Stream is datastream.Stream
    assert len(datastream.VALUE_DOWNSAMPLERS) == 11
    assert len(datastream.TIME_DOWNSAMPLERS) == 8
    assert len(set(datastream.VALUE_DOWNSAMPLERS.values())) == 11


def test_granularities_are_ordered_hashable_and_named():
    g = Granularity
    assert g.values == (g.Seconds, g.Seconds10, g.Minutes, g.Minutes10, g.Hours, g.Hours6, g.Days)
    assert g.Seconds > g.Seconds10 > g.Minutes > g.Minutes10 > g.Hours > g.Hours6 > g.Days
    assert g.Days < g.Seconds and g.Hours <= g.Hours and g.Hours >= g.Hours
    assert {g.Seconds: 1}[g.Seconds] == 1 and len(set(g.values)) == 7
    assert [str(x) for x in g.values] == [
        "seconds", "10seconds", "minutes", "10minutes", "hours", "6hours", "days"]
    assert [x.key for x in g.values] == ["s", "S", "m", "M", "h", "H", "d"]
    assert [x.duration_in_seconds() for x in g.values] == [1, 10, 60, 600, 3600, 21600, 86400]
    assert g.Seconds10 is g.Seconds10
    with pytest.raises(TypeError):
        g.Seconds < "seconds"  # noqa: B015


@pytest.mark.parametrize(
    ("granularity", "expected"),
    [
        ("Seconds", datetime.datetime(2012, 7, 31, 12, 23, 52)),
        ("Seconds10", datetime.datetime(2012, 7, 31, 12, 23, 50)),
        ("Minutes", datetime.datetime(2012, 7, 31, 12, 23)),
        ("Minutes10", datetime.datetime(2012, 7, 31, 12, 20)),
        ("Hours", datetime.datetime(2012, 7, 31, 12)),
        ("Hours6", datetime.datetime(2012, 7, 31, 12)),
        ("Days", datetime.datetime(2012, 7, 31)),
    ],
)
def test_round_timestamp_gives_the_aware_bucket_start(granularity, expected):
    value = datetime.datetime(2012, 7, 31, 12, 23, 52, 123456)
    rounded = getattr(Granularity, granularity).round_timestamp(value)
    assert rounded == expected.replace(tzinfo=datetime.UTC)
    assert rounded.tzinfo is not None
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    aware = datetime.datetime(2012, 7, 31, 14, 23, 52, tzinfo=plus_two)
    assert getattr(Granularity, granularity).round_timestamp(aware) == rounded


def test_pre_1970_timestamps_round_down():
    before = datetime.datetime(1969, 12, 31, 23, 59, 59)
    assert Granularity.Minutes.round_timestamp(before) == datetime.datetime(
        1969, 12, 31, 23, 59, tzinfo=datetime.UTC)
