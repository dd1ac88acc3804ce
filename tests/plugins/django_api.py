"""Fixtures for the django_api tests (the HTTP API of django_datastream).

The data is built with the datastream API itself, against temporary SQLite files:

* ``api_data`` — the upstream fixture: five streams (int, float, float, enum, graph) of 721
  datapoints each, one every 5 s for one hour, downsampled 10 minutes past the last one;
* ``special_data`` — a few streams with values that stress the serialisers (high-accuracy
  decimals, JavaScript line separators, nested nominal values, a minutes stream, an empty
  stream).

* ``mongodb_api_data`` — the upstream fixture again, on the MongoDB backend;
* ``owned_data`` / ``mongodb_owned_data`` — streams tagged with an ``owner`` (or none), for
  the access-control tests (SQLite / MongoDB).

``api``, ``special_api`` and ``mongodb_api`` point ``DATASTREAM_BACKEND(_SETTINGS)`` at those
stores for one test and give a Django test client plus the core ``Datastream`` to compare
against; ``check_stream`` and ``check_detail`` compare responses with the core.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import os
import random
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.test import Client, override_settings

from datastream import Datastream, Granularity, Stream
from datastream.backends.sqlite import Backend
from datastream.constants import VALUE_DOWNSAMPLERS

UTC = datetime.UTC
START = datetime.datetime(2015, 11, 20, 10, 0, tzinfo=UTC)
INTERVAL = datetime.timedelta(seconds=5)
POINTS = 721
END = START + (POINTS - 1) * INTERVAL
LIST_URI = "/api/v1/stream/"

#: (kind, value type, value downsamplers, domain) of the five upstream fixture streams.
FIXTURE_TYPES: list[tuple[str, str, list[str], tuple[Any, ...]]] = [
    ("int", "numeric", list(VALUE_DOWNSAMPLERS), (0, 10)),
    ("float", "numeric", list(VALUE_DOWNSAMPLERS), (-2, 2)),
    ("float", "numeric", list(VALUE_DOWNSAMPLERS), (0, 100)),
    ("enum", "nominal", ["count"], ("a", "b", "c")),
    ("graph", "graph", ["count"], (6, 13)),
]


def _random_value(rng: random.Random, kind: str, domain: tuple[Any, ...]) -> Any:
    if kind == "int":
        return rng.randint(*domain)
    if kind == "float":
        return rng.uniform(*domain)
    if kind == "enum":
        return rng.choice(domain)
    nodes, edges = domain
    pairs = [(a, b) for a in range(nodes) for b in range(nodes) if a != b]
    return {
        "v": [{"i": i} for i in range(nodes)],
        "e": [{"f": a, "t": b} for a, b in rng.sample(pairs, min(edges, len(pairs)))],
    }


def build_fixture_streams(core: Datastream, seed: int = 42) -> list[str]:
    """Create the five upstream fixture streams with their data; returns their ids."""
    rng = random.Random(seed)
    ids = []
    for number, (kind, value_type, downsamplers, domain) in enumerate(FIXTURE_TYPES):
        numeric = value_type == "numeric"
        ids.append(
            core.ensure_stream(
                {"title": f"Stream {number}"},
                {
                    "description": f"Random {kind} values, stream number {number}.",
                    "unit_description": f"random, domain: {','.join(map(str, domain))}",
                    "stream_number": number,
                    "visualization": {
                        "type": "line",
                        "hidden": False,
                        "value_downsamplers": [
                            name for name in ("mean", "min", "max") if name in downsamplers
                        ],
                        "time_downsamplers": ["mean"],
                        "minimum": domain[0] if numeric else None,
                        "maximum": domain[1] if numeric else None,
                    },
                },
                downsamplers,
                Granularity.Seconds,
                value_type=value_type,
            )
        )
    datapoints = [
        {
            "stream_id": stream_id,
            "value": _random_value(rng, kind, domain),
            "timestamp": START + index * INTERVAL,
        }
        for index in range(POINTS)
        for stream_id, (kind, _type, _downsamplers, domain) in zip(ids, FIXTURE_TYPES)
    ]
    core.append_multiple(datapoints)
    core.downsample_streams(until=END + datetime.timedelta(minutes=10))
    return ids


def build_special_streams(core: Datastream) -> dict[str, str]:
    """Streams whose values stress the serialisers; returns ``{name: stream id}``."""
    numeric = core.ensure_stream(
        {"title": "special floats"}, {}, list(VALUE_DOWNSAMPLERS), Granularity.Seconds
    )
    accurate = core.ensure_stream(
        {"title": "high accuracy"},
        {},
        ["mean", "sum", "count"],
        Granularity.Seconds,
        value_type_options={"high_accuracy": True},
    )
    nominal = core.ensure_stream(
        {"title": "odd nominal values"}, {"unicode": "žabe \u2028"}, ["count"],
        Granularity.Seconds, value_type="nominal",
    )  # fmt: skip
    minutes = core.ensure_stream({"title": "minutes stream"}, {}, ["mean"], Granularity.Minutes)
    empty = core.ensure_stream({"title": "empty"}, {}, ["mean"], Granularity.Seconds)
    values = {
        numeric: [1.5, None, -2, 0.1, 1e300, 3],
        accurate: [decimal.Decimal("0.1"), decimal.Decimal("12345678901234567890.123456789")],
        nominal: ["line\u2028separator", {"x": [1, "two", None]}, True, "<&>", "=1+2"],
        minutes: [1, 2, 3],
    }
    datapoints = []
    for stream_id, stream_values in values.items():
        step = 60 if stream_id == minutes else 1
        datapoints.extend(
            {"stream_id": stream_id, "value": value, "timestamp": START + i * step * INTERVAL}
            for i, value in enumerate(stream_values)
        )
    core.append_multiple(datapoints)
    core.downsample_streams(until=START + datetime.timedelta(hours=1))
    return {
        "numeric": numeric,
        "accurate": accurate,
        "nominal": nominal,
        "minutes": minutes,
        "empty": empty,
    }


#: The ``owner`` tag of the streams of ``owned_data`` (``None``: no owner tag).
OWNERS = ["alice", "alice", "bob", None, "alice", "bob", None]


def build_owned_streams(core: Datastream) -> list[str]:
    """Streams owned by ``OWNERS``, three datapoints each; returns their ids."""
    ids = [
        core.ensure_stream(
            {"title": f"Owned {number}"},
            {"owner": owner} if owner else {},
            ["mean"],
            Granularity.Seconds,
        )
        for number, owner in enumerate(OWNERS)
    ]
    core.append_multiple(
        [
            {"stream_id": stream_id, "value": index, "timestamp": START + index * INTERVAL}
            for stream_id in ids
            for index in range(3)
        ]
    )
    return ids


@dataclasses.dataclass
class ApiData:
    """A datastream database built for the tests."""

    path: Path
    core: Datastream
    ids: Any
    backend_settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.backend_settings:
            self.backend_settings = {
                "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
                "DATASTREAM_BACKEND_SETTINGS": {"database_name": str(self.path)},
            }


@pytest.fixture(scope="session")
def api_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiData]:
    """The upstream HTTP fixture: 5 streams × 721 datapoints, downsampled."""
    path = tmp_path_factory.mktemp("api") / "datastream.sqlite3"
    core = Datastream(Backend(str(path)))
    yield ApiData(path, core, build_fixture_streams(core))
    core.backend.close()


@pytest.fixture(scope="session")
def special_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiData]:
    """Streams with decimals, odd nominal values, other granularities, no data."""
    path = tmp_path_factory.mktemp("special") / "datastream.sqlite3"
    core = Datastream(Backend(str(path)))
    yield ApiData(path, core, build_special_streams(core))
    core.backend.close()


@pytest.fixture(scope="session")
def mongodb_api_data(mongodb_server: Any) -> Iterator[ApiData]:
    """The upstream HTTP fixture on the MongoDB backend (the session's MongoDB-wire server)."""
    from datastream.backends.mongodb import Backend as MongoBackend

    name = f"http_api_{os.getpid()}"
    core = Datastream(MongoBackend(name, host=mongodb_server.uri))
    core.delete_streams()
    settings = {
        "DATASTREAM_BACKEND": "datastream.backends.mongodb.Backend",
        "DATASTREAM_BACKEND_SETTINGS": {"database_name": name, "host": mongodb_server.uri},
    }
    yield ApiData(Path(name), core, build_fixture_streams(core), settings)
    if mongodb_server.external:  # a genuine server keeps data; SecantusDB's is temporary
        core.delete_streams()
    core.backend.close()


@pytest.fixture(scope="session")
def owned_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiData]:
    """Streams with ``owner`` tags (``OWNERS``), on SQLite."""
    path = tmp_path_factory.mktemp("owned") / "datastream.sqlite3"
    core = Datastream(Backend(str(path)))
    yield ApiData(path, core, build_owned_streams(core))
    core.backend.close()


@pytest.fixture(scope="session")
def mongodb_owned_data(mongodb_server: Any) -> Iterator[ApiData]:
    """Streams with ``owner`` tags (``OWNERS``), on MongoDB."""
    from datastream.backends.mongodb import Backend as MongoBackend

    name = f"http_owned_{os.getpid()}"
    core = Datastream(MongoBackend(name, host=mongodb_server.uri))
    core.delete_streams()
    settings = {
        "DATASTREAM_BACKEND": "datastream.backends.mongodb.Backend",
        "DATASTREAM_BACKEND_SETTINGS": {"database_name": name, "host": mongodb_server.uri},
    }
    yield ApiData(Path(name), core, build_owned_streams(core), settings)
    if mongodb_server.external:
        core.delete_streams()
    core.backend.close()


class ApiClient:
    """A Django test client for the API with helpers, and the data behind it."""

    def __init__(self, data: ApiData) -> None:
        self.client = Client()
        self.data = data
        self.core = data.core
        self.ids = data.ids

    def get(self, uri: str, params: Any = None, **extra: Any) -> Any:
        """GET ``uri`` with query ``params`` (a dict, a list of pairs or a query string)."""
        if isinstance(params, str):
            uri = f"{uri}?{params}"
        elif params:
            uri = f"{uri}?{urllib.parse.urlencode(params, doseq=True)}"
        return self.client.get(uri, **extra)

    def json(self, uri: str, params: Any = None, status: int = 200, **extra: Any) -> Any:
        """GET and parse a JSON response, checking its status."""
        response = self.get(uri, params, **extra)
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/json"
        return orjson.loads(response.content)

    def error(self, uri: str, params: Any = None, status: int = 400, **extra: Any) -> str:
        """GET a request that must fail with ``status``; returns the error message."""
        body = self.json(uri, params, status=status, **extra)
        assert list(body) == ["error"], body
        return body["error"]

    @staticmethod
    def detail_uri(stream_id: str) -> str:
        return f"{LIST_URI}{stream_id}/"


@pytest.fixture
def api(api_data: ApiData) -> Iterator[ApiClient]:
    """A client of the API serving ``api_data``."""
    with override_settings(**api_data.backend_settings):
        yield ApiClient(api_data)


@pytest.fixture
def mongodb_api(mongodb_api_data: ApiData) -> Iterator[ApiClient]:
    """A client of the API serving ``mongodb_api_data``."""
    with override_settings(**mongodb_api_data.backend_settings):
        yield ApiClient(mongodb_api_data)


@pytest.fixture
def special_api(special_data: ApiData) -> Iterator[ApiClient]:
    """A client of the API serving ``special_data``."""
    with override_settings(**special_data.backend_settings):
        yield ApiClient(special_data)


@pytest.fixture(params=["sqlite", "mongodb"])
def served_datastream(request: pytest.FixtureRequest, tmp_path: Path, clock: Any
                      ) -> Iterator[Datastream]:
    """An empty datastream of the test's own, on SQLite and on MongoDB, served by the API
    (the settings point at it) and emptied afterwards: for tests that change data."""
    if request.param == "sqlite":
        path = str(tmp_path / "served.sqlite3")
        core = Datastream(Backend(path, clock=clock))
        settings = {
            "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
            "DATASTREAM_BACKEND_SETTINGS": {"database_name": path},
        }
    else:
        from datastream.backends.mongodb import Backend as MongoBackend

        server = request.getfixturevalue("mongodb_server")
        name = f"served_{os.urandom(6).hex()}"
        core = Datastream(MongoBackend(name, host=server.uri, clock=clock))
        settings = {
            "DATASTREAM_BACKEND": "datastream.backends.mongodb.Backend",
            "DATASTREAM_BACKEND_SETTINGS": {"database_name": name, "host": server.uri},
        }
    with override_settings(**settings):
        yield core
    core.delete_streams()
    core.backend.close()


def jsonable(value: Any) -> Any:
    """What the API's JSON makes of a core value (written independently of the serializer):
    ISO 8601 UTC datetimes with ``Z``, decimals as strings, non-finite floats as ``None``."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


def parse_uri(uri: str | None) -> tuple[str, dict[str, list[str]]] | None:
    """``(path, query dict of lists)`` of a ``next``/``previous`` URI, for comparisons."""
    if uri is None:
        return None
    parts = urllib.parse.urlsplit(uri)
    return parts.path, urllib.parse.parse_qs(parts.query, keep_blank_values=True)


# Comparisons with the core ------------------------------------------------------------------

STREAM_KEYS = {
    "id",
    "resource_uri",
    "tags",
    "value_downsamplers",
    "time_downsamplers",
    "highest_granularity",
    "earliest_datapoint",
    "latest_datapoint",
    "value_type",
}


def check_stream(api: ApiClient, body: dict[str, Any], stream_id: str) -> None:
    """``body`` is the list representation of the stream ``stream_id`` (exact keys)."""
    stream = Stream(api.core.get_tags(stream_id))
    assert set(body) == STREAM_KEYS
    assert body["id"] == stream_id
    assert body["resource_uri"] == f"{LIST_URI}{stream_id}/"
    assert body["tags"] == jsonable(stream.tags)
    assert body["value_downsamplers"] == stream.value_downsamplers
    assert body["time_downsamplers"] == stream.time_downsamplers
    assert body["highest_granularity"] == "seconds"
    assert body["earliest_datapoint"] == "2015-11-20T10:00:00Z"
    assert body["latest_datapoint"] == "2015-11-20T11:00:00Z"
    assert body["value_type"] == stream.value_type
    # an optional key, as derived_from: present only after a downsampling failure
    assert "last_downsampling_error" not in body


DETAIL_KEYS = {
    "id", "resource_uri", "tags", "value_downsamplers", "time_downsamplers",
    "highest_granularity", "earliest_datapoint", "latest_datapoint", "value_type",
    "datapoints", "query_params", "meta",
}  # fmt: skip


def check_detail(
    api: ApiClient,
    stream_id: str,
    params: Any,
    granularity: Any,
    core_kwargs: dict[str, Any],
    echo: dict[str, Any],
    offset: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """GET the detail with ``params`` and compare everything with the core."""
    body = api.json(api.detail_uri(stream_id), params)
    assert set(body) == DETAIL_KEYS
    assert body["id"] == stream_id
    assert body["resource_uri"] == api.detail_uri(stream_id)
    data = api.core.get_data(stream_id, granularity, **core_kwargs)
    expected = jsonable(list(data[offset : offset + limit])) if limit else []
    assert body["datapoints"] == expected
    assert body["query_params"] == echo
    total = data.count()
    meta = body["meta"]
    assert {k: meta[k] for k in ("limit", "offset", "total_count")} == {
        "limit": limit,
        "offset": offset,
        "total_count": total,
    }
    query: dict[str, list[str]] = {}
    for name, value in params if isinstance(params, list) else params.items():
        if name not in ("limit", "offset", "l", "o"):
            query.setdefault(name, []).append(str(value))
    if limit and offset + limit < total:
        next_query = {**query, "limit": [str(limit)], "offset": [str(offset + limit)]}
        assert parse_uri(meta["next"]) == (api.detail_uri(stream_id), next_query)
    else:
        assert meta["next"] is None
    if limit and offset:
        previous_limit = min(limit, offset)
        previous = {
            **query,
            "limit": [str(previous_limit)],
            "offset": [str(offset - previous_limit)],
        }
        assert parse_uri(meta["previous"]) == (api.detail_uri(stream_id), previous)
    else:
        assert meta["previous"] is None
    return body


def echo(**changes: Any) -> dict[str, Any]:
    """The expected ``query_params``: the defaults with ``changes``."""
    base = {
        "granularity": "seconds",
        "start": "0001-01-01T00:00:00Z",
        "end": None,
        "start_exclusive": None,
        "end_exclusive": None,
        "reverse": False,
        "value_downsamplers": None,
        "time_downsamplers": None,
    }
    return base | changes


# Users with API keys -------------------------------------------------------------------------


def create_users() -> dict[str, str]:
    """Users ``alice``, ``bob`` and ``carol`` with API keys; ``{name: Authorization header}``."""
    from django.contrib.auth.models import User
    from tastypie.models import ApiKey

    headers = {}
    for name in ("alice", "bob", "carol"):
        user = User.objects.create_user(name)
        ApiKey.objects.create(user=user, key=f"{name}-key")
        headers[name] = f"ApiKey {name}:{name}-key"
    return headers


@pytest.fixture
def keys(db: Any) -> dict[str, str]:
    """The users of :func:`create_users` in the test database."""
    return create_users()
