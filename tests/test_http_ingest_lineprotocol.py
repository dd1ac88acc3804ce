"""InfluxDB line protocol at ``/write`` and ``/api/v2/write`` through the Django test client:
the mapping of series to streams, value types, escaping, precision, all-or-nothing."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from django.test import Client, override_settings

from datastream import Granularity

pytestmark = pytest.mark.urls("ingest_urls")


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    """Every test starts with the throttle's counts (Django's cache) empty."""
    from django.core.cache import cache

    cache.clear()

T0 = 1_700_000_000
NS = 1_000_000_000


def write(body: str | bytes, key: str, path: str = "/api/ingest/api/v2/write",
          query: str = "bucket=b&org=o&precision=s", **extra: Any) -> Any:
    header = f"Token {key.split(' ', 1)[1]}"  # "ApiKey alice:alice-key" -> "Token alice:alice-key"
    return Client().post(f"{path}?{query}", body, content_type="text/plain",
                         HTTP_AUTHORIZATION=header, **extra)


def streams(core: Any, **query: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["series"], s["field"]): s for s in core.find_streams(query or None)}


def raw(core: Any, stream_id: str) -> list[tuple[int, Any]]:
    data = core.get_data(stream_id, Granularity.Seconds, start=core_start())
    return [(int(d["t"].timestamp()), d["v"]) for d in data]


def core_start() -> Any:
    import datetime

    return datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def test_series_fields_become_streams_with_value_types(
    served_datastream: Any, keys: dict[str, str]
) -> None:
    body = (
        f"cpu,host=a,region=eu usage=1.5,count=3i,up=true,state=\"ok\" {T0}\n"
        f"# a comment\n\n"
        f"cpu,region=eu,host=a usage=2,count=4i,up=F,state=\"x y\" {T0 + 1}\n"
        f"cpu,host=a usage=9 {T0}\n"
    )
    response = write(body, keys["alice"])
    assert response.status_code == 204, response.content
    found = streams(served_datastream, measurement="cpu")
    assert set(found) == {
        ("cpu,host=a,region=eu", "usage"), ("cpu,host=a,region=eu", "count"),
        ("cpu,host=a,region=eu", "up"), ("cpu,host=a,region=eu", "state"),
        ("cpu,host=a", "usage"),
    }
    usage = found["cpu,host=a,region=eu", "usage"]
    assert usage["tags"] == {"host": "a", "region": "eu"}
    assert usage["owner"] == "alice"  # the authorization's namespace
    assert usage["value_type"] == "numeric"
    assert found["cpu,host=a,region=eu", "state"]["value_type"] == "nominal"
    assert raw(served_datastream, usage["stream_id"]) == [(T0, 1.5), (T0 + 1, 2)]
    assert raw(served_datastream, found["cpu,host=a,region=eu", "count"]["stream_id"]) == [
        (T0, 3), (T0 + 1, 4)]
    assert raw(served_datastream, found["cpu,host=a,region=eu", "up"]["stream_id"]) == [
        (T0, True), (T0 + 1, False)]
    assert raw(served_datastream, found["cpu,host=a,region=eu", "state"]["stream_id"]) == [
        (T0, "ok"), (T0 + 1, "x y")]
    assert raw(served_datastream, found["cpu,host=a", "usage"]["stream_id"]) == [(T0, 9)]
    # a second request appends to the same streams
    assert write(f"cpu,host=a usage=10 {T0 + 5}", keys["alice"]).status_code == 204
    assert raw(served_datastream, found["cpu,host=a", "usage"]["stream_id"]) == [
        (T0, 9), (T0 + 5, 10)]


def test_escaping(served_datastream: Any, keys: dict[str, str]) -> None:
    body = rf'disk\ io\,x,pa\ th=/a\,b,k\=y=v\=1 fi\,eld=1,s="say \"hi\", a=b \\" {T0}'
    assert write(body, keys["alice"]).status_code == 204
    found = {s["field"]: s for s in served_datastream.find_streams({"owner": "alice"})}
    assert set(found) == {"fi,eld", "s"}
    assert found["s"]["measurement"] == "disk io,x"
    assert found["s"]["tags"] == {"pa th": "/a,b", "k=y": "v=1"}
    assert raw(served_datastream, found["s"]["stream_id"]) == [(T0, 'say "hi", a=b \\')]


@pytest.mark.parametrize(
    ("precision", "stamp"),
    [("ns", T0 * NS + 999), ("us", T0 * 1_000_000), ("ms", T0 * 1000 + 5), ("s", T0)],
)
def test_v2_precisions(served_datastream: Any, keys: dict[str, str], precision: str,
                       stamp: int) -> None:
    assert write(f"m f=1 {stamp}", keys["alice"],
                 query=f"bucket=b&precision={precision}").status_code == 204
    (stream,) = served_datastream.find_streams({"measurement": "m"})
    assert raw(served_datastream, stream["stream_id"]) == [(T0, 1)]


@pytest.mark.parametrize(("precision", "stamp"), [("n", T0 * NS), ("u", T0 * 1_000_000),
                                                  ("m", T0 // 60), ("h", T0 // 3600)])
def test_v1_precisions_and_basic_credentials(
    served_datastream: Any, keys: dict[str, str], precision: str, stamp: int
) -> None:
    import base64

    basic = base64.b64encode(b"alice:alice-key").decode()
    response = Client().post(f"/api/ingest/write?db=x&precision={precision}", f"m f=1 {stamp}",
                             content_type="application/octet-stream",
                             HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 204, response.content
    (stream,) = served_datastream.find_streams({"measurement": "m"})
    assert raw(served_datastream, stream["stream_id"])[0][0] == stamp * {
        "n": 1, "u": 1, "m": 60, "h": 3600}[precision] // {"n": NS, "u": 10**6, "m": 1, "h": 1}[
        precision]


def test_v1_u_and_p_parameters_and_missing_timestamp(
    served_datastream: Any, keys: dict[str, str], clock: Any
) -> None:
    response = Client().post("/api/ingest/write?db=x&u=bob&p=bob-key", "m f=1",
                             content_type="text/plain")
    assert response.status_code == 204, response.content
    (stream,) = served_datastream.find_streams({"measurement": "m"})
    assert stream["owner"] == "bob"
    import time

    ((stamp, value),) = raw(served_datastream, stream["stream_id"])
    assert value == 1 and abs(stamp - time.time()) < 10  # the server's now


@pytest.mark.parametrize(
    ("bad_line", "words"),
    [
        ("cpu usage=", "no value"),
        ("cpu usage=1 notatime", "timestamp"),
        ('cpu s="open', "unterminated"),
        ("cpu usage=abc", "not a number"),
        ("cpu,host usage=1", "key=value"),
        ("cpu", "no fields"),
        ("cpu usage=1i", "numeric here but nominal"),  # an int after a string of one field
        (f"cpu usage=1 {T0 - 100}", "older"),  # the library's monotonic rule
        ("cpu usage=1 999999999999999", "range"),
    ],
)
def test_malformed_line_is_named_and_nothing_is_stored(
    served_datastream: Any, keys: dict[str, str], bad_line: str, words: str
) -> None:
    first = 'cpu usage="one"' if "nominal" in words else "cpu usage=1"
    body = f"{first} {T0}\nother f=1 {T0}\n{bad_line}\n"
    response = write(body, keys["alice"])
    assert response.status_code == 400, response.content
    message = orjson.loads(response.content)["error"]
    assert message.startswith("Line 3") and words in message, message
    for stream in served_datastream.find_streams():
        assert stream["latest_datapoint"] is None


def test_gzip_and_oversized_bodies(served_datastream: Any, keys: dict[str, str]) -> None:
    lines = "\n".join(f"m,host=h{i % 7} f={i} {T0 + i}" for i in range(500)).encode()
    assert write(gzip.compress(lines), keys["alice"], HTTP_CONTENT_ENCODING="gzip"
                 ).status_code == 204
    assert sum(1 for _ in served_datastream.find_streams({"measurement": "m"})) == 7
    with override_settings(DATASTREAM_INGEST_MAX_BODY_SIZE=1000):
        assert write(b"x" * 1001, keys["alice"]).status_code == 413
        # a small gzip body that inflates beyond the limit (a gzip bomb) is refused too
        bomb = gzip.compress(b"m f=1\n" * 100_000)
        assert len(bomb) < 1000
        response = write(bomb, keys["alice"], HTTP_CONTENT_ENCODING="gzip")
        assert response.status_code == 413, response.content
    with override_settings(DATASTREAM_INGEST_MAX_DATAPOINTS=10):
        response = write("\n".join(f"n f=1,g=2 {T0 + i}" for i in range(6)), keys["alice"])
        assert response.status_code == 413
    assert not list(served_datastream.find_streams({"measurement": "n"}))
    response = write(b"\x1f\x8b not gzip", keys["alice"], HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400


def test_stream_configuration_from_settings(served_datastream: Any, keys: dict[str, str]) -> None:
    config = {"*": {"value_downsamplers": ["mean"]},
              "slow": {"highest_granularity": "minutes", "value_downsamplers": ["max"]}}
    with override_settings(DATASTREAM_INGEST_STREAMS=config):
        assert write(f"fast f=1 {T0}\nslow f=1 {T0}", keys["alice"]).status_code == 204
    fast, slow = (next(iter(served_datastream.find_streams({"measurement": m})))
                  for m in ("fast", "slow"))
    assert fast["highest_granularity"] == Granularity.Seconds
    assert fast["value_downsamplers"] == ["mean", "sum", "count"]
    assert slow["highest_granularity"] == Granularity.Minutes
    assert "max" in slow["value_downsamplers"] and "mean" not in slow["value_downsamplers"]


def test_no_malformed_body_answers_500(served_datastream: Any, keys: dict[str, str]) -> None:
    import random

    rng = random.Random(19)
    alphabet = ' ,="\\#\n\r\tabc019-.eEiutfTF{}[]:\x00é'
    stream_id = served_datastream.ensure_stream({"name": "fuzz"}, {"owner": "alice"}, ["mean"],
                                                Granularity.Seconds)
    targets = [
        ("/api/ingest/api/v2/write?precision=s", "text/plain"),
        ("/api/ingest/write?precision=ms", "application/octet-stream"),
        (f"/api/ingest/stream/{stream_id}/datapoints/", "application/json"),
        (f"/api/ingest/stream/{stream_id}/datapoints/", "application/x-ndjson"),
        (f"/api/ingest/stream/{stream_id}/datapoints/", "text/csv"),
        ("/api/ingest/datapoints/", "application/json"),
    ]
    from django.core.cache import cache

    statuses = set()
    for number in range(240):
        cache.clear()  # the throttle counts nothing here
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 60)))
        body: bytes = text.encode()
        extra: dict[str, str] = {}
        if number % 5 == 0:
            body = bytes(rng.randrange(256) for _ in range(40))
        if number % 7 == 0:
            body = gzip.compress(body)[: rng.randrange(5, 40)]
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        uri, content_type = targets[number % len(targets)]
        response = Client().post(uri, body, content_type=content_type,
                                 HTTP_AUTHORIZATION=keys["alice"], **extra)
        assert response.status_code < 500, (uri, body, response.content)
        statuses.add(response.status_code)
        if response.status_code >= 400:
            assert orjson.loads(response.content)["error"]
    assert 400 in statuses and 429 not in statuses


@pytest.mark.parametrize("config", [{"*": {"highest_granularity": "fortnights"}},
                                    {"m": {"value_downsamplers": ["mean", "nonsense"]}},
                                    {"*": {"nominal_value_downsamplers": ["mean"]}},
                                    {"*": {"colour": "blue"}}, ["not", "a", "dict"]])
def test_misconfigured_stream_settings_answer_503(
    served_datastream: Any, keys: dict[str, str], config: Any
) -> None:
    with override_settings(DATASTREAM_INGEST_STREAMS=config):
        response = write(f'm f=1,s="x" {T0}', keys["alice"])
    assert response.status_code == 503, response.content
    assert "DATASTREAM_INGEST_STREAMS" in orjson.loads(response.content)["error"]
    assert not list(served_datastream.find_streams())
