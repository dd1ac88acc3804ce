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


OPT_OUT = "--no-mongodb"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        OPT_OUT,
        action="store_true",
        help="skip every MongoDB test instead of failing when no MongoDB-wire server can be "
        "started (secantusdb missing and DATASTREAM_MONGODB_URI unset)",
    )


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """Say loudly what was not run, so that a green run never hides the MongoDB half."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if OPT_OUT in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        terminalreporter.write_sep(
            "!", f"{len(skipped)} MongoDB tests NOT RUN ({OPT_OUT})", yellow=True
        )


def require_secantus(config: pytest.Config) -> None:
    """Skip (opted out with ``--no-mongodb``) or fail unless SecantusDB can be started."""
    if config.getoption(OPT_OUT):
        pytest.skip(f"MongoDB tests opted out with {OPT_OUT}")
    try:
        import secantus  # noqa: F401
    except ImportError:
        pytest.fail(
            "No MongoDB-wire server for the MongoDB tests: install the test extra "
            '(pip install -e ".[test]", which brings secantusdb), set '
            f"{URI_VARIABLE} to a mongod, or run with {OPT_OUT} to skip them explicitly",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def mongodb_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MongoServer]:
    """The session's MongoDB-wire server (SecantusDB, or ``$DATASTREAM_MONGODB_URI``).

    Without a server the MongoDB tests fail (a run must not go green with half of it not run),
    unless the run opts out with ``--no-mongodb``: then they are skipped, and the summary
    counts them.
    """
    uri = os.environ.get(URI_VARIABLE)
    if uri:
        yield MongoServer(uri=uri, external=True)
        return
    require_secantus(request.config)
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
