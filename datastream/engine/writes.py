"""Writing datapoints: appends (validation, the stream's time bookkeeping), storing, and
propagating every stored datapoint to the streams derived from it, live or replayed
(backprocessing).

Propagation is one worklist, run depth first: storing a datapoint of a stream that others are
derived from adds their operators' runs to the list; each run's outputs are stored in turn
(adding their own dependants' runs) before the next run starts, so that every derived stream
sees its inputs in the order a recursive walk would give, without recursion.
"""

from __future__ import annotations

import datetime
import heapq
import logging
import math
import operator
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import exceptions
from ..derive import OPERATORS, OperatorContext, decode_state, encode_state
from ..granularity import UTC, Granularity, GranularityType, from_seconds, to_seconds
from ..limits import INT64_MAX, INT64_MIN, MAX_DATAPOINT_SECONDS, MIN_DATAPOINT_SECONDS
from ..storage import BucketWindow, Storage, StreamRecord
from ..validation import check_datapoint, parse_stream_id, timestamp_seconds
from ..values import decode_value, encode_number, normalise_value
from .chunkstore import ChunkStore
from .columns import column_times, column_values
from .reads import BucketQuery, RawQuery
from .records import granularity_of, high_accuracy, value_keys
from .units import Unit, Units

__all__ = ["Writer"]

logger = logging.getLogger(__name__)

_STREAM_ID = operator.itemgetter("stream_id")

#: A worklist item: ``(derived, source index, seconds, value)`` runs the operator of the
#: derived stream on its source's datapoint; ``(derived, None, seconds, stored)`` stores one of
#: the operator's outputs.
_Work = tuple[StreamRecord, int | None, int, Any]


class Writer:
    """Appends and stores datapoints, and feeds them to the streams derived from them."""

    def __init__(
        self, storage: Storage, data: ChunkStore, units: Units, now: Callable[[], int]
    ) -> None:
        self.storage = storage
        self.data = data
        self.units = units
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
            if len(datapoints) >= _FAST_BATCH and self._append_plain(unit, datapoints):
                return
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

    def _append_plain(self, unit: Unit, datapoints: list[Any]) -> bool:
        """Append a batch of plain numeric datapoints (``{'stream_id', 'value',
        'timestamp'}`` with aware UTC datetimes, all floats or all 64-bit integers, in time
        order per stream, to plain numeric streams) with numpy instead of a Python step per
        datapoint; ``False`` (nothing done) for any other batch, which the general path takes
        (and reports the errors of, as it always does)."""
        if self.units.observed or set(map(type, datapoints)) != {dict}:
            return False
        if set(map(len, datapoints)) != {3}:
            return False
        try:
            ids = list(map(_STREAM_ID, datapoints))
            values = list(map(_VALUE, datapoints))
            stamps = list(map(_TIMESTAMP, datapoints))
        except KeyError:
            return False
        kinds = set(map(type, values))
        if set(map(type, stamps)) != {datetime.datetime} or kinds not in ({float}, {int}):
            return False
        if set(map(_TZINFO, stamps)) != {UTC}:
            return False
        records: dict[str, StreamRecord] = {}
        for given in set(ids):
            record = unit.by_given_id.get(given) if type(given) is str else None
            if record is None:
                try:
                    record = unit.record(given)
                except exceptions.DatastreamException:
                    return False
            if (
                record["derived_from"] is not None
                or record["contributes_to"]
                or record["value_type"] != "numeric"
                or high_accuracy(record)
            ):
                return False
            records[given] = record
        try:
            array = np.array(values, dtype=np.float64 if float in kinds else np.int64)
        except OverflowError:
            return False
        if float in kinds and not np.isfinite(array).all():
            return False
        # Whole seconds, floored, exactly: the float POSIX time less its microseconds.
        posix = np.fromiter(map(datetime.datetime.timestamp, stamps), np.float64, len(stamps))
        micro = np.fromiter(map(_MICROSECOND, stamps), np.float64, len(stamps))
        seconds = np.rint(posix - micro / 1e6).astype(np.int64)
        if (seconds < MIN_DATAPOINT_SECONDS).any() or (seconds > MAX_DATAPOINT_SECONDS).any():
            return False
        order = {given: n for n, given in enumerate(records)}
        streams = np.fromiter(map(order.__getitem__, ids), np.int64, len(ids))
        ranked = np.argsort(streams, kind="stable")
        by_stream, in_order = streams[ranked], seconds[ranked]
        same = by_stream[1:] == by_stream[:-1]
        if (same & (in_order[1:] < in_order[:-1])).any():
            return False
        firsts = np.flatnonzero(np.r_[True, ~same])
        lasts = np.r_[firsts[1:] - 1, len(ranked) - 1]
        for n, record in enumerate(records.values()):
            lo = int(in_order[firsts[n]])
            latest = record["latest_datapoint"]
            if latest is not None and lo < latest:
                return False
        for n, record in enumerate(records.values()):
            lo, hi = int(in_order[firsts[n]]), int(in_order[lasts[n]])
            if record["earliest_datapoint"] is None:
                self._note_timestamp(unit, record, lo)
                self._note_timestamp(unit, record, hi)
            elif hi > record["latest_datapoint"]:
                # Later than everything: as _write, the unit stores latest_datapoint.
                record["latest_datapoint"] = hi
        unit.datapoints.extend(
            zip(map(records.__getitem__, ids), seconds.tolist(), values, strict=True)
        )
        return True

    def append_columns(self, stream_id: Any, times: Any, values: Any, check: bool) -> int:
        """Append the datapoints ``times[i]``, ``values[i]`` to one stream, all or nothing;
        returns how many. Validated as :meth:`append_multiple` validates; numpy columns go
        to chunks without a Python step per datapoint (a stream feeding derived streams, or
        an engine with an observer, takes them one by one)."""
        seconds = column_times(times)
        with self.units.open() as unit:
            record = unit.record(stream_id)
            if record["derived_from"] is not None:
                raise exceptions.AppendToDerivedStreamNotAllowed(
                    f"Stream '{record['stream_id']}' is derived; it cannot be appended to"
                )
            stored = column_values(values, record, len(seconds))
            if not len(seconds):
                return 0
            if check:
                steps = np.diff(seconds)
                if (steps < 0).any():
                    index = int(np.flatnonzero(steps < 0)[0]) + 1
                    raise exceptions.InvalidTimestamp(
                        f"Datapoint {index}: timestamp {from_seconds(int(seconds[index]))} is "
                        f"older than the one before it"
                    )
                latest = record["latest_datapoint"]
                if latest is not None and seconds[0] < latest:
                    raise exceptions.InvalidTimestamp(
                        f"Datapoint 0: timestamp {from_seconds(int(seconds[0])).isoformat()} is "
                        f"older than the stream's latest datapoint "
                        f"{from_seconds(latest).isoformat()}"
                    )
            if record["contributes_to"] or self.units.observed:
                as_list = stored.tolist() if isinstance(stored, np.ndarray) else stored
                for second, value in zip(seconds.tolist(), as_list):
                    self.store(unit, record, second, value, False)
                return len(seconds)
            self._note_timestamp(unit, record, int(seconds.min()))
            self._note_timestamp(unit, record, int(seconds.max()))
            self.data.append_columns(record, seconds, stored)
            unit.change(record, data_version=(record.get("data_version") or 0) + 1)
            unit.touch_layout(record)
        return len(seconds)

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
            record = unit.record(stream_id)
            if record["derived_from"] is not None:
                raise exceptions.AppendToDerivedStreamNotAllowed(
                    f"Stream '{record['stream_id']}' is derived; it cannot be appended to"
                )
            if type(stream_id) is str:
                unit.by_given_id[stream_id] = record
        if timestamp is None:
            seconds = self.now()
            if not MIN_DATAPOINT_SECONDS <= seconds <= MAX_DATAPOINT_SECONDS:
                raise exceptions.InvalidTimestamp("The clock is out of the supported range")
        elif type(timestamp) is datetime.datetime and timestamp.tzinfo is UTC:
            seconds = to_seconds(timestamp)
            if not MIN_DATAPOINT_SECONDS <= seconds <= MAX_DATAPOINT_SECONDS:
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
        """Write one datapoint at the stream's highest granularity and propagate it to the
        streams derived from it (and theirs)."""
        self._write(unit, record, seconds, stored, check)
        if record["contributes_to"]:
            value = decode_value(stored, high_accuracy(record))
            self.feed(unit, record, granularity_of(record), seconds, value)

    def feed(
        self,
        unit: Unit,
        source: StreamRecord,
        granularity: GranularityType,
        seconds: int,
        value: Any,
    ) -> None:
        """Give a source datapoint at ``granularity`` (a raw datapoint, or a bucket that
        downsampling closed) to every stream derived from it, and propagate their outputs."""
        work: list[_Work] = []
        self._add_runs(unit, source, granularity, seconds, value, work)
        self._propagate(unit, work)

    def _write(
        self, unit: Unit, record: StreamRecord, seconds: int, stored: Any, check: bool
    ) -> None:
        """Buffer one datapoint of ``record`` in ``unit``, keeping the record's times."""
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

    # Propagation -----------------------------------------------------------------------------

    @staticmethod
    def _add_runs(
        unit: Unit,
        source: StreamRecord,
        granularity: GranularityType,
        seconds: int,
        value: Any,
        work: list[_Work],
    ) -> None:
        """Add to ``work`` a run of each derived stream's operator that takes ``source``'s
        datapoints at ``granularity``, to be run in the order of ``contributes_to``."""
        runs: list[_Work] = []
        for derived_id in source["contributes_to"]:
            derived = unit.load(derived_id)
            if derived is None:
                warnings.warn(
                    f"Stream {source['stream_id']} contributes to missing stream {derived_id}",
                    exceptions.InternalInconsistencyWarning,
                    stacklevel=4,
                )
                continue
            if derived["pending_backprocess"]:
                continue
            for index, s in enumerate(derived["derived_from"]["sources"]):
                if (
                    s["stream_id"] == source["stream_id"]
                    and Granularity.by_attribute[s["granularity"]] == granularity
                ):
                    runs.append((derived, index, seconds, value))
        work.extend(reversed(runs))  # a stack: the first run on top

    def _propagate(self, unit: Unit, work: list[_Work]) -> None:
        """Run the worklist ``work`` (a stack) until it is empty, depth first."""
        while work:
            derived, index, seconds, value = work.pop()
            if index is not None:
                outputs = self._run_operator(unit, derived, index, seconds, value)
                work.extend((derived, None, t, v) for t, v in reversed(outputs))
                continue
            latest = derived["latest_datapoint"]
            if latest is not None and seconds < latest:
                logger.debug("Skipping out-of-order derived datapoint for %s", derived["stream_id"])
                continue
            self._write(unit, derived, seconds, value, check=True)
            if derived["contributes_to"]:
                decoded = decode_value(value, high_accuracy(derived))
                self._add_runs(unit, derived, granularity_of(derived), seconds, decoded, work)

    @staticmethod
    def _run_operator(
        unit: Unit, derived: StreamRecord, index: int, seconds: int, value: Any
    ) -> list[tuple[int, Any]]:
        """Run the operator of ``derived`` on source ``index``'s datapoint: its new state, and
        its outputs in storable form."""
        spec = derived["derived_from"]
        operator_ = OPERATORS[spec["op"]]
        accurate = high_accuracy(derived)
        context = OperatorContext(
            sources=len(spec["sources"]),
            duration=granularity_of(derived).seconds,
            high_accuracy=accurate,
        )
        state, outputs = operator_.update(
            decode_state(derived["derive_state"]), index, seconds, value, spec["args"], context
        )
        unit.change(derived, derive_state=encode_state(state))
        latest = derived["latest_datapoint"]
        if not outputs and operator_.follows_input_time and (latest is None or seconds > latest):
            # Let the derived stream's downsampling progress although nothing was appended
            # (its earliest datapoint stays that of its first real datapoint).
            unit.change(derived, latest_datapoint=seconds)
        numeric = derived["value_type"] == "numeric"
        return [
            (t, encode_number(v, accurate) if v is not None and numeric else v)
            for t, v in outputs
        ]

    # Backprocessing --------------------------------------------------------------------------

    def backprocess(self, records: list[StreamRecord]) -> None:
        """Replay the sources of every stream of ``records`` still pending backprocessing."""
        for record in records:
            if record["pending_backprocess"]:
                self._backprocess(record["stream_id"], set())

    def _backprocess(self, stream_id: str, visiting: set[str]) -> None:
        if stream_id in visiting:
            return
        visiting.add(stream_id)
        record = self.storage.load_stream(stream_id)
        if record is None or not record["pending_backprocess"]:
            return
        sources = record["derived_from"]["sources"]
        for source in sources:
            source_record = self.storage.load_stream(source["stream_id"])
            if source_record is not None and source_record["pending_backprocess"]:
                self._backprocess(source["stream_id"], visiting)
        with self.units.open() as unit:
            derived = unit.load(stream_id)
            if derived is None or not derived["pending_backprocess"]:
                return
            # Start from a clean slate so that replaying cannot collide with earlier output.
            self.data.delete_datapoints(derived)
            unit.touch_layout(derived)
            unit.change(
                derived,
                derive_state=None,
                earliest_datapoint=None,
                latest_datapoint=None,
                downsampled_until=dict.fromkeys(derived["downsampled_until"]),
                version=derived["version"] + 1,
            )
            replays = []
            for index, source in enumerate(sources):
                source_record = unit.load(source["stream_id"])
                granularity = Granularity.by_attribute[source["granularity"]]
                replays.append(self._replay(source_record, granularity, index))
            derived["pending_backprocess"] = False
            # Merge by time; at equal times, sources in declaration order.
            for _key, index, seconds, value in heapq.merge(*replays, key=lambda item: item[0]):
                self._propagate(unit, [(derived, index, seconds, value)])
            unit.change(derived, pending_backprocess=False)

    def _replay(
        self, record: StreamRecord, granularity: GranularityType, index: int
    ) -> Iterator[tuple[tuple[int, int], int, int, Any]]:
        """The datapoints of source ``index`` at ``granularity``, in time order."""
        lo, hi = MIN_DATAPOINT_SECONDS, MAX_DATAPOINT_SECONDS + 1
        if granularity == granularity_of(record):
            accurate = high_accuracy(record)
            for seconds, stored in RawQuery(self.data, record, lo, hi, False).rows(0, None):
                yield (seconds, index), index, seconds, decode_value(stored, accurate)
        else:
            window = BucketWindow(record, granularity, lo, hi, False, tuple(value_keys(record)))
            for bucket, value, _time in BucketQuery(self.data, window).rows(0, None):
                yield (bucket, index), index, bucket, value

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


#: Batches at least this long try :meth:`Writer._append_plain` first.
_FAST_BATCH = 64
_VALUE = operator.itemgetter("value")
_TIMESTAMP = operator.itemgetter("timestamp")
_TZINFO = operator.attrgetter("tzinfo")
_MICROSECOND = operator.attrgetter("microsecond")


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
