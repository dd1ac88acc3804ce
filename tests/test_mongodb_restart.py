"""MongoDB only: the server goes away and comes back (spec §7.2; issue #3 "reconnect").

The test runs a SecantusDB server of its own, so that stopping it disturbs no other test; it is
restarted on the same port and storage path, as a restarted ``mongod`` would be.
"""

from __future__ import annotations

import time

import pytest
from helpers import G, SecantusServer, at, new_stream, seconds
from plugins.mongo_server import require_secantus

from datastream import Datastream, exceptions
from datastream.backends.mongodb import Backend

T0 = at(2021, 6, 1)


@pytest.fixture
def own_server(request, tmp_path):
    require_secantus(request.config)
    server = SecantusServer(tmp_path / "restartable")
    server.start()
    yield server
    server.stop()


def test_an_outage_raises_quickly_and_the_same_backend_recovers(own_server):
    backend = Backend("restart", host=own_server.uri, serverSelectionTimeoutMS=400,
                      connectTimeoutMS=400)
    ds = Datastream(backend)
    sid = new_stream(ds)
    ds.append_multiple([{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)}
                        for i in range(100)])

    own_server.stop()
    begin = time.monotonic()
    with pytest.raises(exceptions.BackendUnavailable, match="MongoDB server unavailable"):
        ds.append(sid, 100, T0 + seconds(100))
    assert time.monotonic() - begin < 5
    with pytest.raises(exceptions.BackendUnavailable) as outage:
        ds.append_multiple([{"stream_id": sid, "value": 100, "timestamp": T0 + seconds(100)}])
    assert str(outage.value).startswith("MongoDB server unavailable")  # no datapoint blamed
    with pytest.raises(ConnectionError) as outage:  # BackendUnavailable is a ConnectionError
        list(ds.get_data(sid, G.Seconds, start=T0))
    assert "written" not in str(outage.value)  # a read says nothing about writes
    with pytest.raises(exceptions.BackendUnavailable):
        ds.downsample_streams(until=T0 + seconds(200))

    own_server.start()
    ds.append(sid, 100, T0 + seconds(100))  # the append that failed, now retried
    ds.append_multiple([{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)}
                        for i in range(101, 120)])
    assert [d["v"] for d in ds.get_data(sid, G.Seconds, start=T0)] == list(range(120))
    ds.downsample_streams(until=T0 + seconds(200))
    assert [d["v"]["c"] for d in ds.get_data(sid, G.Minutes, start=T0)] == [60]
    backend.close()
