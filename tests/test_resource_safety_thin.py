"""``thin`` in bounded memory: the range is read and thinned chunk by chunk.

Unit tests of :func:`datastream.thinning.thin_rows` (the chunked reduction chooses what
:func:`~datastream.thinning.thin` chooses over the whole range where it is exact, and keeps
the promised points where it is not), then the detail endpoint on SQLite and MongoDB: the peak
of Python allocations (tracemalloc) while answering ``?mp=…&th=…`` stays under one ceiling for
a range and for a range ten times longer, and ``DATASTREAM_THIN_MAX_POINTS`` refuses a range
too long to read. Chunks are made small here so that the data stays small (MongoDB's test
server stores about 10,000 datapoints a second).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy
import orjson
import pytest
import tsdownsample
from django.conf import settings
from django.test import Client, override_settings

from datastream import Granularity
from datastream import thinning as thinning_module
from datastream.exceptions import InvalidArgument
from datastream.thinning import ALGORITHMS, thin, thin_rows

T0 = 1_700_000_000


def signal(count: int, seed: int = 3, nulls: int = 0) -> list[tuple[int, float | None]]:
    """``count`` rows one second apart: a random walk with a slow wave; every ``nulls``-th
    value (from the second one) null."""
    rng = random.Random(seed)
    walk, rows = 0.0, []
    for i in range(count):
        walk += rng.gauss(0, 1)
        value = round(walk + 20 * math.sin(i / 500), 3)
        rows.append((T0 + i, None if nulls and i % nulls == 1 else value))
    return rows


def chosen_by_thin(rows, max_points, algorithm):
    times = [t for t, _ in rows]
    return [rows[i] for i in thin(times, [v for _, v in rows], max_points, algorithm)]


def last_non_null(rows):
    return lambda: next(t for t, v in reversed(rows) if v is not None)


# thin_rows ----------------------------------------------------------------------------------


@pytest.mark.parametrize("max_points", [4, 7, 8, 100, 401])
@pytest.mark.parametrize("chunk_points", [97, 1000, 20_000])
def test_chunked_m4_is_m4_over_the_whole_range(max_points, chunk_points):
    rows = signal(20_000, nulls=37)
    chosen, count = thin_rows(iter(rows), max_points, "m4", last_non_null(rows), chunk_points)
    assert count == len(rows)
    assert chosen == chosen_by_thin(rows, max_points, "m4")


@pytest.mark.parametrize("max_points", [5, 50, 300])
def test_chunked_minmaxlttb_is_lttb_over_minmaxlttbs_preselection(max_points):
    rows = signal(30_000)
    chosen, count = thin_rows(iter(rows), max_points, "minmaxlttb", last_non_null(rows), 1000)
    assert count == len(rows) and len(chosen) <= max_points
    x = numpy.array([t for t, _ in rows], dtype=float)
    y = numpy.array([v for _, v in rows], dtype=float)
    # MinMaxLTTB's own preselection (the minimum and maximum of 2 * max_points bins, the
    # first and the last datapoint) holds every point chosen here.
    preselected = tsdownsample.MinMaxDownsampler().downsample(x, y, n_out=4 * max_points)
    allowed = {rows[i] for i in preselected} | {rows[0], rows[-1]}
    assert set(chosen) <= allowed
    values = [v for _, v in chosen]
    assert min(y) in values and max(y) in values
    assert chosen == sorted(chosen)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_chunked_thinning_keeps_its_promises(algorithm):
    rows = signal(25_000, nulls=11)
    chosen, count = thin_rows(iter(rows), 60, algorithm, last_non_null(rows), 512)
    assert count == 25_000
    assert 2 < len(chosen) <= 60
    assert chosen == sorted(set(chosen)) and set(chosen) <= set(rows)
    assert all(value is not None for _, value in chosen)
    present = [v for _, v in rows if v is not None]
    firsts = [row for row in rows if row[1] is not None]
    assert chosen[0] == firsts[0] and chosen[-1] == firsts[-1]
    if algorithm != "lttb":
        assert min(present) in [v for _, v in chosen] and max(present) in [v for _, v in chosen]


def test_a_range_of_one_chunk_is_thinned_exactly():
    rows = signal(5000, nulls=7)
    calls = []
    for algorithm in ALGORITHMS:
        chosen, count = thin_rows(iter(rows), 50, algorithm, lambda: calls.append(1), 5000)
        assert (chosen, count) == (chosen_by_thin(rows, 50, algorithm), 5000)
    assert calls == []  # the time of the last datapoint is only needed for chunks


def test_equal_times_across_chunks_nulls_and_late_rows():
    # Many datapoints a second, chunks cutting seconds apart, whole chunks of nulls, and rows
    # later than the last time given (appended meanwhile) all land in the last bin.
    rows = [(T0 + i // 7, None if 300 <= i < 900 else float((i * 37) % 101)) for i in range(5000)]
    chosen, count = thin_rows(iter(rows), 8, "m4", lambda: T0 + 500, chunk_points=64)
    assert count == 5000 and chosen == sorted(chosen, key=lambda r: r[0])
    assert len(chosen) <= 8 and all(v is not None for _, v in chosen)
    assert {0.0, 100.0} <= {v for _, v in chosen}
    assert thin_rows(iter([(T0, None)] * 300), 8, "lttb", lambda: T0, 64) == ([], 300)
    assert thin_rows(iter(()), 8, "m4", lambda: None) == ([], 0)


def test_original_values_are_returned_as_they_came():
    import decimal

    rows = [(T0 + i, decimal.Decimal(i % 50) if i % 3 else i % 50) for i in range(3000)]
    rows[10] = (T0 + 10, {"m": 1000.0, "c": 2})
    chosen, _ = thin_rows(iter(rows), 8, "m4", lambda: T0 + 2999, 100)
    assert (T0 + 10, {"m": 1000.0, "c": 2}) in chosen
    assert all(row in rows for row in chosen)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((3, "m4"), "at least 4"),
        ((10, "nope"), "Unknown thinning algorithm"),
        ((10, "m4", lambda: None, 0), "chunk_points must be a positive integer"),
    ],
)
def test_thin_rows_checks_its_arguments(arguments, message):
    max_points, algorithm, *rest = arguments
    last = rest[0] if rest else (lambda: None)
    with pytest.raises(InvalidArgument, match=message):
        thin_rows(iter(signal(10)), max_points, algorithm, last, *rest[1:])


# Over HTTP, on SQLite and MongoDB ---------------------------------------------------------------

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
SHORT = 1_000
LONG = 10 * SHORT
CHUNK = 100
ROOT = Path(__file__).resolve().parent.parent

#: Run in a separate process (the MongoDB test server runs in the test process, and its own
#: allocations are not the API's): the peak of Python allocations while answering each
#: ``thin`` request, as JSON ``{"<algorithm> <seconds>": [status, raw_count, points, peak]}``.
MEASURE = """
import json, sys, tracemalloc
import django
django.setup()
from django.conf import settings
from django.test import Client, override_settings
from datastream import thinning
settings, uri, start, spans, chunk = json.loads(sys.argv[1])
thinning.CHUNK_POINTS = chunk
figures = {}
with override_settings(**settings):
    client = Client()
    for algorithm in thinning.ALGORITHMS:  # warm up (imports, caches)
        client.get(uri, {"mp": 40, "th": algorithm, "s": start, "e": start + spans[0] - 1})
    for algorithm in thinning.ALGORITHMS:
        for span in spans:
            tracemalloc.start()
            response = client.get(uri, {"mp": 40, "th": algorithm, "s": start,
                                        "e": start + span - 1})
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            body = json.loads(response.content)
            figures[f"{algorithm} {span}"] = [response.status_code, body["meta"]["raw_count"],
                                              len(body["datapoints"]), peak]
print(json.dumps(figures))
"""


@pytest.fixture
def long_stream(served_datastream):
    """A stream of ``LONG`` per-second datapoints, served; its rows."""
    core = served_datastream
    stream_id = core.ensure_stream({"safety": "thin"}, {}, ["mean", "count"], Granularity.Seconds)
    rows = signal(LONG, nulls=101)
    core.append_multiple(
        [
            {"stream_id": stream_id, "value": value, "timestamp": START + datetime.timedelta(
                seconds=t - T0)}
            for t, value in rows
        ]
    )  # fmt: skip
    return stream_id, rows


def thin_request(client, stream_id, seconds, algorithm="m4", max_points=40):
    end = int(START.timestamp()) + seconds - 1
    uri = f"/api/v1/stream/{stream_id}/"
    return client.get(uri, {"mp": max_points, "th": algorithm, "s": int(START.timestamp()),
                            "e": end})  # fmt: skip


def peak_of(call):
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_thin_memory_does_not_grow_with_the_range(long_stream):
    """The peak of Python allocations while answering ``thin`` over ``LONG`` datapoints stays
    under the ceiling the range ten times shorter stays under: one chunk of raw rows and the
    candidates are held, never the range (measured in a process of its own). Holding the long
    range's datapoints as the API's dicts would take about ten times the ceiling."""
    stream_id, rows = long_stream
    arguments = [
        {name: getattr(settings, name) for name in ("DATASTREAM_BACKEND",
                                                   "DATASTREAM_BACKEND_SETTINGS")},
        f"/api/v1/stream/{stream_id}/", int(START.timestamp()), [SHORT, LONG], CHUNK,
    ]  # fmt: skip
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
        DJANGO_SETTINGS_MODULE="test_project.settings",
    )
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(arguments)],
        env=environment, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    ceiling = 500_000
    for algorithm in ALGORITHMS:
        for span in (SHORT, LONG):
            status, raw_count, points, peak = figures[f"{algorithm} {span}"]
            assert (status, raw_count) == (200, span) and 2 < points <= 40
            assert peak < ceiling, (algorithm, span, figures)
    # What holding the long range would take: its datapoints as dicts with datetimes.
    _, whole = peak_of(
        lambda: [{"t": START + datetime.timedelta(seconds=t - T0), "v": v} for t, v in rows]
    )
    assert whole > 4 * ceiling, whole


def test_thin_over_the_endpoint_matches_thin_over_the_range(long_stream, monkeypatch):
    monkeypatch.setattr(thinning_module, "CHUNK_POINTS", CHUNK)
    stream_id, rows = long_stream
    client = Client()
    for algorithm in ALGORITHMS:
        body = orjson.loads(thin_request(client, stream_id, LONG, algorithm, 100).content)
        if algorithm == "m4":
            expected = chosen_by_thin(rows, 100, algorithm)
        else:
            expected, _ = thin_rows(iter(rows), 100, algorithm, last_non_null(rows), CHUNK)
        assert [point["v"] for point in body["datapoints"]] == [v for _, v in expected]
        times = [datetime.datetime.fromisoformat(p["t"]).timestamp() for p in body["datapoints"]]
        assert times == [START.timestamp() + t - T0 for t, _ in expected]
    end = int(START.timestamp()) + LONG - 1
    params = {"mp": 100, "th": "m4", "s": int(START.timestamp()), "e": end}
    uri = f"/api/v1/stream/{stream_id}/"
    forward = orjson.loads(client.get(uri, params).content)["datapoints"]
    assert orjson.loads(client.get(uri, params | {"r": 1}).content)["datapoints"] == forward[::-1]


def test_thin_refuses_a_range_longer_than_the_setting(long_stream):
    stream_id, _ = long_stream
    client = Client()
    with override_settings(DATASTREAM_THIN_MAX_POINTS=SHORT):
        assert thin_request(client, stream_id, SHORT).status_code == 200
        response = thin_request(client, stream_id, SHORT + 1)
        assert response.status_code == 400
        assert orjson.loads(response.content)["error"] == (
            f"'thin' reads every raw datapoint of the range, and this range holds {SHORT + 1:,}"
            f": more than {SHORT:,} (the DATASTREAM_THIN_MAX_POINTS setting). Ask for a "
            "shorter range, or use 'max_points' without 'thin' (downsampled datapoints)."
        )
    with override_settings(DATASTREAM_THIN_MAX_POINTS=0):  # no maximum
        assert thin_request(client, stream_id, LONG).status_code == 200
