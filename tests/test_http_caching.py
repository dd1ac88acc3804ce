"""HTTP caching: entity tags, conditional requests and Cache-Control."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from helpers import G, at

from django_datastream.caching import (
    NO_CACHE,
    apply_cache_headers,
    cache_control,
    closed_range,
    make_etag,
    not_modified,
)

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
