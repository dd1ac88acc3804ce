"""Errors are JSON ``{"error": ...}`` with a 4xx status, whatever the request; never a 500."""

from __future__ import annotations

import urllib.parse

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plugins.django_api import LIST_URI

from django_datastream.http import responses

# Hypothesis' failure report imports mypy_extensions, which warns; keep failures readable.
pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
)

NAMES = [
    "granularity", "g", "start", "s", "end", "e", "start_exclusive", "sx", "end_exclusive", "ex",
    "reverse", "r", "value_downsamplers", "v", "time_downsamplers", "t", "limit", "l",
    "offset", "o", "format", "callback", "tags", "tags__", "tags__title", "tags__title__in",
    "tags__stream_number__gte", "tags__visualization__value_downsamplers__all",
    "tags__a__size", "tags__a__exists", "tags__x__y__z__nin", "tags____", "id", "stream_id",
]  # fmt: skip
VALUES = [
    "", "0", "1", "-1", "5", "10000", "99999999999999999999999999", "-62135596801", "1.5",
    "-62135596800", "253402300799", "1448013600", "1448017200", "H", "h", "M", "10minutes",
    "nan", "inf", "-inf", "1e308", "true", "null", "None", "s", "S", "m", "d", "seconds",
    "mean", "m,l", "first,z", "a,,z", ",", "json", "jsonp", "xml", "csv", "cb", "a.b",
    "\x00", "😀", "<script>", "' OR 1=1 --", "%", "ż", "9" * 5000,
]  # fmt: skip
settings_ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.text(max_size=30)
pairs = st.lists(
    st.tuples(st.sampled_from(NAMES) | text, st.sampled_from(VALUES) | text), max_size=6
)


def check(response, resource: bool = True) -> None:
    assert response.status_code < 500, response.content[:500]
    if resource and response.status_code >= 400:
        assert response["Content-Type"] == "application/json"
        body = orjson.loads(response.content)
        assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    if resource:
        assert response["Access-Control-Allow-Origin"] == "*"


@settings_
@given(params=pairs)
def test_fuzz_list_queries(api, params):
    check(api.get(LIST_URI, params))


@settings_
@given(params=pairs, number=st.integers(0, 4))
def test_fuzz_detail_queries(api, params, number):
    check(api.get(api.detail_uri(api.ids[number]), params))


@settings_
@given(query=st.text(max_size=60))
def test_fuzz_raw_query_strings(api, query):
    encoded = urllib.parse.quote(query, safe="=&;,+%")
    check(api.get(LIST_URI, encoded))
    check(api.get(api.detail_uri(api.ids[0]), encoded))


@settings_
@given(segment=st.text(max_size=60), params=pairs)
def test_fuzz_paths(api, segment, params):
    path = urllib.parse.quote(segment, safe="/;")
    check(api.get(f"{LIST_URI}{path}/", params))
    check(api.get(f"{LIST_URI}set/{path}/", params))
    check(api.get(f"{LIST_URI}{path}", params), resource=False)


@pytest.mark.parametrize("granularity", ["s", "S", "m", "M", "h", "H", "d"])
@pytest.mark.parametrize("edge", ["-62135596800", "253402300799", "0"])
def test_extreme_time_bounds(api, granularity, edge):
    uri = api.detail_uri(api.ids[0])
    for name in ("s", "sx", "e", "ex"):
        for reverse in ("0", "1"):
            body = api.json(uri, {"g": granularity, name: edge, "r": reverse, "l": 3})
            assert body["meta"]["total_count"] >= len(body["datapoints"])


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("limit=x", 400),
        ("offset=-1", 400),
        ("tags=x", 400),
        ("format=nope", 400),
        ("callback=1x", 400),
    ],
)
def test_list_errors(api, query, status):
    message = api.error(LIST_URI, query, status=status)
    assert query.split("=")[1] in message


def test_bad_accept_header_is_400(api):
    message = api.error(LIST_URI, HTTP_ACCEPT="text")
    assert message.startswith("Invalid Accept header")


def test_unconfigured_datastream_is_503(api):
    from django.test import override_settings

    with override_settings(DATASTREAM_BACKEND=None):
        assert "not configured" in api.error(LIST_URI, status=503)


def test_unexpected_errors_are_json_500(api, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("django_datastream.resources.StreamResource.get_list", broken)
    api.client.raise_request_exception = False
    response = api.get(LIST_URI)
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error."}
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "boom" in caplog.text


def test_backend_unavailable_is_503(api, monkeypatch):
    from datastream import exceptions

    def unavailable(*args, **kwargs):
        raise exceptions.BackendUnavailable("down")

    monkeypatch.setattr("django_datastream.resources.StreamResource.get_list", unavailable)
    assert api.error(LIST_URI, status=503) == "The datastream backend is unavailable."


def test_error_response_shape():
    response = responses.error_response("bad 'x'", 400)
    assert response.status_code == 400
    assert orjson.loads(response.content) == {"error": "bad 'x'"}
