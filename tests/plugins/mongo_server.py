"""A real MongoDB-wire server for the test session, and fresh MongoDB backends per test.

``mongodb_server`` (session) is a SecantusDB server (``secantusdb`` on PyPI: the MongoDB wire
protocol over WiredTiger) started in this process on a free loopback port and stopped at the
end, or, when the environment variable ``DATASTREAM_MONGODB_URI`` is set, the genuine
``mongod`` (replica set, sharded cluster or standalone) that URI names.

``mongodb_backend_factory`` returns ``factory(clock=None, name="datastream")``; every call
gives a :class:`datastream.backends.mongodb.Backend`. Every test gets databases of its own,
named after a per-session counter, so nothing has to be emptied (on SecantusDB creating a
database with its indexes takes ~20 ms, while emptying one with ``delete_many`` takes about as
long as writing its documents did, and dropping ~0.1 ms per document); two calls with the same
name inside one test share one store, as two processes would. On a genuine server the
databases are dropped after the test. With ``DATASTREAM_MONGODB_NO_TRANSACTIONS=1`` the
backends use the no-transaction fallback of a standalone ``mongod``.

``SecantusProcess`` starts a server of its own that a test may stop and restart on the same
port and storage path.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from datastream.backends.mongodb import Backend

URI_VARIABLE = "DATASTREAM_MONGODB_URI"
#: Set to run every MongoDB test on the no-transaction fallback (as on a standalone mongod).
NO_TRANSACTIONS_VARIABLE = "DATASTREAM_MONGODB_NO_TRANSACTIONS"
_tests = itertools.count()


@dataclass
class MongoServer:
    """Where the session's server listens, and whether it is a genuine ``mongod``."""

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


@pytest.fixture(scope="session")
def mongodb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    """The session's MongoDB-wire server (SecantusDB, or ``$DATASTREAM_MONGODB_URI``)."""
    uri = os.environ.get(URI_VARIABLE)
    if uri:
        yield MongoServer(uri=uri, external=True)
        return
    pytest.importorskip("secantus", reason="secantusdb is needed for the MongoDB tests")
    server = SecantusServer(tmp_path_factory.mktemp("secantusdb"))
    server.start()
    try:
        yield MongoServer(uri=server.uri, external=False)
    finally:
        server.stop()


@pytest.fixture
def mongodb_backend_factory(
    request: pytest.FixtureRequest, mongodb_server: MongoServer
) -> Iterator[Callable[..., Backend]]:
    """``factory(clock=None, name="datastream", **settings)``: a backend on an empty store."""
    created: list[Backend] = []
    prefix = f"dst_{next(_tests)}_{os.getpid()}"

    def factory(clock=None, name: str = "datastream", **settings) -> Backend:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        backend = Backend(f"{prefix}_{digest}", clock=clock, host=mongodb_server.uri, **settings)
        if os.environ.get(NO_TRANSACTIONS_VARIABLE):
            backend.transactions = False
        created.append(backend)
        return backend

    yield factory
    names = {backend.database_name for backend in created}
    for backend in created:
        backend.close()
    if mongodb_server.external and created:
        # A genuine server keeps what tests leave behind; SecantusDB's is a temporary directory.
        import pymongo

        with pymongo.MongoClient(mongodb_server.uri) as client:
            for name in names:
                client.drop_database(name)
