"""Live endpoint benchmark: delivery latency and concurrent connections of one process.

Run ``python -m bench.live [--connections 10,100,500,1000,2000] [--seconds 8]``. It starts the
test project under uvicorn (one ASGI process, SQLite file backend) on a loopback port, opens
N Server-Sent-Events connections to ``/api/v1/stream/<id>/live/`` from one asyncio client
process, appends a datapoint every 100 ms whose value is the wall-clock time of the append, and
measures, for every event every connection receives, the delay from append to arrival. It
prints p50/p99 per N and the largest N whose p99 stays under one second. The server polls the
storage every ``DATASTREAM_LIVE_POLL_INTERVAL`` seconds (0.5 by default), which bounds the
latency from below. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raise_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


class Connection:
    """One SSE client: records the delay of every datapoint event it receives."""

    def __init__(self, latencies: list[float]) -> None:
        self.latencies = latencies
        self.connected = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, port: int, path: str) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await self.writer.drain()
        while line := await reader.readline():
            if line.startswith(b": connected"):
                self.connected.set()
            elif line.startswith(b"data: "):
                now = time.time()
                value = line[6:].rsplit(b'"v":', 1)[-1].rstrip(b"}\r\n")
                self.latencies.append(now - float(value))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def one_level(
    port: int, path: str, count: int, seconds: float, append
) -> tuple[list[float], int]:
    """Latencies of every event received by ``count`` connections, and the appends made."""
    latencies: list[float] = []
    connections = [Connection(latencies) for _ in range(count)]
    tasks = []
    for index, connection in enumerate(connections):
        tasks.append(asyncio.create_task(connection.run(port, path)))
        if index % 50 == 49:
            await asyncio.sleep(0.05)  # do not overflow the listen backlog
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in connections)), 120)
    await asyncio.sleep(1)
    end = time.monotonic() + seconds
    appended = 0
    while time.monotonic() < end:
        await asyncio.to_thread(append)
        appended += 1
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # the last events
    for connection in connections:
        connection.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies, appended


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", default="10,100,500,1000,2000",
                        help="comma-separated connection counts to try")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=8.0, help="appending time per level")
    args = parser.parse_args(argv)
    limit = _raise_file_limit()
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
    from datastream import Datastream, Granularity
    from datastream.backends.sqlite import Backend

    with tempfile.TemporaryDirectory() as directory:
        database = str(Path(directory) / "live.sqlite3")
        datastream = Datastream(Backend(database))
        stream_id = datastream.ensure_stream({"bench": "live"}, {}, ["mean"], Granularity.Seconds)
        port = _free_port()
        environment = dict(os.environ, DATASTREAM_SQLITE_PATH=database)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "test_project.asgi:application",
             "--app-dir", str(ROOT / "tests"), "--port", str(port), "--log-level", "warning",
             "--backlog", "4096"],
            cwd=ROOT, env=environment,
        )  # fmt: skip
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            path = f"/api/v1/stream/{stream_id}/live/"
            print(f"uvicorn, one process, SQLite file; file limit {limit}; an append every 100 ms")
            best = 0
            for count in [int(n) for n in args.connections.split(",")]:
                if count * 2 + 100 > limit:
                    print(f"{count:>6} connections: skipped (file limit {limit})")
                    continue
                latencies, appended = asyncio.run(
                    one_level(port, path, count, args.seconds,
                              lambda: datastream.append(stream_id, time.time()))
                )  # fmt: skip
                expected = count * appended
                if not latencies:
                    print(f"{count:>6} connections: no event received")
                    continue
                ordered = sorted(latencies)
                p50, p99 = statistics.median(ordered), _percentile(ordered, 0.99)
                print(
                    f"{count:>6} connections: {len(ordered):>8,} of {expected:,} events  "
                    f"p50 {p50 * 1000:6.0f} ms  p99 {p99 * 1000:6.0f} ms  max "
                    f"{ordered[-1] * 1000:6.0f} ms"
                )
                if p99 < 1.0:
                    best = max(best, count)
            print(f"largest tried connection count with p99 < 1 s: {best}")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
