"""Worker functions for the multi-process tests (module level, so spawned processes can run them).

A worker opens a backend of its own from a *spec* (see :func:`open_backend`), as another
process of the application would.
"""

import time

from datastream import Datastream, exceptions
from datastream.backends.mongodb import Backend as MongoBackend
from datastream.backends.sqlite import Backend as SQLiteBackend

#: What a writer may be told instead of storing: nothing of that call is stored.
REFUSALS = (exceptions.InvalidTimestamp, exceptions.StreamAppendContended)


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
    backend = open_backend(spec)
    ds = Datastream(backend)
    runs = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ds.downsample_streams()
        runs += 1
    backend.close()
    queue.put(runs)
