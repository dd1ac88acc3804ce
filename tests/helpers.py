"""Helpers shared by the tests (fixtures live in ``tests/plugins``)."""

import datetime
import socket
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
