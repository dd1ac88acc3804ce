"""Worker functions for the multi-process tests (module level, so spawned processes can run them).

A worker opens a backend of its own from a *spec* (see :func:`open_backend`), as another
process of the application would.
"""

import datetime
import time

from datastream import Datastream, exceptions
from datastream.backends.mongodb import Backend as MongoBackend
from datastream.backends.sqlite import Backend as SQLiteBackend

#: What a writer may be told instead of storing: nothing of that call is stored.
REFUSALS = (exceptions.InvalidTimestamp, exceptions.StreamAppendContended)


#: Chunk sizes small enough that a few seconds of work seal heads, rewrite and merge chunks.
SMALL_CHUNKS = {"CHUNK_POINTS": 16, "HEAD_POINTS": 8, "SEAL_AFTER_DOWNSAMPLING": 4,
                "BUCKETS_PER_CHUNK": 8}


def use_small_chunks() -> None:
    """Make this process cut chunks of :data:`SMALL_CHUNKS` (a test hook, set per process)."""
    from datastream.engine import chunkstore

    for name, value in SMALL_CHUNKS.items():
        setattr(chunkstore, name, value)


def open_backend(spec: tuple):
    """``("sqlite", path)`` or ``("mongodb", uri, database, transactions)``."""
    if spec[0] == "sqlite":
        return SQLiteBackend(spec[1])
    _, uri, database, transactions = spec
    backend = MongoBackend(database, host=uri)
    if not transactions:
        backend.transactions = False
    return backend


def append_worker(spec: tuple, stream_ids: list[str], writer: int, seconds: float, queue) -> None:
    """Append unique values for ``seconds``, alternating single appends and small batches;
    report ``(value, stored?)`` for every value tried."""
    use_small_chunks()
    backend = open_backend(spec)
    ds = Datastream(backend)
    outcomes = []
    deadline = time.monotonic() + seconds
    sequence = 0
    while time.monotonic() < deadline:
        sid = stream_ids[sequence % len(stream_ids)]
        if sequence % 3:
            value = writer * 1_000_000 + sequence
            sequence += 1
            try:
                ds.append(sid, value)
                outcomes.append((value, True))
            except REFUSALS:
                outcomes.append((value, False))
        else:
            batch = [writer * 1_000_000 + sequence + i for i in range(5)]
            sequence += 5
            try:
                ds.append_multiple([{"stream_id": sid, "value": v} for v in batch])
                outcomes.extend((v, True) for v in batch)
            except REFUSALS:
                outcomes.extend((v, False) for v in batch)
    backend.close()
    queue.put(outcomes)


def downsample_worker(spec: tuple, seconds: float, queue) -> None:
    use_small_chunks()
    backend = open_backend(spec)
    ds = Datastream(backend)
    runs = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ds.downsample_streams()
        runs += 1
    backend.close()
    queue.put(runs)


def crash_worker(spec: tuple, stream_id: str, started) -> None:
    """Append batches until killed: ``append_multiple`` batches of 50 datapoints all holding
    the batch's number, ``append_columns`` batches of 300, and downsampling in between."""
    import numpy as np

    use_small_chunks()
    ds = Datastream(open_backend(spec))
    number = 0
    second = 1_700_000_000
    while True:
        number += 1
        if number % 3 == 0:
            times = np.arange(second, second + 300).astype("datetime64[s]")
            ds.append_columns(stream_id, times, np.full(300, float(number)))
            second += 300
        else:
            base = datetime.datetime.fromtimestamp(second, datetime.UTC)
            ds.append_multiple(
                [{"stream_id": stream_id, "value": float(number),
                  "timestamp": base + datetime.timedelta(seconds=i // 2)} for i in range(50)]
            )
            second += 25
        if number % 4 == 0:
            ds.downsample_streams(until=datetime.datetime.fromtimestamp(second, datetime.UTC))
        started.set()
