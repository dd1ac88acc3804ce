"""HTTP API benchmark: server time of the list and detail endpoints.

Run ``python -m bench.http [--database PATH] [--repeat N]``. It builds (or reuses, with
``--database``) an SQLite datastream of 1,000 small streams plus one stream holding a year of
minute data (525,600 datapoints, downsampled), then times requests through Django's test
client, which runs the whole view, serialisation included, without a network. Figures are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
MINUTES = 525_600
STREAMS = 1_000
BATCH = 50_000


def _setup_django() -> None:
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "test_project.settings")
    import django

    django.setup()


def build(path: Path) -> str:
    """Create the benchmark data in ``path`` unless it is there; returns the big stream id."""
    from datastream import Datastream, Granularity
    from datastream.backends.sqlite import Backend

    datastream = Datastream(Backend(str(path)))
    existing = list(datastream.find_streams({"bench": "year"}))
    if existing:
        return existing[0]["stream_id"]
    begin = time.perf_counter()
    for number in range(STREAMS):
        datastream.ensure_stream(
            {"bench": "small", "number": number},
            {"title": f"Stream {number}", "visualization": {"type": "line"}},
            ["mean", "min", "max"],
            Granularity.Seconds,
        )
    print(f"created {STREAMS:,} streams in {time.perf_counter() - begin:.1f} s")
    stream_id = datastream.ensure_stream(
        {"bench": "year"}, {"title": "A year of minutes"}, ["mean", "min", "max"],
        Granularity.Minutes,
    )  # fmt: skip
    begin = time.perf_counter()
    minute = datetime.timedelta(minutes=1)
    for offset in range(0, MINUTES, BATCH):
        datastream.append_multiple(
            [
                {
                    "stream_id": stream_id,
                    "value": round(20 + 10 * math.sin(i / 1440 * 2 * math.pi) + (i % 7) / 10, 2),
                    "timestamp": START + i * minute,
                }
                for i in range(offset, min(MINUTES, offset + BATCH))
            ]
        )
    print(f"appended {MINUTES:,} datapoints in {time.perf_counter() - begin:.1f} s")
    begin = time.perf_counter()
    datastream.downsample_streams({"bench": "year"}, until=START + (MINUTES + 1440) * minute)
    print(f"downsampled in {time.perf_counter() - begin:.1f} s")
    datastream.backend.close()
    return stream_id


def measure(client, uri: str, repeat: int) -> tuple[list[float], int, int]:
    """Seconds per request over ``repeat`` requests (after warming up); items and bytes."""
    import orjson

    for _ in range(3):
        response = client.get(uri)
    assert response.status_code == 200, response.content[:500]
    if response["Content-Type"].startswith("text/csv"):
        items = response.content.count(b"\n") - 1
    else:
        body = orjson.loads(response.content)
        items = len(body.get("objects", body.get("datapoints", [])))
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        client.get(uri)
        times.append(time.perf_counter() - begin)
    return times, items, len(response.content)


def core_reads(stream_id: str) -> list[tuple[str, object]]:
    """The core calls behind the main cases: ``(name, function returning the page)``."""
    from datastream import Granularity
    from django_datastream import datastream

    start = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    mean_min_max = ["mean", "min", "max"]

    def page(data, limit, offset=0):
        data.count()
        return list(iter(data[offset : offset + limit].batch_size(limit)))

    return [
        ("core: find_streams, limit 100", lambda: page(datastream.find_streams(), 100)),
        (
            "core: get_data hours, mean/min/max, limit 10000",
            lambda: page(
                datastream.get_data(stream_id, Granularity.Hours, start=start,
                                    value_downsamplers=mean_min_max), 10000),
        ),
        (
            "core: get_data 10minutes, mean/min/max, limit 10000",
            lambda: page(
                datastream.get_data(stream_id, Granularity.Minutes10, start=start,
                                    value_downsamplers=mean_min_max), 10000),
        ),
        (
            "core: get_data raw, limit 1000",
            lambda: page(datastream.get_data(stream_id, Granularity.Minutes, start=start), 1000),
        ),
    ]  # fmt: skip


def time_calls(function, repeat: int) -> list[float]:
    """Seconds per call of ``function`` over ``repeat`` calls, after one warm-up call."""
    function()
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        function()
        times.append(time.perf_counter() - begin)
    return times


def report(name: str, times: list[float], items: int, size: int, target: float | None) -> None:
    """Print median, p99 and requests per second."""
    ordered = sorted(times)
    median = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    rate = len(ordered) / sum(ordered)
    goal = f"  (target p50 <= {target * 1000:.0f} ms)" if target else ""
    weight = f"{size / 1024:>7,.0f} KiB" if size else " " * 11
    print(
        f"{name:<52} {items:>6,} items {weight}  p50 {median * 1000:7.2f} ms  "
        f"p99 {p99 * 1000:7.2f} ms  {rate:7.1f} req/s{goal}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLite file to build or reuse (default: temporary)")
    parser.add_argument("--repeat", type=int, default=100, help="requests per measurement")
    args = parser.parse_args(argv)
    _setup_django()
    from django.test import Client, override_settings

    with tempfile.TemporaryDirectory() as directory:
        path = Path(args.database) if args.database else Path(directory) / "bench.sqlite3"
        stream_id = build(path)
        settings = {
            "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
            "DATASTREAM_BACKEND_SETTINGS": {"database_name": str(path)},
            "DEBUG": False,
        }
        with override_settings(**settings):
            client = Client()
            detail = f"/api/v1/stream/{stream_id}/"
            cases = [
                ("list, limit 100", "/api/v1/stream/?limit=100", 0.015),
                ("list, limit 100, tag filter", "/api/v1/stream/?limit=100&tags__bench=small",
                 None),
                ("detail, hours, mean/min/max, limit 10000 (8,759)",
                 f"{detail}?g=h&v=mean,min,max&limit=10000", 0.030),
                ("detail, 10minutes, mean/min/max, limit 10000",
                 f"{detail}?g=M&v=mean,min,max&limit=10000", 0.030),
                ("detail, 10minutes, mean/min/max, CSV, limit 10000",
                 f"{detail}?g=M&v=mean,min,max&limit=10000&format=csv", None),
                ("detail, raw, limit 1000", f"{detail}?limit=1000", None),
                ("detail, raw, limit 1000, offset 500000",
                 f"{detail}?limit=1000&offset=500000", None),
            ]  # fmt: skip
            print(f"{args.repeat} requests each, Django test client, SQLite file backend")
            for name, uri, target in cases:
                times, items, size = measure(client, uri, args.repeat)
                report(name, times, items, size, target)
            print("\nthe same reads through the datastream API alone (count + page), no HTTP:")
            for name, read in core_reads(stream_id):
                times = time_calls(read, args.repeat)
                report(name, times, len(read()), 0, None)


if __name__ == "__main__":
    main()
