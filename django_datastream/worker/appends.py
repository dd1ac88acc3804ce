"""The app's ``Datastream``: the library's, telling a listener which streams received appends.

The library's ``observer`` hears every stored datapoint one by one (and makes downsampling
collect its buckets); the worker only needs to know *which streams* received appends, once per
call. So the app builds its datastream as :class:`NotifyingDatastream`, whose ``append`` and
``append_multiple`` call ``listener(stream_ids)`` after the library stored the datapoints (not
when the call failed: an ``append_multiple`` is all or nothing). ``stream_ids`` is a lazy
iterable: a listener with nothing to do (no worker runs) costs nothing per datapoint.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from datastream import Datastream

__all__ = ["Listener", "NotifyingDatastream"]

#: Called with the ids of the streams that just received appends (an iterable, read at most
#: once, possibly with repeats).
Listener = Callable[[Iterable[str]], None]


class NotifyingDatastream(Datastream):
    """A :class:`~datastream.Datastream` calling ``listener`` with the ids of the streams each
    successful ``append``/``append_multiple`` wrote to (as the caller gave them)."""

    def __init__(self, backend: Any, *, listener: Listener | None = None, **kwargs: Any) -> None:
        super().__init__(backend, **kwargs)
        self.listener = listener

    def append(
        self,
        stream_id: str,
        value: Any,
        timestamp: datetime.datetime | None = None,
        check_timestamp: bool = True,
    ) -> dict[str, Any]:
        result = super().append(stream_id, value, timestamp, check_timestamp)
        if self.listener is not None:
            self.listener((str(result.get("stream_id", stream_id)),))
        return result

    def append_multiple(self, datapoints: Sequence[Mapping[str, Any]]) -> None:
        super().append_multiple(datapoints)
        if self.listener is not None and datapoints:
            self.listener(datapoint["stream_id"] for datapoint in datapoints)
