"""Resource-safety benchmark: ``thin`` over long ranges, and exports served by uvicorn.

Run ``python -m bench.safety --database PATH [--points N] [--code DIR] [--days D ...]
[--thin-max-points N] [--export-points N] [--only thin|export|build]``.

It builds (or reuses) in ``PATH`` an SQLite datastream holding one stream of ``N`` per-second
datapoints (default a year, 31,536,000: about 9 minutes to append and 5 to downsample on a
2-core machine, so build it once and reuse the file), downsampled. Then, for the source tree
``--code`` (default this checkout; point it at a ``git worktree`` of an older commit to measure
the code before a change: the children run with that tree first on ``PYTHONPATH``), it prints:

* ``thin``: for each algorithm and each range (the last ``D`` days of the stream, for each
  ``--days``; ``0`` is the whole stream), the status of a detail request
  ``?mp=1000&th=<algorithm>`` made through Django's test client in a fresh process, its time and
  the peak resident memory of that process (``VmHWM``). With ``--thin-max-points`` (default
  ``0``: no maximum) ``DATASTREAM_THIN_MAX_POINTS`` is set for the request, to show a refusal;
  a tree without that setting ignores it.
* ``export``: a uvicorn server (the documented ASGI server) started on the data; an NDJSON and a
  CSV export of ``--export-points`` datapoints (default every one) read over HTTP: the time to
  the first byte, the total time and bytes, and the server's resident memory: before the
  request, the largest sampled while the body was read (``VmRSS``), and the process's peak so
  far (``VmHWM``).

Figures are printed, never asserted (the tests assert the memory bounds).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.servers import serve, status_memory

ROOT = Path(__file__).resolve().parent.parent
START = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
YEAR = 31_536_000
BATCH = 200_000
ALGORITHMS = ("m4", "lttb", "minmaxlttb")


def _environment(code: Path, database: Path) -> dict[str, str]:
    """The environment of a child process running the source tree ``code`` on ``database``."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(code), str(code / "tests")])
    environment["DJANGO_SETTINGS_MODULE"] = "test_project.settings"
    environment["DATASTREAM_SQLITE_PATH"] = str(database)
    environment.pop("DATASTREAM_MONGODB_URI", None)
    return environment


def build(path: Path, points: int) -> str:
    """One stream of ``points`` per-second datapoints in ``path`` (reused if there)."""
    from datastream import Datastream, Granularity
    from datastream.backends.sqlite import Backend

    datastream = Datastream(Backend(str(path)))
    tags = {"bench": "safety", "points": points}
    existing = list(datastream.find_streams(tags))
    if existing:
        datastream.backend.close()
        return existing[0]["stream_id"]
    stream_id = datastream.ensure_stream(
        tags, {}, ["mean", "min", "max", "count"], Granularity.Seconds
    )
    begin = time.perf_counter()
    second = datetime.timedelta(seconds=1)
    for offset in range(0, points, BATCH):
        datastream.append_multiple(
            [
                {
                    "stream_id": stream_id,
                    # A daily wave with a little deterministic noise, two decimals.
                    "value": round(
                        20 + 10 * math.sin(i / 86400 * 2 * math.pi) + (i * 7919 % 1000) / 500, 2
                    ),
                    "timestamp": START + i * second,
                }
                for i in range(offset, min(points, offset + BATCH))
            ]
        )
        print(f"\rappended {min(points, offset + BATCH):,} datapoints", end="", flush=True)
    print(f" in {time.perf_counter() - begin:.1f} s")
    begin = time.perf_counter()
    datastream.downsample_streams(tags, until=START + (points + 86400) * second)
    print(f"downsampled in {time.perf_counter() - begin:.1f} s")
    datastream.backend.close()
    return stream_id


def _child_thin(arguments: list[str]) -> None:
    """In a fresh process: one detail request through the test client; prints JSON figures."""
    stream_id, query, max_points = arguments
    import django

    django.setup()
    from django.test import Client, override_settings

    before = status_memory()["VmHWM"]
    with override_settings(DATASTREAM_THIN_MAX_POINTS=int(max_points)):
        begin = time.perf_counter()
        response = Client().get(f"/api/v1/stream/{stream_id}/?{query}")
        seconds = time.perf_counter() - begin
    body = json.loads(response.content)
    figures = {
        "status": response.status_code,
        "seconds": seconds,
        "hwm": status_memory()["VmHWM"],
        "hwm_before": before,
        "raw_count": body.get("meta", {}).get("raw_count"),
        "points": len(body.get("datapoints") or []),
        "error": body.get("error"),
    }
    print(json.dumps(figures))


def bench_thin(code: Path, database: Path, stream_id: str, points: int, options) -> None:
    print(f"\nthin, ?mp=1000&th=<algorithm>, Django test client in a fresh process ({code})")
    for days in options.days:
        span = points if days == 0 else min(points, days * 86400)
        first = START + datetime.timedelta(seconds=points - span)
        range_query = f"s={int(first.timestamp())}"
        label = "whole stream" if days == 0 else f"last {days} days"
        for algorithm in ALGORITHMS:
            query = f"mp=1000&th={algorithm}&{range_query}"
            result = subprocess.run(
                [sys.executable, "-P", str(Path(__file__).resolve()), "--child-thin", stream_id,
                 query, str(options.thin_max_points)],
                env=_environment(code, database), capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                print(f"{label:<14} {algorithm:<11} failed: {result.stderr.strip()[-300:]}")
                continue
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            outcome = (
                f"{figures['points']:>5} of {figures['raw_count']:>12,} raw"
                if figures["status"] == 200
                else f"{figures['status']}: {figures['error'][:60]}"
            )
            print(
                f"{label:<14} {algorithm:<11} {span:>12,} points  {outcome}  "
                f"{figures['seconds']:8.2f} s  peak RSS {figures['hwm'] / 2**20:8,.1f} MiB "
                f"(at start {figures['hwm_before'] / 2**20:,.1f})"
            )


def bench_export(code: Path, database: Path, stream_id: str, points: int, options) -> None:
    count = options.export_points or points
    print(f"\nexport of {count:,} datapoints over HTTP from uvicorn ({code})")
    with serve(str(database), code) as (port, server):
        # One small request first, so that Django and the backend are loaded.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("GET", f"/api/v1/stream/{stream_id}/?l=1")
        connection.getresponse().read()
        for name in ("ndjson", "csv"):
            idle = status_memory(server.pid)["VmRSS"]
            begin = time.perf_counter()
            connection.request("GET", f"/api/v1/stream/{stream_id}/?format={name}&l={count}")
            response = connection.getresponse()
            first = response.read1(65536)
            first_byte = time.perf_counter() - begin
            size, peak = len(first), idle
            while chunk := response.read1(1 << 20):
                size += len(chunk)
                peak = max(peak, status_memory(server.pid)["VmRSS"])
            total = time.perf_counter() - begin
            memory = status_memory(server.pid)
            print(
                f"{name:<7} status {response.status}  first byte {first_byte:7.2f} s  "
                f"all {size / 2**20:9,.1f} MiB in {total:7.2f} s  server RSS before "
                f"{idle / 2**20:7,.1f} MiB, peak while sending {peak / 2**20:7,.1f} MiB, "
                f"process peak (VmHWM) {memory['VmHWM'] / 2**20:7,.1f} MiB"
            )
        connection.close()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child-thin":
        _child_thin(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=YEAR, help="per-second datapoints")
    parser.add_argument(
        "--database", type=Path, required=True, help="SQLite file to build or reuse"
    )
    parser.add_argument("--code", type=Path, default=ROOT, help="source tree to measure")
    parser.add_argument(
        "--days", type=int, nargs="+", default=[30, 0],
        help="thin over the last D days (0: the whole stream)",
    )  # fmt: skip
    parser.add_argument(
        "--thin-max-points", type=int, default=0, help="DATASTREAM_THIN_MAX_POINTS (0: none)"
    )
    parser.add_argument("--export-points", type=int, default=0, help="export size (0: all)")
    parser.add_argument(
        "--only", choices=["thin", "export", "build"], help="run one part (default: both)"
    )
    options = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT)]
    stream_id = build(options.database, options.points)
    code = options.code.resolve()
    if options.only in (None, "thin"):
        bench_thin(code, options.database, stream_id, options.points, options)
    if options.only in (None, "export"):
        bench_export(code, options.database, stream_id, options.points, options)


if __name__ == "__main__":
    main()
