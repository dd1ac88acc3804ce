"""The process's downsampling worker: started lazily by the first request the process serves.

A process that serves requests (``runserver``, gunicorn, uvicorn, daphne workers: Django sends
``request_started`` for each request) starts one :class:`DownsamplingWorker` when
``DATASTREAM_DOWNSAMPLE_WORKER`` is on and a backend is configured; importing the app, system
checks and management commands that serve nothing start none. A forked child starts its own on
its first request. Changing a ``DATASTREAM_DOWNSAMPLE_*`` setting (``override_settings``) stops
the worker; the next request starts one with the new settings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from .. import conf
from .thread import DownsamplingWorker

__all__ = ["current_worker", "ensure_worker", "notify_appended", "stop_worker"]

_lock = threading.Lock()
_worker: DownsamplingWorker | None = None


def current_worker() -> DownsamplingWorker | None:
    """The running worker of this process, if any."""
    worker = _worker
    return worker if worker is not None and worker.alive else None


def notify_appended(stream_ids: Iterable[str]) -> None:
    """Tell this process's worker, if one runs, that ``stream_ids`` received appends."""
    worker = _worker
    if worker is not None and not worker.stopping:
        worker.notify(stream_ids)


def ensure_worker(**_signal: Any) -> DownsamplingWorker | None:
    """Start this process's worker unless it runs, is turned off, or there is no backend
    (the ``request_started`` receiver: cheap when the worker runs)."""
    global _worker
    worker = _worker
    if worker is not None and worker.alive:
        return worker
    settings = conf.datastream_settings
    if not settings.DOWNSAMPLE_WORKER or settings.BACKEND is None:
        return None
    with _lock:
        if _worker is None or not _worker.alive:
            _worker = DownsamplingWorker(
                conf.get_datastream,
                delay=float(settings.DOWNSAMPLE_DELAY),
                interval=float(settings.DOWNSAMPLE_INTERVAL),
            ).start()
        return _worker


def stop_worker(timeout: float | None = 10.0) -> None:
    """Stop this process's worker, if one runs (the next request starts a new one)."""
    global _worker
    with _lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.stop(timeout)
