"""The API over a real socket: Django's live server on a loopback port, urllib as client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.test import override_settings
from plugins.django_api import LIST_URI


@pytest.fixture
def live_api(live_server, api_data):
    """The live server serving ``api_data`` (a file database: safe across threads)."""
    with override_settings(**api_data.backend_settings):
        yield live_server.url, api_data


def fetch(url: str, method: str = "GET", headers: dict | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def test_list_detail_cors_and_errors_over_http(live_api):
    base, data = live_api
    assert base.startswith("http://localhost:") or base.startswith("http://127.0.0.1:")

    status, headers, body = fetch(f"{base}{LIST_URI}?limit=0", headers={"Origin": "http://x"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Content-Type"] == "application/json"
    listing = json.loads(body)
    assert [s["id"] for s in listing["objects"]] == data.ids
    assert listing["meta"]["total_count"] == 5

    detail = f"{base}{LIST_URI}{data.ids[0]}/"
    status, headers, body = fetch(f"{detail}?g=S&v=m,l&t=a&l=3&o=1")
    assert status == 200
    stream = json.loads(body)
    assert stream["query_params"]["value_downsamplers"] == ["mean", "min"]
    assert len(stream["datapoints"]) == 3
    assert stream["datapoints"][0]["t"] == {"a": "2015-11-20T10:00:10Z"}
    assert headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"

    status, headers, body = fetch(f"{detail}?g=nope")
    assert status == 400
    assert json.loads(body) == {
        "error": "Invalid granularity: 'nope' in parameter 'g'. Use one of seconds (s), "
        "10seconds (S), minutes (m), 10minutes (M), hours (h), 6hours (H), days (d)."
    }
    assert headers["Access-Control-Allow-Origin"] == "*"

    status, headers, body = fetch(f"{base}{LIST_URI}no-such-stream/")
    assert status == 404 and json.loads(body)["error"] == "Stream 'no-such-stream' not found."

    status, headers, body = fetch(f"{base}{LIST_URI}", method="DELETE")
    assert status == 405 and headers["Allow"] == "GET, HEAD, OPTIONS"
    assert headers["Access-Control-Allow-Origin"] == "*"

    status, headers, body = fetch(f"{detail}?limit=2", method="HEAD")
    assert status == 200 and body == b""
    status, headers, body = fetch(
        detail, method="OPTIONS", headers={"Access-Control-Request-Method": "GET"}
    )
    assert status == 200 and headers["Access-Control-Max-Age"] == "3600"


def test_errors_over_http_carry_the_api_headers(live_api):
    base, data = live_api
    deep = "tags__" + "__".join(["a"] * 1000)
    many = "&".join(f"x{number}=1" for number in range(1001))
    cases = [
        (f"{LIST_URI}?{deep}=1", 400),
        (f"{LIST_URI}?{many}", 400),
        (f"{LIST_URI}?tags__title__contains={'a' * 1001}", 400),
        (f"{LIST_URI}schema/?format=csv", 406),
        ("/api/", 404),
        ("/api/v2/stream/", 404),
        ("/api/v1//stream/", 404),
    ]
    for path, expected in cases:
        status, headers, body = fetch(f"{base}{path}")
        assert status == expected, path
        assert headers["Content-Type"] == "application/json", path
        assert headers["Access-Control-Allow-Origin"] == "*", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert list(json.loads(body)) == ["error"], path
