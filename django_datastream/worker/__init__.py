"""Downsampling that runs itself: a background worker per server process.

- :mod:`.passes`: one downsampling pass (targeted streams, or a sweep of all), never raising;
- :mod:`.thread`: :class:`DownsamplingWorker`, the debounced daemon thread repeating passes;
- :mod:`.appends`: :class:`NotifyingDatastream`, the app's datastream telling which streams
  received appends;
- :mod:`.process`: the process's worker, started by the first request served.

``manage.py downsample --watch`` runs the same passes in a process of its own.
"""

from .appends import NotifyingDatastream
from .passes import PassResult, downsample_pass
from .process import current_worker, ensure_worker, notify_appended, stop_worker
from .thread import THREAD_NAME, DownsamplingWorker

__all__ = [
    "THREAD_NAME",
    "DownsamplingWorker",
    "NotifyingDatastream",
    "PassResult",
    "current_worker",
    "downsample_pass",
    "ensure_worker",
    "notify_appended",
    "stop_worker",
]
