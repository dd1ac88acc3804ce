"""The live endpoint sees a newly closed bucket within seconds of the datapoint that closed
it, with no command run: the server's own downsampling worker closes it."""

from __future__ import annotations

import datetime
import time

import pytest
from django.test import override_settings
from helpers import uvicorn_server
from test_live_http import EventReader

from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend
from django_datastream import conf
from django_datastream.worker import current_worker, stop_worker

T0 = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)
S0 = int(T0.timestamp())
#: Generous: the worker's delay is 1 s (sweeps 1 s) and the live poll 0.5 s.
WITHIN = 15.0


def at(seconds: int) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def minute_then_next(stream_id: str) -> tuple[list[dict], dict]:
    """A datapoint each second of the first minute, and the one that closes it."""
    first = [{"stream_id": stream_id, "value": s, "timestamp": at(s)} for s in range(60)]
    closing = {"stream_id": stream_id, "value": 100, "timestamp": at(61)}
    return first, closing


def follow_minutes(base: str, stream_id: str) -> EventReader:
    reader = EventReader(base, f"/api/v1/stream/{stream_id}/live/?granularity=minutes&tf=epoch")
    assert reader.response.status == 200
    return reader


def expect_first_minute(reader: EventReader, appended_at: float) -> float:
    """The closed bucket of the first minute arrives; returns seconds since ``appended_at``."""
    event = reader.next_event()
    latency = time.monotonic() - appended_at
    assert event["id"] == f"{S0}-0"
    assert event["data"]["t"]["a"] == S0
    assert event["data"]["v"]["m"] == pytest.approx(29.5)
    assert event["data"]["v"]["c"] == 60
    assert latency < WITHIN
    return latency


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "live.sqlite3"
    core = Datastream(Backend(str(path)))
    stream_id = core.ensure_stream({"name": "live"}, {}, ["mean", "count"], Granularity.Seconds)
    core.backend.close()
    return path, stream_id


def test_appends_in_the_server_process_reach_the_live_endpoint(live_server, path):
    """Django's threaded server in this process; appends through the app's datastream."""
    file, stream_id = path
    settings = {
        "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
        "DATASTREAM_BACKEND_SETTINGS": {"database_name": str(file)},
        "DATASTREAM_LIVE_POLL_INTERVAL": 0.5,
        "DATASTREAM_LIVE_KEEPALIVE": 0.5,
        "DATASTREAM_DOWNSAMPLE_WORKER": True,
        "DATASTREAM_DOWNSAMPLE_DELAY": 1.0,
        "DATASTREAM_DOWNSAMPLE_INTERVAL": 0,  # no sweeps: the appends alone wake the worker
    }
    stop_worker()
    with override_settings(**settings):
        reader = follow_minutes(live_server.url, stream_id)
        assert current_worker() is not None  # the request started it
        first, closing = minute_then_next(stream_id)
        app = conf.get_datastream()
        app.append_multiple(first)
        time.sleep(0.2)
        appended = time.monotonic()
        app.append_multiple([closing])
        expect_first_minute(reader, appended)
        reader.close()
        time.sleep(1)  # the server notices the closed connection at its next keep-alive
    assert current_worker() is None


@pytest.mark.slow
def test_appends_by_another_process_reach_the_live_endpoint_under_uvicorn(path):
    """uvicorn in a subprocess, its worker on (sweeping every second); this process appends
    to the same SQLite file, as a script or another server process would."""
    pytest.importorskip("uvicorn")
    file, stream_id = path
    environment = {"DATASTREAM_DOWNSAMPLE_WORKER": "1", "DATASTREAM_DOWNSAMPLE_INTERVAL": "1"}
    core = Datastream(Backend(str(file)))
    try:
        with uvicorn_server(file, environment=environment) as server:
            reader = follow_minutes(f"http://127.0.0.1:{server.port}", stream_id)
            first, closing = minute_then_next(stream_id)
            core.append_multiple(first)
            time.sleep(0.2)
            appended = time.monotonic()
            core.append_multiple([closing])
            expect_first_minute(reader, appended)
            reader.close()
    finally:
        core.backend.close()
