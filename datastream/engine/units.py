"""The engine's unit of work: records read and datapoints written inside one storage unit.

:class:`Units` opens re-entrant units on top of the storage's (non re-entrant)
``unit_of_work()``: the outermost ``open()`` starts the storage unit, nested ones share it.
Changed record fields and new datapoints are buffered in the :class:`Unit` and handed to the
storage once, at the end; the observer hears about appended datapoints only after the commit.

Every stream record the engine reads comes through here: :meth:`Unit.record` inside a unit
(loaded once per unit), :func:`read_record` outside one.
"""

from __future__ import annotations

import contextlib
import operator
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .. import exceptions
from ..granularity import GranularityType
from ..storage import Storage, StreamRecord
from ..validation import parse_stream_id
from .chunkstore import LAYOUT_FIELDS, ChunkStore

__all__ = ["Notification", "Observer", "Unit", "Units", "read_record"]

_RECORD = operator.itemgetter(0)

#: ``(stream_id, granularity, datapoint)``: one datapoint stored at a granularity.
Notification = tuple[str, GranularityType, dict[str, Any]]
#: Called with a :data:`Notification`'s items after each stored datapoint is committed.
Observer = Callable[[str, GranularityType, dict[str, Any]], None]


def _found(stream_id: Any, load: Callable[[str], StreamRecord | None]) -> StreamRecord:
    """``load(stream_id)`` for any form of a stream id, or ``StreamNotFound``."""
    stream_id = parse_stream_id(stream_id)
    record = load(stream_id)
    if record is None:
        raise exceptions.StreamNotFound(f"Stream '{stream_id}' not found.")
    return record


def read_record(storage: Storage, stream_id: Any) -> StreamRecord:
    """The record of ``stream_id`` (any form of a stream id), read outside a unit of work, or
    :class:`~datastream.exceptions.StreamNotFound`."""
    return _found(stream_id, storage.load_stream)


class Unit:
    """Records loaded and changed, and datapoints appended, in one unit of work."""

    def __init__(self, storage: Storage, data: ChunkStore) -> None:
        self.storage = storage
        self.data = data
        self.records: dict[str, StreamRecord] = {}
        self.changed: dict[str, set[str]] = {}
        self.datapoints: list[tuple[StreamRecord, int, Any]] = []
        #: What the observer hears after the commit.
        self.notifications: list[Notification] = []
        #: Records by the stream id exactly as callers gave it (skips parsing it again).
        self.by_given_id: dict[str, StreamRecord] = {}

    def load(self, stream_id: str) -> StreamRecord | None:
        """The record of ``stream_id`` as this unit sees it (loaded once)."""
        record = self.records.get(stream_id)
        if record is None:
            record = self.storage.load_stream(stream_id)
            if record is None:
                return None
            self.records[stream_id] = record
        return record

    def record(self, stream_id: Any) -> StreamRecord:
        """:meth:`load` for any form of a stream id, or
        :class:`~datastream.exceptions.StreamNotFound`."""
        return _found(stream_id, self.load)

    def preload(self, stream_ids: list[str]) -> None:
        """Load the records of canonical ``stream_ids`` not yet loaded, in one storage call."""
        wanted = [stream_id for stream_id in stream_ids if stream_id not in self.records]
        if len(wanted) > 1:
            for record in self.storage.load_streams(wanted):
                self.records[record["stream_id"]] = record

    def add(self, record: StreamRecord) -> None:
        """Make a newly inserted record known to this unit."""
        self.records[record["stream_id"]] = record

    def forget(self, stream_id: str) -> None:
        """Drop a deleted stream's record and pending changes."""
        self.records.pop(stream_id, None)
        self.changed.pop(stream_id, None)

    def change(self, record: StreamRecord, **fields: Any) -> None:
        """Set ``fields`` of ``record``; they are written at the end of the unit."""
        record.update(fields)
        self.changed.setdefault(record["stream_id"], set()).update(fields)

    def touch(self, record: StreamRecord, field: str) -> None:
        """Note that ``record[field]`` was changed in place."""
        fields = self.changed.get(record["stream_id"])
        if fields is None:
            self.changed[record["stream_id"]] = {field}
        elif field not in fields:
            fields.add(field)

    def touch_layout(self, record: StreamRecord) -> None:
        """Note that the record's layout fields (:data:`~.chunkstore.LAYOUT_FIELDS`, which the
        chunk store keeps up to date) were changed in place."""
        for field in LAYOUT_FIELDS:
            self.touch(record, field)

    def flush(self) -> None:
        """Hand the buffered datapoints and record changes to the storage."""
        if self.datapoints:
            records = list(map(_RECORD, self.datapoints))
            for record in dict(zip(map(id, records), records)).values():
                # Any stored datapoint may change an answer about the stream (HTTP ETags).
                record["data_version"] = (record.get("data_version") or 0) + 1
                self.touch(record, "data_version")
                self.touch(record, "latest_datapoint")
                self.touch_layout(record)
            self.data.insert_datapoints(self.datapoints)
            self.datapoints = []
        changes = []
        for stream_id, fields in self.changed.items():
            record = self.records[stream_id]
            changes.append((record, {field: record[field] for field in fields}))
        if changes:
            self.storage.update_streams(changes)
        self.changed = {}


class Units:
    """Opens units of work on a storage, one per thread, re-entrant."""

    def __init__(self, storage: Storage, observer: Observer | None, data: ChunkStore) -> None:
        self.storage = storage
        self.data = data
        self.observer = observer
        #: Whether someone listens to stored datapoints (else none are collected).
        self.observed = observer is not None
        self._local = threading.local()

    @contextlib.contextmanager
    def open(self) -> Iterator[Unit]:
        """The current unit, or a new one committed when the block ends without error."""
        current = getattr(self._local, "unit", None)
        if current is not None:
            yield current
            return
        unit = Unit(self.storage, self.data)
        self._local.unit = unit
        try:
            with self.storage.unit_of_work():
                yield unit
                unit.flush()
        finally:
            self._local.unit = None
        self.notify(unit.notifications)

    def notify(self, notifications: list[Notification]) -> None:
        """Tell the observer about committed datapoints."""
        if self.observer is not None:
            for stream_id, granularity, datapoint in notifications:
                self.observer(stream_id, granularity, datapoint)
