"""django_datastream.live.hub: the per-process poller behind the live endpoint, on every backend.

The event streams are read exactly as a server would: the WSGI iterator in a thread, the ASGI
async iterator in an event loop; the storage is the real one of each backend.
"""

from __future__ import annotations

import asyncio
import datetime
import queue
import threading
import time

import orjson
import pytest

from datastream import Datastream, Granularity
from django_datastream.live.hub import (
    AFTER_ALL,
    Hub,
    LiveSpec,
    event_id_in_range,
    format_event_id,
    parse_event_id,
)

UTC = datetime.UTC
T0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
S0 = int(T0.timestamp())


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


class Reader:
    """Reads an event iterator in a thread; parses the events as they come."""

    def __init__(self, iterator):
        self.iterator = iterator
        self.chunks: queue.SimpleQueue = queue.SimpleQueue()
        self.text = ""
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for chunk in self.iterator:
                self.chunks.put(chunk)
                if self.stopping:
                    break
        finally:
            self.iterator.close()  # as a server does when the client went away
            self.chunks.put(None)

    def events(self):
        """Every complete event so far: (id, event type, data) of data events."""
        while True:
            try:
                chunk = self.chunks.get_nowait()
            except queue.Empty:
                break
            if chunk is None:
                break
            self.text += chunk.decode()
        parsed = []
        for block in self.text.split("\n\n")[:-1]:
            fields = {"id": None, "event": None, "data": None}
            for line in block.split("\n"):
                name, _, value = line.partition(": ")
                if name in fields:
                    fields[name] = value
            if fields["data"] is not None:
                parsed.append((fields["id"], fields["event"], orjson.loads(fields["data"])))
        return parsed

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events()
            if predicate(events):
                return events
            time.sleep(0.02)
        raise AssertionError(f"timed out; got {self.events()!r} from {self.text!r}")

    def close(self):
        """Stop at the next chunk (at the latest the next keep-alive)."""
        self.stopping = True
        self.thread.join(5)
        assert not self.thread.is_alive()


@pytest.fixture
def hub():
    return Hub(interval=0.05, keepalive=0.2)


@pytest.fixture
def raw_stream(ds: Datastream) -> str:
    return ds.ensure_stream({"name": "live"}, {}, ["mean", "min", "max"], Granularity.Seconds)


def data_events(events):
    return [(event_id, data["v"]) for event_id, kind, data in events if kind is None]


def test_event_ids_round_trip():
    for cursor in [(S0, 0), (S0, 12), (-86400, 3), (0, 10**18 - 1)]:
        assert parse_event_id(format_event_id(cursor)) == cursor
    # ASCII digits only: str.isdigit() and int() accept other digits ('²', '١').
    bad_ids = ["", "12", "x-1", "1-x", "1--1", "1-", "-1", "9" * 50 + "-1", "1-\u00b2",
               "\u00b2-1", "\u0661-0", "1-\u0661", "1-" + "9" * 19, "+1-0", "1_0-0"]  # fmt: skip
    for bad in bad_ids:
        assert parse_event_id(bad) is None, bad
    assert parse_event_id("-99999999999999999999-0") == (-99999999999999999999, 0)
    assert not event_id_in_range((-99999999999999999999, 0))
    assert not event_id_in_range((-62135596801, 0))  # 0000-12-31T23:59:59Z
    assert event_id_in_range((S0, 0)) and event_id_in_range((-62135510400, 0))


def test_appends_arrive_in_order_and_a_reconnect_resumes_exactly(ds, raw_stream, hub):
    spec = LiveSpec(raw_stream, Granularity.Seconds, raw=True)
    ds.append(raw_stream, 0, at(0))
    first = Reader(hub.events(ds, spec, None, from_head=True))
    first.wait_for(lambda events: "connected" in first.text)
    # Several datapoints in one second get ordinals; nothing before the connection is sent.
    for index, second in enumerate([1, 1, 1, 2]):
        ds.append(raw_stream, index + 1, at(second))
    events = first.wait_for(lambda events: len(data_events(events)) == 4)
    assert data_events(events) == [
        (f"{S0 + 1}-0", 1), (f"{S0 + 1}-1", 2), (f"{S0 + 1}-2", 3), (f"{S0 + 2}-0", 4),
    ]  # fmt: skip
    first.close()

    # Disconnected after the second event: the rest of second 1 and what came since.
    for index, second in enumerate([2, 3]):
        ds.append(raw_stream, index + 5, at(second))
    resumed = Reader(hub.events(ds, spec, parse_event_id(f"{S0 + 1}-1"), from_head=False))
    ds.append(raw_stream, 7, at(4))
    events = resumed.wait_for(lambda events: len(data_events(events)) == 5)
    assert data_events(events) == [
        (f"{S0 + 1}-2", 3), (f"{S0 + 2}-0", 4), (f"{S0 + 2}-1", 5), (f"{S0 + 3}-0", 6),
        (f"{S0 + 4}-0", 7),
    ]  # fmt: skip
    time.sleep(0.2)
    assert len(data_events(resumed.events())) == 5  # nothing twice
    resumed.close()


def test_a_resume_point_after_a_whole_second_and_from_the_start(ds, raw_stream, hub):
    spec = LiveSpec(raw_stream, Granularity.Seconds, raw=True)
    for second in [0, 0, 1]:
        ds.append(raw_stream, second, at(second))
    after_second_0 = Reader(hub.events(ds, spec, (S0, AFTER_ALL), from_head=False))
    assert data_events(after_second_0.wait_for(lambda e: len(e) == 1)) == [(f"{S0 + 1}-0", 1)]
    everything = Reader(hub.events(ds, spec, None, from_head=False))
    events = everything.wait_for(lambda e: len(e) == 3)
    assert [event_id for event_id, _ in data_events(events)] == [
        f"{S0}-0", f"{S0}-1", f"{S0 + 1}-0",
    ]  # fmt: skip
    after_second_0.close()
    everything.close()


def test_keepalive_comments_on_a_quiet_stream(ds, raw_stream, hub):
    reader = Reader(hub.events(ds, LiveSpec(raw_stream, Granularity.Seconds, True), None, True))
    reader.wait_for(lambda events: reader.text.count(": keep-alive") >= 2, timeout=5)
    reader.close()


def test_connections_share_one_channel_polled_once_per_interval(ds, raw_stream, hub):
    spec = LiveSpec(raw_stream, Granularity.Seconds, raw=True)
    readers = [Reader(hub.events(ds, spec, None, True)) for _ in range(20)]
    for reader in readers:
        reader.wait_for(lambda events, reader=reader: "connected" in reader.text)
    assert len(hub.channels) == 1 and hub.connections() == 20
    ds.append(raw_stream, 42, at(10))
    for reader in readers:
        assert data_events(reader.wait_for(lambda e: len(e) == 1)) == [(f"{S0 + 10}-0", 42)]
    for reader in readers:
        reader.stopping = True
    for reader in readers:
        reader.close()
    assert hub.connections() == 0


def test_closed_buckets_and_the_open_bucket(ds, raw_stream, hub):
    for second in range(0, 130, 10):
        ds.append(raw_stream, second, at(second))
    ds.downsample_streams(until=at(130))  # closes the minutes before 2:00
    spec = LiveSpec(
        raw_stream, Granularity.Minutes, raw=False, value_downsamplers=("mean",),
        time_downsamplers=(), time_format="epoch", open_bucket=True,
    )  # fmt: skip
    reader = Reader(hub.events(ds, spec, (S0 - 60, 0), from_head=False))
    events = reader.wait_for(lambda e: len(e) == 3)
    assert events[0] == (f"{S0}-0", None, {"v": {"m": 25.0}})
    assert events[1] == (f"{S0 + 60}-0", None, {"v": {"m": 85.0}})
    assert events[2] == (None, "open_bucket", [{"v": {"m": 120.0}, "open": True}])

    ds.append(raw_stream, 180, at(180))  # the 2:00 bucket can close; 3:00 opens
    ds.downsample_streams(until=at(200))
    # A poll may fall between the append and the downsampling (two open buckets for a while),
    # or between the downsampling's commit and the read of closed buckets (the 2:00 bucket
    # then arrives closed one poll after the open bucket that no longer lists it).
    latest_open = [{"v": {"m": 180.0}, "open": True}]
    events = reader.wait_for(
        lambda e: any(k is None for _i, k, _d in e[3:])
        and any(k == "open_bucket" and d == latest_open for _i, k, d in e[3:])
    )
    closed = [event for event in events[3:] if event[1] is None]
    assert closed == [(f"{S0 + 120}-0", None, {"v": {"m": 120.0}})]
    reader.close()


def test_open_buckets_are_computed_from_raw_datapoints(ds, raw_stream):
    # The engine's open buckets, which live open_bucket events send, on every backend.
    for second in [0, 30, 61, 62, 125]:
        ds.append(raw_stream, second, at(second))
    buckets = ds.get_open_buckets(
        raw_stream, Granularity.Minutes, value_downsamplers=["min", "max"],
        time_downsamplers=["first"],
    )  # fmt: skip
    assert buckets == [
        (at(0), {"t": {"a": at(0)}, "v": {"l": 0, "u": 30}}),
        (at(60), {"t": {"a": at(61)}, "v": {"l": 61, "u": 62}}),
        (at(120), {"t": {"a": at(125)}, "v": {"l": 125, "u": 125}}),
    ]
    ds.downsample_streams(until=at(200))
    assert [b for b, _ in ds.get_open_buckets(raw_stream, Granularity.Minutes)] == [at(120)]
    assert ds.get_open_buckets(raw_stream, Granularity.Minutes, start=at(0), end=at(119)) == []


def test_a_deleted_stream_ends_the_connection_with_an_error_event(ds, raw_stream, hub):
    reader = Reader(hub.events(ds, LiveSpec(raw_stream, Granularity.Minutes, False), None, True))
    reader.wait_for(lambda events: "connected" in reader.text)
    ds.delete_streams({"name": "live"})
    events = reader.wait_for(lambda e: len(e) == 1)
    assert events == [(None, "error", {"error": "The stream was deleted."})]
    reader.thread.join(5)
    assert not reader.thread.is_alive()


def test_the_asgi_iterator_delivers_the_same_events(ds, raw_stream, hub):
    spec = LiveSpec(raw_stream, Granularity.Seconds, raw=True, time_format="epoch_ms")
    ds.append(raw_stream, 1, at(1))

    async def follow():
        received = b""
        iterator = hub.aevents(ds, spec, (S0, AFTER_ALL), from_head=False)
        async for chunk in iterator:
            received += chunk
            if b"keep-alive" in received and b"\ndata: " not in received.split(b"keep")[-1]:
                await asyncio.to_thread(ds.append, raw_stream, 2, at(2))
            if received.count(b"\ndata: ") == 2:
                break
        await iterator.aclose()
        return received.decode()

    text = asyncio.run(asyncio.wait_for(follow(), 10))
    assert f'id: {S0 + 1}-0\ndata: {{"t":{(S0 + 1) * 1000},"v":1}}' in text
    assert f'id: {S0 + 2}-0\ndata: {{"t":{(S0 + 2) * 1000},"v":2}}' in text
    assert hub.connections() == 0


def test_a_changed_configuration_ends_the_connections(ds, raw_stream, hub):
    configured = [ds]
    spec = LiveSpec(raw_stream, Granularity.Seconds, raw=True)
    reader = Reader(hub.events(ds, spec, None, True, lambda: configured[0]))
    reader.wait_for(lambda events: "connected" in reader.text)
    configured[0] = None  # e.g. override_settings ended: the storage may be closed
    events = reader.wait_for(lambda e: len(e) == 1)
    assert events == [
        (None, "error", {"error": "The server's datastream configuration changed; reconnect."})
    ]
    reader.thread.join(5)
    assert not reader.thread.is_alive() and hub.connections() == 0


def read_events(iterator, count: int, timeout: float = 20.0) -> list[tuple]:
    """Read ``iterator`` (a connection's bytes) in this thread until ``count`` data events
    (``(id, event type, data)``) arrived; keep-alives are skipped."""
    text, events = "", []
    deadline = time.monotonic() + timeout
    while len(events) < count:
        assert time.monotonic() < deadline, f"timed out after {len(events)} events"
        text += next(iterator).decode()
        *blocks, text = text.split("\n\n")
        for block in blocks:
            fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
            if "data" in fields:
                events.append((fields.get("id"), fields.get("event"), orjson.loads(fields["data"])))
    return events


def test_a_long_replay_comes_in_small_pages_once_in_order_then_live(ds, raw_stream):
    # A 4 KiB queue: pages of 1 KiB, about 16 events: the replay takes many of them.
    hub = Hub(interval=0.05, keepalive=5, buffer_bytes=4096)
    ds.append_multiple(
        [{"stream_id": raw_stream, "value": i, "timestamp": at(i // 2)} for i in range(300)]
    )
    spec = LiveSpec(raw_stream, Granularity.Seconds, raw=True, time_format="epoch")
    connection = hub.events(ds, spec, None, from_head=False)
    iterator = iter(connection)
    assert next(iterator) == b"retry: 1000\n: connected\n\n"
    events = read_events(iterator, 300)
    assert [data["v"] for _i, _k, data in events] == list(range(300))
    assert [event_id for event_id, _k, _d in events[:3]] == [f"{S0}-0", f"{S0}-1", f"{S0 + 1}-0"]
    assert hub.replay_pages >= 300 * 40 // 1024  # about 40 bytes an event
    subscriber = connection.subscriber
    assert subscriber.queued <= 4096 and not subscriber.replaying  # caught up: live now
    ds.append(raw_stream, 300, at(200))
    assert read_events(iterator, 1) == [(f"{S0 + 200}-0", None, {"t": S0 + 200, "v": 300})]
    connection.close()
    assert hub.connections() == 0 and not hub.channels


def test_a_reader_slower_than_the_data_falls_behind_and_catches_up_from_storage(ds, raw_stream):
    hub = Hub(interval=0.05, keepalive=5, buffer_bytes=2048)
    spec = LiveSpec(raw_stream, Granularity.Seconds, raw=True, time_format="epoch")
    connection = hub.events(ds, spec, None, from_head=True)
    iterator = iter(connection)
    next(iterator)
    subscriber = connection.subscriber
    for batch in range(4):  # four polls' worth of appends, while nothing is read
        ds.append_multiple(
            [{"stream_id": raw_stream, "value": batch * 100 + i, "timestamp": at(batch * 100 + i)}
             for i in range(100)]
        )  # fmt: skip
        time.sleep(0.12)
    assert subscriber.queued <= 2048 + 64 * 1024  # the queue and at most one page of a poll
    events = read_events(iterator, 400)
    assert [data["v"] for _i, _k, data in events] == list(range(400))  # none lost, none twice
    assert hub.dropped == 0
    connection.close()


def test_access_is_checked_again_before_new_data_is_sent(ds, raw_stream, hub):
    spec = LiveSpec(raw_stream, Granularity.Seconds, raw=True)
    allowed = [True]
    checks = []

    def check():
        checks.append(time.monotonic())
        return None if allowed[0] else {"error": "Revoked.", "status": 401}

    reader = Reader(hub.events(ds, spec, None, True, check=check))
    reader.wait_for(lambda events: "connected" in reader.text)
    ds.append(raw_stream, 1, at(1))
    reader.wait_for(lambda events: len(events) == 1)
    allowed[0] = False
    time.sleep(2 * hub.interval)
    ds.append(raw_stream, 2, at(2))
    events = reader.wait_for(lambda events: len(events) == 2)
    assert events[1] == (None, "error", {"error": "Revoked.", "status": 401})
    reader.thread.join(5)
    assert not reader.thread.is_alive() and hub.connections() == 0 and checks

    async def follow():
        async def acheck():
            return {"error": "Revoked.", "status": 401}

        received = b""
        iterator = hub.aevents(ds, spec, None, True, check=acheck)
        async for chunk in iterator:
            received += chunk
            if chunk.startswith(b"retry"):
                await asyncio.sleep(2 * hub.interval)
                await asyncio.to_thread(ds.append, raw_stream, 3, at(3))
        return received.decode()

    text = asyncio.run(asyncio.wait_for(follow(), 10))
    assert text.endswith('event: error\ndata: {"error":"Revoked.","status":401}\n\n')
    assert "data: {" not in text.split("event: error")[0]  # nothing sent after the revocation
    assert hub.connections() == 0


def test_a_response_dropped_without_close_is_forgotten_before_the_next_read(ds, raw_stream, hub):
    import gc

    spec = LiveSpec(raw_stream, Granularity.Seconds, raw=True)
    connection = hub.events(ds, spec, None, from_head=True)
    assert hub.connections() == 1
    del connection
    gc.collect()
    deadline = time.monotonic() + 5
    while hub.channels and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not hub.channels and hub.connections() == 0


def test_replays_do_not_delay_live_delivery_to_others(tmp_path):
    from datastream.backends.sqlite import Backend

    ds = Datastream(Backend(str(tmp_path / "fair.sqlite3")))
    history = ds.ensure_stream({"name": "history"}, {}, ["mean"], Granularity.Seconds)
    followed = ds.ensure_stream({"name": "followed"}, {}, ["mean"], Granularity.Seconds)
    ds.append_multiple(
        [{"stream_id": history, "value": i, "timestamp": at(i)} for i in range(60_000)]
    )
    hub = Hub(interval=0.05, keepalive=0.3, stall_timeout=5)
    follower = Reader(hub.events(ds, LiveSpec(followed, Granularity.Seconds, True), None, True))
    follower.wait_for(lambda events: "connected" in follower.text)
    # Four clients replaying 60,000 events as fast as they can read: pages for all of them
    # keep the hub's thread busy for a while.
    replays = [
        hub.events(ds, LiveSpec(history, Granularity.Seconds, raw=True), None, False)
        for _ in range(4)
    ]
    finished = []

    def read_all(connection):
        count = 0
        for chunk in connection:
            count += chunk.count(b"\ndata: ")
            if count >= 60_000:
                finished.append(time.monotonic())
                break

    threads = [threading.Thread(target=read_all, args=(c,), daemon=True) for c in replays]
    for thread in threads:
        thread.start()
    while hub.replay_pages < 4:  # the replays are under way
        time.sleep(0.005)
    ds.append(followed, 1, at(1))
    follower.wait_for(lambda events: len(events) == 1)
    assert not finished  # the follower's event came while every replay was still going on
    for thread in threads:
        thread.join(20)
    assert len(finished) == 4  # and the replays completed
    follower.close()
    for connection in replays:
        connection.close()
    assert hub.connections() == 0
    ds.backend.close()


@pytest.mark.parametrize("backend_name", ["mongodb-fallback"])
def test_nothing_reads_the_storage_once_the_last_connection_closed(
    ds, raw_stream, hub, monkeypatch
):
    # The storage may be closed right after the last connection: a read then would open a
    # MongoClient that nobody closes (as the hub's thread once did, from a poll in flight).
    backend = ds.backend
    get_data = ds.get_data
    reading, release = threading.Event(), threading.Event()

    def held_in_the_hub(*args, **kwargs):
        if threading.current_thread().name == "datastream-live-poller" and not release.is_set():
            reading.set()
            release.wait(10)
        return get_data(*args, **kwargs)  # the storage is read when the result is iterated

    connection = hub.events(ds, LiveSpec(raw_stream, Granularity.Seconds, True), None, True)
    monkeypatch.setattr(ds, "get_data", held_in_the_hub)
    assert reading.wait(5)  # a poll is in flight
    closing = threading.Thread(target=connection.close)
    closing.start()
    closing.join(0.3)
    assert closing.is_alive()  # close() waits for the read in flight for its channel
    release.set()
    closing.join(5)
    assert not closing.is_alive() and not hub.channels
    backend.close()
    time.sleep(3 * hub.interval)
    assert backend._client is None  # nothing used the storage after close() returned
