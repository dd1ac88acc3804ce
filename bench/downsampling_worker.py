"""Downsampling worker benchmark: what an idle worker costs, and how soon it closes buckets.

Run ``python -m bench.downsampling_worker [--streams 100 1000 10000] [--seconds 5]``. For each
number of streams (SQLite file, every stream downsampled up to date) it prints:

- the CPU time of one sweep with nothing to do (one ``downsample_streams()`` over every
  stream's record), and the CPU share of an idle worker sweeping every 5 s (the default
  ``DATASTREAM_DOWNSAMPLE_INTERVAL``), measured by running one for ``--seconds``;
- the latency from an append (in the worker's process, default 1 s delay) to the closed
  bucket in storage, and from an append by another connection to the closed bucket (found by
  a sweep).

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import os
import tempfile
import time

from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend
from django_datastream.worker import DownsamplingWorker, NotifyingDatastream

T0 = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def build(path: str, streams: int) -> list[str]:
    store = Datastream(Backend(path))
    ids = [store.ensure_stream({"n": n}, {}, ["mean"], Granularity.Seconds) for n in range(streams)]
    store.append_multiple([{"stream_id": i, "value": 1, "timestamp": T0} for i in ids])
    store.downsample_streams()
    store.backend.close()
    return ids


def closed_minutes(store: Datastream, stream_id: str) -> int:
    return len(store.get_data(stream_id, Granularity.Minutes, start=datetime.datetime.min))


def latency(store: Datastream, stream_id: str, appender: Datastream, minute: int) -> float:
    """Seconds from the append closing minute ``minute - 1`` to its bucket in storage."""
    before = closed_minutes(store, stream_id)
    started = time.monotonic()
    appender.append(stream_id, 1, T0 + datetime.timedelta(minutes=minute))
    while closed_minutes(store, stream_id) == before:
        time.sleep(0.01)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--seconds", type=float, default=10.0, help="idle run per size")
    args = parser.parse_args(argv)
    print(f"{'streams':>8} {'idle sweep':>11} {'idle CPU':>9} {'local':>7} {'other':>7}")
    for streams in args.streams:
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "bench.sqlite3")
            ids = build(path, streams)
            store = NotifyingDatastream(Backend(path))
            store.downsample_streams()  # warm
            cpu = time.process_time()
            for _ in range(10):
                store.downsample_streams()
            sweep = (time.process_time() - cpu) / 10

            worker = DownsamplingWorker(lambda store=store: store, delay=1.0, interval=5.0)
            cpu = time.process_time()
            worker.start()
            time.sleep(args.seconds)
            share = (time.process_time() - cpu) / args.seconds
            store.listener = worker.notify
            local = latency(store, ids[0], store, 2)
            other = Datastream(Backend(path))
            remote = latency(store, ids[-1], other, 2)
            worker.stop()
            other.backend.close()
            store.backend.close()
        print(
            f"{streams:>8} {sweep * 1000:>8.2f} ms {share:>8.2%} {local:>6.2f}s {remote:>6.2f}s"
        )


if __name__ == "__main__":
    main()
