"""Edges of the HTTP layer: unknown URLs, oversized and deeply nested queries, unusable
backends, the 406 message, the schema, and the shape of the code (tastypie's own dispatch,
a Django-free query parser)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from plugins.django_api import LIST_URI

from datastream.limits import MAX_NESTING_DEPTH, MAX_TEXT_PATTERN_LENGTH
from django_datastream.resources import StreamResource

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Max-Age": "3600",
    "X-Content-Type-Options": "nosniff",
}


@pytest.fixture(params=["sqlite", "mongodb"])
def any_api(request):
    """The API on each backend."""
    return request.getfixturevalue("api" if request.param == "sqlite" else "mongodb_api")


def assert_json_error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    for name, value in HEADERS.items():
        assert response[name] == value, name
    body = response.json()
    assert list(body) == ["error"] and body["error"]
    return body["error"]


# Unknown URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/", "/api/v2/stream/", "/api/v1//stream/", "/api/v1/nope/", "/api/x/y/z/"]
)
def test_unknown_urls_under_the_api_prefix_are_json_404(api, path):
    message = assert_json_error(api.client.get(path), 404)
    assert message == f"No API endpoint at {path!r}."
    assert_json_error(api.client.post(path), 404)
    head = api.client.head(path)
    assert head.status_code == 404 and head.content == b""
    assert head["X-Content-Type-Options"] == "nosniff"


def test_missing_trailing_slash_redirects_to_the_endpoint(api):
    response = api.client.get("/api/v1/stream?limit=1")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/stream/?limit=1"
    assert api.client.get("/api/v1").status_code == 301
    message = assert_json_error(api.client.get("/api/v2/stream"), 404)
    assert message == "No API endpoint at '/api/v2/stream'. API URLs end with a slash."


def test_404_outside_the_api_is_djangos(api):
    response = api.client.get("/static/no-such-file.js")
    assert response.status_code == 404
    assert "Access-Control-Allow-Origin" not in response


# Every error answer carries the API's headers --------------------------------------------------


@pytest.mark.parametrize(
    ("where", "query", "extra"),
    [
        ("list", "limit=x", {}),
        ("list", "offset=-1", {}),
        ("list", "tags=x", {}),
        ("list", "tags__a__size=x", {}),
        ("list", "format=nope", {}),
        ("list", "callback=1x", {}),
        ("list", "", {"HTTP_ACCEPT": "text"}),
        ("top", "format=nope", {}),
        ("top", "callback=new", {}),
        ("schema", "format=yaml", {}),
        ("detail", "g=nope", {}),
        ("detail", "s=1.5", {}),
        ("detail", "v=m,foo", {}),
        ("detail", "g=s&granularity=m", {}),
        ("detail", "s=1&sx=1", {}),
        ("detail", "limit=-1", {}),
        ("set", "format=nope", {}),
    ],
)
@pytest.mark.parametrize("method", ["get", "head"])
def test_every_400_has_the_cors_and_nosniff_headers(api, where, query, extra, method):
    uri = {
        "list": LIST_URI,
        "top": "/api/v1/",
        "schema": f"{LIST_URI}schema/",
        "detail": api.detail_uri(api.ids[0]),
        "set": f"{LIST_URI}set/{api.ids[0]}/",
    }[where]
    response = getattr(api.client, method)(f"{uri}?{query}", **extra)
    if method == "get":
        assert_json_error(response, 400)
    else:
        assert response.status_code == 400 and response.content == b""
        for name, value in HEADERS.items():
            assert response[name] == value, name


def test_too_many_set_ids_is_400_with_the_headers(api):
    with override_settings(DATASTREAM_API_LIST_MAX_LIMIT=2):
        response = api.client.get(f"{LIST_URI}set/{';'.join(api.ids[:3])}/")
    assert assert_json_error(response, 400).startswith("Too many stream ids: 3")


# Oversized and deep queries ----------------------------------------------------------------------


def uris(api):
    return [
        "/api/v1/",
        LIST_URI,
        f"{LIST_URI}schema/",
        api.detail_uri(api.ids[0]),
        f"{LIST_URI}set/{api.ids[0]}/",
    ]


def test_more_query_parameters_than_django_accepts_is_400(api):
    query = "&".join(f"x{number}=1" for number in range(1001))
    for uri in uris(api):
        message = assert_json_error(api.client.get(f"{uri}?{query}"), 400)
        assert message == "Too many query parameters: at most 1000 are accepted."
    assert api.client.get(f"{LIST_URI}?{query.rsplit('&', 2)[0]}").status_code == 200


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 1000, 5000])
def test_tag_filters_nested_too_deep_are_400_naming_the_limit(any_api, depth):
    name = "tags__" + "__".join(["a"] * depth)
    message = assert_json_error(any_api.get(LIST_URI, f"{name}=1"), 400)
    assert message.endswith(
        f"is nested {depth} levels deep; at most {MAX_NESTING_DEPTH} levels (tag names and an "
        "operator) are allowed."
    )


def test_tag_filters_at_the_depth_limit_work(any_api):
    deepest = "tags__" + "__".join(["a"] * MAX_NESTING_DEPTH)
    assert any_api.json(LIST_URI, f"{deepest}=1")["meta"]["total_count"] == 0
    with_operator = "tags__" + "__".join(["a"] * (MAX_NESTING_DEPTH - 1)) + "__gte"
    assert any_api.json(LIST_URI, f"{with_operator}=1")["meta"]["total_count"] == 0


@pytest.mark.parametrize(
    "pattern",
    ["a" * 1001, ".*" * 501, "(" * (MAX_TEXT_PATTERN_LENGTH + 1)],
    ids=["long", "regex-special", "parentheses"],
)
@pytest.mark.parametrize("operator", ["contains", "icontains", "iexact", "startswith"])
def test_text_patterns_beyond_the_library_limit_are_400(any_api, operator, pattern):
    response = any_api.get(LIST_URI, {f"tags__title__{operator}": pattern})
    message = assert_json_error(response, 400)
    assert str(MAX_TEXT_PATTERN_LENGTH) in message


def test_text_patterns_at_the_limit_work(any_api):
    for pattern in ("a" * MAX_TEXT_PATTERN_LENGTH, ".*(" * (MAX_TEXT_PATTERN_LENGTH // 3)):
        body = any_api.json(LIST_URI, {"tags__title__icontains": pattern})
        assert body["meta"]["total_count"] == 0
    body = any_api.json(LIST_URI, {"tags__title__icontains": "stream 1"})
    assert [s["id"] for s in body["objects"]] == [any_api.ids[1]]


# Backends ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file-as-directory", "directory", "missing-parent-in-proc"])
def test_unusable_sqlite_path_is_503(tmp_path, kind, client):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    path = {
        "file-as-directory": blocker / "datastream.sqlite3",
        "directory": tmp_path,
        "missing-parent-in-proc": Path("/proc/no-such-directory/datastream.sqlite3"),
    }[kind]
    settings = {"database_name": str(path)}
    with override_settings(
        DATASTREAM_BACKEND="datastream.backends.sqlite.Backend",
        DATASTREAM_BACKEND_SETTINGS=settings,
    ):
        for uri in (LIST_URI, f"{LIST_URI}x/", f"{LIST_URI}set/x/"):
            message = assert_json_error(client.get(uri), 503)
            assert message == "The datastream backend is unavailable."


def test_misconfigured_backend_is_503(client, caplog):
    with override_settings(
        DATASTREAM_BACKEND="datastream.backends.sqlite.Backend",
        DATASTREAM_BACKEND_SETTINGS={"no_such_argument": 1},
    ):
        message = assert_json_error(client.get(LIST_URI), 503)
    assert message.startswith("Datastream is misconfigured: Cannot construct datastream backend")
    assert "no_such_argument" in message
    assert "Cannot construct datastream backend" in caplog.text


# Formats and schema ----------------------------------------------------------------------------


def test_csv_of_the_schema_is_406_with_a_clear_message(api):
    message = assert_json_error(api.get(f"{LIST_URI}schema/", {"format": "csv"}), 406)
    assert message == (
        "The CSV format is not available for this URL: only the stream list and a stream's "
        "datapoints are written as CSV. Use one of json, jsonp, xml here."
    )
    with override_settings(DATASTREAM_API_FORMATS=["csv", "xml"]):
        message = assert_json_error(api.get("/api/v1/", {"format": "csv"}), 406)
    assert message.endswith("Use one of xml here.")


def test_schema_declares_value_type_unique_as_the_original(api):
    fields = api.json(f"{LIST_URI}schema/")["fields"]
    assert fields["value_type"]["unique"] is True
    assert fields["id"]["unique"] is True
    assert not fields["tags"]["unique"]


# The shape of the code -----------------------------------------------------------------------


def test_the_resource_uses_tastypies_list_view_and_hooks():
    own = set(vars(StreamResource))
    for name in ("dispatch", "dispatch_list", "dispatch_detail", "get_list", "get_schema",
                 "is_authenticated", "base_urls", "serialize", "throttle_check",
                 "log_throttled_access", "method_check", "unauthorized_result",
                 "full_dehydrate", "get_detail"):  # fmt: skip
        assert name not in own, name


def test_query_parsing_imports_no_django():
    code = (
        "import sys, django_datastream.params.parse\n"
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_docs_state_one_rule_for_500():
    text = (ROOT / "docs" / "http_api.rst").read_text()
    assert "No request makes the API answer 500" not in text
    assert "never makes the API answer 500" in text
    assert 'A 500 ``{"error": "Internal server error."}`` means\na bug' in text


def test_datetime_styles_apply_to_datapoints_too(api):
    # The library keeps whole seconds (the mean time of 10:00:00 and 10:00:05 included).
    uri = api.detail_uri(api.ids[0])
    expected = {
        "iso-8601": "2015-11-20T10:00:02Z",
        "iso-8601-strict": "2015-11-20T10:00:02Z",
        "rfc-2822": "Fri, 20 Nov 2015 10:00:02 +0000",
    }
    for style, text in expected.items():
        with override_settings(TASTYPIE_DATETIME_FORMATTING=style):
            for params in ({"g": "S", "t": "m", "v": "c", "l": 1}, {"g": "S", "t": "m", "l": 1}):
                body = api.json(uri, params)
                assert body["datapoints"][0]["t"] == {"m": text}, (style, params)


def test_no_caching_headers_by_default(api):
    # The list and a stream's datapoints carry the API's own (see test_http_caching.py).
    revalidated = {LIST_URI, api.detail_uri(api.ids[0]), f"{LIST_URI}set/{api.ids[0]}/"}
    for uri in uris(api):
        response = api.client.get(uri)
        assert response.status_code == 200, uri
        if uri in revalidated:
            assert response["Cache-Control"] == "no-cache" and "ETag" in response, uri
        else:
            assert "Cache-Control" not in response, uri
        assert response["Vary"] == "Accept", uri
