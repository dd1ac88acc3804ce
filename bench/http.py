"""HTTP API benchmark: server time of the list and detail endpoints.

Run ``python -m bench.http [--database PATH] [--repeat N] [--days N | --large]``. It builds (or
reuses, with ``--database``) an SQLite datastream of 1,000 small streams, one stream holding a
year of minute data (525,600 datapoints, downsampled), and two streams of per-second data: one
day of it (86,400 datapoints) and ``--days`` days of it (default 30, 2,592,000 datapoints;
``--large`` makes it a whole year, 31,536,000 datapoints, which takes minutes to build: build it
once into a file with ``--database`` and reuse it). It then times requests through Django's
test client, which runs the whole view, serialisation included, without a network. The
per-second cases compare each detail request (``limit=0``, first, middle and last page) on the
long stream with the same request on the day: the ratio should stay near 1 whatever the
length. Figures are printed, never asserted.
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


def build_seconds(path: Path, days: int) -> tuple[str, str]:
    """Per-second streams of one day and of ``days`` days in ``path``; returns their ids."""
    from datastream import Datastream, Granularity
    from datastream.backends.sqlite import Backend

    datastream = Datastream(Backend(str(path)))
    ids = []
    for length in (1, days):
        query = {"bench": "seconds", "days": length}
        existing = list(datastream.find_streams(query))
        if existing:
            ids.append(existing[0]["stream_id"])
            continue
        stream_id = datastream.ensure_stream(query, {}, ["mean", "min", "max"],
                                             Granularity.Seconds)  # fmt: skip
        ids.append(stream_id)
        total = length * 86_400
        begin = time.perf_counter()
        second = datetime.timedelta(seconds=1)
        for offset in range(0, total, BATCH):
            datastream.append_multiple(
                [
                    {"stream_id": stream_id, "value": i % 1000, "timestamp": START + i * second}
                    for i in range(offset, min(total, offset + BATCH))
                ]
            )
        print(f"appended {total:,} per-second datapoints in {time.perf_counter() - begin:.1f} s")
        begin = time.perf_counter()
        datastream.downsample_streams(query, until=START + (total + 86_400) * second)
        print(f"downsampled in {time.perf_counter() - begin:.1f} s")
    datastream.backend.close()
    return ids[0], ids[1]


def seconds_cases(day_id: str, long_id: str, days: int) -> list[tuple[str, str, str]]:
    """``(name, URI on the day, URI on the long stream)`` of the per-second detail requests."""
    total = days * 86_400
    cases = [("limit=0 (total_count only)", "limit=0", "limit=0"),
             ("first page, limit 1000", "limit=1000", "limit=1000"),
             ("middle page, limit 1000", "limit=1000&offset=43200",
              f"limit=1000&offset={total // 2}"),
             ("last page, limit 1000", "limit=1000&offset=85400",
              f"limit=1000&offset={total - 1000}"),
             ("last page reversed, limit 1000", "limit=1000&offset=85400&reverse=true",
              f"limit=1000&offset={total - 1000}&reverse=true")]  # fmt: skip
    return [
        (name, f"/api/v1/stream/{day_id}/?{day}", f"/api/v1/stream/{long_id}/?{long}")
        for name, day, long in cases
    ]


def measure(client, uri: str, repeat: int) -> tuple[list[float], int, int]:
    """Seconds per request over ``repeat`` requests (after warming up); items and bytes."""
    import orjson

    for _ in range(3):
        response = client.get(uri)
        content = _body(response)
    assert response.status_code == 200, content[:500]
    if response["Content-Type"].startswith("text/csv"):
        items = content.count(b"\n") - 1
    else:
        body = orjson.loads(content)
        items = len(body.get("objects", body.get("datapoints", [])))
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        _body(client.get(uri))
        times.append(time.perf_counter() - begin)
    return times, items, len(content)


def _body(response) -> bytes:
    """The whole body; a streamed response (CSV, NDJSON) is read to its end, as a client would."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


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
    parser.add_argument("--days", type=int, default=30, help="days of the long per-second stream")
    parser.add_argument("--large", action="store_true", help="a year of per-second data")
    args = parser.parse_args(argv)
    days = 365 if args.large else args.days
    _setup_django()
    from django.test import Client, override_settings

    with tempfile.TemporaryDirectory() as directory:
        path = Path(args.database) if args.database else Path(directory) / "bench.sqlite3"
        stream_id = build(path)
        day_id, long_id = build_seconds(path, days)
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
                 f"{detail}?g=h&v=mean,min,max&limit=10000", 0.012),
                ("detail, raw week, limit 10080",
                 f"{detail}?s=1685577600&e=1686182340&limit=10080", 0.010),
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
            print(f"\nper-second data: {days} days against one day (target: ratio <= 2)")
            for name, day_uri, long_uri in seconds_cases(day_id, long_id, days):
                day_times, items, size = measure(client, day_uri, args.repeat)
                report(f"  1 day, {name}", day_times, items, size, None)
                long_times, items, size = measure(client, long_uri, args.repeat)
                report(f"  {days} days, {name}", long_times, items, size, None)
                ratio = statistics.median(long_times) / statistics.median(day_times)
                print(f"  {'ratio':<50} {ratio:6.2f}")
            print("\nthe same reads through the datastream API alone (count + page), no HTTP:")
            for name, read in core_reads(stream_id):
                times = time_calls(read, args.repeat)
                report(name, times, len(read()), 0, None)


if __name__ == "__main__":
    main()
