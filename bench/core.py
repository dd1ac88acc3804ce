"""Core benchmark: append, append_multiple, downsampling and reading on one stream.

Run ``python -m bench.core [--points N]``. It prints datapoints per second for each operation
on the embedded SQLite backend (a temporary file): ``append_multiple`` on one stream in batches
of 1,000 and of 10,000 (the batch size of the InfluxDB comparison), then with batches that
spread over 1,000 streams. Batches are built before timing starts. Other backends can reuse
:func:`measure` and :func:`measure_spread`.
The bulk stream holds integers; a second stream of floats is downsampled too.
Targets: ``append_multiple`` >= 500k points/s on one stream and >= 300k points/s spread over
1,000 streams, downsampling >= 300k points/s. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend

START = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
ALL = ["mean", "sum", "min", "max", "sum_squares", "std_dev", "count"]


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f} points/s  ({count:,} in {seconds:.2f} s)"


def measure(ds: Datastream, points: int, single: int = 5000) -> dict[str, tuple[int, float]]:
    """Time the four operations on a fresh stream; returns ``{name: (points, seconds)}``."""
    results: dict[str, tuple[int, float]] = {}
    single_id = ds.ensure_stream({"bench": "single"}, {}, ALL, Granularity.Seconds)
    scratch = ds.ensure_stream({"bench": "scratch"}, {}, ALL, Granularity.Seconds)
    begin = time.perf_counter()
    for i in range(single):
        ds.append(single_id, i, START + datetime.timedelta(seconds=i))
    results["append"] = (single, time.perf_counter() - begin)

    sid = ds.ensure_stream({"bench": "bulk"}, {}, ALL, Granularity.Seconds)
    # Batches are built before the clock starts: the figure is append_multiple's alone.
    for size, stream_id in ((1000, sid), (10000, scratch)):
        batches = _batches(points, size, lambda i, stream_id=stream_id: (stream_id, i))
        begin = time.perf_counter()
        for batch in batches:
            ds.append_multiple(batch)
        results[f"append_multiple (batches of {size:,})"] = (points, time.perf_counter() - begin)
        del batches

    begin = time.perf_counter()
    ds.downsample_streams(
        {"bench": "bulk"}, until=START + datetime.timedelta(seconds=points + 86400)
    )
    results["downsample_streams (all granularities)"] = (points, time.perf_counter() - begin)

    # Float values: every granularity is summarised from the raw values (integer streams
    # build coarser buckets from finer ones).
    floats = ds.ensure_stream({"bench": "floats"}, {}, ALL, Granularity.Seconds)
    for batch in _batches(points, 10000, lambda i: (floats, i)):
        for datapoint in batch:
            datapoint["value"] /= 7
        ds.append_multiple(batch)
    begin = time.perf_counter()
    ds.downsample_streams(
        {"bench": "floats"}, until=START + datetime.timedelta(seconds=points + 86400)
    )
    results["downsample_streams, float values"] = (points, time.perf_counter() - begin)

    begin = time.perf_counter()
    count = sum(1 for _ in ds.get_data(sid, Granularity.Seconds, start=START))
    results["get_data iteration (raw)"] = (count, time.perf_counter() - begin)
    hourly = ds.get_data(sid, Granularity.Hours, start=START)
    begin = time.perf_counter()
    count = sum(1 for _ in hourly)
    results["get_data iteration (hours)"] = (count, time.perf_counter() - begin)
    return results


def measure_spread(
    ds: Datastream, points: int, streams: int = 1000
) -> dict[str, tuple[int, float]]:
    """Time ``append_multiple`` with batches of 1,000 datapoints, each over ``streams`` streams."""
    ids = [
        ds.ensure_stream({"bench": "spread", "n": n}, {}, ALL, Granularity.Seconds)
        for n in range(streams)
    ]
    batches = _batches(points, 1000, lambda i: (ids[i % streams], i // streams))
    begin = time.perf_counter()
    for batch in batches:
        ds.append_multiple(batch)
    name = f"append_multiple (1,000 over {streams:,} streams)"
    return {name: (points, time.perf_counter() - begin)}


def _batches(
    points: int, size: int, place: Callable[[int], tuple[str, int]]
) -> list[list[dict]]:
    """Datapoints ``0 .. points - 1`` in batches of ``size``; ``place(i)`` gives the stream id
    and the second of datapoint ``i``."""
    batches = []
    for offset in range(0, points, size):
        batch = []
        for i in range(offset, min(points, offset + size)):
            stream_id, second = place(i)
            batch.append({"stream_id": stream_id, "value": (i * 7919) % 1000,
                          "timestamp": START + datetime.timedelta(seconds=second)})
        batches.append(batch)
    return batches


def report(title: str, results: dict[str, tuple[int, float]],
           printer: Callable[[str], None] = print) -> None:
    printer(title)
    for name, (count, seconds) in results.items():
        printer(f"  {name:<40} {_rate(count, seconds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000, help="datapoints in the stream")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        ds = Datastream(Backend(str(Path(directory) / "bench.sqlite3")))
        report(f"SQLite backend, {arguments.points:,} datapoints in one stream",
               measure(ds, arguments.points))
        report(f"SQLite backend, {arguments.points:,} datapoints over 1,000 streams",
               measure_spread(ds, arguments.points))


if __name__ == "__main__":
    main()
