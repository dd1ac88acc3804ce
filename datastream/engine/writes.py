"""Appending datapoints: validation, the stream's time bookkeeping, feeding derived streams."""

from __future__ import annotations

import datetime
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .. import exceptions
from ..granularity import UTC, Granularity, from_seconds, to_seconds
from ..limits import INT64_MAX, INT64_MIN, MAX_SECONDS, MIN_SECONDS
from ..storage import StreamRecord
from ..validation import check_datapoint, parse_stream_id, timestamp_seconds
from ..values import decode_value, encode_number, normalise_value
from .records import granularity_of, high_accuracy, value_keys
from .units import Unit, Units

if TYPE_CHECKING:
    from .catalog import Catalog
    from .derived import DerivedStreams

__all__ = ["Writer"]

_STREAM_ID = operator.itemgetter("stream_id")

class Writer:
    """Appends datapoints to streams (and, through :attr:`derived`, to derived streams)."""

    derived: DerivedStreams

    def __init__(self, units: Units, catalog: Catalog, now: Callable[[], int]) -> None:
        self.units = units
        self.catalog = catalog
        self.now = now

    def append(
        self, stream_id: str, value: Any, timestamp: datetime.datetime | None, check: bool
    ) -> dict[str, Any]:
        with self.units.open() as unit:
            record, seconds, stored = self._append_one(unit, stream_id, value, timestamp, check)
        return {
            "stream_id": record["stream_id"],
            "granularity": granularity_of(record),
            "datapoint": {
                "t": from_seconds(seconds),
                "v": decode_value(stored, high_accuracy(record)),
            },
        }

    def append_multiple(self, datapoints: Iterable[Mapping[str, Any]]) -> None:
        if not isinstance(datapoints, list):
            datapoints = list(datapoints)
        with self.units.open() as unit:
            unit.preload(_stream_ids(datapoints))
            for index, datapoint in enumerate(datapoints):
                try:
                    check_datapoint(datapoint)
                    self._append_one(
                        unit,
                        datapoint["stream_id"],
                        datapoint["value"],
                        datapoint.get("timestamp"),
                        datapoint.get("check_timestamp", True),
                    )
                except (exceptions.BackendUnavailable, exceptions.StreamAppendContended):
                    raise  # the storage's state, not this datapoint's fault
                except exceptions.DatastreamException as error:
                    raise type(error)(f"Datapoint {index}: {error}") from None

    def _append_one(
        self,
        unit: Unit,
        stream_id: Any,
        value: Any,
        timestamp: datetime.datetime | None,
        check: bool,
    ) -> tuple[StreamRecord, int, Any]:
        record = unit.by_given_id.get(stream_id) if type(stream_id) is str else None
        if record is None:
            record = self.catalog.record(stream_id, unit)
            if record["derived_from"] is not None:
                raise exceptions.AppendToDerivedStreamNotAllowed(
                    f"Stream '{record['stream_id']}' is derived; it cannot be appended to"
                )
            if type(stream_id) is str:
                unit.by_given_id[stream_id] = record
        if timestamp is None:
            seconds = self.now()
            if not MIN_SECONDS <= seconds <= MAX_SECONDS:
                raise exceptions.InvalidTimestamp("The clock is out of the supported range")
        elif type(timestamp) is datetime.datetime and timestamp.tzinfo is UTC:
            seconds = to_seconds(timestamp)
            if not MIN_SECONDS <= seconds <= MAX_SECONDS:
                raise exceptions.InvalidTimestamp(
                    f"Timestamp is out of range: {timestamp.isoformat()}"
                )
        else:
            seconds = timestamp_seconds(timestamp)
        kind = type(value)
        if (kind is int or kind is float) and record["value_type"] == "numeric":
            stored = value if kind is int and INT64_MIN <= value <= INT64_MAX else None
            if stored is None:
                stored = encode_number(value, high_accuracy(record))
            elif kind is float and not math.isfinite(value):
                stored = encode_number(value, False)  # raises
        else:
            stored = normalise_value(
                value, record["value_type"], value_keys(record), high_accuracy(record)
            )
        self.store(unit, record, seconds, stored, check)
        return record, seconds, stored

    def store(
        self, unit: Unit, record: StreamRecord, seconds: int, stored: Any, check: bool
    ) -> None:
        """Write one datapoint at the stream's highest granularity and feed its dependants."""
        latest = record["latest_datapoint"]
        if latest is not None and seconds >= latest and record["earliest_datapoint"] is not None:
            if seconds > latest:
                # Later than everything: nothing downsampled can be affected. (The unit
                # writes latest_datapoint of every stream it stores datapoints of.)
                record["latest_datapoint"] = seconds
        else:
            if check and latest is not None and seconds < latest:
                raise exceptions.InvalidTimestamp(
                    f"Datapoint timestamp {from_seconds(seconds).isoformat()} is older than "
                    f"the stream's latest datapoint {from_seconds(latest).isoformat()}"
                )
            self._note_timestamp(unit, record, seconds)
        unit.datapoints.append((record, seconds, stored))
        if self.units.observed:
            unit.notifications.append(
                (
                    record["stream_id"],
                    granularity_of(record),
                    {"t": from_seconds(seconds), "v": decode_value(stored, high_accuracy(record))},
                )
            )
        if record["contributes_to"]:
            value = decode_value(stored, high_accuracy(record))
            self.derived.feed(unit, record, granularity_of(record), seconds, value)

    @staticmethod
    def _note_timestamp(unit: Unit, record: StreamRecord, seconds: int) -> None:
        """Move earliest/latest to cover ``seconds``; re-open downsampled buckets it lands in."""
        changes: dict[str, Any] = {}
        if record["latest_datapoint"] is None or seconds > record["latest_datapoint"]:
            changes["latest_datapoint"] = seconds
        if record["earliest_datapoint"] is None or seconds < record["earliest_datapoint"]:
            changes["earliest_datapoint"] = seconds
        reopened = {}
        for name, until in record["downsampled_until"].items():
            if until is not None and seconds < until:
                reopened[name] = Granularity.by_name[name].round_seconds(seconds)
        if reopened:
            changes["downsampled_until"] = {**record["downsampled_until"], **reopened}
        latest = record["latest_datapoint"]
        if reopened or (latest is not None and seconds < latest):
            # A downsampler computing from an older scan must not commit over this datapoint.
            changes["version"] = record["version"] + 1
        if changes:
            unit.change(record, **changes)


def _stream_ids(datapoints: list[Any]) -> list[str]:
    """The well-formed stream ids of a batch, canonical, in order of first appearance (the
    others are reported when their datapoint is appended)."""
    try:  # gathered without a Python step per datapoint
        given = dict.fromkeys(map(_STREAM_ID, datapoints))
    except (TypeError, KeyError):
        return []  # a malformed batch: nothing to preload, its datapoint errors are reported
    canonical = []
    for stream_id in given:
        try:
            canonical.append(parse_stream_id(stream_id))
        except exceptions.StreamNotFound:
            continue
    return list(dict.fromkeys(canonical))
