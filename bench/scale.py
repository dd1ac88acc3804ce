"""Catalog scale benchmark: stream creation and tag queries as the catalog grows.

Run ``python -m bench.scale [--sizes 1000,10000,100000] [--large] [--repeat N]``. For each
size it creates that many streams in a fresh SQLite file (each with a device, a sensor, a
nested ``location`` and a few more tags, as a fleet of devices would have) and prints:

* the ``ensure_stream`` rate for new streams (the last 1,000 created) and for existing ones;
* ``find_streams`` by one tag: one result, 1% of the streams, and a nested path;
* key order: ``find_streams`` with two keys, one that every stream has (``unit``) and a
  selective one, in both orders, and ``ensure_stream`` whose query tags start with that common
  key (new and existing streams) — the answer and its cost must not depend on the order;
* the list endpoint ``/api/v1/stream/?tags__k=v&limit=100`` (Django test client) and the time
  of its ``total_count`` alone.

``--large`` adds 1,000,000 streams. Figures are printed, never asserted; they should stay flat
as the catalog grows (targets at 100,000 streams: ``ensure_stream`` >= 2,000/s new and >= 5,000/s
existing, ``find_streams`` <= 5 ms for up to 100 results, the list endpoint <= 10 ms p50).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.http import _setup_django, report

SAMPLE = 1_000
#: Calls timed per key-order ``ensure_stream`` line (a slow plan takes milliseconds a call).
ORDER_SAMPLE = 200
#: The tag every stream has (see ``_stream_tags``).
COMMON = {"unit": "°C"}


def _stream_tags(number: int) -> tuple[dict, dict]:
    query = {"device": f"dev-{number // 25}", "sensor": f"s{number % 25}"}
    tags = {
        "group": f"g{number % 100}",  # 1% of the streams each
        "serial": f"SN{number:08d}",  # unique
        "location": {"site": f"site-{number % 10}", "room": f"r{number % 1000}"},
        "unit": "°C",
    }
    return query, tags


def _create(datastream, start: int, stop: int, common: str | None = None) -> None:
    """``ensure_stream`` for stream numbers ``start`` to ``stop``; ``common`` puts the tag all
    streams share into the query tags, ``"first"`` or ``"last"``."""
    from datastream import Granularity

    for number in range(start, stop):
        query, tags = _stream_tags(number)
        if common == "first":
            query = {**COMMON, **query}
        elif common == "last":
            query = {**query, **COMMON}
        datastream.ensure_stream(query, tags, ["mean", "min", "max"], Granularity.Seconds)


def _rate(datastream, start: int, stop: int, common: str | None = None) -> float:
    """Calls of ``ensure_stream`` per second for stream numbers ``start`` to ``stop``."""
    begin = time.perf_counter()
    _create(datastream, start, stop, common)
    return (stop - start) / (time.perf_counter() - begin)


def _time(function, repeat: int) -> list[float]:
    function()
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        function()
        times.append(time.perf_counter() - begin)
    return times


def run_size(size: int, directory: Path, repeat: int) -> None:
    from django.test import Client, override_settings

    from datastream import Datastream
    from datastream.backends.sqlite import Backend

    path = directory / f"scale-{size}.sqlite3"
    datastream = Datastream(Backend(str(path)))
    begin = time.perf_counter()
    _create(datastream, 0, size - SAMPLE)
    bulk = time.perf_counter() - begin
    begin = time.perf_counter()
    _create(datastream, size - SAMPLE, size)
    new_rate = SAMPLE / (time.perf_counter() - begin)
    begin = time.perf_counter()
    _create(datastream, size // 2, size // 2 + SAMPLE)
    existing_rate = SAMPLE / (time.perf_counter() - begin)
    print(f"\n{size:,} streams (created in {bulk + SAMPLE / new_rate:.1f} s)")
    print(f"  ensure_stream, new streams       {new_rate:10,.0f} /s  (target >= 2,000/s)")
    print(f"  ensure_stream, existing streams  {existing_rate:10,.0f} /s  (target >= 5,000/s)")
    # Query tags holding the tag every stream has, first or last; the new streams are
    # numbered after the catalog (size + ORDER_SAMPLE of them per line).
    for order in ("first", "last"):
        start = size + (ORDER_SAMPLE if order == "last" else 0)
        new = _rate(datastream, start, start + ORDER_SAMPLE, order)
        existing = _rate(datastream, size // 3, size // 3 + ORDER_SAMPLE, order)
        print(f"  ensure_stream, common key {order:<5}, new       {new:10,.0f} /s")
        print(f"  ensure_stream, common key {order:<5}, existing  {existing:10,.0f} /s")

    middle = size // 2
    serial = {"serial": f"SN{middle:08d}"}
    queries = [
        ("find_streams, 1 result", serial),
        ("find_streams, 1% of streams", {"group": "g7"}),
        ("find_streams, nested path, 0.1% of streams", {"location": {"room": "r7"}, "group": "g7"}),
        ("find_streams, common key first, 1 result", {**COMMON, **serial}),
        ("find_streams, common key last, 1 result", {**serial, **COMMON}),
        ("find_streams, common key first, 1%", {**COMMON, "group": "g7"}),
        ("find_streams, common key last, 1%", {"group": "g7", **COMMON}),
    ]
    for name, query in queries:
        found = len(list(datastream.find_streams(query)[:100]))
        times = _time(lambda query=query: list(datastream.find_streams(query)[:100]), repeat)
        report(f"  {name} ({found} returned)", times, found, 0, 0.005)
    datastream.backend.close()

    settings = {
        "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
        "DATASTREAM_BACKEND_SETTINGS": {"database_name": str(path)},
        "DEBUG": False,
    }
    with override_settings(**settings):
        from django_datastream import datastream as configured

        client = Client()
        uri = "/api/v1/stream/?tags__group=g7&limit=100&format=json"
        response = client.get(uri)
        assert response.status_code == 200, response.content[:300]
        times = _time(lambda: client.get(uri), repeat)
        report("  list endpoint, tag filter, limit 100", times, 100, len(response.content), 0.010)
        count = _time(lambda: configured.find_streams({"group": "g7"}).count(), repeat)
        print(f"  its total_count alone             p50 {statistics.median(count) * 1000:7.2f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--large", action="store_true", help="also 1,000,000 streams")
    parser.add_argument("--repeat", type=int, default=50, help="repetitions per query")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.large:
        sizes.append(1_000_000)
    _setup_django()
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes:
            run_size(max(size, 2 * SAMPLE), Path(directory), args.repeat)


if __name__ == "__main__":
    main()
