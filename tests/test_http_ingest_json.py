"""Writing datapoints as JSON, columns, NDJSON and CSV, one stream or a batch across streams,
through the writable API of ``tests/ingest_urls.py``; read back through the API."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from django.test import Client

from datastream import Granularity

pytestmark = pytest.mark.urls("ingest_urls")


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    """Every test starts with the throttle's counts (Django's cache) empty."""
    from django.core.cache import cache

    cache.clear()

T0 = 1_700_000_000


def owned(core: Any, name: str, owner: str = "alice", value_type: str = "numeric") -> str:
    downsamplers = ["mean"] if value_type == "numeric" else ["count"]
    return core.ensure_stream(
        {"name": name}, {"owner": owner}, downsamplers, Granularity.Seconds, value_type=value_type
    )


def post(client: Client, uri: str, body: Any, key: str, content_type: str = "application/json",
         **extra: Any) -> Any:
    if not isinstance(body, bytes | str):
        body = orjson.dumps(body)
    return client.post(uri, body, content_type=content_type, HTTP_AUTHORIZATION=key, **extra)


def read_back(client: Client, stream_id: str, key: str) -> list[Any]:
    response = client.get(f"/api/ingest/stream/{stream_id}/", {"time_format": "epoch"},
                          HTTP_AUTHORIZATION=key)
    assert response.status_code == 200, response.content
    return [(d["t"], d["v"]) for d in orjson.loads(response.content)["datapoints"]]


def uri(stream_id: str) -> str:
    return f"/api/ingest/stream/{stream_id}/datapoints/"


def test_json_list_is_stored_and_read_back(served_datastream: Any, keys: dict[str, str]) -> None:
    stream_id = owned(served_datastream, "list")
    client = Client()
    body = [{"t": T0, "v": 1}, {"t": "2023-11-14T22:13:21Z", "v": 2.5}, {"t": T0 + 2, "v": None}]
    response = post(client, uri(stream_id), body, keys["alice"])
    assert response.status_code == 201, response.content
    assert orjson.loads(response.content) == {"stored": 3}
    assert read_back(client, stream_id, keys["alice"]) == [(T0, 1), (T0 + 1, 2.5), (T0 + 2, None)]


def test_columns_shape_and_milliseconds(served_datastream: Any, keys: dict[str, str]) -> None:
    stream_id = owned(served_datastream, "columns")
    client = Client()
    body = {"t": [T0 * 1000, T0 * 1000 + 1999], "v": [3, 4]}
    response = post(client, uri(stream_id) + "?precision=ms", body, keys["alice"])
    assert response.status_code == 201, response.content
    assert read_back(client, stream_id, keys["alice"]) == [(T0, 3), (T0 + 1, 4)]


def test_ndjson_and_csv_bodies(served_datastream: Any, keys: dict[str, str]) -> None:
    numbers = owned(served_datastream, "ndjson")
    words = owned(served_datastream, "csv", value_type="nominal")
    client = Client()
    ndjson = f'{{"t": {T0}, "v": 1}}\n\n{{"t": {T0 + 1}, "v": -2}}\n'
    response = post(client, uri(numbers), ndjson, keys["alice"], "application/x-ndjson")
    assert response.status_code == 201, response.content
    assert read_back(client, numbers, keys["alice"]) == [(T0, 1), (T0 + 1, -2)]
    csv = f'v,t\r\nred,{T0}\r\n"a, b",2023-11-14T22:13:21Z\r\n'
    response = post(client, uri(words), csv, keys["alice"], "text/csv")
    assert response.status_code == 201, response.content
    assert read_back(client, words, keys["alice"]) == [(T0, "red"), (T0 + 1, "a, b")]


def test_batch_across_streams(served_datastream: Any, keys: dict[str, str]) -> None:
    first, second = owned(served_datastream, "b1"), owned(served_datastream, "b2")
    client = Client()
    body = [
        {"stream_id": first, "t": T0, "v": 1},
        {"stream_id": second, "t": T0, "v": 10},
        {"stream_id": first, "t": T0 + 1, "v": 2},
    ]
    response = post(client, "/api/ingest/datapoints/", body, keys["alice"])
    assert response.status_code == 201, response.content
    assert read_back(client, first, keys["alice"]) == [(T0, 1), (T0 + 1, 2)]
    assert read_back(client, second, keys["alice"]) == [(T0, 10)]


def test_gzip_body_is_accepted(served_datastream: Any, keys: dict[str, str]) -> None:
    stream_id = owned(served_datastream, "gzip")
    body = gzip.compress(orjson.dumps([{"t": T0 + i, "v": i} for i in range(100)]))
    response = post(Client(), uri(stream_id), body, keys["alice"], HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 201, response.content
    assert served_datastream.get_tags(stream_id)["latest_datapoint"].timestamp() == T0 + 99


@pytest.mark.parametrize(
    ("body", "content_type", "where"),
    [
        ([{"t": T0, "v": 1}, {"t": "yesterday", "v": 2}], "application/json", "index 1"),
        ([{"t": T0, "v": 1}, {"t": T0 + 1}], "application/json", "index 1"),
        (f'{{"t": {T0}, "v": 1}}\n{{"t": {T0 + 1}, "v": 2\n', "application/x-ndjson", "Line 2"),
        (f"t,v\n{T0},1\n{T0 + 1},2,3\n", "text/csv", "Line 3"),
        ([{"t": T0, "v": 1}, {"t": T0 + 1, "v": [1, 2]}], "application/json", "index 1"),
        ([{"t": T0 + 5, "v": 1}, {"t": T0, "v": 2}], "application/json", "index 1"),
        ({"t": [T0], "v": [1, 2]}, "application/json", "equal length"),
        ("[1, 2", "application/json", "not valid JSON"),
    ],
)
def test_bad_datapoint_names_its_place_and_stores_nothing(
    served_datastream: Any, keys: dict[str, str], body: Any, content_type: str, where: str
) -> None:
    stream_id = owned(served_datastream, "bad")
    response = post(Client(), uri(stream_id), body, keys["alice"], content_type)
    assert response.status_code == 400, response.content
    assert where.lower() in orjson.loads(response.content)["error"].lower()
    assert served_datastream.get_tags(stream_id)["latest_datapoint"] is None


def test_batch_with_unknown_stream_stores_nothing(
    served_datastream: Any, keys: dict[str, str]
) -> None:
    stream_id = owned(served_datastream, "batch")
    body = [{"stream_id": stream_id, "t": T0, "v": 1},
            {"stream_id": "00000000-0000-0000-0000-000000000000", "t": T0, "v": 1}]
    response = post(Client(), "/api/ingest/datapoints/", body, keys["alice"])
    assert response.status_code == 400
    assert "index 1" in orjson.loads(response.content)["error"]
    assert served_datastream.get_tags(stream_id)["latest_datapoint"] is None
