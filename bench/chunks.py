"""Column chunks: bytes on disk and write rates of the SQLite storage (issue 18's figures).

Run ``python -m bench.chunks [--points N]``. Prints, on a temporary SQLite file:

* bytes per datapoint of the peer benchmark's data set (``../shared/peerbench``: a year of
  minute data plus 1,000 small series, with the same downsamplers as its loader, buckets
  included), beside InfluxDB's TSM figure when ``--influx-bytes-per-point`` gives it;
* bytes per datapoint of the raw part alone (regular float data, nothing downsampled);
* ``append_multiple`` on one stream in batches of 10,000, and over 10,000 streams with one
  datapoint each per batch; ``append_columns`` of five times as many datapoints (a random
  walk) on one stream; downsampling of float and integer streams with every value
  downsampler.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend

START = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
ALL = ["mean", "sum", "min", "max", "sum_squares", "std_dev", "count"]
PEERBENCH = Path(__file__).resolve().parents[2] / "shared" / "peerbench"


def _size(path: Path) -> int:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())


def _checkpoint(ds: Datastream) -> None:
    """Compact the file (as InfluxDB's figure is taken once it has compacted its TSM files):
    VACUUM, then move the write-ahead log into the file."""
    ds.backend._query("VACUUM")
    ds.backend._query("PRAGMA wal_checkpoint(TRUNCATE)")


def peer_data_set(directory: Path) -> tuple[int, int]:
    """(datapoints, bytes) of the peer benchmark's data set, loaded and downsampled."""
    sys.path.insert(0, str(PEERBENCH))
    import dataset  # the peer bench's own generator: both sides load the same points

    path = directory / "peer.sqlite3"
    ds = Datastream(Backend(str(path)))
    dataset.load_into_datastream(ds)  # the peer bench's own loader: streams, points, downsampling
    _checkpoint(ds)
    return dataset.N_POINTS + 1 + dataset.N_SMALL * dataset.SMALL_POINTS, _size(path)


def raw_only(directory: Path, count: int) -> tuple[int, int]:
    """(datapoints, bytes) of one stream of regular float data (a sensor's readings)."""
    path = directory / "raw.sqlite3"
    ds = Datastream(Backend(str(path)))
    sid = ds.ensure_stream({"raw": 1}, {}, ["mean"], Granularity.Seconds)
    value = 20.0
    for a in range(0, count, 10_000):
        batch = []
        for i in range(a, min(a + 10_000, count)):
            value = round(value + ((i * 7919) % 200 - 100) / 1000, 2)
            batch.append({"stream_id": sid, "value": value,
                          "timestamp": START + datetime.timedelta(seconds=10 * i)})
        ds.append_multiple(batch)
    _checkpoint(ds)
    return count, _size(path)


def rates(directory: Path, count: int) -> dict[str, float]:
    ds = Datastream(Backend(str(directory / "rates.sqlite3")))
    figures = {}
    sid = ds.ensure_stream({"bench": "one"}, {}, ALL, Granularity.Seconds)
    batches = [[{"stream_id": sid, "value": (i * 7919) % 1000,
                 "timestamp": START + datetime.timedelta(seconds=i)}
                for i in range(a, a + 10_000)] for a in range(0, count, 10_000)]
    begin = time.perf_counter()
    for batch in batches:
        ds.append_multiple(batch)
    elapsed = time.perf_counter() - begin
    figures["append_multiple, one stream, batches of 10,000"] = count / elapsed
    columns = ds.ensure_stream({"bench": "columns"}, {}, ALL, Granularity.Seconds)
    times = np.datetime64("2023-01-01T00:00:00") + np.arange(5 * count).astype("timedelta64[s]")
    walk = np.cumsum(np.random.default_rng(1).uniform(-0.5, 0.5, 5 * count)).round(3)
    begin = time.perf_counter()
    ds.append_columns(columns, times, walk)
    figures["append_columns, one stream"] = 5 * count / (time.perf_counter() - begin)
    floats = ds.ensure_stream({"bench": "floats"}, {}, ALL, Granularity.Seconds)
    for batch in batches:
        ds.append_multiple([{**d, "stream_id": floats, "value": d["value"] / 7} for d in batch])
    until = START + datetime.timedelta(seconds=count + 86400)
    for name, stream in (("integer", {"bench": "one"}), ("float", {"bench": "floats"})):
        begin = time.perf_counter()
        ds.downsample_streams(stream, until=until)
        figures[f"downsampling, {name} stream"] = count / (time.perf_counter() - begin)
    ids = [ds.ensure_stream({"bench": "spread", "n": n}, {}, ALL, Granularity.Seconds)
           for n in range(10_000)]
    spread = [[{"stream_id": s, "value": r, "timestamp": START + datetime.timedelta(seconds=r)}
               for s in ids] for r in range(max(1, count // 10_000))]
    begin = time.perf_counter()
    for batch in spread:
        ds.append_multiple(batch)
    figures["append_multiple, 10,000 streams x 1 per batch"] = (
        len(spread) * 10_000 / (time.perf_counter() - begin)
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=500_000)
    parser.add_argument("--influx-bytes-per-point", type=float, default=None,
                        help="InfluxDB's TSM bytes per datapoint from the peer bench's run")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        points, size = peer_data_set(directory)
        peer = arguments.influx_bytes_per_point
        beside = f"   (InfluxDB TSM: {peer:.1f})" if peer else ""
        print(f"peer data set, raw + rollups: {size / points:6.2f} bytes/datapoint "
              f"({points:,} datapoints, {size:,} bytes){beside}")
        points, size = raw_only(directory, arguments.points)
        print(f"raw part alone, regular floats: {size / points:6.2f} bytes/datapoint "
              f"({points:,} datapoints, {size:,} bytes)")
        for label, rate in rates(directory, arguments.points).items():
            print(f"{label:<50} {rate:>12,.0f} datapoints/s")


if __name__ == "__main__":
    main()
