"""Live endpoint benchmark: replay memory, fairness and delivery latency of one process.

Run ``python -m bench.live [replay] [latency]`` (both when none is named). Each part starts the
test project under uvicorn (one ASGI process, SQLite file backend) on a loopback port and talks
to ``/api/v1/stream/<id>/live/`` from one asyncio client process on the same machine. Figures
are printed, never asserted.

``replay``
    A stream with ``--history`` datapoints (17,000) is replayed from its start by
    ``--replayers`` clients at once (200), while ``--followers`` other clients (20) follow a
    second stream live, appended every 100 ms with the wall-clock time as value. Prints the
    server's resident memory (RSS, from ``/proc``) before, at its peak during the replay and
    after the clients closed, the replay time, and the followers' delivery latency p50/p99
    meanwhile. Then, on a fresh server, the same number of clients ask for the same replay and
    never read a byte (a tiny receive buffer) for ``--hang`` seconds: the same figures.

``latency``
    N connections follow one stream appended every 100 ms (``--connections``, by default
    10,100,500,1000,2000), each for ``--seconds``; prints p50/p99 of the delay from append to
    arrival per N and the largest N whose p99 stays under one second. The server polls the
    storage every ``DATASTREAM_LIVE_POLL_INTERVAL`` seconds (0.5 by default), which bounds the
    latency from below.

``--source DIR`` runs the server from another checkout (e.g. a ``git worktree`` of an older
commit) to compare; the data is always written with this checkout's library.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import math
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.servers import serve

ROOT = Path(__file__).resolve().parent.parent
#: Where the replayed history starts (one datapoint per second from here).
HISTORY_START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def _raise_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def rss_bytes(pid: int) -> int:
    """The resident set size of process ``pid`` (``VmRSS`` of ``/proc/<pid>/status``)."""
    return _status(pid, "VmRSS") * 1024


def threads(pid: int) -> int:
    """How many threads process ``pid`` runs."""
    return _status(pid, "Threads")


def _mb(size: float) -> str:
    return f"{size / 2**20:,.0f} MB"


class RssSampler:
    """Samples a process's RSS every 50 ms in a thread; ``peak`` is the largest seen,
    ``threads`` the most threads seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_bytes(pid)
        self.threads = threads(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            with contextlib.suppress(OSError, RuntimeError):
                self.peak = max(self.peak, rss_bytes(self.pid))
                self.threads = max(self.threads, threads(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _request(path: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n").encode()


class Follower:
    """One SSE client following live data: records the delay of every datapoint event."""

    def __init__(self, latencies: list[float]) -> None:
        self.latencies = latencies
        self.connected = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, port: int, path: str) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
        self.writer.write(_request(path))
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


async def replay_one(port: int, path: str, expected: int) -> int:
    """Read a replay until ``expected`` datapoint events arrived (or the response ended)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    writer.write(_request(path))
    await writer.drain()
    count, tail = 0, b""
    try:
        while count < expected:
            chunk = await reader.read(2**16)
            if not chunk:
                break
            text = tail + chunk
            count += text.count(b"\ndata: ")
            tail = text[-6:]
    finally:
        writer.close()
    return count


async def hang_one(port: int, path: str, opened: list[socket.socket]) -> None:
    """Ask for a replay and never read: a 4 KiB receive buffer, kept open by the caller."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    await asyncio.get_running_loop().sock_sendall(sock, _request(path))
    opened.append(sock)


async def replay_scenario(
    port: int, pid: int, replay_path: str, follow_path: str, args: argparse.Namespace,
    append: Callable[[], None], reading: bool,
) -> None:  # fmt: skip
    """``--replayers`` clients ask for the replay (and read it, or read nothing for
    ``--hang`` seconds) while ``--followers`` clients follow another stream live."""
    latencies: list[float] = []
    followers = [Follower(latencies) for _ in range(args.followers)]
    tasks = [asyncio.create_task(f.run(port, follow_path)) for f in followers]
    await asyncio.wait_for(asyncio.gather(*(f.connected.wait() for f in followers)), 60)
    stop = asyncio.Event()

    async def appending() -> None:
        while not stop.is_set():
            await asyncio.to_thread(append)
            await asyncio.sleep(0.1)

    appender = asyncio.create_task(appending())
    await asyncio.sleep(2)
    latencies.clear()
    idle = rss_bytes(pid)
    sampler = RssSampler(pid)
    began = time.monotonic()
    if reading:
        replays = []
        for index in range(args.replayers):
            replays.append(asyncio.create_task(replay_one(port, replay_path, args.history)))
            if index % 50 == 49:
                await asyncio.sleep(0.05)  # do not overflow the listen backlog
        counts = await asyncio.wait_for(asyncio.gather(*replays), args.timeout)
        done = sum(count >= args.history for count in counts)
        what = f"read the replay, {done} complete in {time.monotonic() - began:.1f} s"
    else:
        opened: list[socket.socket] = []
        for index in range(args.replayers):
            await hang_one(port, replay_path, opened)
            if index % 50 == 49:
                await asyncio.sleep(0.05)
        await asyncio.sleep(args.hang)
        what = f"read nothing for {args.hang:.0f} s"
    peak = sampler.stop()
    during = sorted(latencies)
    if not reading:
        for sock in opened:
            sock.close()
    await asyncio.sleep(3)
    after = rss_bytes(pid)
    print(
        f"{args.replayers} clients asking for a replay of {args.history:,} events {what}: "
        f"server RSS {_mb(idle)} before, peak {_mb(peak)} (+{_mb(peak - idle)}, "
        f"{(peak - idle) / args.replayers / 2**20:.2f} MB a connection, {sampler.threads} "
        f"threads), 3 s after they closed {_mb(after)} (+{_mb(after - idle)})"
    )
    if during:
        print(
            f"  {args.followers} followers of another stream meanwhile: {len(during):,} events, "
            f"latency p50 {statistics.median(during) * 1000:,.0f} ms, p99 "
            f"{_percentile(during, 0.99) * 1000:,.0f} ms, max {during[-1] * 1000:,.0f} ms"
        )
    else:
        print(f"  {args.followers} followers of another stream meanwhile: no event received")
    stop.set()
    await appender
    for follower in followers:
        follower.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def run_replay(args: argparse.Namespace, source: Path) -> None:
    from datastream import Datastream, Granularity
    from datastream.backends.sqlite import Backend

    print(f"uvicorn, one process (a fresh one for each line), SQLite file, code of {source}")
    with tempfile.TemporaryDirectory() as directory:
        database = str(Path(directory) / "live.sqlite3")
        datastream = Datastream(Backend(database))
        history = datastream.ensure_stream({"bench": "history"}, {}, ["mean"], Granularity.Seconds)
        datastream.append_multiple(
            [
                {"stream_id": history, "value": index % 1000 + 0.5,
                 "timestamp": HISTORY_START + datetime.timedelta(seconds=index)}
                for index in range(args.history)
            ]
        )  # fmt: skip
        followed = datastream.ensure_stream({"bench": "live"}, {}, ["mean"], Granularity.Seconds)
        start = HISTORY_START.strftime("%Y-%m-%dT%H:%M:%SZ")
        for reading in (True, False):
            with serve(database, source) as (port, server):
                asyncio.run(
                    replay_scenario(
                        port, server.pid, f"/api/v1/stream/{history}/live/?s={start}",
                        f"/api/v1/stream/{followed}/live/", args,
                        lambda: datastream.append(followed, time.time()), reading,
                    )
                )  # fmt: skip
        datastream.backend.close()


async def latency_level(
    port: int, path: str, count: int, seconds: float, append: Callable[[], None]
) -> tuple[list[float], int]:
    """Latencies of every event received by ``count`` connections, and the appends made."""
    latencies: list[float] = []
    connections = [Follower(latencies) for _ in range(count)]
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


def run_latency(args: argparse.Namespace, source: Path, limit: int) -> None:
    from datastream import Datastream, Granularity
    from datastream.backends.sqlite import Backend

    with tempfile.TemporaryDirectory() as directory:
        database = str(Path(directory) / "live.sqlite3")
        datastream = Datastream(Backend(database))
        stream_id = datastream.ensure_stream({"bench": "live"}, {}, ["mean"], Granularity.Seconds)
        with serve(database, source) as (port, _server):
            path = f"/api/v1/stream/{stream_id}/live/"
            print(f"uvicorn, one process, SQLite file; file limit {limit}; an append every 100 ms")
            best = 0
            for count in [int(n) for n in args.connections.split(",") if n]:
                if count * 2 + 100 > limit:
                    print(f"{count:>6} connections: skipped (file limit {limit})")
                    continue
                latencies, appended = asyncio.run(
                    latency_level(port, path, count, args.seconds,
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
        datastream.backend.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "parts",
        nargs="*",
        metavar="replay|latency",
        help="what to measure (both when none is named)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=ROOT,
        help="checkout whose code the server runs (default: this one)",
    )
    parser.add_argument("--replayers", type=int, default=200, help="clients replaying at once")
    parser.add_argument("--history", type=int, default=17_000, help="datapoints replayed")
    parser.add_argument(
        "--followers",
        type=int,
        default=20,
        help="clients following another stream live during the replay",
    )
    parser.add_argument(
        "--hang", type=float, default=20.0, help="seconds the non-reading clients stay connected"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="longest wait for the replays to complete"
    )
    parser.add_argument(
        "--connections",
        default="10,100,500,1000,2000",
        help="latency: comma-separated connection counts to try",
    )
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="latency: appending time per connection count"
    )
    args = parser.parse_args(argv)
    parts = args.parts or ["replay", "latency"]
    if unknown := set(parts) - {"replay", "latency"}:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    limit = _raise_file_limit()
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
    source = args.source.resolve()
    if "replay" in parts:
        run_replay(args, source)
    if "latency" in parts:
        run_latency(args, source, limit)


if __name__ == "__main__":
    main()
