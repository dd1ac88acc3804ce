"""The HTTP API on the MongoDB backend: a sample of the SQLite-backed tests.

The MongoDB-wire test server is slower than SQLite, so only a sample of parameters runs here;
the full matrix runs on SQLite (one contract test suite keeps the backends' semantics equal).
"""

from __future__ import annotations

import datetime

import pytest
from plugins.django_api import (
    END,
    INTERVAL,
    LIST_URI,
    START,
    check_detail,
    check_stream,
    echo,
    jsonable,
    parse_uri,
)

from datastream import Granularity

MIN = datetime.datetime.min.replace(tzinfo=datetime.UTC)
MIDDLE = START + 360 * INTERVAL


def unix(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


def test_list(mongodb_api):
    body = mongodb_api.json(LIST_URI, {"limit": 0})
    assert [s["id"] for s in body["objects"]] == mongodb_api.ids
    for stream, stream_id in zip(body["objects"], mongodb_api.ids):
        check_stream(mongodb_api, stream, stream_id)
    body = mongodb_api.json(LIST_URI, {"format": "json", "offset": 1, "limit": 1})
    assert [s["id"] for s in body["objects"]] == mongodb_api.ids[1:2]
    assert parse_uri(body["meta"]["previous"]) == (
        LIST_URI,
        {"format": ["json"], "limit": ["1"], "offset": ["0"]},
    )


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ("tags__title=Stream%201", [1]),
        ("tags__title__iexact=strEAm%201", [1]),
        ("tags__stream_number__gte=3", [3, 4]),
        ("tags__visualization__value_downsamplers__all=mean,min", [0, 1, 2]),
        ("tags__visualization__value_downsamplers__all=mean&"
         "tags__visualization__value_downsamplers__all=foobar", []),
        ("tags__value_type=numeric", []),
        ("stream_id=x", [0, 1, 2, 3, 4]),
    ],
)  # fmt: skip
def test_tag_filters(mongodb_api, query, numbers):
    body = mongodb_api.json(LIST_URI, query)
    assert [s["id"] for s in body["objects"]] == [mongodb_api.ids[n] for n in numbers]
    assert body["meta"]["total_count"] == len(numbers)


def test_set_and_not_found(mongodb_api):
    ids = mongodb_api.ids
    body = mongodb_api.json(f"{LIST_URI}set/{ids[3]};nope;{ids[0]}/")
    assert [s["id"] for s in body["objects"]] == [ids[3], ids[0]]
    assert body["not_found"] == ["nope"]
    assert mongodb_api.error(f"{LIST_URI}nope/", status=404) == "Stream 'nope' not found."


@pytest.mark.parametrize(
    ("number", "offset", "limit", "reverse", "end"),
    [(0, 0, 5, False, None), (3, 11, 40, True, MIDDLE), (4, 700, 40, False, END)],
)
def test_raw_datapoints(mongodb_api, number, offset, limit, reverse, end):
    params = {"offset": offset, "limit": limit, "reverse": "true" if reverse else "no"}
    kwargs = {"start": MIN, "reverse": reverse}
    changes = {"reverse": reverse}
    if end is not None:
        params["end_exclusive"] = unix(end)
        kwargs["end_exclusive"] = end
        changes["end_exclusive"] = jsonable(end)
    stream_id = mongodb_api.ids[number]
    check_detail(
        mongodb_api, stream_id, params, Granularity.Seconds, kwargs, echo(**changes), offset, limit
    )


@pytest.mark.parametrize(
    ("params", "kwargs", "changes"),
    [
        ({"g": "S", "o": 331, "l": 40}, {"start": MIN}, {}),
        ({"g": "10seconds", "v": "l,u", "t": "a", "s": unix(MIDDLE), "l": 5},
         {"start": MIDDLE, "value_downsamplers": ["min", "max"], "time_downsamplers": ["first"]},
         {"start": jsonable(MIDDLE), "value_downsamplers": ["min", "max"],
          "time_downsamplers": ["first"]}),
        ({"granularity": "S", "sx": unix(START), "r": "1", "l": 0},
         {"start_exclusive": START, "reverse": True},
         {"start": None, "start_exclusive": jsonable(START), "reverse": True}),
    ],
)  # fmt: skip
def test_downsampled_datapoints(mongodb_api, params, kwargs, changes):
    offset, limit = params.get("o", 0), params.get("l", 100)
    check_detail(
        mongodb_api,
        mongodb_api.ids[1],
        params,
        Granularity.Seconds10,
        kwargs,
        echo(granularity="10seconds", **changes),
        offset,
        limit,
    )


def test_formats(mongodb_api):
    uri = mongodb_api.detail_uri(mongodb_api.ids[0])
    assert mongodb_api.get(uri, {"format": "xml", "l": 2}).content.startswith(b"<?xml")
    csv = mongodb_api.get(uri, {"format": "csv", "l": 2}).content.decode().splitlines()
    assert csv[0] == "t,v" and csv[1].startswith("2015-11-20T10:00:00Z,")
