"""Downsampling runs itself: the worker thread, its start in serving processes only, its
safety beside other workers and ``manage.py downsample``, and its errors."""

from __future__ import annotations

import datetime
import logging
import signal
import threading
import time
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.test import override_settings

from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend
from datastream.exceptions import BackendUnavailable, DownsamplingFailed
from django_datastream import conf
from django_datastream.worker import (
    THREAD_NAME,
    DownsamplingWorker,
    NotifyingDatastream,
    current_worker,
    downsample_pass,
    stop_worker,
)

T0 = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
TIMEOUT = 20.0


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def wait_for(condition: Callable[[], object], timeout: float = TIMEOUT) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {condition}")
        time.sleep(0.02)


def closed(store: Datastream, stream_id: str, granularity=Granularity.Seconds10) -> int:
    return len(store.get_data(stream_id, granularity, start=datetime.datetime.min))


def worker_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


def points(stream_id: str, seconds) -> list[dict]:
    return [{"stream_id": stream_id, "value": s, "timestamp": at(s)} for s in seconds]


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "worker.sqlite3")


@pytest.fixture
def store(path):
    """A plain datastream on a file (appends here tell no worker: another process)."""
    core = Datastream(Backend(path))
    yield core
    core.backend.close()


@pytest.fixture
def stream_id(store):
    return store.ensure_stream({"name": "w"}, {}, ["mean", "count"], Granularity.Seconds)


@pytest.fixture
def workers():
    """Start workers through this; they are stopped after the test."""
    started: list[DownsamplingWorker] = []

    def start(datastream, **options) -> DownsamplingWorker:
        worker = DownsamplingWorker(lambda: datastream, **options)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
        assert not worker.alive


def test_appends_in_this_process_are_downsampled_shortly_after(path, store, stream_id, workers):
    notifying = NotifyingDatastream(Backend(path))
    worker = workers(notifying, delay=0.05, interval=0)
    notifying.listener = worker.notify
    notifying.append_multiple(points(stream_id, range(100)))
    # The 10-second bucket of the latest datapoint stays open.
    wait_for(lambda: closed(store, stream_id) == 9)
    notifying.append(stream_id, 1, at(125))
    wait_for(lambda: closed(store, stream_id) == 12)
    assert worker.passes["sweep"] == 0 and worker.passes["targeted"] >= 2
    notifying.backend.close()


def test_a_burst_of_appends_costs_one_pass(store, stream_id, workers):
    store.append_multiple(points(stream_id, range(100)))
    worker = workers(store, delay=1.0, interval=0)
    for _ in range(50):
        worker.notify([stream_id])
    wait_for(lambda: worker.passes["targeted"] >= 1)
    assert closed(store, stream_id) == 9
    time.sleep(1.5)  # nothing pending: no further pass
    assert worker.passes == {"targeted": 1, "sweep": 0}


def test_sweeps_find_appends_made_by_other_processes(path, store, stream_id, workers):
    own = Datastream(Backend(path))  # the worker's own connection, as in another process
    worker = workers(own, delay=0, interval=0.1)
    store.append_multiple(points(stream_id, range(100)))
    wait_for(lambda: closed(store, stream_id) == 9)
    assert worker.passes["targeted"] == 0 and worker.passes["sweep"] >= 1
    own.backend.close()


def test_streams_derived_from_appended_streams_are_downsampled_too(path, store, stream_id, workers):
    derived = store.ensure_stream(
        {"name": "rate"}, {}, ["mean"], Granularity.Seconds,
        derive_from=[stream_id], derive_op="derivative",
    )  # fmt: skip
    notifying = NotifyingDatastream(Backend(path))
    worker = workers(notifying, delay=0, interval=0)
    notifying.listener = worker.notify
    notifying.append_multiple(points(stream_id, range(100)))
    wait_for(lambda: closed(store, derived) == 9)
    assert closed(store, stream_id) == 9
    assert worker.passes["sweep"] == 0
    notifying.backend.close()


def test_a_failing_pass_is_logged_and_the_worker_goes_on(
    store, stream_id, workers, caplog, monkeypatch
):
    caplog.set_level(logging.INFO, "django_datastream.worker")
    store.append_multiple(points(stream_id, range(100)))
    real = store.downsample_streams
    failures = iter([RuntimeError("disk on fire"), DownsamplingFailed({stream_id: "bad bucket"})])

    def failing(*args, **kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "downsample_streams", failing)
    worker = workers(store, delay=0, interval=0)
    worker.notify([stream_id])
    wait_for(lambda: worker.passes["targeted"] == 1)
    worker.notify([stream_id])
    wait_for(lambda: worker.passes["targeted"] == 2)
    assert closed(store, stream_id) == 0
    worker.notify([stream_id])
    wait_for(lambda: closed(store, stream_id) == 9)
    assert worker.alive
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("ERROR", "Downsampling failed unexpectedly") in messages
    assert ("WARNING", f"Downsampling stream {stream_id} failed: bad bucket") in messages


def test_ctrl_c_while_waiting_for_the_worker_leaves_its_pass_running(store, stream_id, workers):
    """What ``downsample --watch`` does on Ctrl-C: the main thread, waiting for the worker, is
    interrupted; the worker, in a pass, must still count as running, so that stopping it
    waits for the end of the pass (``Thread.join`` interrupted by Ctrl-C marks a running
    thread as ended on Python 3.11)."""
    store.append_multiple(points(stream_id, range(30)))
    in_pass, release = threading.Event(), threading.Event()

    def report(result) -> None:
        in_pass.set()
        release.wait(TIMEOUT)

    worker = workers(store, interval=0.05, report=report, jitter=False)
    assert in_pass.wait(TIMEOUT)
    main = threading.main_thread().ident
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            worker.wait(TIMEOUT)
        timer.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert worker.alive  # still in its pass
    release.set()
    worker.stop(timeout=TIMEOUT)
    assert not worker.alive and worker.passes["sweep"] >= 1


def test_a_pass_reports_what_it_did_and_never_raises(store, stream_id):
    store.append_multiple(points(stream_id, range(100)))
    result = downsample_pass(store, [stream_id], count=True)
    assert result.ok and result.streams == {stream_id}
    assert result.datapoints == 9 + 1  # 10-second buckets, and the first minute
    assert downsample_pass(store, None, count=True).datapoints == 0  # nothing left

    class Unreachable:
        def downsample_streams(self, **arguments):
            raise BackendUnavailable("the storage is down")

    broken = downsample_pass(Unreachable(), None)  # type: ignore[arg-type]
    assert not broken.ok and broken.error == "BackendUnavailable: the storage is down"


def test_workers_and_the_command_beside_them_close_each_bucket_once(path, store, workers):
    """Two workers sweeping (as two server processes) and ``manage.py downsample`` while data
    arrives: the result is the same as one downsampling at the end, and nothing failed."""
    ids = [
        store.ensure_stream({"n": n}, {}, ["mean", "sum", "count"], Granularity.Seconds)
        for n in range(4)
    ]
    others = [Datastream(Backend(path)) for _ in range(2)]
    running = [workers(other, delay=0, interval=0.01) for other in others]
    settings = {
        "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
        "DATASTREAM_BACKEND_SETTINGS": {"database_name": path},
    }
    with override_settings(**settings):
        for batch in range(20):
            store.append_multiple(
                [p for i in ids for p in points(i, range(batch * 37, (batch + 1) * 37))]
            )
            if batch % 5 == 0:
                call_command("downsample", verbosity=0)
        wait_for(lambda: all(worker.passes["sweep"] >= 3 for worker in running))
    for worker in running:
        worker.stop()
    store.downsample_streams()

    reference = Datastream(Backend(":memory:"))
    for n, stream_id in enumerate(ids):
        copy = reference.ensure_stream({"n": n}, {}, ["mean", "sum", "count"], Granularity.Seconds)
        reference.append_multiple(points(copy, range(20 * 37)))
        reference.downsample_streams()
        assert store.get_tags(stream_id).get("last_downsampling_error") is None
        for granularity in Granularity.lower_than(Granularity.Seconds):
            mine = list(store.get_data(stream_id, granularity, start=datetime.datetime.min))
            expected = list(reference.get_data(copy, granularity, start=datetime.datetime.min))
            assert mine == expected, granularity
    for other in others:
        other.backend.close()


# The process's worker -------------------------------------------------------------------


@pytest.fixture
def app_settings(path):
    """The app configured on the test's file, the worker on, no sweeps."""
    settings = {
        "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
        "DATASTREAM_BACKEND_SETTINGS": {"database_name": path},
        "DATASTREAM_DOWNSAMPLE_WORKER": True,
        "DATASTREAM_DOWNSAMPLE_DELAY": 0.05,
        "DATASTREAM_DOWNSAMPLE_INTERVAL": 0,
    }
    stop_worker()
    with override_settings(**settings):
        yield settings
    assert current_worker() is None  # leaving override_settings stopped it


def test_only_serving_a_request_starts_the_worker(app_settings, client, stream_id, store):
    before = len(worker_threads())
    assert isinstance(conf.get_datastream(), NotifyingDatastream)
    call_command("check", verbosity=0)
    call_command("downsample", verbosity=0)
    call_command("dummystream", "-n", "1", "--span", "1m", "--no-real-time", verbosity=0)
    assert current_worker() is None and len(worker_threads()) == before

    assert client.get("/api/v1/stream/").status_code == 200
    worker = current_worker()
    assert worker is not None and len(worker_threads()) == before + 1
    client.get("/api/v1/stream/")
    assert current_worker() is worker and len(worker_threads()) == before + 1

    # Appends through the app's datastream reach it.
    conf.get_datastream().append_multiple(points(stream_id, range(100)))
    wait_for(lambda: closed(store, stream_id) == 9)


def test_a_changed_setting_stops_the_worker_and_off_means_off(app_settings, client):
    client.get("/api/v1/stream/")
    worker = current_worker()
    assert worker is not None
    with override_settings(DATASTREAM_DOWNSAMPLE_WORKER=False):
        assert not worker.alive
        client.get("/api/v1/stream/")
        assert current_worker() is None
    client.get("/api/v1/stream/")
    assert current_worker() is not None
