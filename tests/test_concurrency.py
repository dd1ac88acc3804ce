"""Processes and threads appending while another process downsamples, on every storage:
nothing is lost, nothing is stored twice, and every closed bucket equals a recomputation from
the raw datapoints. Writers of one stream queue up instead of failing."""

import datetime
import multiprocessing
import queue as queue_module
import threading

import pytest
from concurrency_workers import append_worker, downsample_worker
from helpers import ALL_VALUE, G

from datastream import Datastream
from datastream.granularity import from_seconds, to_seconds

RUN_SECONDS = 2.5


def _spec(request: pytest.FixtureRequest, backend_name: str, backend) -> tuple:
    """How a worker process opens the store of ``backend`` (see ``open_backend``)."""
    if backend_name == "sqlite":
        return ("sqlite", backend.database_name)
    uri = request.getfixturevalue("mongodb_server").uri
    return ("mongodb", uri, backend.database_name, backend_name == "mongodb")


@pytest.mark.slow
def test_concurrent_appends_and_downsampling_lose_nothing(
    request, backend_name, make_backend, monkeypatch
):
    """Two processes and two threads append while a process downsamples, with chunks small
    enough that heads are sealed, chunks merged and rewritten all along."""
    if backend_name == "memory":
        pytest.skip("a memory database lives in one process: no other process can open it")
    from concurrency_workers import SMALL_CHUNKS

    from datastream.engine import chunkstore

    for name, value in SMALL_CHUNKS.items():
        monkeypatch.setattr(chunkstore, name, value)
    # The wall clock: workers in other processes cannot share a test clock.
    ds = Datastream(make_backend(name="concurrent"))
    shared = ds.ensure_stream({"name": "shared"}, {}, ALL_VALUE, G.Seconds)
    own = [ds.ensure_stream({"name": f"own{i}"}, {}, ALL_VALUE, G.Seconds) for i in range(2)]
    spec = _spec(request, backend_name, ds.backend)

    # Spawned, not forked: the MongoDB test server runs in threads of this process.
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(target=append_worker,
                        args=(spec, [shared, own[i]], i + 1, RUN_SECONDS, results))
        for i in range(2)
    ] + [context.Process(target=downsample_worker, args=(spec, RUN_SECONDS + 0.5, results))]
    for process in processes:
        process.start()
    thread_results: queue_module.Queue = queue_module.Queue()
    threads = [
        threading.Thread(target=append_worker,
                         args=(spec, [shared], w, RUN_SECONDS, thread_results))
        for w in (3, 4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes, downsample_runs = [], 0
    for _ in processes:
        item = results.get(timeout=120)
        if isinstance(item, int):
            downsample_runs = item
        else:
            outcomes.extend(item)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    while not thread_results.empty():
        outcomes.extend(thread_results.get())
    assert downsample_runs > 0

    stored_ok = [value for value, ok in outcomes if ok]
    failed = {value for value, ok in outcomes if not ok}
    assert len(stored_ok) > 20
    everything = []
    for sid in [shared, *own]:
        everything.extend(d["v"] for d in ds.get_data(sid, G.Seconds, start=datetime.datetime.min))
    assert sorted(everything) == sorted(stored_ok)  # each successful append exactly once
    assert not failed & set(everything)

    ds.downsample_streams()
    for sid in [shared, *own]:
        raw = [(to_seconds(d["t"]), d["v"])
               for d in ds.get_data(sid, G.Seconds, start=datetime.datetime.min)]
        for granularity in G.values[1:]:
            for bucket in ds.get_data(sid, granularity, start=datetime.datetime.min,
                                      time_downsamplers=["first"]):
                start = granularity.round_seconds(to_seconds(bucket["t"]["a"]))
                inside = [v for t, v in raw if start <= t < start + granularity.seconds]
                assert bucket["v"]["c"] == len(inside), (granularity, from_seconds(start))
                assert bucket["v"]["s"] == (sum(inside) if inside else None)


def test_threads_appending_to_one_stream_queue_up(make_backend):
    ds = Datastream(make_backend())
    sid = ds.ensure_stream({"name": "hot"}, {}, ALL_VALUE, G.Seconds)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for i in range(15):
                ds.append(sid, writer * 100 + i, check_timestamp=False)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    values = [d["v"] for d in ds.get_data(sid, G.Seconds, start=datetime.datetime.min)]
    assert sorted(values) == sorted(w * 100 + i for w in range(4) for i in range(15))
