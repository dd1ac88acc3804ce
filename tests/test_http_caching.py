"""HTTP caching: entity tags, conditional requests and Cache-Control."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory, override_settings
from helpers import G, at, seconds

from django_datastream.detail.validators import cache_control, closed_range
from django_datastream.http.caching import NO_CACHE, apply_cache_headers, make_etag, not_modified

T0 = at(2021, 1, 1)

# Helpers --------------------------------------------------------------------------------------


def test_an_etag_is_a_quoted_digest_of_everything_given():
    etag = make_etag({"a": 1, "b": [1, 2]}, G.Minutes, at(2020, 1, 1))
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 34
    assert make_etag({"b": [1, 2], "a": 1}, G.Minutes, at(2020, 1, 1)) == etag
    assert make_etag({"a": 1, "b": [2, 1]}, G.Minutes, at(2020, 1, 1)) != etag
    assert make_etag({"a": 1, "b": [1, 2]}, G.Hours, at(2020, 1, 1)) != etag
    assert make_etag({"a": 1, "b": [1, 2]}, G.Minutes, at(2020, 1, 2)) != etag
    assert make_etag(2**70) != make_etag(2**70 + 1)  # beyond 64 bits too


UNTIL = {"minutes": at(2020, 1, 1, 1), "hours": None}


@pytest.mark.parametrize(
    ("granularity", "end", "end_exclusive", "closed"),
    [
        (G.Minutes, at(2020, 1, 1, 0, 59), None, True),  # the bucket 00:59 ends at 01:00
        (G.Minutes, at(2020, 1, 1, 0, 59, 59), None, True),
        (G.Minutes, at(2020, 1, 1, 1), None, False),  # the bucket 01:00 is open
        (G.Minutes, None, at(2020, 1, 1, 1), True),
        (G.Minutes, None, at(2020, 1, 1, 1, 0, 1), False),
        (G.Minutes, None, None, False),  # open-ended
        (G.Hours, at(2019, 1, 1), None, False),  # never downsampled
        (G.Seconds, at(2019, 1, 1), None, False),  # raw data is never closed
    ],
)
def test_a_range_is_closed_when_its_last_bucket_ends_by_downsampled_until(
    granularity, end, end_exclusive, closed
):
    assert closed_range(granularity, G.Seconds, end, end_exclusive, UNTIL) is closed


def test_cache_control():
    assert cache_control(True, 3600) == "public, max-age=3600"
    assert cache_control(False, 3600) == NO_CACHE == "no-cache"
    assert cache_control(True, 0) == NO_CACHE


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, None),
        ({"HTTP_IF_NONE_MATCH": '"abc"'}, 304),
        ({"HTTP_IF_NONE_MATCH": 'W/"abc"'}, 304),  # weak comparison (gzip makes tags weak)
        ({"HTTP_IF_NONE_MATCH": '"x", "abc"'}, 304),
        ({"HTTP_IF_NONE_MATCH": "*"}, 304),
        ({"HTTP_IF_NONE_MATCH": '"other"'}, None),
        ({"HTTP_IF_NONE_MATCH": "garbage"}, None),
        ({"HTTP_IF_MATCH": '"other"'}, 412),
        ({"HTTP_IF_MATCH": '"abc"'}, None),
    ],
)
def test_conditional_requests_follow_rfc_9110(headers, status):
    request = RequestFactory().get("/", **headers)
    response = not_modified(request, '"abc"', "no-cache")
    if status is None:
        assert response is None
    else:
        assert response.status_code == status
    if status == 304:
        assert response.content == b""
        assert response["ETag"] == '"abc"'
        assert response["Cache-Control"] == "no-cache"
        assert response["Vary"] == "Accept"


def test_cache_headers_are_set_and_vary_is_merged():
    from django.http import HttpResponse

    response = HttpResponse()
    response["Vary"] = "Origin"
    apply_cache_headers(response, '"abc"', "public, max-age=5")
    assert response["ETag"] == '"abc"'
    assert response["Cache-Control"] == "public, max-age=5"
    assert response["Vary"] == "Origin, Accept"


# Over HTTP ------------------------------------------------------------------------------------

BACKEND_APIS = ["api", "mongodb_api"]


@pytest.fixture(params=BACKEND_APIS)
def any_api(request):
    """The HTTP fixture on SQLite and on MongoDB."""
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize(
    "params",
    [{}, {"g": "m", "v": "m,l"}, {"format": "csv", "l": 5}, {"format": "ndjson", "l": 5}],
)
def test_a_detail_round_trip_ends_in_304(any_api, params):
    uri = any_api.detail_uri(any_api.ids[0])
    first = any_api.get(uri, params)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"') and "Accept" in first["Vary"]
    again = any_api.get(uri, params, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag and again["Cache-Control"] == first["Cache-Control"]
    assert again["Access-Control-Allow-Origin"] == "*"
    other = any_api.get(uri, params, HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200


def test_a_list_round_trip_ends_in_304(any_api):
    uri = "/api/v1/stream/"
    first = any_api.get(uri, {"l": 2})
    etag = first["ETag"]
    assert any_api.get(uri, {"l": 2}, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert any_api.get(uri, {"l": 3}, HTTP_IF_NONE_MATCH=etag).status_code == 200
    assert first["Cache-Control"] == "no-cache"


def test_every_part_of_the_query_and_the_format_is_in_the_etag(api):
    uri = api.detail_uri(api.ids[0])
    variants = [
        {}, {"l": 5}, {"o": 1}, {"g": "S"}, {"r": "1"}, {"s": "1448013605"},
        {"g": "S", "v": "m"}, {"g": "S", "t": "a"}, {"format": "xml"}, {"format": "csv"},
        {"callback": "f"},
    ]  # fmt: skip
    etags = {api.get(uri, params)["ETag"] for params in variants}
    assert len(etags) == len(variants)
    # Equivalent spellings of one query share their tag.
    assert api.get(uri, {"g": "S"})["ETag"] == api.get(uri, {"granularity": "10seconds"})["ETag"]
    assert (
        api.get(uri, {"s": "1448013600"})["ETag"]
        == api.get(uri, {"start": "2015-11-20T10:00:00Z"})["ETag"]
    )
    json_by_accept = api.get(uri, HTTP_ACCEPT="application/xml")["ETag"]
    assert json_by_accept == api.get(uri, {"format": "xml"})["ETag"]


@pytest.fixture
def fresh_api(served_datastream):
    """An API over an empty datastream of its own (its data is changed by the test)."""
    return Client(), served_datastream


def test_every_change_of_the_answer_changes_the_etag(fresh_api):
    client, core = fresh_api
    sid = core.ensure_stream({"n": 1}, {}, ["mean", "count"], G.Seconds)
    uri = f"/api/v1/stream/{sid}/"
    core.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)} for i in range(100)]
    )

    def state(params=None):
        response = client.get(uri, params or {"l": 1000})
        assert response.status_code == 200
        return response["ETag"], response.content

    seen = {}

    def changed(params=None):
        etag, content = state(params)
        assert etag not in seen or seen[etag] == content, "one tag, two answers"
        seen[etag] = content
        return etag

    before = changed()
    core.append(sid, 1000, T0 + seconds(99))  # the same second as the latest
    after_same_second = changed()
    assert after_same_second != before
    core.append(sid, 1001, T0 + seconds(50), check_timestamp=False)  # out of order
    out_of_order = changed()
    assert out_of_order != after_same_second
    core.update_tags(sid, {"title": "renamed"})
    assert changed() != out_of_order
    # Downsampled answers: closing buckets changes them, so their tags.
    minutes = {"g": "S", "e": "2021-01-01T00:00:50Z"}
    open_tag = changed(minutes)
    core.downsample_streams(until=T0 + seconds(100))
    closed_tag = changed(minutes)
    assert closed_tag != open_tag
    # An out-of-order append into a closed bucket re-opens it: a new tag.
    core.append(sid, 5000, T0 + seconds(15), check_timestamp=False)
    assert changed(minutes) != closed_tag


def test_closed_ranges_are_cacheable_for_the_configured_time(fresh_api):
    client, core = fresh_api
    sid = core.ensure_stream({"n": 2}, {}, ["mean"], G.Seconds)
    core.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)} for i in range(120)]
    )
    core.downsample_streams(until=T0 + seconds(120))
    uri = f"/api/v1/stream/{sid}/"
    closed = {"g": "S", "s": "2021-01-01T00:00:00Z", "e": "2021-01-01T00:01:00Z"}
    assert client.get(uri, closed)["Cache-Control"] == "public, max-age=3600"
    with override_settings(DATASTREAM_CLOSED_MAX_AGE=60):
        assert client.get(uri, closed)["Cache-Control"] == "public, max-age=60"
    for params in (
        {"g": "S"},  # open-ended
        {"g": "S", "e": "2021-01-01T00:10:00Z"},  # past downsampled_until
        {"s": "2021-01-01T00:00:00Z", "e": "2021-01-01T00:01:00Z"},  # raw
    ):
        assert client.get(uri, params)["Cache-Control"] == "no-cache", params
