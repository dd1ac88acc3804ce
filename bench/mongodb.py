"""MongoDB benchmark, printed side by side with SQLite, plus round trips and push-down checks.

Run ``python -m bench.mongodb [--points N]``. The MongoDB server is the one named by
``DATASTREAM_MONGODB_URI`` or, by default, a SecantusDB daemon started for the run (the
MongoDB-wire server the tests use; it is written in Python and far slower than ``mongod``,
so N defaults to 20,000 rather than the core benchmark's 1,000,000).

Besides the four figures of :mod:`bench.core` it prints how many round trips (commands) one
``append_multiple`` of 1,000 points and one ``get_data`` page of 10,000 points take, and
times the tag-query push-down both ways (server filter vs. reading every stream). (Raw
datapoints are compressed column chunks, which a server ``$group`` cannot read: there is no
aggregation push-down to compare any more.)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pymongo import MongoClient, monitoring

from bench.core import ALL, START, measure
from datastream import Datastream, Granularity
from datastream.backends.mongodb import Backend as MongoBackend
from datastream.backends.sqlite import Backend as SQLiteBackend
from datastream.tagquery import matches, parse_query


class _Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@contextlib.contextmanager
def _server() -> Iterator[str]:
    uri = os.environ.get("DATASTREAM_MONGODB_URI")
    if uri:
        yield uri
        return
    daemon = shutil.which("secantusd-py")
    if daemon is None:
        sys.exit("Set DATASTREAM_MONGODB_URI or install secantusdb==0.7.0b3 (secantusd-py)")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [daemon, "--host", "127.0.0.1", "--port", str(port), "--storage-path",
             directory, "--cache-size", "256M", "--log-level", "ERROR"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        uri = f"mongodb://127.0.0.1:{port}/"
        try:
            for _ in range(100):
                try:
                    with MongoClient(uri, serverSelectionTimeoutMS=200) as client:
                        client.admin.command("ping")
                    break
                except Exception:
                    time.sleep(0.1)
            yield uri
        finally:
            process.terminate()
            process.wait(timeout=30)


def _round_trips(uri: str, database: str, transactions: bool) -> dict[str, list[str]]:
    listener = _Commands()
    backend = MongoBackend(database, host=uri, event_listeners=[listener])
    if not transactions:
        backend.transactions = False
    ds = Datastream(backend)
    sid = ds.ensure_stream({"bench": "round trips"}, {}, ALL, Granularity.Seconds)
    ds.append(sid, 0, START)
    batches = [[{"stream_id": sid, "value": i, "timestamp": START + datetime.timedelta(seconds=i)}
                for i in range(first, first + 1000)] for first in range(1, 10_002, 1000)]
    listener.names.clear()
    ds.append_multiple(batches[0])
    append = list(listener.names)
    for batch in batches[1:]:
        ds.append_multiple(batch)
    listener.names.clear()
    page = [d for d in ds.get_data(sid, Granularity.Seconds, start=START)[:10_000]]
    assert len(page) == 10_000
    read = list(listener.names)
    backend.close()
    return {"append_multiple of 1,000 points": append, "get_data page of 10,000 points": read}


def _tag_filtering(uri: str, database: str, streams: int) -> dict[str, float]:
    backend = MongoBackend(database, host=uri)
    ds = Datastream(backend)
    for i in range(streams):
        ds.ensure_stream({"bench": "tags", "i": i}, {"group": f"g{i % 10}"}, ["count"],
                         Granularity.Seconds)
    conditions = parse_query({"group": "g3", "i": {"gte": streams // 2}})
    rounds = 20
    begin = time.perf_counter()
    for _ in range(rounds):
        server = backend.list_streams(conditions)
    pushed = (time.perf_counter() - begin) / rounds
    begin = time.perf_counter()
    for _ in range(rounds):
        local = [r for r in backend.list_streams([]) if matches(conditions, r["tags"])]
    everything = (time.perf_counter() - begin) / rounds
    assert [r["stream_id"] for r in server] == [r["stream_id"] for r in local]
    backend.close()
    return {"server filter": pushed, "read all, filter in Python": everything}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=20_000, help="datapoints in the stream")
    parser.add_argument("--single", type=int, default=500, help="single appends timed")
    parser.add_argument("--streams", type=int, default=300, help="streams for tag filtering")
    arguments = parser.parse_args()
    points = arguments.points

    with tempfile.TemporaryDirectory() as directory:
        sqlite = measure(Datastream(SQLiteBackend(str(Path(directory) / "bench.sqlite3"))),
                         points, single=arguments.single)
    with _server() as uri:
        database = f"datastream_bench_{os.getpid()}"
        mongo_backend = MongoBackend(database, host=uri)
        mongo = measure(Datastream(mongo_backend), points, single=arguments.single)
        trips = _round_trips(uri, database + "_rt", True)
        journal_trips = _round_trips(uri, database + "_rj", False)
        tags = _tag_filtering(uri, database + "_tags", arguments.streams)
        with MongoClient(uri) as client:
            for name in (database, database + "_rt", database + "_rj", database + "_tags"):
                client.drop_database(name)
        mongo_backend.close()

    where = "$DATASTREAM_MONGODB_URI" if os.environ.get("DATASTREAM_MONGODB_URI") else (
        "a SecantusDB daemon")
    print(f"N = {points:,} datapoints in one stream ({arguments.single:,} single appends); "
          f"MongoDB server: {where}")
    print(f"{'operation':<40} {'SQLite points/s':>16} {'MongoDB points/s':>17}")
    for name, (count, seconds) in sqlite.items():
        mongo_count, mongo_seconds = mongo[name]
        print(f"{name:<40} {count / seconds:>16,.0f} {mongo_count / mongo_seconds:>17,.0f}")
    for title, counted in (("with transactions", trips), ("with the journal", journal_trips)):
        print(f"\nRound trips (commands sent) on MongoDB {title}:")
        for name, names in counted.items():
            print(f"  {name:<34} {len(names)}: {', '.join(names)}")
    print(f"\nTag query over {arguments.streams} streams (mean of 20):")
    for name, seconds in tags.items():
        print(f"  {name:<34} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
