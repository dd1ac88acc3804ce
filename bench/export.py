"""Streamed export benchmark: server memory while exporting, and gzip byte counts.

Run ``python -m bench.export [--points N] [--database PATH]``. It builds (or reuses, with
``--database``) an SQLite datastream with one stream of ``N`` per-second datapoints (default
2,000,000; ``--points 31536000`` is a year, which takes several minutes to build), then, through
Django's test client (the whole view, no network):

* exports every datapoint as NDJSON and as CSV (``limit`` lifted up to
  ``DATASTREAM_EXPORT_MAX_POINTS``), consuming the streamed body chunk by chunk, and prints the
  process's resident memory growth (peak during the export minus before it) and the rate;
* prints the bytes of a 10,000-datapoint page in JSON, CSV and NDJSON with and without Django's
  ``GZipMiddleware``.

Figures are printed, never asserted (the test suite checks the memory bound with a margin).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
BATCH = 100_000
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _setup_django() -> None:
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "test_project.settings")
    import django

    django.setup()


def resident_bytes() -> int:
    """The resident memory of this process now (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except OSError:
        return 0


def build(path: Path, points: int) -> str:
    """One stream of ``points`` per-second datapoints in ``path`` (reused if there)."""
    from datastream import Datastream, Granularity
    from datastream.backends.sqlite import Backend

    datastream = Datastream(Backend(str(path)))
    existing = list(datastream.find_streams({"bench": "export", "points": points}))
    if existing:
        datastream.backend.close()
        return existing[0]["stream_id"]
    stream_id = datastream.ensure_stream(
        {"bench": "export", "points": points}, {}, ["mean", "min", "max"], Granularity.Seconds
    )
    begin = time.perf_counter()
    second = datetime.timedelta(seconds=1)
    for offset in range(0, points, BATCH):
        datastream.append_multiple(
            [
                {"stream_id": stream_id, "value": (i % 3600) / 10, "timestamp": START + i * second}
                for i in range(offset, min(points, offset + BATCH))
            ]
        )
    print(f"appended {points:,} datapoints in {time.perf_counter() - begin:.1f} s")
    datastream.backend.close()
    return stream_id


def export(client, uri: str) -> tuple[int, int, int, float]:
    """(bytes, lines, peak resident growth, seconds) of streaming ``uri`` to the end."""
    import gc

    gc.collect()
    before = peak = resident_bytes()
    size = lines = 0
    begin = time.perf_counter()
    response = client.get(uri)
    assert response.status_code == 200, response.content
    assert response.streaming, "the export is not streamed"
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
        peak = max(peak, resident_bytes())
    return size, lines, peak - before, time.perf_counter() - begin


def body_size(client, uri: str, gzip: bool) -> int:
    headers = {"HTTP_ACCEPT_ENCODING": "gzip"} if gzip else {}
    response = client.get(uri, **headers)
    assert response.status_code == 200
    if gzip:
        assert response.get("Content-Encoding") == "gzip", "GZipMiddleware did not compress"
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2_000_000, help="datapoints to export")
    parser.add_argument("--database", type=Path, help="SQLite file to build or reuse")
    options = parser.parse_args(argv)
    _setup_django()
    from django.conf import settings
    from django.test import Client, override_settings

    with tempfile.TemporaryDirectory() as directory:
        path = options.database or Path(directory) / "export.sqlite3"
        stream_id = build(path, options.points)
        backend = {
            "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
            "DATASTREAM_BACKEND_SETTINGS": {"database_name": str(path)},
            "DATASTREAM_EXPORT_MAX_POINTS": max(options.points, 1),
        }
        client = Client()
        detail = f"/api/v1/stream/{stream_id}/"
        with override_settings(**backend):
            print(f"\nstreamed export of {options.points:,} datapoints, Django test client")
            for name in ("ndjson", "csv"):
                size, lines, growth, seconds = export(
                    client, f"{detail}?format={name}&limit={options.points}"
                )
                print(
                    f"{name:7} {size / 2**20:9,.1f} MiB  {lines:>12,} lines  "
                    f"{lines / seconds:>10,.0f} lines/s  resident memory growth "
                    f"{growth / 2**20:6.1f} MiB"
                )
            middleware = ["django.middleware.gzip.GZipMiddleware", *settings.MIDDLEWARE]
            print("\nbytes of 10,000 raw datapoints, without and with GZipMiddleware")
            for name in ("json", "csv", "ndjson"):
                uri = f"{detail}?format={name}&limit=10000"
                plain = body_size(client, uri, gzip=False)
                with override_settings(MIDDLEWARE=middleware):
                    # A new client: a client loads the middleware on its first request.
                    compressed = body_size(Client(), uri, gzip=True)
                print(
                    f"{name:7} {plain:>10,} B  gzip {compressed:>9,} B  "
                    f"({compressed / plain:.1%})"
                )


if __name__ == "__main__":
    main()
