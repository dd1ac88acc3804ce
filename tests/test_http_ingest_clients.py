"""The official InfluxDB clients (``influxdb`` 1.x and ``influxdb-client`` 2.x) and raw HTTP
requests write to a real server (uvicorn, the test project with ``tests/ingest_urls.py``); the
data is read back through the API."""

from __future__ import annotations

import datetime
import gzip
import http.client
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import ROOT, uvicorn_server

T0 = 1_700_000_000
SETTINGS = "test_project.ingest_settings"
ALICE = "ApiKey alice:alice-key"

_SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", run_syncdb=True, verbosity=0)
from plugins.django_api import create_users
create_users()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The writable test project under uvicorn, with users alice, bob and carol."""
    directory = tmp_path_factory.mktemp("ingest_server")
    environment = {
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATASTREAM_USERS_DB": str(directory / "users.sqlite3"),
    }
    subprocess.run(
        [sys.executable, "-c", _SETUP], cwd=ROOT / "tests", check=True,
        env=dict(os.environ, **environment, DATASTREAM_SQLITE_PATH=str(directory / "x")),
    )  # fmt: skip
    with uvicorn_server(directory / "datastream.sqlite3", environment=environment) as proc:
        yield proc


def get_json(port: int, path: str) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers={"Authorization": ALICE})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def read_back(port: int, **tags: str) -> dict[str, list[tuple[int, Any]]]:
    query = "&".join(f"tags__{key}={value}" for key, value in tags.items())
    found = get_json(port, f"/api/ingest/stream/?{query}&limit=0")["objects"]
    result = {}
    for stream in found:
        detail = get_json(port, f"/api/ingest/stream/{stream['id']}/?time_format=epoch")
        result[stream["tags"]["field"]] = [(d["t"], d["v"]) for d in detail["datapoints"]]
    return result


def test_influxdb_1x_client_writes(server: Any) -> None:
    from influxdb import InfluxDBClient

    client = InfluxDBClient("127.0.0.1", server.port, "alice", "alice-key", "telemetry",
                            path="api/ingest", gzip=True)
    points = [
        {"measurement": "room", "tags": {"name": "kitchen, east"}, "time": T0 + i,
         "fields": {"temperature": 20.5 + i, "people": i, "door": "open" if i else "shut"}}
        for i in range(3)
    ]
    assert client.write_points(points, time_precision="s")
    client.write([f"room,name=kitchen\\,\\ east temperature=30 {T0 + 10}"],
                 params={"db": "telemetry", "precision": "s"}, protocol="line")
    data = read_back(server.port, measurement="room")
    assert data["temperature"] == [(T0, 20.5), (T0 + 1, 21.5), (T0 + 2, 22.5), (T0 + 10, 30)]
    assert data["people"] == [(T0, 0), (T0 + 1, 1), (T0 + 2, 2)]
    assert data["door"] == [(T0, "shut"), (T0 + 1, "open"), (T0 + 2, "open")]
    client.close()


def test_influxdb_2x_client_writes(server: Any) -> None:
    from influxdb_client import InfluxDBClient, Point, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    with InfluxDBClient(url=f"http://127.0.0.1:{server.port}/api/ingest",
                        token="alice:alice-key", org="o") as client:
        write_api = client.write_api(write_options=SYNCHRONOUS)
        moment = datetime.datetime.fromtimestamp(T0, datetime.UTC)
        write_api.write("bucket", "o", [
            Point("power").tag("meter", "m=1").field("watts", 100.0).field("on", True)
            .time(moment + datetime.timedelta(seconds=i), WritePrecision.NS)
            for i in range(3)
        ])
        write_api.write("bucket", "o", f"power,meter=m\\=1 watts=7i {T0 + 5}",
                        write_precision=WritePrecision.S)
    data = read_back(server.port, measurement="power")
    assert data["watts"] == [(T0, 100), (T0 + 1, 100), (T0 + 2, 100), (T0 + 5, 7)]
    assert data["on"] == [(T0, True), (T0 + 1, True), (T0 + 2, True)]


def test_influxdb_2x_client_sees_refusals(server: Any) -> None:
    from influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import SYNCHRONOUS
    from influxdb_client.rest import ApiException

    with InfluxDBClient(url=f"http://127.0.0.1:{server.port}/api/ingest",
                        token="alice:wrong", org="o") as client:
        with pytest.raises(ApiException) as refused:
            client.write_api(write_options=SYNCHRONOUS).write("b", "o", "x f=1")
    assert refused.value.status == 401
    with InfluxDBClient(url=f"http://127.0.0.1:{server.port}/api/ingest",
                        token="alice:alice-key", org="o") as client:
        with pytest.raises(ApiException) as refused:
            client.write_api(write_options=SYNCHRONOUS).write("b", "o", "x f=1\nx f=")
    assert refused.value.status == 400
    assert "Line 2" in refused.value.body
    assert read_back(server.port, measurement="x") == {}


def raw_post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_curl_style_requests(server: Any) -> None:
    # curl -H 'Authorization: Token alice:alice-key' --data-binary @lines /api/ingest/write
    status, body = raw_post(server.port, "/api/ingest/write?db=x&precision=s",
                            f"curl,src=a v=1 {T0}\ncurl,src=a v=2 {T0 + 1}".encode(),
                            {"Authorization": "Token alice:alice-key"})
    assert status == 204, body
    (curl,) = get_json(server.port, "/api/ingest/stream/?tags__measurement=curl")["objects"]
    # curl -H 'Content-Type: application/x-ndjson' --data-binary ... /stream/<id>/datapoints/
    ndjson = gzip.compress(f'{{"t": {T0 + 2}, "v": 3}}\n{{"t": "{T0 + 3}", "v": 4}}\n'.encode())
    status, body = raw_post(server.port, f"/api/ingest/stream/{curl['id']}/datapoints/", ndjson,
                            {"Authorization": ALICE, "Content-Type": "application/x-ndjson",
                             "Content-Encoding": "gzip"})
    assert status == 201, body
    assert json.loads(body) == {"stored": 2}
    assert read_back(server.port, measurement="curl") == {
        "v": [(T0, 1), (T0 + 1, 2), (T0 + 2, 3), (T0 + 3, 4)]}
    # no credentials: 401, as JSON
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{server.port}/api/ingest/write", data=b"curl,src=a v=9"),
            timeout=10)
    assert refused.value.code == 401
    assert "error" in json.loads(refused.value.read())

