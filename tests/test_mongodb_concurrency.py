"""MongoDB only: processes and threads appending and downsampling at once lose nothing, store
nothing twice, and every closed bucket equals a recomputation from the raw datapoints.

Runs with transactions (SecantusDB and replica sets) and with the no-transaction fallback of
a standalone ``mongod``.
"""

from __future__ import annotations

import datetime
import multiprocessing
import queue as queue_module
import threading
import time

import pytest
from helpers import ALL_VALUE, G

from datastream import Datastream, exceptions
from datastream.backends.mongodb import Backend
from datastream.granularity import from_seconds, to_seconds

RUN_SECONDS = 2.5


def _backend(uri: str, database: str, transactions: bool) -> Backend:
    backend = Backend(database, host=uri)
    if not transactions:
        backend.transactions = False
    return backend


def append_worker(uri, database, transactions, stream_ids, writer, seconds, queue) -> None:
    """Append unique values for ``seconds`` (single appends and batches of 5); report
    ``(value, stored?)`` for every value tried."""
    backend = _backend(uri, database, transactions)
    ds = Datastream(backend)
    outcomes = []
    deadline = time.monotonic() + seconds
    sequence = 0
    while time.monotonic() < deadline:
        sid = stream_ids[sequence % len(stream_ids)]
        batch = [writer * 1_000_000 + sequence + i for i in range(1 if sequence % 3 else 5)]
        sequence += len(batch)
        try:
            ds.append_multiple([{"stream_id": sid, "value": v} for v in batch])
            outcomes.extend((v, True) for v in batch)
        except (exceptions.InvalidTimestamp, exceptions.StreamAppendContended):
            outcomes.extend((v, False) for v in batch)
    backend.close()
    queue.put(outcomes)


def downsample_worker(uri, database, transactions, seconds, queue) -> None:
    backend = _backend(uri, database, transactions)
    ds = Datastream(backend)
    runs = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ds.downsample_streams()
        runs += 1
    backend.close()
    queue.put(runs)


@pytest.mark.parametrize("transactions", [True, False], ids=["transactions", "fallback"])
def test_processes_appending_and_downsampling_lose_nothing(
    mongodb_backend_factory, mongodb_server, transactions
):
    backend = mongodb_backend_factory()
    backend.transactions = None if transactions else False
    ds = Datastream(backend)
    shared = ds.ensure_stream({"name": "shared"}, {}, ALL_VALUE, G.Seconds)
    own = [ds.ensure_stream({"name": f"own{i}"}, {}, ALL_VALUE, G.Seconds) for i in range(2)]
    common = (mongodb_server.uri, backend.database_name, transactions)

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(target=append_worker,
                        args=(*common, [shared, own[i]], i + 1, RUN_SECONDS, results))
        for i in range(2)
    ] + [context.Process(target=downsample_worker, args=(*common, RUN_SECONDS + 0.5, results))]
    for process in processes:
        process.start()
    thread_results: queue_module.Queue = queue_module.Queue()
    thread = threading.Thread(
        target=append_worker, args=(*common, [shared], 3, RUN_SECONDS, thread_results)
    )
    thread.start()
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
        for granularity in G.values[1:3]:
            for bucket in ds.get_data(sid, granularity, start=datetime.datetime.min,
                                      time_downsamplers=["first"]):
                start = granularity.round_seconds(to_seconds(bucket["t"]["a"]))
                inside = [v for t, v in raw if start <= t < start + granularity.seconds]
                assert bucket["v"]["c"] == len(inside), (granularity, from_seconds(start))
                assert bucket["v"]["s"] == (sum(inside) if inside else None)


@pytest.mark.parametrize("transactions", [True, False], ids=["transactions", "fallback"])
def test_threads_appending_to_one_stream_queue_up(mongodb_backend_factory, transactions):
    """Writers of one stream wait for each other instead of failing (first-touch locking)."""
    backend = mongodb_backend_factory()
    backend.transactions = None if transactions else False
    ds = Datastream(backend)
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
