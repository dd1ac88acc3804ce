"""One stream with its datapoints: every parameter, long and short, and pagination."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.test import override_settings
from plugins.django_api import (
    END,
    INTERVAL,
    LIST_URI,
    START,
    check_detail,
    echo,
    jsonable,
    parse_uri,
)

from datastream import Granularity

UTC = datetime.UTC
MIN = datetime.datetime.min.replace(tzinfo=UTC)
MIDDLE = START + 360 * INTERVAL


def unix(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


def iso(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else jsonable(moment)


@pytest.mark.parametrize("number", [0, 3, 4], ids=["int", "enum", "graph"])
def test_get_stream(api, number):
    """Upstream test_get_stream: offsets × limits × reverse × end (inclusive/exclusive)."""
    stream_id = api.ids[number]
    ends = [None, MIDDLE, END]
    for offset, limit, reverse, end, exclusive in itertools.product(
        (0, 11, 700), (0, 5, 40), (False, True), ends, (False, True)
    ):
        if end is None and exclusive:
            continue
        params = {"format": "json", "offset": offset, "limit": limit}
        kwargs = {"start": MIN, "reverse": reverse}
        if reverse:
            params["reverse"] = "true"
        end_name = "end_exclusive" if exclusive else "end"
        if end is not None:
            params[end_name] = unix(end)
            kwargs[end_name] = end
        body = check_detail(
            api,
            stream_id,
            params,
            Granularity.Seconds,
            kwargs,
            echo(reverse=reverse, **({end_name: iso(end)} if end else {})),
            offset,
            limit,
        )
        assert body["highest_granularity"] == "seconds"
        assert body["earliest_datapoint"] == "2015-11-20T10:00:00Z"


TIME_QUERIES = [
    (None, None), ("m", ["mean"]), ("mean", ["mean"]), ("a", ["first"]), ("first", ["first"]),
    ("a,z", ["first", "last"]), ("first,z", ["first", "last"]), ("first,last", ["first", "last"]),
    (["a", "z"], ["first", "last"]), (["first", "z"], ["first", "last"]),
    (["first", "last"], ["first", "last"]), ("z,a,z", ["last", "first", "last"]),
    ("i,l,u,q,d", ["intervals_mean", "intervals_min", "intervals_max", "intervals_sum_squares",
    "intervals_std_dev"]),
]  # fmt: skip
VALUE_QUERIES = [
    (None, None), ("m", ["mean"]), ("mean", ["mean"]), ("l", ["min"]), ("min", ["min"]),
    ("l,u", ["min", "max"]), ("min,u", ["min", "max"]), ("min,max", ["min", "max"]),
    (["l", "u"], ["min", "max"]), (["min", "u"], ["min", "max"]), (["min", "max"], ["min", "max"]),
    ("s,q,d,c,n,o,r,f", ["sum", "sum_squares", "std_dev", "count", "median", "most_often",
    "least_often", "frequencies"]),
]  # fmt: skip


def test_get_downsampled(api):
    """Upstream test_get_downsampled: every downsampler query, paging and range cycled."""
    stream_id = api.ids[1]
    paging = itertools.cycle(
        itertools.product(
            ("10seconds", "S"),
            (0, 11, 331),
            (0, 5, 40),
            (False, True),
            (None, START, MIDDLE),
            (False, True),
        )
    )
    for (time_query, time_names), (value_query, value_names) in itertools.product(
        TIME_QUERIES, VALUE_QUERIES
    ):
        granularity, offset, limit, reverse, start, exclusive = next(paging)
        params = [("granularity", granularity), ("offset", offset), ("limit", limit)]
        kwargs = {"reverse": reverse}
        changes = {"granularity": "10seconds", "reverse": reverse}
        if reverse:
            params.append(("reverse", "yes"))
        start_name = "start_exclusive" if exclusive else "start"
        if start is not None:
            params.append((start_name, unix(start)))
            kwargs[start_name] = start
            changes |= {"start": None, start_name: iso(start)}
        else:
            kwargs["start"] = MIN
        for name, query, names in (
            ("time_downsamplers", time_query, time_names),
            ("value_downsamplers", value_query, value_names),
        ):
            if query is not None:
                for item in [query] if isinstance(query, str) else query:
                    params.append((name, item))
                kwargs[name] = names
                changes[name] = names
        check_detail(
            api, stream_id, params, Granularity.Seconds10, kwargs, echo(**changes), offset, limit
        )
    total = api.json(api.detail_uri(stream_id), {"g": "S", "l": 0})["meta"]["total_count"]
    assert total == 360


@pytest.mark.parametrize("granularity", Granularity.values, ids=str)
def test_granularity_by_name_and_key(api, granularity):
    stream_id = api.ids[0]
    for value in (granularity.name, granularity.key):
        for name in ("granularity", "g"):
            check_detail(
                api,
                stream_id,
                {name: value, "limit": 3},
                granularity,
                {"start": MIN},
                echo(granularity=granularity.name),
                limit=3,
            )


def test_coarse_granularities_hold_the_closed_buckets(api):
    totals = {
        g: api.json(api.detail_uri(api.ids[0]), {"g": g, "l": 0})["meta"]["total_count"]
        for g in ("m", "M", "h", "H", "d")
    }
    assert totals == {"m": 60, "M": 6, "h": 1, "H": 0, "d": 0}


def test_finer_granularity_than_the_stream_gives_raw_datapoints(special_api):
    stream_id = special_api.ids["minutes"]
    body = check_detail(
        special_api, stream_id, {"g": "s"}, Granularity.Seconds, {"start": MIN}, echo(), limit=100
    )
    assert [p["v"] for p in body["datapoints"]] == [1, 2, 3]
    assert body["highest_granularity"] == "minutes"


SHORT_AND_LONG = [
    ("g", "granularity", "S"),
    ("s", "start", unix(MIDDLE)),
    ("e", "end", unix(MIDDLE)),
    ("sx", "start_exclusive", unix(MIDDLE)),
    ("ex", "end_exclusive", unix(MIDDLE)),
    ("r", "reverse", "true"),
    ("v", "value_downsamplers", "m,l"),
    ("t", "time_downsamplers", "a"),
    ("l", "limit", 7),
    ("o", "offset", 9),
]


@pytest.mark.parametrize(("short", "long", "value"), SHORT_AND_LONG)
def test_short_aliases(api, short, long, value):
    uri = api.detail_uri(api.ids[0])
    base = {"g": "S"} if short in ("v", "t") else {}
    by_long = api.json(uri, {**base, long: value})
    by_short = api.json(uri, {**base, short: value})
    by_both = api.json(uri, {**base, short: value, long: value})
    assert by_short["datapoints"] == by_long["datapoints"] == by_both["datapoints"]
    assert by_short["query_params"] == by_long["query_params"] == by_both["query_params"]
    assert {k: by_short["meta"][k] for k in ("limit", "offset", "total_count")} == {
        k: by_long["meta"][k] for k in ("limit", "offset", "total_count")
    }
    if long in ("limit", "offset"):
        assert by_short["meta"][long] == value
    else:
        assert by_short["query_params"] != api.json(uri, base)["query_params"]


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"g": "s", "granularity": "m"}, ("granularity", "g")),
        ({"granularity": "S", "g": "d"}, ("granularity", "g")),
        ({"s": 1, "start": 2}, ("start", "s")),
        ({"e": 1, "end": 2}, ("end", "e")),
        ({"sx": 1, "start_exclusive": 2}, ("start_exclusive", "sx")),
        ({"ex": 1, "end_exclusive": 2}, ("end_exclusive", "ex")),
        ({"r": "yes", "reverse": "no"}, ("reverse", "r")),
        ({"v": "m", "value_downsamplers": "l"}, ("value_downsamplers", "v")),
        ({"t": "a", "time_downsamplers": "z"}, ("time_downsamplers", "t")),
        ({"l": 1, "limit": 2}, ("limit", "l")),
        ({"o": 1, "offset": 2}, ("offset", "o")),
    ],
)
def test_conflicting_short_and_long(api, params, names):
    message = api.error(api.detail_uri(api.ids[0]), params)
    assert message.startswith(f"Conflicting values for '{names[0]}' and '{names[1]}'")
    for value in params.values():
        assert repr(str(value)) in message


def test_equivalent_short_and_long_spellings_agree(api):
    uri = api.detail_uri(api.ids[0])
    params = {
        "g": "S", "granularity": "10seconds", "r": "y", "reverse": "TRUE", "v": "m,min",
        "value_downsamplers": ["mean", "l"], "l": "5", "limit": "05",
    }  # fmt: skip
    body = api.json(uri, params)
    assert body["query_params"]["granularity"] == "10seconds"
    assert body["query_params"]["reverse"] is True
    assert body["query_params"]["value_downsamplers"] == ["mean", "min"]
    assert body["meta"]["limit"] == 5


@pytest.mark.parametrize(
    "value", ["yes", "true", "t", "1", "y", "YES", "True", "T", "Y"]
)
def test_reverse_true(api, value):
    body = api.json(api.detail_uri(api.ids[0]), {"reverse": value, "limit": 2})
    assert body["query_params"]["reverse"] is True
    assert body["datapoints"][0]["t"] == "2015-11-20T11:00:00Z"


@pytest.mark.parametrize("value", ["no", "false", "0", "f", "n", "NO", "False", "N"])
def test_reverse_false(api, value):
    body = api.json(api.detail_uri(api.ids[0]), {"r": value, "limit": 2})
    assert body["query_params"]["reverse"] is False
    assert body["datapoints"][0]["t"] == "2015-11-20T10:00:00Z"


# "on" and "off" too: the original read both as false, so neither may now mean true.
@pytest.mark.parametrize("value", ["", "2", "nope", "maybe", "yes!", "on", "off", "On"])
def test_reverse_neither_true_nor_false_is_400(api, value):
    message = api.error(api.detail_uri(api.ids[0]), {"r": value, "limit": 2})
    assert message.startswith(f"Invalid boolean: {value!r} in parameter 'r'.")


@pytest.mark.parametrize(
    ("name", "value", "moment"),
    [
        ("start", "-62135596800", datetime.datetime(1, 1, 1, tzinfo=UTC)),
        ("end", "253402300799", datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("start_exclusive", "0", datetime.datetime(1970, 1, 1, tzinfo=UTC)),
        ("end_exclusive", "-1", datetime.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("s", "+1448013600", START),
    ],
)
def test_time_bounds_at_the_limits(api, name, value, moment):
    body = api.json(api.detail_uri(api.ids[0]), {name: value, "limit": 1})
    long = {"s": "start"}.get(name, name)
    assert body["query_params"][long] == iso(moment)
    kwargs = {long: moment}
    if long in ("end", "end_exclusive"):
        kwargs["start"] = MIN
    assert (
        body["meta"]["total_count"]
        == api.core.get_data(api.ids[0], Granularity.Seconds, **kwargs).count()
    )


def test_time_range_inclusive_and_exclusive(api):
    uri = api.detail_uri(api.ids[0])
    first, second = unix(START), unix(START + INTERVAL)
    count = lambda **p: api.json(uri, {**p, "l": 0})["meta"]["total_count"]  # noqa: E731
    assert count(s=first, e=second) == 2
    assert count(sx=first, e=second) == 1
    assert count(s=first, ex=second) == 1
    assert count(sx=first, ex=second) == 0
    assert count(s=unix(END) + 1) == 0
    assert count(e=first - 1) == 0


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"granularity": "Seconds"}, "Invalid granularity: 'Seconds' in parameter 'granularity'"),
        ({"g": "x"}, "Invalid granularity: 'x' in parameter 'g'"),
        ({"g": ""}, "Invalid granularity: '' in parameter 'g'"),
        ({"start": "1.5"}, "Invalid time range start value: '1.5' in parameter 'start'"),
        ({"s": "abc"}, "Invalid time range start value: 'abc' in parameter 's'"),
        ({"end": ""}, "Invalid time range end value: '' in parameter 'end'"),
        ({"e": " 1"}, "Invalid time range end value: ' 1' in parameter 'e'"),
        ({"sx": "1e3"}, "Invalid time range start value: '1e3' in parameter 'sx'"),
        ({"ex": "1_000"}, "Invalid time range end value: '1_000' in parameter 'ex'"),
        ({"start": "٣"}, "Invalid time range start value: '٣' in parameter 'start'"),
        ({"start": "253402300800"}, "Invalid time range start value: '253402300800'"),
        ({"end": "-62135596801"}, "Invalid time range end value: '-62135596801'"),
        ({"end_exclusive": "9" * 30}, "Invalid time range end value: '" + "9" * 30),
        ({"start_exclusive": "9" * 5000}, "Invalid time range start value: '" + "9" * 100 + "…'"),
        ({"start": 1, "start_exclusive": 2}, "Only one time range start can be specified"),
        ({"s": 1, "sx": 2}, "Only one time range start can be specified"),
        ({"end": 1, "end_exclusive": 2}, "Only one time range end can be specified"),
        ({"e": 1, "ex": 2}, "Only one time range end can be specified"),
        (
            {"value_downsamplers": "foo"},
            "Invalid value downsampler: 'foo' in parameter"
            " 'value_downsamplers'='foo'",
        ),
        ({"v": "m,foo"}, "Invalid value downsampler: 'foo' in parameter 'v'='m,foo'"),
        ({"v": "Mean"}, "Invalid value downsampler: 'Mean'"),
        ({"v": ""}, "Invalid value downsampler: '' in parameter 'v'"),
        ({"v": "m,"}, "Invalid value downsampler: '' in parameter 'v'='m,'"),
        (
            {"time_downsamplers": "c"},
            "Invalid time downsampler: 'c' in"
            " parameter 'time_downsamplers'",
        ),
        (
            {"t": "first,median"},
            "Invalid time downsampler: 'median' in"
            " parameter 't'='first,median'",
        ),
        (
            {"limit": "x"},
            "Invalid limit 'x' provided in parameter 'limit'."
            " Please provide a positive integer.",
        ),
        (
            {"l": "-1"},
            "Invalid limit '-1' provided in parameter 'l'."
            " Please provide a positive integer >= 0.",
        ),
        ({"limit": "1.0"}, "Invalid limit '1.0'"),
        (
            {"offset": "x"},
            "Invalid offset 'x' provided in parameter"
            " 'offset'. Please provide an integer.",
        ),
        (
            {"o": "-5"},
            "Invalid offset '-5' provided in parameter 'o'."
            " Please provide a positive integer >= 0",
        ),
        ({"offset": str(2**63)}, f"Invalid offset '{2**63}'"),
    ],
)  # fmt: skip
def test_bad_parameters(api, params, fragment):
    message = api.error(api.detail_uri(api.ids[0]), params)
    assert fragment in message


def test_huge_offset_is_empty(api):
    body = api.json(api.detail_uri(api.ids[0]), {"offset": 2**63 - 1, "limit": 10000})
    assert body["datapoints"] == []
    assert body["meta"]["next"] is None
    assert parse_uri(body["meta"]["previous"])[1] == {
        "limit": ["10000"],
        "offset": [str(2**63 - 1 - 10000)],
    }


@pytest.mark.parametrize(
    ("limit", "effective"), [("10000", 10000), ("10001", 10000), ("9" * 40, 10000)]
)
def test_detail_limit_is_capped(api, limit, effective):
    body = api.json(api.detail_uri(api.ids[0]), {"limit": limit})
    assert body["meta"]["limit"] == effective
    assert len(body["datapoints"]) == 721


def test_detail_limit_zero_is_metadata_only(api):
    body = api.json(api.detail_uri(api.ids[0]), {"limit": 0, "offset": 5})
    assert body["datapoints"] == []
    assert body["meta"] == {
        "limit": 0,
        "offset": 5,
        "total_count": 721,
        "next_cursor": None,
        "next": None,
        "previous": None,
        "downsampled_until": None,  # raw data
    }


def test_detail_default_limit_is_read_at_request_time(api):
    uri = api.detail_uri(api.ids[0])
    assert len(api.json(uri)["datapoints"]) == 100
    with override_settings(API_DETAIL_LIMIT_PER_PAGE=7):
        body = api.json(uri)
    assert len(body["datapoints"]) == 7
    assert body["meta"]["limit"] == 7
    with override_settings(DATASTREAM_API_DETAIL_MAX_LIMIT=3):
        assert api.json(uri, {"limit": 50})["meta"]["limit"] == 3


def test_previous_page_is_shortened_at_the_start(api):
    uri = api.detail_uri(api.ids[0])
    for offset, limit, previous in [(1, 1, (1, 0)), (11, 40, (11, 0)), (700, 5, (5, 695))]:
        meta = api.json(uri, {"format": "json", "limit": limit, "offset": offset})["meta"]
        assert parse_uri(meta["previous"]) == (
            uri,
            {"format": ["json"], "limit": [str(previous[0])], "offset": [str(previous[1])]},
        )


def test_page_uris_use_long_names_and_keep_everything_else(api):
    uri = api.detail_uri(api.ids[0])
    meta = api.json(uri, "g=S&v=m&v=l&t=a&r=1&s=1448013600&l=2&o=4&format=json")["meta"]
    expected = {
        "g": ["S"], "v": ["m", "l"], "t": ["a"], "r": ["1"], "s": ["1448013600"],
        "format": ["json"],
    }  # fmt: skip
    assert parse_uri(meta["next"]) == (uri, {**expected, "limit": ["2"], "offset": ["6"]})
    assert parse_uri(meta["previous"]) == (uri, {**expected, "limit": ["2"], "offset": ["2"]})


@pytest.mark.parametrize(
    "stream_id",
    [
        "6f2b5b8a-1d1e-4c55-9d1e-6e7a0b1c2d3e",
        "not-a-uuid",
        "x" * 500,
        "a/b",
        "%00",
        "set",
        "12345678123456781234567812345678a",
    ],
)
def test_unknown_stream_is_404(api, stream_id):
    response = api.get(f"{LIST_URI}{stream_id}/")
    assert response.status_code == 404
    message = response.json()["error"]
    assert message.startswith("Stream '") and message.endswith("' not found.")


def test_stream_id_forms(api):
    for form in (api.ids[0].upper(), api.ids[0].replace("-", "")):
        body = api.json(f"{LIST_URI}{form}/", {"limit": 1})
        assert body["id"] == api.ids[0]
        assert body["resource_uri"] == api.detail_uri(api.ids[0])


def test_empty_stream(special_api):
    stream_id = special_api.ids["empty"]
    body = check_detail(
        special_api, stream_id, {"g": "m"}, Granularity.Minutes, {"start": MIN},
        echo(granularity="minutes"),
    )  # fmt: skip
    assert body["earliest_datapoint"] is None and body["latest_datapoint"] is None
    assert body["datapoints"] == []
    assert body["meta"]["total_count"] == 0


def test_high_accuracy_values_are_strings(special_api):
    body = special_api.json(special_api.detail_uri(special_api.ids["accurate"]))
    assert [p["v"] for p in body["datapoints"]] == ["0.1", "12345678901234567890.123456789"]
