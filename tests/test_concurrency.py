"""Several threads and processes append while another process downsamples: nothing is lost,
nothing is stored twice, and every closed bucket equals a recomputation from raw data."""

import datetime
import multiprocessing
import queue as queue_module
import threading

import pytest
from concurrency_workers import append_worker, downsample_worker
from helpers import ALL_VALUE, G

from datastream import Datastream
from datastream.backends.sqlite import Backend
from datastream.granularity import from_seconds, to_seconds

RUN_SECONDS = 3.0


@pytest.mark.slow
def test_concurrent_appends_and_downsampling_lose_nothing(tmp_path):
    path = str(tmp_path / "concurrent.sqlite3")
    ds = Datastream(Backend(path))
    shared = ds.ensure_stream({"name": "shared"}, {}, ALL_VALUE, G.Seconds)
    own = [ds.ensure_stream({"name": f"own{i}"}, {}, ALL_VALUE, G.Seconds) for i in range(2)]

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [
        context.Process(target=append_worker, args=(path, [shared, own[i]], i + 1, RUN_SECONDS,
                                                    results))
        for i in range(2)
    ] + [
        context.Process(target=downsample_worker, args=(path, RUN_SECONDS + 0.5, results)),
    ]
    for process in processes:
        process.start()
    thread_results = queue_module.Queue()
    threads = [
        threading.Thread(target=append_worker,
                         args=(path, [shared], w, RUN_SECONDS, thread_results))
        for w in (3, 4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes, downsample_runs = [], 0
    for _ in processes:
        item = results.get(timeout=60)
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
    assert len(stored_ok) > 100
    everything = []
    for sid in [shared, *own]:
        everything.extend(d["v"] for d in ds.get_data(sid, G.Seconds, start=datetime.datetime.min))
    assert sorted(everything) == sorted(stored_ok)  # each successful append exactly once
    assert not failed & set(everything)

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
