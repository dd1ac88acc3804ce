"""Access control declared on a ``StreamResource`` subclass, as tastypie documents it.

The project of ``tests/private_api_urls.py`` (the recipe of ``docs/access_control.rst``)
registers, on its own ``Api``, a subclass with ``ApiKeyAuthentication``, an authorization
restricting each user to the streams whose ``owner`` tag is their user name, and a
``CacheThrottle``. Everything runs through the Django test client and through real HTTP, on
SQLite and on MongoDB.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import orjson
import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from plugins.django_api import OWNERS, create_users
from private_api_urls import THROTTLE_AT

pytestmark = pytest.mark.urls("private_api_urls")

PRIVATE = "/api/private/stream/"
PLAIN = "/api/private/plainstream/"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "X-Content-Type-Options": "nosniff",
}


@pytest.fixture(params=["sqlite", "mongodb"])
def owned(request: pytest.FixtureRequest) -> Any:
    """The ``owner``-tagged streams on each backend, served by the API."""
    data = request.getfixturevalue(
        "owned_data" if request.param == "sqlite" else "mongodb_owned_data"
    )
    with override_settings(**data.backend_settings):
        yield data


@pytest.fixture(autouse=True)
def fresh_throttle() -> Any:
    cache.clear()
    yield
    cache.clear()


def owned_by(data: Any, owner: str | None) -> list[str]:
    return [stream_id for stream_id, who in zip(data.ids, OWNERS) if who == owner]


class Api:
    """The test client with an ``Authorization`` header."""

    def __init__(self, authorization: str | None = None) -> None:
        self.client = Client()
        self.extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    def get(self, uri: str, **extra: Any) -> Any:
        return self.client.get(uri, **self.extra, **extra)

    def json(self, uri: str, status: int = 200) -> Any:
        response = self.get(uri)
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/json"
        for name, value in CORS.items():
            assert response[name] == value, name
        return orjson.loads(response.content)


# Authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", [PRIVATE, f"{PRIVATE}schema/", f"{PRIVATE}set/x;y/", PLAIN])
def test_no_or_wrong_credentials_are_401_with_a_json_error(owned, keys, uri):
    for authorization in (None, "ApiKey alice:wrong", "ApiKey nobody:x", "Basic abc"):
        body = Api(authorization).json(uri, status=401)
        assert body == {"error": "Authentication required: this API needs valid credentials."}


def test_detail_without_credentials_is_401_before_anything_else(owned, keys):
    api = Api()
    assert api.json(f"{PRIVATE}{owned.ids[0]}/", status=401)
    assert api.json(f"{PRIVATE}no-such-stream/?g=nope", status=401)


def test_key_in_query_parameters_works_too(owned, keys):
    body = Api().json(f"{PRIVATE}?username=bob&api_key=bob-key")
    assert [s["id"] for s in body["objects"]] == owned_by(owned, "bob")


def test_options_preflight_needs_no_credentials(owned, keys):
    response = Api().client.options(PRIVATE, HTTP_ORIGIN="https://example.com")
    assert response.status_code == 200
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_the_apps_own_api_stays_open(owned, keys):
    body = Api().json("/api/v1/stream/?limit=0")
    assert [s["id"] for s in body["objects"]] == owned.ids
    assert Api().json("/api/v1/stream/schema/")["allowed_list_http_methods"] == ["get"]


# Authorization: lists filtered before paging -----------------------------------------------------


@pytest.mark.parametrize("uri", [PRIVATE, PLAIN])
def test_list_has_only_the_users_streams_with_right_total_and_links(owned, keys, uri):
    api = Api(keys["alice"])
    alices = owned_by(owned, "alice")
    first = api.json(uri)
    assert [s["id"] for s in first["objects"]] == alices[:2]  # Meta.limit = 2
    assert first["meta"]["total_count"] == 3
    assert first["meta"]["next"] == f"{uri}?limit=2&offset=2"
    assert first["meta"]["previous"] is None
    second = api.json(first["meta"]["next"])
    assert [s["id"] for s in second["objects"]] == alices[2:]
    assert second["meta"]["next"] is None
    assert second["meta"]["previous"] == f"{uri}?limit=2&offset=0"
    assert all(s["resource_uri"] == f"{uri}{s['id']}/" for s in first["objects"])
    assert all(s["tags"]["owner"] == "alice" for s in first["objects"] + second["objects"])


def test_max_limit_of_the_subclass(owned, keys):
    body = Api(keys["alice"]).json(f"{PRIVATE}?limit=100")
    assert body["meta"]["limit"] == 3  # Meta.max_limit
    assert len(body["objects"]) == 3


def test_a_user_without_streams_sees_none(owned, keys):
    body = Api(keys["carol"]).json(PRIVATE)
    assert body["objects"] == [] and body["meta"]["total_count"] == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tags__title=Owned%201", [1]),
        ("tags__title=Owned%202", []),
        ("tags__owner=alice", [0, 1, 4]),
        ("tags__owner=bob", []),
        ("tags__owner__in=alice,bob", [0, 1, 4]),
        ("tags__owner__ne=alice", []),
        ("tags__owner__exists=false", []),
        ("tags__owner__exact=bob", []),
        ("tags__owner__startswith=b", []),
        ("tags__owner__startswith=a", [0, 1, 4]),
    ],
)
def test_request_filters_combine_with_the_restriction(owned, keys, query, expected):
    body = Api(keys["alice"]).json(f"{PRIVATE}?limit=3&{query}")
    assert [s["id"] for s in body["objects"]] == [owned.ids[n] for n in expected]
    assert body["meta"]["total_count"] == len(expected)


def test_set_lists_other_users_streams_as_not_found(owned, keys):
    ids = owned.ids
    api = Api(keys["alice"])
    body = api.json(f"{PLAIN}set/{ids[0]};{ids[2]};{ids[3]};nope;{ids[4]}/")
    assert [s["id"] for s in body["objects"]] == [ids[0], ids[4]]
    assert body["not_found"] == [ids[2], ids[3], "nope"]
    body = api.json(f"{PRIVATE}set/{ids[4]};{ids[5]};{ids[1]}/")
    assert [s["id"] for s in body["objects"]] == [ids[4], ids[1]]
    assert body["not_found"] == [ids[5]]
    message = api.json(f"{PRIVATE}set/{';'.join(ids[:4])}/", status=400)["error"]
    assert message == "Too many stream ids: 4; at most 3 are allowed."  # Meta.max_limit


# Authorization: details ------------------------------------------------------------------------


def test_detail_of_an_own_stream(owned, keys):
    stream_id = owned_by(owned, "bob")[0]
    body = Api(keys["bob"]).json(f"{PRIVATE}{stream_id}/")
    assert body["id"] == stream_id and body["tags"] == {"owner": "bob", "title": "Owned 2"}
    assert [p["v"] for p in body["datapoints"]] == [0, 1]  # Meta.datapoints_limit = 2
    assert body["meta"]["total_count"] == 3
    assert body["meta"]["next"] == f"{PRIVATE}{stream_id}/?limit=2&offset=2"


@pytest.mark.parametrize(
    ("uri", "message"), [(PRIVATE, "You are not allowed"), (PLAIN, "Not your")]
)
def test_detail_of_another_users_stream_is_401(owned, keys, uri, message):
    api = Api(keys["alice"])
    for stream_id in owned_by(owned, "bob") + owned_by(owned, None):
        assert api.json(f"{uri}{stream_id}/", status=401)["error"].startswith(message)
        assert api.json(f"{uri}{stream_id}/?format=csv", status=401)
    assert api.json(f"{uri}no-such-stream/", status=404) == {
        "error": "Stream 'no-such-stream' not found."
    }


def test_meta_cache_sets_headers_but_never_skips_the_authorization(owned, keys):
    bobs = owned_by(owned, "bob")[0]
    response = Api(keys["bob"]).get(f"{PLAIN}{bobs}/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=30, s-maxage=30, private"
    assert "Accept" in response["Vary"]
    assert Api(keys["alice"]).json(f"{PLAIN}{bobs}/", status=401)["error"] == "Not your stream."
    assert "Cache-Control" not in Api(keys["alice"]).get(f"{PLAIN}{bobs}/")


def test_head_and_formats_with_credentials(owned, keys):
    api = Api(keys["alice"])
    stream_id = owned_by(owned, "alice")[0]
    head = api.client.head(f"{PRIVATE}{stream_id}/", **api.extra)
    assert head.status_code == 200 and head.content == b""
    csv = api.get(f"{PRIVATE}{stream_id}/?format=csv").content.decode().splitlines()
    assert csv == ["t,v", "2015-11-20T10:00:00Z,0", "2015-11-20T10:00:05Z,1"]


def test_schema_and_top_level(owned, keys):
    schema = Api(keys["alice"]).json(f"{PRIVATE}schema/")
    assert schema["default_limit"] == 2
    assert Api().json("/api/private/") == {
        "plainstream": {"list_endpoint": PLAIN, "schema": f"{PLAIN}schema/"},
        "stream": {"list_endpoint": PRIVATE, "schema": f"{PRIVATE}schema/"},
    }


# Throttling ------------------------------------------------------------------------------------


def test_throttle_answers_429_with_a_json_error_per_user(owned, keys):
    alice, bob = Api(keys["alice"]), Api(keys["bob"])
    for _ in range(THROTTLE_AT):
        assert alice.get(PRIVATE).status_code == 200
    response = alice.get(PRIVATE)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["error"].startswith("Too many requests")
    assert alice.get(f"{PRIVATE}schema/").status_code == 429
    assert bob.get(PRIVATE).status_code == 200
    assert Api().get("/api/v1/stream/").status_code == 200  # not throttled


# Real HTTP ------------------------------------------------------------------------------------


def fetch(url: str, authorization: str | None = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": authorization} if authorization else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.loads(error.read())


def test_access_control_over_real_http(owned, live_server, transactional_db):
    keys = create_users()
    base = f"{live_server.url}{PRIVATE}"

    status, headers, body = fetch(base)
    assert status == 401 and body["error"].startswith("Authentication required")
    assert headers["Access-Control-Allow-Origin"] == "*"

    status, _, body = fetch(f"{base}?limit=3", keys["alice"])
    assert status == 200
    assert [s["id"] for s in body["objects"]] == owned_by(owned, "alice")
    assert body["meta"]["total_count"] == 3

    status, _, body = fetch(f"{base}{owned_by(owned, 'bob')[0]}/", keys["alice"])
    assert status == 401 and body["error"].startswith("You are not allowed to read stream")

    status, _, body = fetch(f"{base}set/{';'.join(owned.ids[:3])}/", keys["bob"])
    assert [s["id"] for s in body["objects"]] == [owned.ids[2]]

    status, _, body = fetch(f"{live_server.url}/api/v1/stream/?limit=0")
    assert status == 200 and len(body["objects"]) == len(owned.ids)

    # Two requests of alice were counted: the list and the refused detail (an error answer
    # counts like any other; only answers made before the throttle is consulted do not).
    for _ in range(THROTTLE_AT - 2):
        assert fetch(base, keys["alice"])[0] == 200
    status, headers, body = fetch(base, keys["alice"])
    assert status == 429 and "Retry-After" in headers
    assert body["error"].startswith("Too many requests")
    assert fetch(base, keys["carol"])[0] == 200
