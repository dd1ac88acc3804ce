"""Who may write: writes off by default, no anonymous writes by default, the resource's
authentication (401), authorization narrowing (401 for a foreign stream, for a refused
creation) and throttle (429)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from ingest_urls import THROTTLE_AT

from datastream import Granularity

pytestmark = pytest.mark.urls("ingest_urls")


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    """Every test starts with the throttle's counts (Django's cache) empty."""
    from django.core.cache import cache

    cache.clear()

T0 = 1_700_000_000
BODY = orjson.dumps([{"t": T0, "v": 1}])


def stream(core: Any, owner: str = "alice") -> str:
    return core.ensure_stream({"name": owner}, {"owner": owner}, ["mean"], Granularity.Seconds)


def post(uri: str, body: bytes | str = BODY, **extra: Any) -> Any:
    return Client().post(uri, body, content_type="application/json", **extra)


def nothing_stored(core: Any) -> bool:
    return all(s["latest_datapoint"] is None for s in core.find_streams())


def test_the_apps_own_api_takes_no_writes_by_default(served_datastream: Any) -> None:
    stream_id = stream(served_datastream)
    for uri, body in ((f"/api/v1/stream/{stream_id}/datapoints/", BODY),
                      ("/api/v1/datapoints/", BODY), ("/api/v1/write?db=x", "m f=1"),
                      ("/api/v1/api/v2/write?bucket=b", "m f=1")):
        response = post(uri, body)
        assert response.status_code == 405, (uri, response.content)
        assert "DATASTREAM_WRITES" in orjson.loads(response.content)["error"]
    assert nothing_stored(served_datastream)


def test_writes_setting_still_refuses_anonymous_writes(served_datastream: Any) -> None:
    stream_id = stream(served_datastream)
    with override_settings(DATASTREAM_WRITES=True):
        response = post(f"/api/v1/stream/{stream_id}/datapoints/")
        assert response.status_code == 403
        assert "Anonymous" in orjson.loads(response.content)["error"]
        # a resource allowing POST with tastypie's default (anonymous) authentication: 403 too
        assert post(f"/api/open/openstream/{stream_id}/datapoints/").status_code == 403
    assert nothing_stored(served_datastream)


def test_anonymous_writes_when_deliberately_allowed(served_datastream: Any) -> None:
    stream_id = stream(served_datastream)
    with override_settings(DATASTREAM_WRITES=True, DATASTREAM_ANONYMOUS_WRITES=True):
        # ...and still through the resource's authorization: tastypie's default
        # ReadOnlyAuthorization refuses every write
        assert post(f"/api/v1/stream/{stream_id}/datapoints/").status_code == 401
    assert nothing_stored(served_datastream)


def test_meta_anonymous_writes_lets_anyone_write(served_datastream: Any) -> None:
    stream_id = stream(served_datastream)
    response = post(f"/api/open/anonymousstream/{stream_id}/datapoints/")
    assert response.status_code == 201, response.content
    assert served_datastream.get_tags(stream_id)["latest_datapoint"].timestamp() == T0
    # the resource beside it, without the Meta option, stays closed to anonymous writes
    assert post(f"/api/open/openstream/{stream_id}/datapoints/").status_code == 403


def test_get_on_a_write_url_is_405(served_datastream: Any, keys: dict[str, str]) -> None:
    stream_id = stream(served_datastream)
    response = Client().get(f"/api/ingest/stream/{stream_id}/datapoints/",
                            HTTP_AUTHORIZATION=keys["alice"])
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"


@pytest.mark.parametrize("credentials", [{}, {"HTTP_AUTHORIZATION": "ApiKey alice:wrong"},
                                         {"HTTP_AUTHORIZATION": "Token alice:wrong"}])
def test_no_or_wrong_credentials_401(served_datastream: Any, keys: dict[str, str],
                                     credentials: dict[str, str]) -> None:
    stream_id = stream(served_datastream)
    assert post(f"/api/ingest/stream/{stream_id}/datapoints/", **credentials).status_code == 401
    assert post("/api/ingest/api/v2/write", "m f=1", **credentials).status_code == 401
    assert post("/api/ingest/write?u=alice&p=wrong", "m f=1").status_code == 401
    assert nothing_stored(served_datastream)
    assert not list(served_datastream.find_streams({"measurement": "m"}))


def test_foreign_stream_refused(served_datastream: Any, keys: dict[str, str]) -> None:
    alices, bobs = stream(served_datastream, "alice"), stream(served_datastream, "bob")
    response = post(f"/api/ingest/stream/{bobs}/datapoints/", HTTP_AUTHORIZATION=keys["alice"])
    assert response.status_code == 401
    assert orjson.loads(response.content)["error"]
    batch = orjson.dumps([{"stream_id": alices, "t": T0, "v": 1},
                          {"stream_id": bobs, "t": T0, "v": 1}])
    response = post("/api/ingest/datapoints/", batch, HTTP_AUTHORIZATION=keys["alice"])
    assert response.status_code == 401
    assert nothing_stored(served_datastream)
    # bob may write to his own
    response = post(f"/api/ingest/stream/{bobs}/datapoints/", HTTP_AUTHORIZATION=keys["bob"])
    assert response.status_code == 201


def test_refused_creation_and_separate_namespaces(
    served_datastream: Any, keys: dict[str, str]
) -> None:
    # carol may append but not create: her first line protocol write is refused whole
    response = post("/api/ingest/api/v2/write?precision=s", f"m f=1 {T0}",
                    HTTP_AUTHORIZATION="Token carol:carol-key")
    assert response.status_code == 401
    assert "create" in orjson.loads(response.content)["error"]
    assert not list(served_datastream.find_streams({"measurement": "m"}))
    # alice and bob writing the same series get a stream each
    for user in ("alice", "bob"):
        response = post("/api/ingest/api/v2/write?precision=s", f"m f=1 {T0}",
                        HTTP_AUTHORIZATION=f"Token {user}:{user}-key")
        assert response.status_code == 204
    owners = sorted(s["owner"] for s in served_datastream.find_streams({"measurement": "m"}))
    assert owners == ["alice", "bob"]


def test_throttle_429(served_datastream: Any, keys: dict[str, str]) -> None:
    cache.clear()
    stream_id = stream(served_datastream)
    uri = f"/api/ingest/stream/{stream_id}/datapoints/"
    statuses = []
    for index in range(THROTTLE_AT + 1):
        body = orjson.dumps([{"t": T0 + index, "v": index}])
        statuses.append(post(uri, body, HTTP_AUTHORIZATION=keys["alice"]).status_code)
    assert statuses[:THROTTLE_AT] == [201] * THROTTLE_AT
    assert statuses[THROTTLE_AT] == 429
    latest = served_datastream.get_tags(stream_id)["latest_datapoint"]
    assert latest.timestamp() == T0 + THROTTLE_AT - 1
    cache.clear()


def test_openapi_describes_writes_and_their_security(keys: dict[str, str]) -> None:
    from test_openapi import validate

    document = orjson.loads(Client().get("/api/ingest/openapi.json").content)
    validate(document)
    validate(orjson.loads(Client().get("/api/open/openapi.json").content))
    paths = document["paths"]
    write = paths["/api/ingest/api/v2/write"]["post"]
    assert {"InfluxToken": []} in write["security"] and {"ApiKeyHeader": []} in write["security"]
    assert {"204", "400", "401", "413", "429"} <= set(write["responses"])
    assert "InfluxToken" in document["components"]["securitySchemes"]
    assert "post" in paths["/api/ingest/stream/{id}/datapoints/"]
    assert "post" in paths["/api/ingest/datapoints/"]
    # the app's own API takes no writes: none described
    default = orjson.loads(Client().get("/api/v1/openapi.json").content)["paths"]
    assert not any("write" in path or "datapoints" in path for path in default)
