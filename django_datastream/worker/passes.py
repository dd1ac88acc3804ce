"""One downsampling pass: the work the background worker and ``downsample --watch`` repeat.

A pass downsamples either the streams it is given (those this process appended to, and the
derived streams they feed, found through their ``contributes_to``) or every stream (a sweep,
which finds what other processes appended: :meth:`Datastream.downsample_streams` reads every
stream's record and does work only for those with a complete bucket not yet closed).

A pass never raises: what went wrong is logged on :data:`logger` and returned in its
:class:`PassResult`. The library also keeps each failed stream's ``last_downsampling_error``.
Several passes may run at once, in threads, processes or ``manage.py downsample``: the library
commits a stream's new buckets only if the stream's record did not change since the pass read
it, so a bucket is closed once, by whichever pass commits first; the other skips the stream.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable
from typing import Any

from datastream import Datastream, Stream
from datastream.exceptions import DatastreamException, DownsamplingFailed

from ..conf import datastream_settings

__all__ = ["TARGETED_MAX", "PassResult", "downsample_pass", "logger"]

logger = logging.getLogger("django_datastream.worker")

#: Most streams a targeted pass downsamples one by one; with more, one sweep is cheaper.
TARGETED_MAX = 64


@dataclasses.dataclass
class PassResult:
    """What one pass did."""

    #: ``None`` for a sweep of every stream, else the streams asked for.
    targeted: frozenset[str] | None
    #: Streams that received new downsampled datapoints (only when counting).
    streams: set[str] = dataclasses.field(default_factory=set)
    #: New downsampled datapoints (only when counting).
    datapoints: int = 0
    #: Stream id -> error message, for streams whose downsampling failed.
    failures: dict[str, str] = dataclasses.field(default_factory=dict)
    #: The error that stopped the pass (e.g. the storage is unreachable), if any.
    error: str | None = None
    #: Wall-clock seconds the pass took.
    seconds: float = 0.0
    #: Datapoints and buckets retention dropped (sweeps enforce it).
    dropped: int = 0

    @property
    def ok(self) -> bool:
        """Whether every stream was downsampled."""
        return not self.failures and self.error is None


def downsample_pass(
    datastream: Datastream,
    stream_ids: Iterable[str] | None = None,
    count: bool = False,
    query_tags: dict[str, Any] | None = None,
) -> PassResult:
    """Downsample ``stream_ids`` (and the derived streams they feed), or every stream (those
    matching ``query_tags`` when given) when ``None`` or when there are more than
    :data:`TARGETED_MAX` of them. ``count`` asks the library for the new datapoints, to fill
    :attr:`PassResult.streams` and ``datapoints``."""
    started = time.monotonic()
    ids = None if stream_ids is None else frozenset(map(str, stream_ids))
    if ids is not None and len(ids) > TARGETED_MAX:
        ids = None
    result = PassResult(targeted=ids)
    try:
        if ids is None:
            _downsample(datastream, query_tags, count, result)
            result.dropped = enforce_retention(datastream)
        else:
            _downsample_targeted(datastream, ids, count, result)
    except DatastreamException as error:
        result.error = f"{type(error).__name__}: {error}"
        logger.error("Downsampling stopped: %s", result.error)
    except Exception as error:  # the worker must survive anything, and say what happened
        result.error = f"{type(error).__name__}: {error}"
        logger.exception("Downsampling failed unexpectedly")
    for stream_id, message in result.failures.items():
        logger.warning("Downsampling stream %s failed: %s", stream_id, message)
    result.seconds = time.monotonic() - started
    return result


def enforce_retention(datastream: Datastream) -> int:
    """Apply ``DATASTREAM_RETENTION`` and the streams' own policies (after a sweep: raw
    datapoints go only where they are downsampled); how many datapoints and buckets went."""
    dropped = datastream.enforce_retention(datastream_settings.RETENTION)
    if dropped:
        logger.info("Retention dropped %d datapoints and buckets", dropped)
    return dropped


def _downsample(
    datastream: Datastream,
    query: dict[str, Any] | None,
    count: bool,
    result: PassResult,
    seen: Any = None,
) -> None:
    """One ``downsample_streams`` call; failures of single streams go into ``result``."""
    try:
        new = datastream.downsample_streams(
            query_tags=query, return_datapoints=count, filter_stream=seen
        )
    except DownsamplingFailed as error:
        result.failures.update(error.failures)
        return
    if count:
        result.datapoints += len(new)
        result.streams.update(item["stream_id"] for item in new)


def _downsample_targeted(
    datastream: Datastream, ids: frozenset[str], count: bool, result: PassResult
) -> None:
    """Each of ``ids`` in turn, then the derived streams they contribute to (sources first,
    so that what a source's new buckets fed into a derived stream is downsampled too)."""
    queue = sorted(ids)
    done: set[str] = set()
    derived: list[str] = []

    def seen(stream: Stream) -> bool:
        derived.extend(getattr(stream, "contributes_to", None) or ())
        return True

    while queue:
        stream_id = queue.pop(0)
        if stream_id in done:
            continue
        done.add(stream_id)
        _downsample(datastream, {"stream_id": stream_id}, count, result, seen)
        queue.extend(d for d in derived if d not in done)
        derived.clear()
