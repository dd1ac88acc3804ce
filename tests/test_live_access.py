"""The live endpoint answers to the detail endpoint's access control (``Meta.authentication``,
``Meta.authorization``), on SQLite and on MongoDB, with the project of
``tests/private_api_urls.py``."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from plugins.django_api import OWNERS

pytestmark = pytest.mark.urls("private_api_urls")

PRIVATE = "/api/private/stream/"


@pytest.fixture(params=["sqlite", "mongodb"])
def owned(request: pytest.FixtureRequest) -> Any:
    data = request.getfixturevalue(
        "owned_data" if request.param == "sqlite" else "mongodb_owned_data"
    )
    cache.clear()  # the private API's throttle
    with override_settings(**data.backend_settings):
        yield data
    cache.clear()


def stream_of(data: Any, owner: str) -> str:
    return next(stream_id for stream_id, who in zip(data.ids, OWNERS) if who == owner)


def error(response: Any) -> str:
    assert response["Content-Type"] == "application/json"
    return orjson.loads(response.content)["error"]


def test_live_needs_credentials(owned, keys):
    response = Client().get(f"{PRIVATE}{stream_of(owned, 'bob')}/live/")
    assert response.status_code == 401
    assert error(response) == "Authentication required: this API needs valid credentials."


def test_live_of_another_users_stream_is_refused(owned, keys):
    uri = f"{PRIVATE}{stream_of(owned, 'bob')}/live/"
    response = Client().get(uri, HTTP_AUTHORIZATION=keys["alice"])
    assert response.status_code == 401
    assert error(response).startswith("You are not allowed")


def test_live_of_an_own_stream_streams_events(owned, keys):
    uri = f"{PRIVATE}{stream_of(owned, 'bob')}/live/?s=0"
    response = Client().get(uri, HTTP_AUTHORIZATION=keys["bob"])
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/event-stream"
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 1000\n: connected\n\n"
    replay = next(chunks).decode()  # start=0: the stream's three datapoints first
    assert replay.count("\ndata: ") + replay.startswith("data: ") == 3
    response.close()


# Revocation while a connection is open --------------------------------------------------------

#: Poll interval of the revocation tests: access is checked again at least this often.
INTERVAL = 0.05


@pytest.fixture(params=["sqlite", "mongodb"])
def own_store(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """A fresh store (SQLite file, or the session's MongoDB server) with one stream of bob's,
    configured as the project's datastream with a fast live poll."""
    from datastream import Datastream, Granularity
    from datastream.backends.sqlite import Backend

    if request.param == "sqlite":
        path = str(tmp_path / "revoked.sqlite3")
        core = Datastream(Backend(path))
        settings = {
            "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
            "DATASTREAM_BACKEND_SETTINGS": {"database_name": path},
        }
    else:
        backend = request.getfixturevalue("mongodb_backend_factory")(name="revoked")
        core = Datastream(backend)
        uri = request.getfixturevalue("mongodb_server").uri
        settings = {
            "DATASTREAM_BACKEND": "datastream.backends.mongodb.Backend",
            "DATASTREAM_BACKEND_SETTINGS": {"database_name": backend.database_name, "host": uri},
        }
    stream_id = core.ensure_stream({"name": "revoked"}, {"owner": "bob"}, ["mean"],
                                   Granularity.Seconds)  # fmt: skip
    cache.clear()  # the private API's throttle
    with override_settings(
        **settings, DATASTREAM_LIVE_POLL_INTERVAL=INTERVAL, DATASTREAM_LIVE_KEEPALIVE=5
    ):
        yield core, stream_id
    cache.clear()
    if request.param == "sqlite":
        core.backend.close()


def sse_events(chunk: bytes) -> list[dict[str, Any]]:
    """The events of a chunk: ``{"id", "event", "data"}`` (data parsed)."""
    parsed = []
    for block in chunk.decode().split("\n\n"):
        fields: dict[str, Any] = {"id": None, "event": None, "data": None}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name in fields:
                fields[name] = value
        if fields["data"] is not None:
            fields["data"] = orjson.loads(fields["data"])
            parsed.append(fields)
    return parsed


def follow_until_revoked(core: Any, stream_id: str, key: str, revoke: Any) -> list[dict]:
    """Follow bob's stream, receive one datapoint, ``revoke()``, append another: the events
    received after the revocation (the response must end after them)."""
    import time

    response = Client().get(f"{PRIVATE}{stream_id}/live/", HTTP_AUTHORIZATION=key)
    assert response.status_code == 200
    chunks = iter(response.streaming_content)
    try:
        assert next(chunks) == b"retry: 1000\n: connected\n\n"
        core.append(stream_id, 1)
        assert [e["data"]["v"] for e in sse_events(next(chunks))] == [1]
        revoke()
        time.sleep(2 * INTERVAL)  # a check is due before anything else is sent
        core.append(stream_id, 2)
        after = [event for chunk in chunks for event in sse_events(chunk)]
    finally:
        response.close()
    return after


def test_a_connection_ends_when_the_stream_is_given_to_another_user(own_store, keys):
    core, stream_id = own_store
    after = follow_until_revoked(
        core, stream_id, keys["bob"], lambda: core.update_tags(stream_id, {"owner": "alice"})
    )
    message = f"You are not allowed to read stream '{stream_id}'."
    assert after == [{"id": None, "event": "error", "data": {"error": message, "status": 401}}]
    response = Client().get(f"{PRIVATE}{stream_id}/live/", HTTP_AUTHORIZATION=keys["bob"])
    assert response.status_code == 401 and error(response) == message


def test_a_connection_ends_when_the_api_key_is_deleted(own_store, keys):
    from tastypie.models import ApiKey

    core, stream_id = own_store
    after = follow_until_revoked(
        core, stream_id, keys["bob"], lambda: ApiKey.objects.filter(key="bob-key").delete()
    )
    message = "Authentication required: this API needs valid credentials."
    assert after == [{"id": None, "event": "error", "data": {"error": message, "status": 401}}]
    response = Client().get(f"{PRIVATE}{stream_id}/live/", HTTP_AUTHORIZATION=keys["bob"])
    assert response.status_code == 401 and error(response) == message
