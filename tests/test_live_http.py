"""The live endpoint over real HTTP: Django's threaded server (as ``runserver``) and uvicorn
(ASGI), a raw socket client reading Server-Sent Events, a reconnect with ``Last-Event-ID``."""

from __future__ import annotations

import datetime
import http.client
import os
import time
import urllib.parse

import orjson
import pytest
from django.test import override_settings
from helpers import uvicorn_server

from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend

T0 = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)
S0 = int(T0.timestamp())


def at(seconds: int) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


class EventReader:
    """An open ``text/event-stream`` response, read event by event."""

    def __init__(self, base: str, path: str, headers: dict | None = None) -> None:
        url = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=15)
        self.connection.request("GET", path, headers=headers or {})
        self.response = self.connection.getresponse()

    def next_event(self) -> dict:
        """The next event with data (comments skipped): {'id', 'event', 'data'}."""
        fields: dict = {"id": None, "event": None, "data": None}
        while True:
            line = self.response.fp.readline().decode()
            if not line:
                raise AssertionError("the stream ended")
            line = line.rstrip("\n")
            if not line:
                if fields["data"] is not None:
                    fields["data"] = orjson.loads(fields["data"])
                    return fields
                continue
            name, _, value = line.partition(": ")
            if name in fields:
                fields[name] = value

    def events(self, count: int) -> list[dict]:
        return [self.next_event() for _ in range(count)]

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "live.sqlite3"
    core = Datastream(Backend(str(path)))
    stream_id = core.ensure_stream({"name": "live"}, {}, ["mean", "min", "max"],
                                   Granularity.Seconds)  # fmt: skip
    yield core, stream_id, path
    core.backend.close()


def check_follow_and_resume(base: str, core: Datastream, stream_id: str) -> None:
    path = f"/api/v1/stream/{stream_id}/live/?tf=epoch"
    core.append(stream_id, 0, at(0))
    reader = EventReader(base, path)
    assert reader.response.status == 200
    assert reader.response.getheader("Content-Type") == "text/event-stream"
    assert reader.response.getheader("Cache-Control") == "no-cache"
    time.sleep(0.3)  # connected: only what comes now is sent
    for value, second in [(1, 1), (2, 1), (3, 2)]:
        core.append(stream_id, value, at(second))
    events = reader.events(3)
    assert [(e["id"], e["data"]) for e in events] == [
        (f"{S0 + 1}-0", {"t": S0 + 1, "v": 1}),
        (f"{S0 + 1}-1", {"t": S0 + 1, "v": 2}),
        (f"{S0 + 2}-0", {"t": S0 + 2, "v": 3}),
    ]
    reader.close()
    # Disconnected after the second event (say); meanwhile two more appends.
    core.append(stream_id, 4, at(2))
    core.append(stream_id, 5, at(3))
    resumed = EventReader(base, path, {"Last-Event-ID": f"{S0 + 1}-1"})
    core.append(stream_id, 6, at(4))
    events = resumed.events(4)
    assert [(e["id"], e["data"]["v"]) for e in events] == [
        (f"{S0 + 2}-0", 3), (f"{S0 + 2}-1", 4), (f"{S0 + 3}-0", 5), (f"{S0 + 4}-0", 6),
    ]  # fmt: skip
    core.append(stream_id, 7, at(5))
    assert resumed.next_event()["data"]["v"] == 7  # nothing twice, nothing skipped
    resumed.close()


def test_live_endpoint_under_the_threaded_wsgi_server(live_server, store):
    core, stream_id, path = store
    settings = {
        "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
        "DATASTREAM_BACKEND_SETTINGS": {"database_name": str(path)},
        "DATASTREAM_LIVE_POLL_INTERVAL": 0.05,
        "DATASTREAM_LIVE_KEEPALIVE": 0.5,
    }
    with override_settings(**settings):
        check_follow_and_resume(live_server.url, core, stream_id)
        # Keep-alive comments on a quiet connection.
        reader = EventReader(live_server.url, f"/api/v1/stream/{stream_id}/live/")
        text = b""
        deadline = time.monotonic() + 5
        while b": keep-alive" not in text and time.monotonic() < deadline:
            text += reader.response.fp.readline()
        assert b": keep-alive" in text
        reader.close()


def test_live_endpoint_on_mongodb_under_the_threaded_wsgi_server(live_server, mongodb_server):
    from datastream.backends.mongodb import Backend as MongoBackend

    name = f"live_http_{os.getpid()}"
    core = Datastream(MongoBackend(name, host=mongodb_server.uri))
    core.delete_streams()
    stream_id = core.ensure_stream({"name": "live"}, {}, ["mean"], Granularity.Seconds)
    settings = {
        "DATASTREAM_BACKEND": "datastream.backends.mongodb.Backend",
        "DATASTREAM_BACKEND_SETTINGS": {"database_name": name, "host": mongodb_server.uri},
        "DATASTREAM_LIVE_POLL_INTERVAL": 0.05,
    }
    try:
        with override_settings(**settings):
            check_follow_and_resume(live_server.url, core, stream_id)
    finally:
        core.delete_streams()
        core.backend.close()


@pytest.mark.slow
def test_live_endpoint_under_uvicorn(store):
    pytest.importorskip("uvicorn")
    core, stream_id, path = store
    with uvicorn_server(path) as server:
        check_follow_and_resume(f"http://127.0.0.1:{server.port}", core, stream_id)


def test_live_endpoint_errors(api):
    uri = f"{api.detail_uri(api.ids[0])}live/"
    assert api.error(uri, {"end": 1}) == (
        "The live endpoint does not take 'end': it sends every new datapoint as it arrives. "
        "Use the detail endpoint for pages of data."
    )
    for params in [{"l": 5}, {"mp": 10}, {"th": "m4"}, {"sh": "columns"}, {"r": 1}]:
        assert "The live endpoint does not take" in api.error(uri, params)
    assert api.error(uri, {"g": "nope"}).startswith("Invalid granularity: 'nope'")
    message = api.error(uri, HTTP_LAST_EVENT_ID="yesterday")
    assert message.startswith("Invalid Last-Event-ID: 'yesterday'.")
    assert api.error(f"{api.detail_uri('no-such-stream')}live/", status=404) == (
        "Stream 'no-such-stream' not found."
    )


def test_event_ids_are_ascii_digits_naming_where_they_came_from(api):
    uri = f"{api.detail_uri(api.ids[0])}live/"
    # str.isdigit() takes '²' (and int() then fails): only ASCII digits are an event id.
    assert api.error(uri, HTTP_LAST_EVENT_ID="1-\u00b2") == (
        "Invalid Last-Event-ID: '1-\u00b2'. Use the id of an event of this endpoint, such as "
        "'1700000000-0'."
    )
    assert api.error(uri, {"last_event_id": "1-\u00b2"}) == (
        "Invalid Last-Event-ID: '1-\u00b2' in parameter 'last_event_id'. Use the id of an "
        "event of this endpoint, such as '1700000000-0'."
    )
    for text in ["\u0661\u0662-0", "1-\u0660", "1.5-0", " -", "1-" + "9" * 19]:
        assert api.error(uri, {"last_event_id": text}).startswith("Invalid Last-Event-ID:")


def test_event_ids_outside_the_supported_time_range_are_refused(api):
    uri = f"{api.detail_uri(api.ids[0])}live/"
    # Before 0001-01-02 (year 0 is not a datetime) and far beyond any integer a time can be.
    for text in ["-62135596801-0", "-99999999999999999999-0", "99999999999999999999-0",
                 "253402300800-0"]:  # fmt: skip
        for params, extra, where in [
            (None, {"HTTP_LAST_EVENT_ID": text}, ""),
            ({"last_event_id": text}, {}, " in parameter 'last_event_id'"),
        ]:
            assert api.error(uri, params, **extra) == (
                f"Invalid Last-Event-ID: '{text}'{where}: its time is outside the supported "
                "range, 0001-01-02T00:00:00Z to 9999-12-30T23:59:59Z (-62135510400 to "
                "253402214399 seconds)."
            )


def first_events(response, count: int) -> list[dict]:
    """The first ``count`` data events of a streaming response (then closed)."""
    events: list[dict] = []
    text = ""
    try:
        for chunk in response.streaming_content:
            text += chunk.decode()
            blocks = text.split("\n\n")[:-1]
            events = [
                orjson.loads(line[6:])
                for block in blocks
                for line in block.split("\n")
                if line.startswith("data: ")
            ]
            if len(events) >= count:
                break
    finally:
        response.close()
    return events


def test_start_at_the_edges_of_the_time_range_replays_without_failing(api, db):
    # (db: closing a response sends request_finished, which looks at Django's database.)
    uri = f"{api.detail_uri(api.ids[0])}live/"
    with override_settings(DATASTREAM_LIVE_POLL_INTERVAL=0.02, DATASTREAM_LIVE_KEEPALIVE=0.2):
        first = "2015-11-20T10:00:00Z"  # the stream's first datapoint
        for params, expected in [
            ({"s": "0001-01-01T00:00:00Z"}, first),
            ({"sx": "0001-01-01T00:00:00Z"}, first),
            ({"s": "0001-01-01T00:00:00Z", "g": "M", "v": "mean", "t": "first"}, {"a": first}),
        ]:
            response = api.get(uri, params)
            assert response.status_code == 200, params
            assert first_events(response, 3)[0]["t"] == expected, params
        for params in [{"sx": "9999-12-31T23:59:59Z"}, {"s": "9999-12-31T23:59:59Z", "g": "d"}]:
            response = api.get(uri, params)
            assert response.status_code == 200, params
            chunks = iter(response.streaming_content)
            assert next(chunks) == b"retry: 1000\n: connected\n\n"
            assert next(chunks) == b": keep-alive\n\n"  # nothing after that time, no error
            response.close()
