"""MongoDB only: the no-transaction fallback of a standalone ``mongod`` (journal, locks,
recovery of a writer that died mid-commit). The whole contract suite also runs on it with
``DATASTREAM_MONGODB_NO_TRANSACTIONS=1``."""

from __future__ import annotations

import datetime

import pytest
from helpers import G, at, new_stream, seconds

from datastream import Datastream, exceptions
from datastream.backends import mongodb_fallback

T0 = at(2022, 3, 1)


class Crash(BaseException):
    """Stands for the writer process dying."""


@pytest.fixture
def fallback(mongodb_backend_factory, monkeypatch) -> Datastream:
    monkeypatch.setattr(mongodb_fallback, "LEASE", datetime.timedelta(seconds=0.3))
    backend = mongodb_backend_factory()
    backend.transactions = False
    return Datastream(backend)


def _batch(sid, values, first):
    return [{"stream_id": sid, "value": v, "timestamp": T0 + seconds(first + i)}
            for i, v in enumerate(values)]


def _values(ds, sid):
    return [d["v"] for d in ds.get_data(sid, G.Seconds, start=datetime.datetime.min)]


@pytest.mark.parametrize("crash_at", ["apply", "journal head"])
def test_a_writer_dying_mid_commit_is_finished_or_forgotten(fallback, monkeypatch, crash_at):
    sid = new_stream(fallback)
    fallback.append_multiple(_batch(sid, [1, 2, 3], 0))
    database = fallback.backend._database()

    if crash_at == "apply":
        def crash(*args, **kwargs):
            raise Crash
        monkeypatch.setattr(mongodb_fallback, "apply", crash)
    else:
        monkeypatch.setattr(mongodb_fallback.FallbackUnit, "_write_journal", _chunks_only)
        monkeypatch.setattr(mongodb_fallback.FallbackUnit, "release", lambda self, db: None)
    with pytest.raises(Crash):
        fallback.append_multiple(_batch(sid, [4, 5, 6], 3))
    monkeypatch.undo()
    monkeypatch.setattr(mongodb_fallback, "LEASE", datetime.timedelta(seconds=0.3))
    assert database.streams.count_documents({"lock": {"$ne": None}}) == 1  # still locked
    assert _values(fallback, sid) == [1, 2, 3]  # nothing visible yet

    # The next writer waits for the lease to expire, then finishes (or forgets) the dead unit.
    fallback.append_multiple(_batch(sid, [7, 8], 10))
    expected = [1, 2, 3, 4, 5, 6, 7, 8] if crash_at == "apply" else [1, 2, 3, 7, 8]
    assert _values(fallback, sid) == expected
    assert database.journal.count_documents({}) == 0
    assert database.streams.count_documents({"lock": {"$ne": None}}) == 0
    stream = fallback.get_tags(sid)
    assert stream["latest_datapoint"] == T0 + seconds(11)


def _chunks_only(self, db):
    db.journal.insert_one({"tx": self.id, "i": 0, "ops": self.ops})
    raise Crash


def test_a_stale_unit_is_refused_and_writes_nothing(fallback):
    sid = new_stream(fallback)
    fallback.append(sid, 1, T0)
    backend = fallback.backend
    # A unit that read the stream, then lost its lock to a lease expiry and a newer writer.
    backend._begin()
    record = backend._load_stream(sid)
    backend._database().streams.update_one({"sid": sid}, {"$unset": {"lock": ""},
                                                          "$inc": {"rev": 1}})
    backend._insert_datapoints([(record, record["latest_datapoint"] + 1, 99)])
    with pytest.raises(exceptions.StreamAppendContended):
        backend._commit()
    assert _values(fallback, sid) == [1]


def test_a_standalone_server_is_detected_and_gets_the_fallback(tmp_path):
    pytest.importorskip("secantus", reason="secantusdb is needed for a standalone server")
    from plugins.mongo_server import SecantusServer

    from datastream.backends.mongodb import Backend

    server = SecantusServer(tmp_path / "standalone", standalone=True)
    server.start()
    try:
        backend = Backend("standalone", host=server.uri)
        ds = Datastream(backend)
        sid = new_stream(ds)
        ds.append_multiple(_batch(sid, list(range(30)), 0))
        assert backend._use_transactions() is False
        ds.downsample_streams(until=T0 + seconds(60))
        assert _values(ds, sid) == list(range(30))
        assert [d["v"]["c"] for d in ds.get_data(sid, G.Seconds10, start=T0)] == [10, 10]
        backend.close()
    finally:
        server.stop()
