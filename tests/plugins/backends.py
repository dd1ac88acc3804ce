"""Backend fixtures: every contract test runs once per storage backend.

``ds`` is a :class:`datastream.Datastream` on a fresh, empty store of the backend named by
the ``backend_name`` parameter; its clock is ``clock``, a :class:`MutableClock` the test
controls. The MongoDB store comes from the ``mongodb_backend_factory`` fixture of
``plugins.mongo_server`` (a real MongoDB-wire server started for the session).
"""

from __future__ import annotations

import datetime

import pytest

from datastream import Datastream
from datastream.backends.sqlite import Backend as SQLiteBackend

BACKENDS = ["sqlite", "mongodb"]


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
        factory = request.getfixturevalue("mongodb_backend_factory")
        return factory(clock=clock, name=name)

    return make


@pytest.fixture
def ds(make_backend, clock: MutableClock) -> Datastream:
    return Datastream(make_backend(clock=clock))
