"""The engine shared by every storage backend.

Everything that gives datastream its meaning lives here, written once: stream configuration
and tags, value validation, time-range rules, downsampling, derived streams, backprocessing and
deletion. A storage backend subclasses :class:`Backend` and implements the narrow storage
interface (the methods in the "storage interface" section, all starting with ``_``); it stores
and scans, and never decides semantics.

Stream records
--------------
The engine hands storages plain dictionaries ("records") with these keys; timestamps are
integer POSIX seconds::

    stream_id            str, canonical UUID
    tags                 dict of user tags
    value_downsamplers   list of stored value downsampler names (expanded)
    highest_granularity  granularity class attribute name, e.g. 'Seconds'
    value_type           'numeric' | 'nominal' | 'graph'
    value_type_options   dict
    earliest_datapoint   int | None
    latest_datapoint     int | None
    downsampled_until    {granularity name: int | None} for every lower granularity
    derived_from         None | {'sources': [{'stream_id', 'name', 'granularity'}], 'op', 'args'}
    derive_state         str | None (opaque JSON text)
    contributes_to       {derived stream id: {'op', 'args'}}
    pending_backprocess  bool
    version              int, bumped whenever downsampled data must be (re)computed or was

Downsampled buckets are stored only when at least one datapoint fell into them; every bucket
between a stream's first datapoint and ``downsampled_until`` exists for readers, the empty
ones being produced on the fly (``c = 0``, other values ``None``, times at the bucket middle).
"""

from __future__ import annotations

import abc
import contextlib
import datetime
import heapq
import itertools
import logging
import math
import numbers
import threading
import uuid
import warnings
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .. import exceptions
from ..constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from ..derive import OPERATORS, Source, decode_state, encode_state
from ..downsamplers import (
    empty_time,
    empty_value,
    expand_value_downsamplers,
    summarise_times,
    summarise_values,
)
from ..granularity import UTC, Granularity, from_seconds, to_seconds
from ..jsonformat import dumps
from ..results import Datapoints, Streams
from ..stream import Stream
from ..tagquery import Condition, matches, parse_query
from ..validation import (
    MAX_SECONDS,
    MIN_SECONDS,
    bound_seconds,
    check_datapoint,
    parse_stream_id,
    timestamp_seconds,
)
from ..values import check_json, decode_value, encode_number, normalise_value

__all__ = ["GRANULARITY_CODES", "RECORD_FIELDS", "Backend", "Clock"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime.datetime]

_VALUE_KEYS = VALUE_DOWNSAMPLERS
_DATAPOINT_KEYS = frozenset({"stream_id", "value", "timestamp", "check_timestamp"})
_LOWER = {g: Granularity.lower_than(g) for g in Granularity.values}

#: The fields of a stream record besides ``stream_id`` (what a storage must keep).
RECORD_FIELDS = (
    "tags",
    "value_downsamplers",
    "highest_granularity",
    "value_type",
    "value_type_options",
    "earliest_datapoint",
    "latest_datapoint",
    "downsampled_until",
    "derived_from",
    "derive_state",
    "contributes_to",
    "pending_backprocess",
    "version",
)

#: A small stable integer per granularity, for storages that key buckets by granularity.
GRANULARITY_CODES = {g: index for index, g in enumerate(Granularity.values)}
_TIME_NAMES = list(TIME_DOWNSAMPLERS)
_TIME_DATETIME_KEYS = ("a", "z", "m")


def _real_clock() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def _granularity(record: dict[str, Any]) -> Any:
    return Granularity.by_attribute[record["highest_granularity"]]


def _value_keys(record: dict[str, Any]) -> list[str]:
    return [_VALUE_KEYS[name] for name in record["value_downsamplers"]]


def _high_accuracy(record: dict[str, Any]) -> bool:
    return bool(record["value_type_options"].get("high_accuracy"))


class _WriteBatch:
    """Records read and datapoints written inside one transaction, flushed at its end."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.records: dict[str, dict[str, Any]] = {}
        self.changed: dict[str, set[str]] = {}
        self.datapoints: list[tuple[dict[str, Any], int, Any]] = []
        self.appended: list[tuple[str, Any, dict[str, Any]]] = []
        self.by_given_id: dict[str, dict[str, Any]] = {}

    def load(self, stream_id: str) -> dict[str, Any] | None:
        if stream_id not in self.records:
            record = self.backend._load_stream(stream_id)
            if record is None:
                return None
            self.records[stream_id] = record
        return self.records[stream_id]

    def change(self, record: dict[str, Any], **fields: Any) -> None:
        record.update(fields)
        self.changed.setdefault(record["stream_id"], set()).update(fields)

    def touch(self, record: dict[str, Any], field: str) -> None:
        """Note that ``record[field]`` was changed in place."""
        fields = self.changed.get(record["stream_id"])
        if fields is None:
            self.changed[record["stream_id"]] = {field}
        elif field not in fields:
            fields.add(field)

    def flush(self) -> None:
        if self.datapoints:
            self.backend._insert_datapoints(self.datapoints)
            self.datapoints = []
        for stream_id, fields in self.changed.items():
            record = self.records[stream_id]
            self.backend._update_stream(stream_id, {field: record[field] for field in fields})
        self.changed = {}


class Backend(abc.ABC):
    """Base class of storage backends; implements the whole Datastream semantics.

    ``clock`` is a callable returning an aware UTC datetime, used wherever "now" is needed
    (the default timestamp of ``append`` and the default ``until`` of downsampling).
    """

    #: Capability flags (shared with the original test-suite's vocabulary).
    requires_downsampling = True
    requires_derived_stream_backprocess = False
    downsampled_always_exist = False
    downsampled_timestamps_start_bucket = False
    value_downsamplers = frozenset(VALUE_DOWNSAMPLERS)
    time_downsamplers = frozenset(TIME_DOWNSAMPLERS)

    def __init__(self, clock: Clock | None = None) -> None:
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable returning a datetime, not {clock!r}")
        self._clock = clock or _real_clock
        self._tx_state = threading.local()
        #: Called with ``(stream_id, granularity, datapoint)`` after every stored datapoint.
        self._test_callback: Callable[[str, Any, dict], None] | None = None

    # ------------------------------------------------------------------------------------
    # Storage interface: implemented by every storage backend.
    # ------------------------------------------------------------------------------------

    @abc.abstractmethod
    def _begin(self) -> None:
        """Start an atomic unit of work: reads see one consistent state, writes land together."""

    @abc.abstractmethod
    def _commit(self) -> None:
        """Make the unit of work's writes durable and visible."""

    @abc.abstractmethod
    def _rollback(self) -> None:
        """Discard the unit of work's writes."""

    @abc.abstractmethod
    def _load_stream(self, stream_id: str) -> dict[str, Any] | None:
        """The record of one stream, or ``None``."""

    @abc.abstractmethod
    def _all_streams(self) -> Iterator[dict[str, Any]]:
        """Every stream record, in creation order."""

    @abc.abstractmethod
    def _insert_stream(self, record: dict[str, Any]) -> None:
        """Store a new stream record."""

    @abc.abstractmethod
    def _update_stream(self, stream_id: str, fields: dict[str, Any]) -> None:
        """Set top-level fields of a stream record."""

    @abc.abstractmethod
    def _delete_streams(self, stream_ids: list[str]) -> None:
        """Remove streams with all their datapoints at every granularity."""

    @abc.abstractmethod
    def _delete_everything(self) -> None:
        """Remove every stream and datapoint."""

    @abc.abstractmethod
    def _insert_datapoints(self, datapoints: list[tuple[dict[str, Any], int, Any]]) -> None:
        """Store raw datapoints ``(record, seconds, storable value)`` in the given order."""

    @abc.abstractmethod
    def _delete_datapoints(self, record: dict[str, Any]) -> None:
        """Remove every datapoint (raw and downsampled) of one stream."""

    @abc.abstractmethod
    def _fetch_datapoints(
        self,
        record: dict[str, Any],
        lo: int,
        hi: int,
        reverse: bool,
        offset: int,
        limit: int | None,
        batch_size: int | None,
    ) -> Iterator[tuple[int, Any]]:
        """Raw ``(seconds, stored value)`` with ``lo <= seconds < hi``, windowed, in order.

        Within one second, datapoints come in insertion order (reversed with ``reverse``).
        """

    @abc.abstractmethod
    def _count_datapoints(self, record: dict[str, Any], lo: int, hi: int) -> int:
        """Number of raw datapoints with ``lo <= seconds < hi``."""

    @abc.abstractmethod
    def _scan_datapoints(
        self, record: dict[str, Any], lo: int, hi: int
    ) -> tuple[list[int], list[Any]]:
        """All raw datapoints with ``lo <= seconds < hi`` as two aligned, ascending lists."""

    @abc.abstractmethod
    def _upsert_buckets(
        self, record: dict[str, Any], granularity: Any, buckets: list[tuple[int, dict, dict]]
    ) -> None:
        """Store downsampled buckets ``(bucket start, v, t)``, replacing existing ones."""

    @abc.abstractmethod
    def _fetch_buckets(
        self,
        record: dict[str, Any],
        granularity: Any,
        lo: int,
        hi: int,
        reverse: bool,
        value_keys: list[str] | None = None,
        time_keys: list[str] | None = None,
    ) -> Iterator[tuple[int, dict, dict]]:
        """Stored buckets ``(start, v, t)`` with ``lo <= start < hi``, ordered by start.

        ``value_keys``/``time_keys`` (``None``: all) say which keys the caller needs; a storage
        may return only those (then it sets :attr:`_projects_buckets`). The dictionaries are
        the caller's to change.
        """

    #: True when ``_fetch_buckets`` returns exactly the requested keys.
    _projects_buckets = False

    def _fetch_bucket_json(
        self,
        record: dict[str, Any],
        granularity: Any,
        lo: int,
        hi: int,
        reverse: bool,
        value_keys: list[str] | None,
        time_keys: list[str] | None,
    ) -> Iterator[tuple[int, str | bytes]] | None:
        """Stored buckets as ``(start, datapoint JSON text)``, like :func:`jsonformat.dumps`
        would write them with only the requested keys (``None``: leave the part out); or
        ``None`` when the storage cannot produce JSON itself."""
        return None

    def _switch_database(self, database_name: str) -> None:
        """Use another database of the same storage."""
        raise NotImplementedError(f"{type(self).__name__} cannot switch databases")

    def _safe_latest(self, record: dict[str, Any]) -> int:
        """The latest timestamp up to which no in-flight append can still land."""
        return record["latest_datapoint"]

    def _list_streams(self, conditions: list[Condition]) -> list[dict[str, Any]]:
        """Records matching ``conditions``, in creation order (storages may push this down).

        The records are for reading only.
        """
        return [r for r in self._all_streams() if matches(conditions, r["tags"])]

    def _count_streams(self, conditions: list[Condition]) -> int:
        """How many streams match ``conditions``."""
        return len(self._list_streams(conditions))

    def _slice_streams(
        self, conditions: list[Condition], offset: int, limit: int | None
    ) -> list[dict[str, Any]]:
        """A window of the records matching ``conditions``, in creation order (read only)."""
        stop = None if limit is None else offset + limit
        return self._list_streams(conditions)[offset:stop]

    # ------------------------------------------------------------------------------------
    # Transactions
    # ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_WriteBatch]:
        """A re-entrant unit of work with its write batch; committed at the outermost exit."""
        state = self._tx_state
        if getattr(state, "batch", None) is not None:
            yield state.batch
            return
        self._begin()
        state.batch = _WriteBatch(self)
        try:
            yield state.batch
            state.batch.flush()
            self._commit()
        except BaseException:
            self._rollback()
            raise
        finally:
            appended = state.batch.appended
            state.batch = None
        if self._test_callback is not None:
            for stream_id, granularity, datapoint in appended:
                self._test_callback(stream_id, granularity, datapoint)

    def _now(self) -> int:
        now = self._clock()
        if not isinstance(now, datetime.datetime):
            raise TypeError(f"The backend clock returned {now!r}, not a datetime")
        return to_seconds(now)

    # ------------------------------------------------------------------------------------
    # Streams and tags
    # ------------------------------------------------------------------------------------

    def _record(self, stream_id: Any, batch: _WriteBatch | None = None) -> dict[str, Any]:
        stream_id = parse_stream_id(stream_id)
        record = batch.load(stream_id) if batch is not None else self._load_stream(stream_id)
        if record is None:
            raise exceptions.StreamNotFound(f"Stream '{stream_id}' not found.")
        return record

    def _tags_of(self, record: dict[str, Any]) -> dict[str, Any]:
        highest = _granularity(record)
        tags = dict(record["tags"])
        tags.update(
            stream_id=record["stream_id"],
            value_downsamplers=list(record["value_downsamplers"]),
            time_downsamplers=list(_TIME_NAMES),
            highest_granularity=highest,
            pending_backprocess=bool(record["pending_backprocess"]),
            earliest_datapoint=_datetime(record["earliest_datapoint"]),
            latest_datapoint=_datetime(record["latest_datapoint"]),
            value_type=record["value_type"],
            value_type_options=dict(record["value_type_options"]),
            downsampled_until={
                g.name: _datetime(record["downsampled_until"].get(g.name))
                for g in _LOWER[highest]
            },
        )
        if record["derived_from"] is not None:
            derived = record["derived_from"]
            tags["derived_from"] = {
                "stream_ids": [s["stream_id"] for s in derived["sources"]],
                "op": derived["op"],
                "args": dict(derived["args"]),
            }
        if record["contributes_to"]:
            tags["contributes_to"] = {
                derived_id: {"op": entry["op"], "args": dict(entry["args"])}
                for derived_id, entry in record["contributes_to"].items()
            }
        return tags

    def get_tags(self, stream_id: str) -> dict[str, Any]:
        return self._tags_of(self._record(stream_id))

    def update_tags(self, stream_id: str, tags: dict[str, Any]) -> None:
        with self._transaction() as batch:
            record = self._record(stream_id, batch)
            merged = _deep_copy(record["tags"])
            _merge_leaves(merged, tags)
            _check_json_tags(merged)
            batch.change(record, tags=merged)

    def remove_tag(self, stream_id: str, tag: dict[str, Any]) -> None:
        with self._transaction() as batch:
            record = self._record(stream_id, batch)
            remaining = _deep_copy(record["tags"])
            _remove_leaves(remaining, tag)
            batch.change(record, tags=remaining)

    def clear_tags(self, stream_id: str) -> None:
        with self._transaction() as batch:
            batch.change(self._record(stream_id, batch), tags={})

    def find_streams(self, query_tags: dict[str, Any] | None) -> Streams:
        return Streams(_StreamQuery(self, parse_query(query_tags)))

    def _select_streams(self, query_tags: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Streams for maintenance calls, where a top-level ``stream_id`` selects one stream."""
        query = dict(query_tags or {})
        if "stream_id" in query:
            try:
                record = self._record(query.pop("stream_id"))
            except exceptions.StreamNotFound:
                return []
            return [record] if matches(parse_query(query), record["tags"]) else []
        return self._list_streams(parse_query(query))

    def ensure_stream(
        self,
        query_tags: dict[str, Any],
        tags: dict[str, Any],
        value_downsamplers: list[str],
        highest_granularity: Any,
        derive_from: list[Any] | None,
        derive_op: str | None,
        derive_args: dict[str, Any] | None,
        value_type: str,
        value_type_options: dict[str, Any],
        derive_backprocess: bool,
    ) -> str:
        conditions = parse_query(query_tags)
        user_tags = _deep_copy(query_tags)
        user_tags.update(_deep_copy(tags))
        _check_json_tags(user_tags)
        with self._transaction() as batch:
            found = self._list_streams(conditions)
            if len(found) > 1:
                raise exceptions.MultipleStreamsReturned(
                    f"{len(found)} streams match the query tags {query_tags!r}"
                )
            sources = (
                self._resolve_sources(derive_from, batch) if derive_from is not None else None
            )
            if found:
                record = batch.load(found[0]["stream_id"])
                self._check_consistent(record, value_type, value_type_options, sources, derive_op)
                if record["tags"] != user_tags:
                    batch.change(record, tags=user_tags)
                return record["stream_id"]

            stored = expand_value_downsamplers(value_downsamplers, value_type)
            record = {
                "stream_id": str(uuid.uuid4()),
                "tags": user_tags,
                "value_downsamplers": stored,
                "highest_granularity": highest_granularity.__name__,
                "value_type": value_type,
                "value_type_options": dict(value_type_options),
                "earliest_datapoint": None,
                "latest_datapoint": None,
                "downsampled_until": {
                    g.name: None for g in Granularity.lower_than(highest_granularity)
                },
                "derived_from": None,
                "derive_state": None,
                "contributes_to": {},
                "pending_backprocess": False,
                "version": 0,
            }
            if sources is not None:
                self._configure_derived(
                    record, sources, derive_op, derive_args or {}, derive_backprocess
                )
            self._insert_stream(record)
            batch.records[record["stream_id"]] = record
            for source in sources or ():
                source_record = batch.load(source.stream_id)
                contributes = dict(source_record["contributes_to"])
                contributes[record["stream_id"]] = {"op": derive_op, "args": derive_args or {}}
                batch.change(source_record, contributes_to=contributes)
            return record["stream_id"]

    def _resolve_sources(self, derive_from: list[Any], batch: _WriteBatch) -> list[Source]:
        sources = []
        for item in derive_from:
            name, granularity = None, None
            if isinstance(item, dict):
                unknown = set(item) - {"stream", "name", "granularity"}
                if unknown or "stream" not in item:
                    raise exceptions.InvalidOperatorArguments(
                        "A derive source dictionary needs 'stream' and may have 'name' and "
                        f"'granularity'; got {sorted(item)}"
                    )
                name, granularity = item.get("name"), item.get("granularity")
                if name is not None and not isinstance(name, str):
                    raise exceptions.InvalidOperatorArguments(
                        f"A derive source name must be a string, not {name!r}"
                    )
                item = item["stream"]
            record = self._record(item, batch)
            highest = _granularity(record)
            if granularity is None:
                granularity = highest
            elif not Granularity.is_granularity(granularity):
                raise exceptions.UnsupportedGranularity(
                    f"Unsupported source granularity: {granularity!r}"
                )
            elif granularity > highest:
                raise exceptions.IncompatibleGranularities(
                    f"Source stream {record['stream_id']} has highest granularity "
                    f"'{highest}', finer '{granularity}' requested"
                )
            sources.append(
                Source(record["stream_id"], name, granularity, record["value_type"], highest)
            )
        if not sources:
            raise exceptions.InvalidOperatorArguments("A derived stream needs a source")
        return sources

    def _configure_derived(
        self,
        record: dict[str, Any],
        sources: list[Source],
        op_name: str,
        args: dict[str, Any],
        backprocess: bool,
    ) -> None:
        operator = OPERATORS[op_name]
        if record["value_type"] != operator.value_type:
            raise exceptions.UnsupportedDeriveOperator(
                f"Derivation operator '{op_name}' does not support type '{record['value_type']}'"
            )
        try:
            encode_state(args)
        except (TypeError, ValueError) as error:
            raise exceptions.InvalidOperatorArguments(
                f"Derive arguments must be JSON data: {error}"
            ) from None
        operator.validate(sources, _granularity(record), args)
        record["derived_from"] = {
            "sources": [
                {"stream_id": s.stream_id, "name": s.name, "granularity": s.granularity.__name__}
                for s in sources
            ],
            "op": op_name,
            "args": dict(args),
        }
        if backprocess:
            record["pending_backprocess"] = any(
                self._load_stream(s.stream_id)["latest_datapoint"] is not None for s in sources
            )

    @staticmethod
    def _check_consistent(
        record: dict[str, Any],
        value_type: str,
        value_type_options: dict[str, Any],
        sources: list[Source] | None,
        derive_op: str | None,
    ) -> None:
        problems = []
        if record["value_type"] != value_type:
            problems.append(f"value type '{record['value_type']}' != '{value_type}'")
        if record["value_type_options"] != value_type_options:
            problems.append(
                f"value type options {record['value_type_options']} != {value_type_options}"
            )
        derived = record["derived_from"]
        if (derived is None) != (sources is None):
            problems.append("derived and non-derived stream")
        elif derived is not None:
            if derived["op"] != derive_op:
                problems.append(f"derive operator '{derived['op']}' != '{derive_op}'")
            if {s["stream_id"] for s in derived["sources"]} != {s.stream_id for s in sources}:
                problems.append("different source streams")
        if problems:
            raise exceptions.InconsistentStreamConfiguration(
                f"Stream {record['stream_id']} exists with another configuration: "
                + "; ".join(problems)
            )

    # ------------------------------------------------------------------------------------
    # Appending
    # ------------------------------------------------------------------------------------

    def append(
        self, stream_id: str, value: Any, timestamp: datetime.datetime | None, check: bool
    ) -> dict[str, Any]:
        with self._transaction() as batch:
            record, seconds, stored = self._append_one(batch, stream_id, value, timestamp, check)
        return {
            "stream_id": record["stream_id"],
            "granularity": _granularity(record),
            "datapoint": {
                "t": from_seconds(seconds),
                "v": decode_value(stored, _high_accuracy(record)),
            },
        }

    def append_multiple(self, datapoints: Iterable[Mapping[str, Any]]) -> None:
        with self._transaction() as batch:
            for index, datapoint in enumerate(datapoints):
                try:
                    check_datapoint(datapoint)
                    self._append_one(
                        batch,
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
        batch: _WriteBatch,
        stream_id: Any,
        value: Any,
        timestamp: datetime.datetime | None,
        check: bool,
    ) -> tuple[dict[str, Any], int, Any]:
        record = batch.by_given_id.get(stream_id) if type(stream_id) is str else None
        if record is None:
            record = self._record(stream_id, batch)
            if record["derived_from"] is not None:
                raise exceptions.AppendToDerivedStreamNotAllowed(
                    f"Stream '{record['stream_id']}' is derived; it cannot be appended to"
                )
            if type(stream_id) is str:
                batch.by_given_id[stream_id] = record
        if timestamp is None:
            seconds = self._now()
            if not MIN_SECONDS <= seconds <= MAX_SECONDS:
                raise exceptions.InvalidTimestamp("The backend clock is out of the supported range")
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
            stored = value if kind is int and -(2**63) <= value < 2**63 else None
            if stored is None:
                stored = encode_number(value, _high_accuracy(record))
            elif kind is float and not math.isfinite(value):
                stored = encode_number(value, False)  # raises
        else:
            stored = normalise_value(
                value, record["value_type"], _value_keys(record), _high_accuracy(record)
            )
        self._store(batch, record, seconds, stored, check)
        return record, seconds, stored

    def _store(
        self, batch: _WriteBatch, record: dict[str, Any], seconds: int, stored: Any, check: bool
    ) -> None:
        """Write one datapoint at the stream's highest granularity and feed its dependants."""
        latest = record["latest_datapoint"]
        if latest is not None and seconds >= latest and record["earliest_datapoint"] is not None:
            if seconds > latest:
                # Later than everything: nothing downsampled can be affected.
                record["latest_datapoint"] = seconds
                fields = batch.changed.get(record["stream_id"])
                if fields is None or "latest_datapoint" not in fields:
                    batch.touch(record, "latest_datapoint")
        else:
            if check and latest is not None and seconds < latest:
                raise exceptions.InvalidTimestamp(
                    f"Datapoint timestamp {from_seconds(seconds).isoformat()} is older than "
                    f"the stream's latest datapoint {from_seconds(latest).isoformat()}"
                )
            self._note_timestamp(batch, record, seconds)
        batch.datapoints.append((record, seconds, stored))
        if self._test_callback is not None:
            batch.appended.append(
                (
                    record["stream_id"],
                    _granularity(record),
                    {
                        "t": from_seconds(seconds),
                        "v": decode_value(stored, _high_accuracy(record)),
                    },
                )
            )
        if record["contributes_to"]:
            value = decode_value(stored, _high_accuracy(record))
            self._feed_derived(batch, record, _granularity(record), seconds, value)

    def _note_timestamp(self, batch: _WriteBatch, record: dict[str, Any], seconds: int) -> None:
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
            batch.change(record, **changes)

    # ------------------------------------------------------------------------------------
    # Derived streams
    # ------------------------------------------------------------------------------------

    def _feed_derived(
        self,
        batch: _WriteBatch,
        source: dict[str, Any],
        granularity: Any,
        seconds: int,
        value: Any,
    ) -> None:
        for derived_id in source["contributes_to"]:
            derived = batch.load(derived_id)
            if derived is None:
                warnings.warn(
                    f"Stream {source['stream_id']} contributes to missing stream {derived_id}",
                    exceptions.InternalInconsistencyWarning,
                    stacklevel=2,
                )
                continue
            if derived["pending_backprocess"]:
                continue
            positions = [
                index
                for index, s in enumerate(derived["derived_from"]["sources"])
                if s["stream_id"] == source["stream_id"]
                and Granularity.by_attribute[s["granularity"]] == granularity
            ]
            for index in positions:
                self._apply_operator(batch, derived, index, seconds, value)

    def _apply_operator(
        self, batch: _WriteBatch, derived: dict[str, Any], index: int, seconds: int, value: Any
    ) -> None:
        spec = derived["derived_from"]
        operator = OPERATORS[spec["op"]]
        state = decode_state(derived["derive_state"])
        high_accuracy = _high_accuracy(derived)
        extra = {}
        if spec["op"] == "sum":
            extra = {
                "sources": len(spec["sources"]),
                "duration": _granularity(derived).seconds,
            }
        state, outputs = operator.update(
            state, index, seconds, value, spec["args"], high_accuracy, **extra
        )
        batch.change(derived, derive_state=encode_state(state))
        for t, v in outputs:
            if derived["latest_datapoint"] is not None and t < derived["latest_datapoint"]:
                logger.debug("Skipping out-of-order derived datapoint for %s", derived["stream_id"])
                continue
            stored = None if v is None else _storable(v, high_accuracy, derived["value_type"])
            self._store(batch, derived, t, stored, check=True)
        latest = derived["latest_datapoint"]
        if not outputs and spec["op"] != "sum" and (latest is None or seconds > latest):
            # Let the derived stream's downsampling progress although nothing was appended
            # (its earliest datapoint stays that of its first real datapoint).
            batch.change(derived, latest_datapoint=seconds)

    def backprocess_streams(self, query_tags: dict[str, Any] | None) -> None:
        for record in self._select_streams(query_tags):
            if record["pending_backprocess"]:
                self._backprocess(record["stream_id"], set())

    def _backprocess(self, stream_id: str, visiting: set[str]) -> None:
        if stream_id in visiting:
            return
        visiting.add(stream_id)
        record = self._load_stream(stream_id)
        if record is None or not record["pending_backprocess"]:
            return
        sources = record["derived_from"]["sources"]
        for source in sources:
            source_record = self._load_stream(source["stream_id"])
            if source_record is not None and source_record["pending_backprocess"]:
                self._backprocess(source["stream_id"], visiting)
        with self._transaction() as batch:
            derived = batch.load(stream_id)
            if derived is None or not derived["pending_backprocess"]:
                return
            # Start from a clean slate so that replaying cannot collide with earlier output.
            self._delete_datapoints(derived)
            batch.change(
                derived,
                derive_state=None,
                earliest_datapoint=None,
                latest_datapoint=None,
                downsampled_until=dict.fromkeys(derived["downsampled_until"]),
                version=derived["version"] + 1,
            )
            streams = []
            for index, source in enumerate(sources):
                source_record = batch.load(source["stream_id"])
                granularity = Granularity.by_attribute[source["granularity"]]
                streams.append(self._replay(source_record, granularity, index))
            derived["pending_backprocess"] = False
            # Merge by time; at equal times, sources in declaration order.
            for _key, index, seconds, value in _merge_sorted(streams):
                self._apply_operator(batch, derived, index, seconds, value)
            batch.change(derived, pending_backprocess=False)

    def _replay(
        self, record: dict[str, Any], granularity: Any, index: int
    ) -> Iterator[tuple[tuple[int, int], int, int, Any]]:
        high_accuracy = _high_accuracy(record)
        if granularity == _granularity(record):
            source = _RawQuery(self, record, MIN_SECONDS, MAX_SECONDS + 1, False)
            for seconds, stored in source.rows(0, None, 10000):
                yield (seconds, index), index, seconds, decode_value(stored, high_accuracy)
        else:
            query = _BucketQuery(self, record, granularity, MIN_SECONDS, MAX_SECONDS + 1,
                                 False, None, [])
            for bucket, value, _time in query.rows(0, None):
                yield (bucket, index), index, bucket, value

    # ------------------------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------------------------

    def get_data(
        self,
        stream_id: str,
        granularity: Any,
        start: datetime.datetime | None,
        end: datetime.datetime | None,
        start_exclusive: datetime.datetime | None,
        end_exclusive: datetime.datetime | None,
        reverse: bool,
        value_downsamplers: list[str] | None,
        time_downsamplers: list[str] | None,
    ) -> Datapoints:
        record = self._record(stream_id)
        highest = _granularity(record)
        if granularity > highest:
            granularity = highest
        size = granularity.seconds
        if start is not None:
            lo = granularity.round_seconds(bound_seconds(start, "start"))
        else:
            lo = granularity.round_seconds(bound_seconds(start_exclusive, "start_exclusive"))
            lo += size if granularity != highest else 1
        if end is not None:
            hi = bound_seconds(end, "end") + 1
        elif end_exclusive is not None:
            hi = bound_seconds(end_exclusive, "end_exclusive")
        else:
            hi = MAX_SECONDS + 86400
        lo, hi = max(lo, MIN_SECONDS), min(hi, MAX_SECONDS + 1)
        if granularity == highest:
            return Datapoints(_RawQuery(self, record, lo, hi, reverse))
        # A bucket is included when its start lies in [lo, hi).
        hi = granularity.round_seconds(hi - 1) + size if hi > lo else lo
        return Datapoints(
            _BucketQuery(
                self, record, granularity, lo, hi, reverse, value_downsamplers, time_downsamplers
            )
        )

    # ------------------------------------------------------------------------------------
    # Downsampling
    # ------------------------------------------------------------------------------------

    def downsample_streams(
        self,
        query_tags: dict[str, Any] | None,
        until: datetime.datetime | None,
        return_datapoints: bool,
        filter_stream: Callable[[Stream], bool] | None,
    ) -> list[dict[str, Any]]:
        until_seconds = bound_seconds(until, "until") if until is not None else self._now()
        created: list[dict[str, Any]] = []
        collect = return_datapoints or self._test_callback is not None
        for record in self._select_streams(query_tags):
            if not record["value_downsamplers"] or record["earliest_datapoint"] is None:
                continue
            if filter_stream is not None and not filter_stream(Stream(self._tags_of(record))):
                continue
            try:
                new = self._downsample_stream(record, until_seconds, collect)
            except exceptions.BackendUnavailable:
                raise  # an outage concerns every stream: stop at once
            except Exception as error:  # one broken stream must not stop the others
                logger.exception("Downsampling stream %s failed", record["stream_id"])
                warnings.warn(
                    f"Downsampling stream {record['stream_id']} failed: {error!r}",
                    exceptions.DatastreamWarning,
                    stacklevel=2,
                )
                continue
            if self._test_callback is not None:
                for item in new:
                    self._test_callback(item["stream_id"], item["granularity"], item["datapoint"])
            if return_datapoints:
                created.extend(new)
        return created

    def _downsample_stream(
        self, record: dict[str, Any], until: int, collect: bool
    ) -> list[dict[str, Any]]:
        highest = _granularity(record)
        bound = min(until, self._safe_latest(record))
        targets = []
        for granularity in Granularity.lower_than(highest):
            done = record["downsampled_until"].get(granularity.name)
            if done is None:
                done = granularity.round_seconds(record["earliest_datapoint"])
            lo = done
            hi = granularity.round_seconds(bound)
            if hi > lo:
                targets.append((granularity, lo, hi))
        if not targets:
            return []
        times, values = self._scan_datapoints(
            record, min(t[1] for t in targets), max(t[2] for t in targets)
        )
        high_accuracy = _high_accuracy(record)
        if high_accuracy:
            values = [decode_value(v, True) for v in values]
        keys = _value_keys(record)
        # One pass over the scan, not one per granularity.
        aggregated = record["value_type"] == "numeric" and dict in set(map(type, values))
        computed = {
            granularity: _summarise_range(
                times, values, granularity, lo, hi, keys, record["value_type"], high_accuracy,
                aggregated,
            )
            for granularity, lo, hi in targets
        }
        new: list[dict[str, Any]] = []
        with self._transaction() as batch:
            current = batch.load(record["stream_id"])
            if current is None or current["version"] != record["version"]:
                return []  # someone else downsampled, or data arrived in the past: skip
            until_map = dict(current["downsampled_until"])
            for granularity, _lo, hi in targets:
                buckets = computed[granularity]
                self._upsert_buckets(
                    current,
                    granularity,
                    [(b, _storable_value(v, high_accuracy), t) for b, v, t in buckets],
                )
                until_map[granularity.name] = hi
            batch.change(current, downsampled_until=until_map, version=current["version"] + 1)
            subscribed = {
                Granularity.by_attribute[s["granularity"]]
                for derived_id in current["contributes_to"]
                if (d := batch.load(derived_id)) is not None
                for s in d["derived_from"]["sources"]
                if s["stream_id"] == current["stream_id"]
            }
            for granularity, lo, hi in targets:
                feed = granularity in subscribed
                if not (feed or collect):
                    continue
                keys, size = _value_keys(current), granularity.seconds
                for bucket, value, time in _with_gaps(
                    computed[granularity], lo, hi, size, False,
                    lambda b, keys=keys, size=size: (b, empty_value(keys), empty_time(b, size)),
                ):
                    if feed:
                        self._feed_derived(batch, current, granularity, bucket, value)
                    if collect:
                        new.append(
                            {
                                "stream_id": current["stream_id"],
                                "granularity": granularity,
                                "datapoint": {"t": _time_out(time, None), "v": dict(value)},
                            }
                        )
        return new

    # ------------------------------------------------------------------------------------
    # Deleting
    # ------------------------------------------------------------------------------------

    def delete_streams(self, query_tags: dict[str, Any] | None) -> None:
        if query_tags is None:
            self._delete_everything()
            return
        with self._transaction() as batch:
            records = self._select_streams(query_tags)
            doomed = {r["stream_id"] for r in records}
            blocked = sorted(
                (r["stream_id"], d)
                for r in records
                for d in r["contributes_to"]
                if d not in doomed
            )
            if blocked:
                raise exceptions.OutstandingDependenciesError(
                    "Streams cannot be deleted while other streams are derived from them: "
                    + ", ".join(f"{s} feeds {d}" for s, d in blocked)
                )
            for record in records:
                if record["derived_from"] is None:
                    continue
                for source in record["derived_from"]["sources"]:
                    if source["stream_id"] in doomed:
                        continue
                    source_record = batch.load(source["stream_id"])
                    if source_record is not None:
                        contributes = dict(source_record["contributes_to"])
                        contributes.pop(record["stream_id"], None)
                        batch.change(source_record, contributes_to=contributes)
            if doomed:
                for stream_id in doomed:
                    batch.records.pop(stream_id, None)
                    batch.changed.pop(stream_id, None)
                self._delete_streams(sorted(doomed))


# ----------------------------------------------------------------------------------------
# Result sources
# ----------------------------------------------------------------------------------------


class _StreamQuery:
    """``find_streams`` results: matching records, windowed."""

    def __init__(self, backend: Backend, conditions: list[Condition]) -> None:
        self.backend = backend
        self.conditions = conditions

    def fetch(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator[dict]:
        records = self.backend._slice_streams(self.conditions, offset, limit)
        return (self.backend._tags_of(r) for r in records)

    def count(self, offset: int, limit: int | None) -> int:
        total = max(0, self.backend._count_streams(self.conditions) - offset)
        return total if limit is None else min(total, limit)


class _RawQuery:
    """Raw datapoints of one stream in ``[lo, hi)``."""

    def __init__(
        self, backend: Backend, record: dict[str, Any], lo: int, hi: int, reverse: bool
    ) -> None:
        self.backend, self.record = backend, record
        self.lo, self.hi, self.reverse = lo, hi, reverse

    def rows(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator:
        if self.hi <= self.lo:
            return iter(())
        return self.backend._fetch_datapoints(
            self.record, self.lo, self.hi, self.reverse, offset, limit, batch_size
        )

    def fetch(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator[dict]:
        at = datetime.datetime.fromtimestamp
        rows = self.rows(offset, limit, batch_size)
        if _high_accuracy(self.record):
            return ({"t": at(t, UTC), "v": decode_value(v, True)} for t, v in rows)
        return ({"t": at(t, UTC), "v": v} for t, v in rows)

    def count(self, offset: int, limit: int | None) -> int:
        if self.hi <= self.lo:
            return 0
        total = max(0, self.backend._count_datapoints(self.record, self.lo, self.hi) - offset)
        return total if limit is None else min(total, limit)


class _BucketQuery:
    """Downsampled datapoints of one stream: every bucket start in ``[lo, hi)`` that exists."""

    def __init__(
        self,
        backend: Backend,
        record: dict[str, Any],
        granularity: Any,
        lo: int,
        hi: int,
        reverse: bool,
        value_downsamplers: list[str] | None,
        time_downsamplers: list[str] | None,
    ) -> None:
        self.backend, self.record, self.granularity = backend, record, granularity
        self.reverse = reverse
        size = granularity.seconds
        stored_keys = _value_keys(record)
        if value_downsamplers is None:
            self.value_keys = stored_keys
        else:
            wanted = {_VALUE_KEYS[name] for name in value_downsamplers}
            self.value_keys = [k for k in stored_keys if k in wanted]
        self.no_value = value_downsamplers is not None and len(value_downsamplers) == 0
        if time_downsamplers is None:
            self.time_keys = list(TIME_DOWNSAMPLERS.values())
        else:
            wanted = {TIME_DOWNSAMPLERS[name] for name in time_downsamplers}
            self.time_keys = [k for k in TIME_DOWNSAMPLERS.values() if k in wanted]
        self.no_time = time_downsamplers is not None and len(time_downsamplers) == 0
        done = record["downsampled_until"].get(granularity.name)
        if done is None or record["earliest_datapoint"] is None or not stored_keys:
            self.first, self.total = lo, 0
            return
        first = max(lo, granularity.round_seconds(record["earliest_datapoint"]))
        last = min(hi, done)
        self.first, self.total = first, max(0, (last - first) // size)

    def _window(self, offset: int, limit: int | None) -> tuple[int, int]:
        count = max(0, self.total - offset)
        if limit is not None:
            count = min(count, limit)
        size = self.granularity.seconds
        if self.reverse:
            top = self.first + (self.total - offset) * size
            return top - count * size, top
        start = self.first + offset * size
        return start, start + count * size

    def rows(self, offset: int, limit: int | None) -> Iterator[tuple[int, dict, dict]]:
        lo, hi = self._window(offset, limit)
        if hi <= lo:
            return iter(())
        stored = self.backend._fetch_buckets(self.record, self.granularity, lo, hi, self.reverse)
        high_accuracy = _high_accuracy(self.record)
        if high_accuracy:
            stored = ((b, decode_value(v, True), t) for b, v, t in stored)
        keys, size = _value_keys(self.record), self.granularity.seconds
        return _with_gaps(
            stored, lo, hi, size, self.reverse,
            lambda bucket: (bucket, empty_value(keys), empty_time(bucket, size)),
        )

    def fetch(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator[dict]:
        lo, hi = self._window(offset, limit)
        if hi <= lo:
            return
        no_value, no_time = self.no_value, self.no_time
        value_keys = [] if no_value else self.value_keys
        time_keys = [] if no_time else self.time_keys
        backend, size = self.backend, self.granularity.seconds
        stored = backend._fetch_buckets(
            self.record, self.granularity, lo, hi, self.reverse, value_keys, time_keys
        )
        exact = backend._projects_buckets
        high_accuracy = _high_accuracy(self.record)
        datetime_keys = [k for k in _TIME_DATETIME_KEYS if k in time_keys]
        at = datetime.datetime.fromtimestamp
        # Buckets without a stored row come through as (start, None, None).
        rows = _with_gaps(stored, lo, hi, size, self.reverse, lambda b: (b, None, None))
        if exact and not high_accuracy and not no_time and not no_value:
            # The common case, a chunk at a time: datetimes made in place, no per-key work.
            while chunk := list(itertools.islice(rows, 2000)):
                for key in datetime_keys:
                    for _bucket, value, time in chunk:
                        if value is not None:
                            time[key] = at(time[key], UTC)
                yield from [
                    {"t": t, "v": v} if v is not None else self._empty(b) for b, v, t in chunk
                ]
            return
        for bucket, value, time in rows:
            if value is None:
                yield self._empty(bucket)
                continue
            if not exact:
                value = {k: value[k] for k in value_keys if k in value}
                time = {k: time.get(k) for k in time_keys}
            if high_accuracy:
                value = decode_value(value, True)
            for key in datetime_keys:
                time[key] = at(time[key], UTC)
            if no_time:
                yield {} if no_value else {"v": value}
            else:
                yield {"t": time} if no_value else {"t": time, "v": value}

    def _empty(self, bucket: int) -> dict[str, Any]:
        """The datapoint of a bucket without datapoints, with the requested keys."""
        datapoint: dict[str, Any] = {}
        if not self.no_time:
            datapoint["t"] = _time_out(empty_time(bucket, self.granularity.seconds),
                                       self.time_keys)
        if not self.no_value:
            datapoint["v"] = empty_value(self.value_keys)
        return datapoint

    def fetch_json(
        self, offset: int, limit: int | None, batch_size: int | None
    ) -> Iterator[bytes | str]:
        """Datapoints as JSON text, produced by the storage where it can."""
        lo, hi = self._window(offset, limit)
        rows = None
        if hi > lo and not _high_accuracy(self.record):
            rows = self.backend._fetch_bucket_json(
                self.record,
                self.granularity,
                lo,
                hi,
                self.reverse,
                None if self.no_value else self.value_keys,
                None if self.no_time else self.time_keys,
            )
        if rows is None:
            yield from (dumps(datapoint) for datapoint in self.fetch(offset, limit, batch_size))
            return
        size = self.granularity.seconds
        for bucket, text in _with_gaps(rows, lo, hi, size, self.reverse, lambda b: (b, None)):
            yield text if text is not None else dumps(self._empty(bucket))

    def count(self, offset: int, limit: int | None) -> int:
        count = max(0, self.total - offset)
        return count if limit is None else min(count, limit)


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------

def _datetime(seconds: int | None) -> datetime.datetime | None:
    return None if seconds is None else from_seconds(seconds)


def _time_out(time: dict[str, Any], keys: list[str] | None) -> dict[str, Any]:
    out = {}
    for key in keys if keys is not None else time:
        value = time.get(key)
        if key in _TIME_DATETIME_KEYS and value is not None:
            value = datetime.datetime.fromtimestamp(value, UTC)
        out[key] = value
    return out


def _summarise_range(
    times: list[int],
    values: list[Any],
    granularity: Any,
    lo: int,
    hi: int,
    keys: list[str],
    value_type: str,
    high_accuracy: bool,
    may_be_aggregated: bool = True,
) -> list[tuple[int, dict, dict]]:
    """Non-empty buckets of ``granularity`` in ``[lo, hi)`` from ascending raw datapoints;
    ``may_be_aggregated=False`` promises no pre-aggregated (dictionary) value among them."""
    size = granularity.seconds
    index, end = bisect_left(times, lo), bisect_left(times, hi)
    buckets = []
    while index < end:
        bucket = times[index] - times[index] % size
        stop = bisect_left(times, bucket + size, index, end)
        bucket_times, bucket_values = times[index:stop], values[index:stop]
        if None in bucket_values:
            non_null = [t for t, v in zip(bucket_times, bucket_values) if v is not None]
        else:
            non_null = bucket_times
        buckets.append(
            (
                bucket,
                summarise_values(
                    bucket_values, keys, value_type, high_accuracy, may_be_aggregated
                ),
                summarise_times(bucket_times, non_null, bucket, size),
            )
        )
        index = stop
    return buckets


def _with_gaps(
    rows: Iterable[tuple], lo: int, hi: int, size: int, reverse: bool,
    missing: Callable[[int], tuple],
) -> Iterator[tuple]:
    """Every bucket start of ``[lo, hi)`` in order: the stored ``rows`` (whose first item is
    the bucket start), and ``missing(start)`` for each bucket without a row."""
    step = -size if reverse else size
    expected = hi - size if reverse else lo
    for row in rows:
        bucket = row[0]
        while (expected > bucket) if reverse else (expected < bucket):
            yield missing(expected)
            expected += step
        yield row
        expected = bucket + step
    while (expected >= lo) if reverse else (expected < hi):
        yield missing(expected)
        expected += step


def _merge_sorted(streams: list[Iterator]) -> Iterator:
    return heapq.merge(*streams, key=lambda item: item[0])


def _storable(value: Any, high_accuracy: bool, value_type: str) -> Any:
    if value_type != "numeric":
        return value
    return encode_number(value, high_accuracy)


def _storable_value(value: dict[str, Any], high_accuracy: bool) -> dict[str, Any]:
    """A bucket's value summary with every number in storable form."""
    if not high_accuracy:
        # Only sums of squares and sums of big integers can leave the int64 range.
        for key in ("s", "q"):
            item = value.get(key)
            if type(item) is int and not -(2**63) <= item < 2**63:
                value = {**value, key: float(item)}
        return value
    out = {}
    for key, item in value.items():
        if key == "f" or item is None or (key in ("o", "r") and not _is_plain_number(item)):
            out[key] = item
        else:
            out[key] = encode_number(item, high_accuracy)
    return out


def _is_plain_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep_copy(v) for v in value]
    return value


def _merge_leaves(target: dict[str, Any], updates: dict[str, Any]) -> None:
    for key, value in updates.items():
        if isinstance(value, dict) and value and isinstance(target.get(key), dict):
            _merge_leaves(target[key], value)
        else:
            target[key] = _deep_copy(value)


def _remove_leaves(target: dict[str, Any], removal: dict[str, Any]) -> None:
    for key, value in removal.items():
        if key not in target:
            continue
        if isinstance(value, dict) and value and isinstance(target[key], dict):
            _remove_leaves(target[key], value)
        else:
            del target[key]


def _check_json_tags(tags: dict[str, Any]) -> None:
    check_json(tags, "Tags")


class LegacyEngine:
    """The facade's view of a storage still built on this class (temporary, see api.py)."""

    def __init__(self, backend: Backend, observer: Callable[..., None] | None) -> None:
        self.backend = backend
        backend._test_callback = observer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def ensure_stream(self, spec: Any) -> str:
        return self.backend.ensure_stream(
            spec.query_tags, spec.tags, spec.value_downsamplers, spec.highest_granularity,
            spec.derive_from, spec.derive_op, spec.derive_args, spec.value_type,
            spec.value_type_options, spec.derive_backprocess,
        )

    def get_data(self, query: Any) -> Datapoints:
        return self.backend.get_data(
            query.stream_id, query.granularity, query.start, query.end, query.start_exclusive,
            query.end_exclusive, query.reverse, query.value_downsamplers, query.time_downsamplers,
        )
