"""Backend fixtures: every contract test runs once per storage.

``backend_name`` is one of :data:`BACKENDS`: ``sqlite``, ``mongodb`` (a deployment with
transactions), ``mongodb-fallback`` (the journal used where MongoDB has no transactions, as
on a standalone ``mongod``) and ``memory`` (the reference storage,
:mod:`datastream.backends.memory`). ``ds`` is a :class:`datastream.Datastream` on a fresh,
empty store of that kind; its clock is ``clock``, a :class:`helpers.MutableClock` the test
controls. The MongoDB stores come from the ``mongodb_backend_factory`` fixture of
``plugins.mongo_server``.
"""

from __future__ import annotations

import pytest
from helpers import MutableClock

from datastream import Datastream
from datastream.backends.memory import Backend as MemoryBackend
from datastream.backends.sqlite import Backend as SQLiteBackend

BACKENDS = ["sqlite", "mongodb", "mongodb-fallback", "memory"]


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_backend(request: pytest.FixtureRequest, backend_name: str, tmp_path):
    """A factory of fresh backends of the current kind: ``make_backend(clock=...)``."""

    def make(clock=None, name: str = "datastream"):
        if backend_name == "sqlite":
            return SQLiteBackend(str(tmp_path / f"{name}.sqlite3"), clock=clock)
        if backend_name == "memory":
            return MemoryBackend(str(tmp_path / name), clock=clock)
        factory = request.getfixturevalue("mongodb_backend_factory")
        return factory(clock=clock, name=name, transactions=backend_name == "mongodb")

    return make


@pytest.fixture
def ds(make_backend, clock: MutableClock) -> Datastream:
    return Datastream(make_backend(clock=clock))
