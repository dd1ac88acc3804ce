"""A real MongoDB-wire server for the test session, and fresh MongoDB backends per test.

``mongodb_server`` (session) is a SecantusDB server (``secantusdb`` on PyPI: the MongoDB wire
protocol over WiredTiger) started in this process on a free loopback port and stopped at the
end, or, when the environment variable ``DATASTREAM_MONGODB_URI`` is set, the genuine
``mongod`` (replica set, sharded cluster or standalone) that URI names.

``mongodb_backend_factory`` returns ``factory(clock=None, name="datastream",
transactions=True, **settings)``; every call gives a
:class:`datastream.backends.mongodb.Backend`, using transactions when the server has them, or,
with ``transactions=False``, the journal of deployments without transactions. Every test gets
databases of its own, named after a per-session counter, so nothing has to be emptied (on
SecantusDB creating a database with its indexes takes ~20 ms, while emptying one with
``delete_many`` takes about as long as writing its documents did); two calls with the same
name inside one test share one store, as two processes would. On a genuine server the
databases are dropped after the test.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterator

import pytest
from helpers import MongoServer, SecantusServer

from datastream.backends.mongodb import Backend

URI_VARIABLE = "DATASTREAM_MONGODB_URI"
_tests = itertools.count()


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
    """``factory(clock=None, name="datastream", transactions=True, **settings)``: a backend
    on an empty store."""
    created: list[Backend] = []
    prefix = f"dst_{next(_tests)}_{os.getpid()}"

    def factory(
        clock=None, name: str = "datastream", transactions: bool = True, **settings
    ) -> Backend:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        backend = Backend(f"{prefix}_{digest}", clock=clock, host=mongodb_server.uri, **settings)
        if not transactions:
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
