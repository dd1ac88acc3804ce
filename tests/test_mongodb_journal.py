"""MongoDB only: the journal used where transactions are missing (a standalone ``mongod``):
leases on the storage's clock, their renewal, recovery of a writer that died mid-commit. The
whole contract suite also runs on it (``mongodb-fallback`` in the backend matrix)."""

from __future__ import annotations

import datetime

import pytest
from helpers import G, MutableClock, SecantusServer, at, new_stream, seconds
from plugins.mongo_server import require_secantus

from datastream import Datastream, exceptions
from datastream.backends.mongodb import journal
from datastream.backends.mongodb.journal import LEASE, JournalUnit

T0 = at(2022, 3, 1)


class Crash(BaseException):
    """Stands for the writer process dying."""


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock(at(2030, 1, 1))


@pytest.fixture
def journaled(mongodb_backend_factory, clock) -> Datastream:
    return Datastream(mongodb_backend_factory(clock=clock, transactions=False))


def _batch(sid, values, first):
    return [{"stream_id": sid, "value": v, "timestamp": T0 + seconds(first + i)}
            for i, v in enumerate(values)]


def _values(ds, sid):
    return [d["v"] for d in ds.get_data(sid, G.Seconds, start=datetime.datetime.min)]


def _locked(ds) -> int:
    return ds.backend.database().streams.count_documents({"lock": {"$ne": None}})


def _die_before_head(self):
    self.db.journal.insert_one({"tx": self.id, "i": 0, "ops": self.ops})
    raise Crash


@pytest.mark.parametrize("crash_at", ["apply", "journal head"])
def test_a_writer_dying_mid_commit_is_finished_or_forgotten_once_its_lease_expires(
    journaled, clock, monkeypatch, crash_at
):
    sid = new_stream(journaled)
    journaled.append_multiple(_batch(sid, [1, 2, 3], 0))
    if crash_at == "apply":
        def crash(*args, **kwargs):
            raise Crash
        monkeypatch.setattr(journal, "apply", crash)
    else:
        monkeypatch.setattr(JournalUnit, "_write_chunks", _die_before_head)
        monkeypatch.setattr(JournalUnit, "rollback", lambda self: None)  # dead: no clean-up
    with pytest.raises(Crash):
        journaled.append_multiple(_batch(sid, [4, 5, 6], 3))
    monkeypatch.undo()
    assert _locked(journaled) == 1  # the dead writer's lease
    assert _values(journaled, sid) == [1, 2, 3]  # nothing visible yet

    # While the lease runs (on the storage's clock), the stream stays the dead writer's.
    monkeypatch.setattr(journal, "LOCK_WAIT", 0.2)
    clock.advance(seconds=LEASE.total_seconds() - 1)
    with pytest.raises(exceptions.StreamAppendContended, match="locked by another writer"):
        journaled.append_multiple(_batch(sid, [7, 8], 10))

    # Then the next writer finishes (or forgets) the dead unit and carries on, at once.
    clock.advance(seconds=2)
    journaled.append_multiple(_batch(sid, [7, 8], 10))
    expected = [1, 2, 3, 4, 5, 6, 7, 8] if crash_at == "apply" else [1, 2, 3, 7, 8]
    assert _values(journaled, sid) == expected
    database = journaled.backend.database()
    assert database.journal.count_documents({}) == 0
    assert _locked(journaled) == 0
    assert journaled.get_tags(sid)["latest_datapoint"] == T0 + seconds(11)


def test_a_unit_renews_its_leases_while_it_works(journaled, clock):
    sid = new_stream(journaled)
    backend = journaled.backend
    streams = backend.database().streams
    with backend.unit_of_work():
        record = backend.load_stream(sid)
        first = streams.find_one({"sid": sid})["lock"]["exp"]
        clock.advance(seconds=LEASE.total_seconds() * 0.75)
        backend.fetch_head(record)  # any work of the unit renews
        renewed = streams.find_one({"sid": sid})["lock"]["exp"]
        backend.insert_datapoints([(record, 100, 1)])
        fields = {"head_count": 1, "earliest_datapoint": 100, "latest_datapoint": 100}
        record.update(fields)  # what the engine does with a datapoint: the head grows
        backend.update_streams([(record, fields)])
    assert renewed - first == LEASE * 0.75
    assert _values(journaled, sid) == [1]
    assert _locked(journaled) == 0


def test_a_unit_that_lost_its_lease_writes_nothing(journaled):
    sid = new_stream(journaled)
    journaled.append(sid, 1, T0)
    backend = journaled.backend
    with pytest.raises(exceptions.StreamAppendContended), backend.unit_of_work():
        record = backend.load_stream(sid)
        # Its lease expired and another writer committed in the meantime.
        backend.database().streams.update_one(
            {"sid": sid}, {"$unset": {"lock": ""}, "$inc": {"rev": 1}}
        )
        backend.insert_datapoints([(record, record["latest_datapoint"] + 1, 99)])
    assert _values(journaled, sid) == [1]


def test_a_large_batch_is_journaled_in_chunks(journaled, monkeypatch):
    monkeypatch.setattr(journal, "_CHUNK_BYTES", 2_000)
    sid = new_stream(journaled)
    journaled.append_multiple(_batch(sid, list(range(300)), 0))
    assert _values(journaled, sid) == list(range(300))


def test_a_standalone_server_is_detected_and_gets_the_journal(request, tmp_path):
    require_secantus(request.config)
    from datastream.backends.mongodb import Backend

    server = SecantusServer(tmp_path / "standalone", standalone=True)
    server.start()
    try:
        backend = Backend("standalone", host=server.uri)
        ds = Datastream(backend)
        sid = new_stream(ds)
        ds.append_multiple(_batch(sid, list(range(30)), 0))
        assert backend.uses_transactions() is False
        ds.downsample_streams(until=T0 + seconds(60))
        assert _values(ds, sid) == list(range(30))
        assert [d["v"]["c"] for d in ds.get_data(sid, G.Seconds10, start=T0)] == [10, 10]
        backend.close()
    finally:
        server.stop()
