"""Helpers shared by the tests (fixtures live in ``tests/plugins``)."""

import contextlib
import datetime
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from datastream import Granularity

UTC = datetime.UTC
ALL_VALUE = ["mean", "sum", "min", "max", "sum_squares", "std_dev", "count"]
EVERY_VALUE = [*ALL_VALUE, "median", "most_often", "least_often", "frequencies"]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
G = Granularity


def at(*args: int) -> datetime.datetime:
    """An aware UTC datetime."""
    return datetime.datetime(*args, tzinfo=UTC)


def seconds(n: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=n)


def values(datapoints, key: str | None = None) -> list:
    """The ``v`` of each datapoint (or ``v[key]``)."""
    return [d["v"] if key is None else d["v"][key] for d in datapoints]


def new_stream(ds, name="s", downsamplers=ALL_VALUE, granularity=G.Seconds, **kwargs) -> str:
    return ds.ensure_stream({"name": name}, {}, downsamplers, granularity, **kwargs)


def append_series(ds, stream_id, series, start, step=1):
    """Append ``series`` one value every ``step`` seconds from ``start`` in one batch."""
    ds.append_multiple(
        [
            {"stream_id": stream_id, "value": v, "timestamp": start + seconds(i * step)}
            for i, v in enumerate(series)
        ]
    )


class MutableClock:
    """A clock for backends that tests move by hand instead of sleeping."""

    def __init__(self, now: datetime.datetime | None = None) -> None:
        self.now = now or datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, **delta: float) -> datetime.datetime:
        self.now += datetime.timedelta(**delta)
        return self.now

    def set(self, now: datetime.datetime) -> None:
        self.now = now if now.tzinfo else now.replace(tzinfo=datetime.UTC)


@dataclass
class MongoServer:
    """Where a MongoDB-wire server listens, and whether it is a genuine ``mongod``."""

    uri: str
    external: bool


class SecantusServer:
    """An in-process SecantusDB server that can be stopped and restarted on one port."""

    def __init__(
        self, storage_path: Path, port: int | None = None, standalone: bool = False
    ) -> None:
        self.storage_path = storage_path
        self.port = port or free_port()
        self.standalone = standalone  # no replica-set advertisement: no transactions
        self._server = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> None:
        from secantus import SecantusDBServer

        self.storage_path.mkdir(parents=True, exist_ok=True)
        self._server = SecantusDBServer(
            host="127.0.0.1", port=self.port, storage_path=str(self.storage_path),
            cache_size="256M", replica_set_name=None if self.standalone else "secantus",
        )
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def uvicorn_server(
    sqlite_path: Path, timeout: float = 30.0, environment: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """The test project served by uvicorn in a subprocess, on a free loopback port, with the
    SQLite file ``sqlite_path`` as its datastream (and ``environment`` added to its
    environment); yields the process, its port as ``.port``. The process is stopped on
    leaving."""
    port = free_port()
    environment = dict(os.environ, DATASTREAM_SQLITE_PATH=str(sqlite_path), **(environment or {}))
    environment.pop("DATASTREAM_MONGODB_URI", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "test_project.asgi:application", "--app-dir",
         str(ROOT / "tests"), "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=environment,
    )  # fmt: skip
    server.port = port  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + timeout
        while not accepts(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"uvicorn did not start on port {port} (exit {server.poll()})")
            time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(10)


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback ``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
    except OSError:
        return False
    return True


def resident_memory(pid: int) -> dict[str, int]:
    """``VmRSS`` (resident now) and ``VmHWM`` (its peak) of process ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if line.startswith("Vm"))
    return {name: int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM")}
