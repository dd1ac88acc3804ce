"""HTTP methods and CORS: read-only, OPTIONS answered, HEAD like GET, CORS everywhere."""

from __future__ import annotations

import pytest
from django.test import override_settings
from plugins.django_api import LIST_URI

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Max-Age": "3600",
}


def uris(api):
    return [
        "/api/v1/",
        LIST_URI,
        f"{LIST_URI}schema/",
        api.detail_uri(api.ids[0]),
        f"{LIST_URI}set/{api.ids[0]};{api.ids[1]}/",
    ]


def assert_cors(response):
    for name, value in CORS.items():
        assert response[name] == value, name


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_are_405(api, method):
    for uri in uris(api):
        response = getattr(api.client, method)(uri, data=b"{}", content_type="application/json")
        assert response.status_code == 405, uri
        assert response["Allow"] == "GET, HEAD, OPTIONS"
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "error": f"Method '{method.upper()}' not allowed. Allowed methods: GET, HEAD, OPTIONS."
        }
        assert_cors(response)


def test_other_methods_are_405(api):
    for method in ("TRACE", "PROPFIND", "FOO"):
        response = api.client.generic(method, LIST_URI)
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD, OPTIONS"
        assert_cors(response)


def test_method_override_header_is_ignored(api):
    response = api.client.get(LIST_URI, HTTP_X_HTTP_METHOD_OVERRIDE="DELETE")
    assert response.status_code == 200
    response = api.client.post(LIST_URI, HTTP_X_HTTP_METHOD_OVERRIDE="GET")
    assert response.status_code == 405


def test_options(api):
    for uri in [*uris(api), f"{LIST_URI}not-a-stream/"]:
        response = api.client.options(uri, HTTP_ORIGIN="https://example.com")
        assert response.status_code == 200, uri
        assert response["Allow"] == "GET, HEAD, OPTIONS"
        assert response.content == b"GET, HEAD, OPTIONS"
        assert_cors(response)


def test_head_is_get_without_a_body(api):
    for uri in uris(api):
        get = api.client.get(uri)
        head = api.client.head(uri)
        assert head.status_code == get.status_code == 200
        assert head.content == b""
        assert head["Content-Type"] == get["Content-Type"]
        assert head["Content-Length"] == str(len(get.content))
        assert_cors(head)
    head = api.client.head(f"{LIST_URI}?limit=x")
    assert head.status_code == 400 and head.content == b""


def test_cors_on_success_and_errors(api):
    responses = [
        api.get(LIST_URI),
        api.get(LIST_URI, {"format": "xml"}),
        api.get(api.detail_uri(api.ids[0]), {"format": "csv"}),
        api.get(LIST_URI, {"callback": "cb"}),
        api.get(api.detail_uri(api.ids[0]), {"g": "x"}),
        api.get(f"{LIST_URI}not-a-stream/"),
        api.get(LIST_URI, {"format": "nope"}),
        api.get(f"{LIST_URI}schema/", {"format": "csv"}),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 400, 404, 400, 406]
    for response in responses:
        assert_cors(response)
        assert response["X-Content-Type-Options"] == "nosniff"


def test_cors_allowed_origins_setting(api):
    allowed = ["https://a.example", "http://localhost:8000"]
    with override_settings(DATASTREAM_CORS_ALLOWED_ORIGINS=allowed):
        response = api.get(LIST_URI, HTTP_ORIGIN="https://a.example")
        assert response["Access-Control-Allow-Origin"] == "https://a.example"
        assert response["Vary"] == "Accept, Origin"
        response = api.get(api.detail_uri("x"), HTTP_ORIGIN="http://localhost:8000")
        assert response.status_code == 404
        assert response["Access-Control-Allow-Origin"] == "http://localhost:8000"
        response = api.get(LIST_URI, HTTP_ORIGIN="https://evil.example")
        assert "Access-Control-Allow-Origin" not in response
        assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
        response = api.client.post(LIST_URI, HTTP_ORIGIN="https://a.example")
        assert response.status_code == 405
        assert response["Access-Control-Allow-Origin"] == "https://a.example"
    assert (
        api.get(LIST_URI, HTTP_ORIGIN="https://evil.example")["Access-Control-Allow-Origin"] == "*"
    )
