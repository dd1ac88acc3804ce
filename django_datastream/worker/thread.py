"""The downsampling worker: one daemon thread that runs :func:`downsample_pass` when needed.

Two things make it run a pass:

- **Appends in this process** (:meth:`DownsamplingWorker.notify`, called by the app's
  datastream after each append): the streams are remembered and downsampled together
  ``delay`` seconds after the first of them was appended (a debounce window: a burst of
  appends costs one pass, and under steady writes there is one pass per window).
- **A sweep every** ``interval`` **seconds** of every stream, which finds appends made by other
  processes (other server workers, scripts, a ``dummystream``). Its cost when nothing is new is
  one read of every stream's record (see ``bench/downsampling_worker.py``); ``interval`` 0
  turns sweeps off.

:meth:`~DownsamplingWorker.notify` only adds to a set under a lock and sets an event, so a
request never waits for downsampling. A pass that fails is logged and the thread goes on.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from datastream import Datastream

from .passes import PassResult, downsample_pass, logger

__all__ = ["THREAD_NAME", "DownsamplingWorker"]

#: The name of the worker's thread (``threading.enumerate()`` shows it).
THREAD_NAME = "datastream-downsampling"


class DownsamplingWorker:
    """Downsamples, in a daemon thread, the streams it is told about ``delay`` seconds after
    the first notification, and every stream every ``interval`` seconds (0: never).

    ``datastream`` returns the datastream to work on (``None``: nothing to do now), so that a
    datastream rebuilt after a settings change is picked up. ``report`` is called with every
    pass's :class:`PassResult` (``count`` asks passes to count new datapoints). Sweeps cover
    the streams matching ``query_tags`` (all by default). The first sweep comes at a random
    point of the first interval (``jitter``), else at once.
    """

    def __init__(
        self,
        datastream: Callable[[], Datastream | None],
        delay: float = 1.0,
        interval: float = 5.0,
        *,
        count: bool = False,
        report: Callable[[PassResult], None] | None = None,
        query_tags: dict[str, Any] | None = None,
        jitter: bool = True,
    ) -> None:
        self.datastream = datastream
        self.delay = max(0.0, float(delay))
        self.interval = max(0.0, float(interval))
        self.count = count
        self.report = report
        self.query_tags = query_tags
        self.jitter = jitter
        #: The process that started the thread (a forked child starts its own).
        self.pid = os.getpid()
        #: Passes run so far: ``{"targeted": n, "sweep": n}``.
        self.passes = {"targeted": 0, "sweep": 0}
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._due: float | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None

    # Any thread ---------------------------------------------------------------------------

    def notify(self, stream_ids: Iterable[str]) -> None:
        """Downsample ``stream_ids`` soon (they received appends). Never blocks for long."""
        ids = set(stream_ids)  # outside the lock
        with self._lock:
            self._pending.update(ids)
            if self._due is None and self._pending:
                self._due = time.monotonic() + self.delay
                self._wake.set()

    def start(self) -> DownsamplingWorker:
        """Start the thread (once)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self.run, name=THREAD_NAME, daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the thread to end after its current pass, and wait up to ``timeout`` seconds."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` seconds for the thread to end (interruptible by Ctrl-C)."""
        # Not Thread.join: on Python 3.11, Ctrl-C during join() can mark a thread that still
        # runs as ended, and the join of stop() would then return before its pass is over.
        if self._thread is not None:
            self._ended.wait(timeout)

    @property
    def alive(self) -> bool:
        """Whether the thread runs, in this process."""
        thread = self._thread
        return thread is not None and thread.is_alive() and self.pid == os.getpid()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopping.is_set()

    # The thread ---------------------------------------------------------------------------

    def run(self) -> None:
        """The loop: wait for the next due notification or sweep, run it, repeat."""
        # With jitter, the first sweep comes at a random point of the interval, so that
        # processes started together do not sweep in step.
        spread = random.uniform(0.1, 1.0) if self.jitter else 0.0  # noqa: S311
        next_sweep = time.monotonic() + self.interval * spread
        try:
            self._loop(next_sweep)
        finally:
            self._ended.set()

    def _loop(self, next_sweep: float) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            now = time.monotonic()
            with self._lock:
                due = self._due
            wake_at = due if due is not None else float("inf")
            if self.interval:
                wake_at = min(wake_at, next_sweep)
            if wake_at > now:
                self._wake.wait(None if wake_at == float("inf") else wake_at - now)
                continue
            if due is not None and due <= now:
                with self._lock:
                    ids, self._pending, self._due = self._pending, set(), None
                self._run_pass("targeted", ids)
            if self.interval and next_sweep <= time.monotonic():
                self._run_pass("sweep", None)
                next_sweep = time.monotonic() + self.interval

    def _run_pass(self, kind: str, ids: set[str] | None) -> None:
        try:
            datastream = self.datastream()
        except Exception:
            logger.exception("The downsampling worker could not get the datastream")
            return
        if datastream is None:
            return
        count = self.count or logger.isEnabledFor(logging.DEBUG)
        result = downsample_pass(datastream, ids, count=count, query_tags=self.query_tags)
        self.passes[kind] += 1
        if count and result.datapoints:
            logger.debug(
                "Downsampled %d stream(s): %d new datapoint(s) in %.3f s",
                len(result.streams), result.datapoints, result.seconds,
            )  # fmt: skip
        if self.report is not None:
            try:
                self.report(result)
            except Exception:
                logger.exception("Reporting a downsampling pass failed")
