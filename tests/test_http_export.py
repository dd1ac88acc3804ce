"""Streamed exports: NDJSON and CSV written page by page, in bounded memory."""

from __future__ import annotations

import csv
import functools
import gzip
import io
import tracemalloc

import orjson
import pytest
from django.conf import settings
from django.test import override_settings
from helpers import G, at, new_stream, seconds

from datastream.granularity import to_seconds
from django_datastream.detail.export import csv_chunks, datapoint_pages, ndjson_chunks

T0 = at(2021, 1, 1)


def query(granularity, reverse=False, **bounds):
    base = {
        "granularity": granularity,
        "start": at(1, 1, 1),
        "end": None,
        "start_exclusive": None,
        "end_exclusive": None,
        "reverse": reverse,
        "value_downsamplers": None,
        "time_downsamplers": None,
    }
    return base | bounds


@pytest.mark.parametrize("reverse", [False, True])
def test_pages_cover_the_window_exactly(ds, reverse):
    sid = new_stream(ds)
    ds.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i // 4)} for i in range(300)]
    )
    get_data = functools.partial(ds.get_data, sid)
    arguments = query(G.Seconds, reverse)
    expected = list(get_data(**arguments))
    pages = list(datapoint_pages(get_data, arguments, G.Seconds, 0, None, page_size=7))
    assert [d for page in pages for d in page] == expected
    assert max(len(page) for page in pages) == 7
    window = list(datapoint_pages(get_data, arguments, G.Seconds, 13, 101, page_size=10))
    assert [d for page in window for d in page] == expected[13:114]


def test_pages_of_buckets_with_only_interval_time_downsamplers(ds):
    sid = new_stream(ds)
    ds.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)} for i in range(600)]
    )
    ds.downsample_streams(until=T0 + seconds(600))
    get_data = functools.partial(ds.get_data, sid)
    arguments = query(G.Seconds10, time_downsamplers=["intervals_mean"])
    expected = list(get_data(**arguments))
    pages = list(datapoint_pages(get_data, arguments, G.Seconds, 0, None, page_size=6))
    assert [d for page in pages for d in page] == expected and len(expected) == 59


def test_ndjson_and_csv_chunks():
    pages = [[{"t": "a", "v": 1}, {"t": "b", "v": None}], [{"t": "c", "v": "x,y"}]]
    assert b"".join(ndjson_chunks(pages, orjson.dumps)) == (
        b'{"t":"a","v":1}\n{"t":"b","v":null}\n{"t":"c","v":"x,y"}\n'
    )
    assert list(csv_chunks(pages, lambda v: v, True, [], [])) == [
        b"t,v\r\n",
        b"a,1\r\nb,\r\n",
        b'c,"x,y"\r\n',
    ]
    buckets = [[{"t": {"m": 1}, "v": {"m": 2, "l": 0}}]]
    assert b"".join(csv_chunks(buckets, lambda v: v, False, ["m"], ["m", "l", "u"])) == (
        b"t.m,v.m,v.l,v.u\r\n1,2,0,\r\n"
    )


def test_an_export_reads_in_bounded_memory(tmp_path):
    """200,000 datapoints (about 9 MB of NDJSON) exported with a peak of Python allocations
    far below the size of the export: nothing but one page is held at a time."""
    from datastream import Datastream
    from datastream.backends.sqlite import Backend

    ds = Datastream(Backend(str(tmp_path / "export.sqlite3")))
    sid = new_stream(ds)
    total = 200_000
    for start in range(0, total, 50_000):
        ds.append_multiple(
            [
                {"stream_id": sid, "value": i * 0.5, "timestamp": T0 + seconds(i)}
                for i in range(start, start + 50_000)
            ]
        )
    get_data = functools.partial(ds.get_data, sid)
    arguments = query(G.Seconds)
    size = count = 0
    tracemalloc.start()
    try:
        for chunk in ndjson_chunks(
            datapoint_pages(get_data, arguments, G.Seconds, 0, None), orjson.dumps
        ):
            size += len(chunk)
            count += chunk.count(b"\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ds.backend.close()
    assert count == total
    assert size > 8_000_000
    # One page of datapoints (a few MB), whatever the size of the export.
    assert peak < min(size / 2, 8_000_000), (peak, size)


def test_csv_rows_parse_back(ds):
    sid = new_stream(ds)
    ds.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)} for i in range(50)]
    )
    get_data = functools.partial(ds.get_data, sid)
    pages = datapoint_pages(get_data, query(G.Seconds), G.Seconds, 0, None, page_size=8)
    text = b"".join(csv_chunks(pages, lambda v: v.isoformat() if hasattr(v, "isoformat") else v,
                               True, [], [])).decode()  # fmt: skip
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["t", "v"] and len(rows) == 51
    assert [int(r[1]) for r in rows[1:]] == list(range(50))
    assert to_seconds(at(2021, 1, 1)) == to_seconds(T0)


# Over HTTP ------------------------------------------------------------------------------------


@pytest.fixture(params=["api", "mongodb_api"])
def any_api(request):
    """The HTTP fixture on SQLite and on MongoDB."""
    return request.getfixturevalue(request.param)


def streamed(response):
    assert response.status_code == 200, response
    assert response.streaming
    return b"".join(response.streaming_content)


def test_ndjson_is_one_json_datapoint_a_line(any_api):
    uri = any_api.detail_uri(any_api.ids[0])
    json_page = any_api.json(uri, {"l": 300, "o": 10})["datapoints"]
    response = any_api.get(uri, {"format": "ndjson", "l": 300, "o": 10})
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    lines = streamed(response).split(b"\n")
    assert lines[-1] == b""
    assert [orjson.loads(line) for line in lines[:-1]] == json_page
    buckets = any_api.json(uri, {"g": "m", "v": "m,l", "l": 10000})["datapoints"]
    text = streamed(any_api.get(uri, {"g": "m", "v": "m,l", "l": 10000, "format": "ndjson"}))
    assert [orjson.loads(line) for line in text.splitlines()] == buckets


def test_csv_is_streamed_with_a_column_per_key(any_api):
    uri = any_api.detail_uri(any_api.ids[0])
    response = any_api.get(uri, {"format": "csv", "g": "m", "v": "m,l,u", "t": "a,z"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(streamed(response).decode())))
    assert rows[0] == ["t.a", "t.z", "v.m", "v.l", "v.u"]
    buckets = any_api.json(uri, {"g": "m", "v": "m,l,u", "t": "a,z"})["datapoints"]
    assert len(rows) == len(buckets) + 1
    assert rows[1][:2] == [buckets[0]["t"]["a"], buckets[0]["t"]["z"]]
    assert float(rows[1][2]) == buckets[0]["v"]["m"]


def test_the_limit_of_exports_is_lifted_up_to_the_setting(api):
    uri = api.detail_uri(api.ids[0])
    with override_settings(DATASTREAM_API_DETAIL_MAX_LIMIT=10):
        assert len(api.json(uri, {"l": 500})["datapoints"]) == 10
        assert streamed(api.get(uri, {"l": 500, "format": "ndjson"})).count(b"\n") == 500
        assert streamed(api.get(uri, {"l": 0, "format": "csv"})).count(b"\n") == 1  # header
        with override_settings(DATASTREAM_EXPORT_MAX_POINTS=200):
            # 200 datapoints and the line saying the export was cut (tests/
            # test_resource_safety_export.py)
            assert streamed(api.get(uri, {"l": 500, "format": "ndjson"})).count(b"\n") == 201
            text = streamed(api.get(uri, {"l": 500, "format": "csv"}))
            assert text.count(b"\n") == 202


def test_an_export_continues_a_cursor(api):
    uri = api.detail_uri(api.ids[0])
    first = api.json(uri, {"l": 100})
    rest = streamed(api.get(uri, {"cu": first["meta"]["next_cursor"], "format": "ndjson",
                                  "l": 10000}))  # fmt: skip
    assert [orjson.loads(line) for line in rest.splitlines()] == api.json(
        uri, {"o": 100, "l": 10000}
    )["datapoints"]


def test_gzip_middleware_compresses_the_streamed_formats(api):
    uri = api.detail_uri(api.ids[0])
    middleware = ["django.middleware.gzip.GZipMiddleware", *settings.MIDDLEWARE]
    with override_settings(MIDDLEWARE=middleware):
        for name in ("ndjson", "csv", "json"):
            plain = api.get(uri, {"format": name, "l": 721})
            body = streamed(plain) if plain.streaming else plain.content
            response = api.get(uri, {"format": name, "l": 721}, HTTP_ACCEPT_ENCODING="gzip")
            assert response["Content-Encoding"] == "gzip"
            assert "Accept-Encoding" in response["Vary"]
            compressed = streamed(response) if response.streaming else response.content
            assert gzip.decompress(compressed) == body
            assert len(compressed) < len(body) / 3, name
            etag = response["ETag"]
            assert etag.startswith('W/"')  # GZipMiddleware weakens the tag; it still matches
            again = api.get(uri, {"format": name, "l": 721}, HTTP_ACCEPT_ENCODING="gzip",
                            HTTP_IF_NONE_MATCH=etag)  # fmt: skip
            assert again.status_code == 304
