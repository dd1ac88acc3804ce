"""Worker functions for the multi-process tests (module level, so processes can run them)."""

import time

from datastream import Datastream, exceptions
from datastream.backends.sqlite import Backend


def append_worker(path: str, stream_ids: list[str], writer: int, seconds: float, queue) -> None:
    """Append unique values for ``seconds``, alternating single appends and small batches;
    report ``(value, stored?)`` for every value tried."""
    ds = Datastream(Backend(path))
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
            except exceptions.InvalidTimestamp:
                outcomes.append((value, False))
        else:
            batch = [writer * 1_000_000 + sequence + i for i in range(5)]
            sequence += 5
            try:
                ds.append_multiple([{"stream_id": sid, "value": v} for v in batch])
                outcomes.extend((v, True) for v in batch)
            except exceptions.InvalidTimestamp:
                outcomes.extend((v, False) for v in batch)
    queue.put(outcomes)


def downsample_worker(path: str, seconds: float, queue) -> None:
    ds = Datastream(Backend(path))
    runs = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ds.downsample_streams()
        runs += 1
    queue.put(runs)
