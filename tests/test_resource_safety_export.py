"""Streamed exports (CSV, NDJSON) are safe to serve: they stream under ASGI as under WSGI, in
flat memory from the first byte; an export the ``DATASTREAM_EXPORT_MAX_POINTS`` cap cuts short
says so (a header and a last line); every export names a file (``Content-Disposition``).

The memory test runs a real uvicorn server (the documented ASGI server) on SQLite and reads its
resident memory from ``/proc``; the others run on SQLite and MongoDB through Django's test
clients (``AsyncClient`` is ASGI).
"""

from __future__ import annotations

import csv
import datetime
import http.client
import io
from pathlib import Path

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, override_settings
from helpers import resident_memory, uvicorn_server

from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend
from django_datastream.detail import export as export_module
from django_datastream.detail.export import TRUNCATED_HEADER, export_filename, in_worker_threads

CAP_SETTING = "DATASTREAM_EXPORT_MAX_POINTS"


@pytest.fixture(params=["api", "mongodb_api"])
def any_api(request):
    """The upstream HTTP fixture (721 datapoints, 10:00:00 to 11:00:00) on SQLite and MongoDB."""
    return request.getfixturevalue(request.param)


def body(response) -> bytes:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


# Content-Disposition ----------------------------------------------------------------------------


def test_exports_name_a_file(any_api):
    stream_id = any_api.ids[0]
    uri = any_api.detail_uri(stream_id)
    for name in ("csv", "ndjson"):
        for params, span in [
            ({}, "20151120T100000Z_20151120T110000Z"),  # the stream's first and last datapoint
            ({"s": "2015-11-20T10:30:00Z", "e": "2015-11-21T00:00:00Z"},
             "20151120T103000Z_20151121T000000Z"),  # the range as asked
        ]:  # fmt: skip
            expected = f'attachment; filename="{stream_id}_{span}.{name}"'
            response = any_api.get(uri, {"format": name, **params})
            assert response["Content-Disposition"] == expected
            body(response)
            head = any_api.client.head(uri, {"format": name, **params})
            assert head["Content-Disposition"] == expected
    # The JSON answer is a page, not a download.
    assert "Content-Disposition" not in any_api.get(uri, {"format": "json"})


def test_export_filenames_are_sanitised():
    start, end = 1_700_000_000, 1_700_003_600
    assert export_filename("abc", start, end, "csv") == "abc_20231114T221320Z_20231114T231320Z.csv"
    assert export_filename('a/b\\c"d;e f\r\n', start, None, "ndjson") == (
        "a-b-c-d-e-f_20231114T221320Z_open.ndjson"
    )
    assert export_filename("../..", None, None, "csv") == "stream_open_open.csv"


# Truncation ---------------------------------------------------------------------------------------


def ndjson_records(data: bytes) -> list[dict]:
    assert data.endswith(b"\n")
    return [orjson.loads(line) for line in data.splitlines()]


def test_a_truncated_export_says_so(any_api):
    uri = any_api.detail_uri(any_api.ids[0])
    everything = any_api.json(uri, {"l": 10000})["datapoints"]
    with override_settings(DATASTREAM_EXPORT_MAX_POINTS=200):
        response = any_api.get(uri, {"format": "ndjson", "l": 500, "o": 10})
        assert response[TRUNCATED_HEADER] == "200"
        assert TRUNCATED_HEADER in response["Access-Control-Expose-Headers"]
        records = ndjson_records(body(response))
        assert records[:-1] == everything[10:210]
        assert records[-1] == {"truncated": True, "max_points": 200, "setting": CAP_SETTING}

        response = any_api.get(uri, {"format": "csv", "l": 500})
        assert response[TRUNCATED_HEADER] == "200"
        lines = body(response).decode().split("\r\n")
        assert lines[-1] == ""
        assert lines[-2] == f"# truncated: at most 200 datapoints per export ({CAP_SETTING})"
        rows = list(csv.reader(io.StringIO("\r\n".join(lines[:-2]))))
        assert rows[0] == ["t", "v"] and len(rows) == 201
        assert rows[-1][0] == everything[199]["t"]

        head = any_api.client.head(uri, {"format": "csv", "l": 500})
        assert head[TRUNCATED_HEADER] == "200"


def test_an_export_the_cap_does_not_cut_says_nothing(any_api):
    uri = any_api.detail_uri(any_api.ids[0])
    with override_settings(DATASTREAM_EXPORT_MAX_POINTS=200):
        for params in [
            {"l": 200},  # within the cap
            {"l": 500, "o": 521},  # exactly the cap is left
            {"l": 500, "o": 700},  # less than the cap is left
            {"l": 500, "g": "m"},  # 60 minute buckets
        ]:
            for name in ("ndjson", "csv"):
                response = any_api.get(uri, {"format": name, **params})
                assert TRUNCATED_HEADER not in response, params
                data = body(response)
                assert b"truncated" not in data
                lines = data.count(b"\n") - (name == "csv")
                assert lines == min(200, params["l"], 721 - params.get("o", 0)) or "g" in params


# ASGI -------------------------------------------------------------------------------------------


async def read_async(client: AsyncClient, uri: str, params: dict, after_first=None) -> bytes:
    """The streamed body of an ASGI answer; ``after_first()`` runs once the first chunk came."""
    response = await client.get(uri, params)
    assert response.status_code == 200
    assert response.streaming and response.is_async
    chunks = []
    async for chunk in response.streaming_content:
        if not chunks and after_first is not None:
            after_first()
        chunks.append(chunk)
    assert len(chunks) > 2  # a header or a first page, then more, as they are made
    return b"".join(chunks)


def test_exports_stream_under_asgi(any_api, monkeypatch):
    """Under ASGI (``AsyncClient``) the export is an asynchronous iterator: the same body as
    under WSGI, and no warning (Django warns, an error here, when it has to read a synchronous
    iterator whole before sending it)."""
    uri = any_api.detail_uri(any_api.ids[0])
    for name, params in [("ndjson", {"l": 721}), ("csv", {"l": 721, "g": "m", "v": "m,l"})]:
        params = {"format": name, **params}
        expected = body(any_api.get(uri, params))
        with override_settings(DATASTREAM_EXPORT_MAX_POINTS=300):
            truncated = body(any_api.get(uri, params))
        with monkeypatch.context() as patch:
            patch.setattr(export_module, "DEFAULT_PAGE_SIZE", 20)
            assert async_to_sync(read_async)(AsyncClient(), uri, params) == expected
            with override_settings(DATASTREAM_EXPORT_MAX_POINTS=300):
                assert async_to_sync(read_async)(AsyncClient(), uri, params) == truncated
        head = async_to_sync(AsyncClient().head)(uri, params)
        assert head.status_code == 200 and head["Content-Disposition"].endswith(f'.{name}"')


def test_the_asynchronous_iterator_closes_the_export():
    """A client going away after two chunks: the sync generator is closed (its storage reads
    end), and only the chunks asked for were made."""
    made, closed = [], []

    def chunks():
        try:
            for number in range(10):
                made.append(number)
                yield b"%d" % number
        finally:
            closed.append(True)

    async def take_two() -> list[bytes]:
        iterator = in_worker_threads(chunks())
        taken = [await anext(iterator), await anext(iterator)]
        await iterator.aclose()
        return taken

    assert async_to_sync(take_two)() == [b"0", b"1"]
    assert made == [0, 1] and closed == [True]


def test_an_asgi_export_reads_each_page_when_it_is_sent(served_datastream, monkeypatch):
    """Nothing is read ahead: a datapoint appended after the first chunk was sent is in the
    export (a body made before the first byte could not hold it)."""
    core = served_datastream
    monkeypatch.setattr(export_module, "DEFAULT_PAGE_SIZE", 50)
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    stream_id = core.ensure_stream({"safety": "export"}, {}, ["mean"], Granularity.Seconds)
    second = datetime.timedelta(seconds=1)
    core.append_multiple(
        [{"stream_id": stream_id, "value": i, "timestamp": start + i * second} for i in range(300)]
    )
    data = async_to_sync(read_async)(
        AsyncClient(), f"/api/v1/stream/{stream_id}/", {"format": "ndjson", "l": 1000},
        lambda: core.append(stream_id, 1000, start + 400 * second),
    )  # fmt: skip
    records = ndjson_records(data)
    assert len(records) == 301 and records[-1] == {"t": "2024-01-01T00:06:40Z", "v": 1000}


# Under uvicorn: resident memory of the server ----------------------------------------------------

POINTS = 1_000_000
MIB = 2**20


@pytest.fixture(scope="module")
def long_store(tmp_path_factory):
    """An SQLite file with one stream of ``POINTS`` per-second datapoints (about 38 MB of
    NDJSON)."""
    path = tmp_path_factory.mktemp("export_rss") / "datastream.sqlite3"
    core = Datastream(Backend(str(path)))
    stream_id = core.ensure_stream({"safety": "rss"}, {}, ["mean"], Granularity.Seconds)
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    second = datetime.timedelta(seconds=1)
    for offset in range(0, POINTS, 250_000):
        core.append_multiple(
            [
                {"stream_id": stream_id, "value": (i % 7200) / 8, "timestamp": start + i * second}
                for i in range(offset, offset + 250_000)
            ]
        )
    yield core, stream_id, path, start
    core.backend.close()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_exports_under_uvicorn_stream_in_flat_memory(long_store):
    """A uvicorn server exports 100,000 and then 1,000,000 datapoints (about 4 and 38 MB of
    NDJSON; then 28 MB of CSV): the growth of its resident memory peak stays under one ceiling
    for both, well below the size of the long export (a body built whole before the first byte
    takes at least its own size: about 45 MB of growth for this NDJSON, 5 MB when streamed),
    and a datapoint appended after the first bytes arrived is in the export."""
    pytest.importorskip("uvicorn")
    core, stream_id, path, start = long_store
    with uvicorn_server(path) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        uri = f"/api/v1/stream/{stream_id}/"

        def get(query: str) -> http.client.HTTPResponse:
            connection.request("GET", f"{uri}?{query}")
            response = connection.getresponse()
            assert response.status == 200
            return response

        # Warm up: Django, the backend, a first short export.
        get("l=10").read()
        get("format=ndjson&l=5000").read()
        idle = resident_memory(server.pid)["VmRSS"]
        ceiling = 24 * MIB
        bodies = {}
        for name, count in [("ndjson", POINTS // 10), ("ndjson", POINTS + 1), ("csv", POINTS)]:
            response = get(f"format={name}&l={count}")
            assert response.getheader("Content-Disposition").endswith(f'.{name}"')
            first = response.read(65536)
            if count > POINTS:
                # The first bytes leave before the body is made: a datapoint appended once they
                # arrived is in the export (the server reads a page when the client takes it).
                core.append(stream_id, -1, start + datetime.timedelta(seconds=POINTS + 10))
            bodies[name, count] = first + response.read()
            growth = resident_memory(server.pid)["VmHWM"] - idle
            assert growth < ceiling, (name, count, growth / MIB)
        assert len(bodies["ndjson", POINTS + 1]) > 1.2 * ceiling
        lines = bodies["ndjson", POINTS + 1].splitlines()
        assert len(lines) == POINTS + 1
        assert orjson.loads(lines[-1]) == {"t": "2024-01-12T13:46:50Z", "v": -1}
        assert bodies["csv", POINTS].count(b"\n") == POINTS + 1
        connection.close()
