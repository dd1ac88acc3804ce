"""Streamed exports: NDJSON and CSV written page by page, in bounded memory."""

from __future__ import annotations

import csv
import functools
import io
import tracemalloc

import orjson
import pytest
from helpers import G, at, new_stream, seconds

from datastream.granularity import to_seconds
from django_datastream.export import csv_chunks, datapoint_pages, ndjson_chunks

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
