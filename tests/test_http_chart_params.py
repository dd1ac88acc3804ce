"""The chart parameters of the detail endpoint, on SQLite and on MongoDB: ``max_points``,
``thin``, ``shape``, ``time_format`` and ``open_bucket`` (and their short names).

The data is the upstream fixture: 721 datapoints every 5 s from 10:00:00 to 11:00:00
(inclusive), downsampled until the bucket holding the last datapoint (which stays open).
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ElementTree

import orjson
import pytest
from plugins.django_api import END, POINTS, START

from datastream import Granularity, Stream

UTC = datetime.UTC
S0 = int(START.timestamp())
S_END = int(END.timestamp())


@pytest.fixture(params=["sqlite", "mongodb"])
def client(request):
    return request.getfixturevalue("api" if request.param == "sqlite" else "mongodb_api")


def detail(client, params, index=0, status=200):
    return client.json(client.detail_uri(client.ids[index]), params, status=status)


def error(client, params, index=0):
    return client.error(client.detail_uri(client.ids[index]), params)


# max_points -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "max_points, granularity, count",
    [
        (POINTS, "seconds", POINTS),  # every raw datapoint fits
        (POINTS - 1, "10seconds", 360),  # 361 buckets span 10:00:00..11:00:00
        (361, "10seconds", 360),
        (360, "minutes", 60),  # 61 minute buckets
        (61, "minutes", 60),
        (60, "10minutes", 6),  # 7 buckets of 10 minutes
        (7, "10minutes", 6),
        (6, "hours", 1),  # 10:00 and 11:00
        (2, "hours", 1),
        (1, "6hours", 0),  # one 6-hour bucket, not closed yet
    ],
)
def test_max_points_picks_the_finest_granularity_within_budget(
    client, max_points, granularity, count
):
    body = detail(client, {"max_points": max_points})
    assert body["query_params"]["granularity"] == granularity
    assert body["query_params"]["max_points"] == max_points
    assert len(body["datapoints"]) == count <= max_points
    assert body["meta"]["limit"] == max_points  # the whole view in one response


def test_max_points_at_the_edges_of_an_explicit_range(client):
    # [10:00:00, 10:59:59] spans 360 ten-second buckets; one second more opens the 361st.
    within = {"s": S0, "e": S_END - 1, "mp": 360}
    assert detail(client, within)["query_params"]["granularity"] == "10seconds"
    beyond = {"s": S0, "e": S_END, "mp": 360}
    assert detail(client, beyond)["query_params"]["granularity"] == "minutes"
    # An exclusive end excludes its own bucket; an exclusive start excludes the bucket holding it.
    assert detail(client, {"s": S0, "ex": S_END, "mp": 360})["query_params"]["granularity"] == (
        "10seconds"
    )
    assert (
        detail(client, {"sx": S0 + 9, "e": S_END, "mp": 360})["query_params"]["granularity"]
        == "10seconds"
    )
    # Raw datapoints are counted: 13 in [10:00:00, 10:01:00].
    assert detail(client, {"s": S0, "e": S0 + 60, "mp": 13})["query_params"]["granularity"] == (
        "seconds"
    )
    assert detail(client, {"s": S0, "e": S0 + 60, "mp": 12})["query_params"]["granularity"] == (
        "10seconds"
    )


def test_days_when_even_days_give_more(client):
    year = {"s": S0 - 400 * 86400, "e": S_END, "mp": 3}
    assert detail(client, year)["query_params"]["granularity"] == "days"


def test_short_and_long_names_agree(client):
    assert detail(client, "mp=60&max_points=60")["query_params"]["granularity"] == "10minutes"
    message = error(client, "mp=60&max_points=61")
    assert message == "Conflicting values for 'max_points' and 'mp': '61' and '60'."


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "", " 3"])
def test_max_points_must_be_a_positive_integer(client, value):
    message = error(client, {"mp": value})
    assert message.startswith(f"Invalid max_points: {value!r} in parameter 'mp'. Use an integer")


def test_max_points_and_granularity_exclude_each_other(client):
    assert error(client, {"mp": 10, "g": "m"}) == (
        "Use either 'granularity' or 'max_points', not both: max_points chooses the granularity."
    )
    assert "At most 10000 datapoints" in error(client, {"mp": 10001})


def test_max_points_on_a_stream_without_datapoints(special_api):
    empty = next(
        stream_id
        for stream_id in special_api.ids.values()
        if special_api.core.get_tags(stream_id)["latest_datapoint"] is None
    )
    body = special_api.json(special_api.detail_uri(empty), {"mp": 5})
    highest = special_api.core.get_tags(empty)["highest_granularity"]
    assert body["query_params"]["granularity"] == highest.name
    assert body["datapoints"] == []


# thin -------------------------------------------------------------------------------------------


def raw_points(client, index=0, **range_):
    range_ = range_ or {"start": START}
    return list(client.core.get_data(client.ids[index], Granularity.Seconds, **range_))


@pytest.mark.parametrize("algorithm", ["m4", "lttb", "minmaxlttb"])
def test_thin_returns_at_most_max_points_actual_datapoints(client, algorithm):
    body = detail(client, {"th": algorithm, "mp": 50})
    raw = raw_points(client)
    stored = {(p["t"].isoformat().replace("+00:00", "Z"), p["v"]) for p in raw}
    points = body["datapoints"]
    assert 2 < len(points) <= 50
    assert all((p["t"], p["v"]) in stored for p in points)
    assert [p["t"] for p in points] == sorted(p["t"] for p in points)
    assert body["query_params"]["granularity"] == "seconds"
    assert body["query_params"]["thin"] == algorithm
    assert body["meta"]["raw_count"] == POINTS
    if algorithm != "lttb":
        values = [p["v"] for p in points]
        assert min(p["v"] for p in raw) in values and max(p["v"] for p in raw) in values


def test_thin_over_a_range_counts_that_range(client):
    body = detail(client, {"thin": "minmaxlttb", "max_points": 8, "s": S0 + 600, "e": S0 + 1200})
    raw = raw_points(
        client,
        start=START + datetime.timedelta(seconds=600),
        end=START + datetime.timedelta(seconds=1200),
    )
    assert body["meta"]["raw_count"] == len(raw) == 121
    assert len(body["datapoints"]) <= 8
    values = [p["v"] for p in body["datapoints"]]
    assert min(p["v"] for p in raw) in values and max(p["v"] for p in raw) in values
    # Reverse order is the same points, newest first.
    reverse = detail(client, {"thin": "minmaxlttb", "mp": 8, "s": S0 + 600, "e": S0 + 1200,
                              "r": 1})  # fmt: skip
    assert reverse["datapoints"] == body["datapoints"][::-1]


def test_thin_under_budget_returns_every_datapoint(client):
    body = detail(client, {"th": "m4", "mp": 1000})
    assert len(body["datapoints"]) == POINTS and body["meta"]["raw_count"] == POINTS


@pytest.mark.parametrize(
    "params, message",
    [
        ({"th": "m4"}, "'thin' needs 'max_points': how many datapoints to keep."),
        ({"th": "m4", "g": "s"}, "'thin' cannot be combined with 'granularity'"),
        ({"th": "m4", "mp": 3}, "Invalid max_points: 3 with 'thin'"),
        ({"th": "avg", "mp": 10}, "Invalid thin: 'avg' in parameter 'th'. Use one of m4, lttb"),
    ],
)
def test_thin_errors(client, params, message):
    assert message in error(client, params)


def test_thin_needs_a_numeric_stream(client):
    assert error(client, {"th": "m4", "mp": 10}, index=3) == (
        "'thin' needs a numeric stream; this stream holds nominal values."
    )


# shape and time_format --------------------------------------------------------------------------


def test_columns_and_rows_carry_the_same_numbers(client):
    for params in [
        {"s": S0, "e": S0 + 300},
        {"g": "m", "v": "m,l,u,c", "t": "a,m,i"},
        {"mp": 100, "th": "m4"},
        {"mp": 20},
    ]:
        rows = detail(client, params | {"sh": "rows"})
        columns = detail(client, params | {"shape": "columns"})
        assert columns["query_params"]["shape"] == "columns"
        points, data = rows["datapoints"], columns["datapoints"]
        if isinstance(data["t"], list):  # raw
            assert data == {"t": [p["t"] for p in points], "v": [p["v"] for p in points]}
        else:
            assert set(data["t"]) == set(points[0]["t"]) and set(data["v"]) == set(points[0]["v"])
            for key, column in data["t"].items():
                assert column == [p["t"][key] for p in points]
            for key, column in data["v"].items():
                assert column == [p["v"][key] for p in points]
        assert columns["meta"] == rows["meta"]


def test_columns_in_jsonp_and_xml(client):
    params = {"g": "10minutes", "v": "mean", "t": "first", "sh": "columns", "tf": "epoch"}
    body = detail(client, params)
    uri = client.detail_uri(client.ids[0])
    jsonp = client.get(uri, params | {"format": "jsonp", "callback": "draw"}).content
    assert orjson.loads(jsonp[len(b"/**/draw(") : -2])["datapoints"] == body["datapoints"]
    root = ElementTree.fromstring(client.get(uri, params | {"format": "xml"}).content)
    first = [int(item.text) for item in root.find("datapoints").find("t").find("a")]
    assert first == body["datapoints"]["t"]["a"]
    assert first[0] == S0 and len(first) == 6


def test_columns_are_not_for_csv(client):
    assert "columns" in error(client, {"sh": "columns", "format": "csv"})
    assert error(client, {"sh": "table"}).startswith("Invalid shape: 'table' in parameter 'sh'.")


def test_time_formats(client):
    iso = detail(client, {"l": 2})
    epoch = detail(client, {"l": 2, "tf": "epoch"})
    epoch_ms = detail(client, {"l": 2, "time_format": "epoch_ms"})
    assert iso["datapoints"][0]["t"] == "2015-11-20T10:00:00Z"
    assert [p["t"] for p in epoch["datapoints"]] == [S0, S0 + 5]
    assert [p["t"] for p in epoch_ms["datapoints"]] == [S0 * 1000, (S0 + 5) * 1000]
    assert epoch["query_params"]["time_format"] == "epoch"
    buckets = detail(client, {"g": "m", "l": 1, "t": "a,z,m,i,d", "tf": "epoch_ms"})
    time = buckets["datapoints"][0]["t"]
    assert (time["a"], time["z"]) == (S0 * 1000, (S0 + 55) * 1000)
    assert time["i"] == 5.0 and time["d"] == 0.0  # intervals stay seconds
    csv = client.get(client.detail_uri(client.ids[0]), {"l": 1, "tf": "epoch", "format": "csv"})
    assert csv.content.decode().splitlines()[1].startswith(f"{S0},")
    assert error(client, {"tf": "unix"}).startswith("Invalid time_format: 'unix' in parameter")


# The open bucket ---------------------------------------------------------------------------------


def test_downsampled_until_and_the_open_bucket(client):
    stream = Stream(client.core.get_tags(client.ids[0]))
    until = stream.downsampled_until["minutes"]
    assert until == datetime.datetime(2015, 11, 20, 11, 0, tzinfo=UTC)
    closed = detail(client, {"g": "m", "v": "m,c", "t": "a"})
    assert closed["meta"]["downsampled_until"] == "2015-11-20T11:00:00Z"
    assert len(closed["datapoints"]) == 60
    assert detail(client, {"l": 1})["meta"]["downsampled_until"] is None

    opened = detail(client, {"g": "m", "v": "m,c", "t": "a", "ob": 1})
    assert opened["datapoints"][:-1] == closed["datapoints"]
    last_value = raw_points(client)[-1]["v"]
    assert opened["datapoints"][-1] == {
        "t": {"a": "2015-11-20T11:00:00Z"}, "v": {"m": float(last_value), "c": 1}, "open": True,
    }  # fmt: skip
    assert opened["query_params"]["open_bucket"] is True
    # Never stored: a plain request still has 60 closed buckets.
    assert detail(client, {"g": "m", "v": "m"})["meta"]["total_count"] == 60

    columns = detail(client, {"g": "m", "v": "m", "t": "m", "ob": "1", "sh": "columns",
                              "tf": "epoch_ms"})  # fmt: skip
    assert columns["open_from"] == S_END * 1000
    assert columns["meta"]["downsampled_until"] == S_END * 1000
    assert len(columns["datapoints"]["t"]["m"]) == 61
    assert columns["datapoints"]["t"]["m"][-1] >= columns["open_from"]
    assert columns["datapoints"]["t"]["m"][-2] < columns["open_from"]


def test_the_open_bucket_respects_the_range_pages_and_order(client):
    before = detail(client, {"g": "m", "v": "m", "ob": 1, "e": S_END - 1})
    assert not any(p.get("open") for p in before["datapoints"])
    first_page = detail(client, {"g": "m", "v": "m", "ob": 1, "l": 10})
    assert not any(p.get("open") for p in first_page["datapoints"])
    reverse = detail(client, {"g": "m", "v": "m", "ob": 1, "r": 1, "l": 5})
    assert reverse["datapoints"][0]["open"] is True and len(reverse["datapoints"]) == 6
    raw = detail(client, {"ob": 1, "l": 1000})
    assert len(raw["datapoints"]) == POINTS and "open" not in raw["datapoints"][-1]
    assert error(client, {"ob": "maybe"}) == (
        "Invalid boolean: 'maybe' in parameter 'ob'. Use one of 1, true, t, yes, y for "
        "true, or 0, false, f, no, n for false."
    )
