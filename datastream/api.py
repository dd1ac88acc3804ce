"""The Datastream facade: validates arguments, then delegates to the engine."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import exceptions
from .arguments import DATA_ARGUMENTS
from .constants import (
    DERIVE_OPERATORS,
    RESERVED_TAGS,
    TIME_DOWNSAMPLERS,
    VALUE_DOWNSAMPLERS,
    VALUE_TYPES,
)
from .engine import DataQuery, Engine, Observer, StreamSpec
from .granularity import Granularity
from .results import Datapoints, Streams
from .retention import parse_policy, parse_rules
from .storage import Clock, Storage, SwitchableStorage
from .stream import Stream
from .validation import (
    bound_seconds,
    check_callable,
    check_datapoint_list,
    check_derive,
    check_downsampler_names,
    check_granularity,
    check_tag_keys,
    check_value_type,
    normalize_timestamp,
)

__all__ = ["Datastream"]


class Datastream:
    """A time-series store of tagged streams, on top of a storage ``backend``.

    ``Datastream(datastream.backends.sqlite.Backend('data.sqlite3'))`` is the embedded
    default; see :mod:`datastream.backends.mongodb` for MongoDB. Any
    :class:`~datastream.storage.BaseStorage` works; it is kept as :attr:`backend`.

    ``clock`` (default: the storage's ``clock``) returns "now" as an aware UTC datetime;
    ``observer`` is called with ``(stream_id, granularity, datapoint)`` for every datapoint
    stored, once its unit of work committed (see :class:`datastream.engine.Engine`); so is a
    ``_test_callback`` set on ``backend`` beforehand (the original library's test hook).
    ``backend`` also carries the original's backend attributes (``value_downsamplers``,
    ``requires_downsampling``, ...: see :class:`datastream.storage.BaseStorage`).
    """

    Granularity = Granularity
    Stream = Stream
    RESERVED_TAGS = RESERVED_TAGS
    VALUE_DOWNSAMPLERS = VALUE_DOWNSAMPLERS
    TIME_DOWNSAMPLERS = TIME_DOWNSAMPLERS
    DERIVE_OPERATORS = DERIVE_OPERATORS
    VALUE_TYPES = VALUE_TYPES

    def __init__(
        self,
        backend: Storage,
        *,
        clock: Clock | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.backend = backend
        self._engine = Engine(backend, clock=clock or backend.clock, observer=observer)

    def __repr__(self) -> str:
        return f"<Datastream backend={self.backend!r}>"

    # Streams and tags ------------------------------------------------------------------------

    def ensure_stream(
        self,
        query_tags: Mapping[str, Any],
        tags: Mapping[str, Any],
        value_downsamplers: Sequence[str],
        highest_granularity: Any,
        derive_from: Any = None,
        derive_op: str | None = None,
        derive_args: Mapping[str, Any] | None = None,
        value_type: str | None = None,
        value_type_options: Mapping[str, Any] | None = None,
        derive_backprocess: bool = True,
        retention: Mapping[str, Any] | None = None,
    ) -> str:
        """Return the id of the one stream matching ``query_tags``, creating it if needed.

        A new stream gets the user tags ``query_tags`` updated with ``tags``. An existing
        stream gets those tags too, after its configuration was checked to be consistent.
        ``retention`` is the stream's own retention policy (:mod:`datastream.retention`),
        which wins over the rules :meth:`enforce_retention` is given; given for an existing
        stream, it replaces the stream's.
        """
        check_tag_keys(query_tags, "query tags")
        check_tag_keys(tags, "tags", reserved=True)
        check_granularity(highest_granularity)
        value_downsamplers = check_downsampler_names(value_downsamplers, "value")
        if value_downsamplers is None:
            raise exceptions.UnsupportedDownsampler("Value downsamplers must be a list of names")
        derive_from, derive_args = check_derive(derive_from, derive_op, derive_args)
        value_type, value_type_options = check_value_type(value_type, value_type_options)

        return self._engine.ensure_stream(
            StreamSpec(
                query_tags=dict(query_tags),
                tags=dict(tags),
                value_downsamplers=value_downsamplers,
                highest_granularity=highest_granularity,
                derive_from=derive_from,
                derive_op=derive_op,
                derive_args=derive_args,
                value_type=value_type,
                value_type_options=value_type_options,
                derive_backprocess=bool(derive_backprocess),
                retention=None if retention is None else parse_policy(retention),
            )
        )

    def get_tags(self, stream_id: str) -> dict[str, Any]:
        """All tags of a stream: user tags plus the reserved metadata keys."""
        return self._engine.get_tags(stream_id)

    def get_data_version(self, stream_id: str) -> int:
        """A number that grows whenever datapoints of the stream are stored: appended (in or
        out of order) or derived. Together with :meth:`get_tags` (whose
        ``downsampled_until`` moves with downsampling) it tells whether any answer about the
        stream may have changed, e.g. for HTTP entity tags. Read it *before* the data it
        vouches for."""
        return self._engine.get_data_version(stream_id)

    def update_tags(self, stream_id: str, tags: Mapping[str, Any]) -> None:
        """Set the given user tags (leaf by leaf for nested dictionaries)."""
        check_tag_keys(tags, "tags", reserved=True)
        self._engine.update_tags(stream_id, dict(tags))

    def remove_tag(self, stream_id: str, tag: Mapping[str, Any]) -> None:
        """Remove user tags: ``{'a': ''}`` removes ``a``, ``{'a': {'b': None}}`` only ``a.b``."""
        check_tag_keys(tag, "tag", reserved=True)
        self._engine.remove_tag(stream_id, dict(tag))

    def clear_tags(self, stream_id: str) -> None:
        """Remove every user tag of a stream (its metadata stays)."""
        self._engine.clear_tags(stream_id)

    def find_streams(self, query_tags: Mapping[str, Any] | None = None) -> Streams:
        """Streams whose user tags match ``query_tags`` (all when ``None``), in creation order."""
        if query_tags is not None:
            check_tag_keys(query_tags, "query tags")
        return self._engine.find_streams(dict(query_tags) if query_tags else None)

    # Datapoints ------------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        value: Any,
        timestamp: datetime.datetime | None = None,
        check_timestamp: bool = True,
    ) -> dict[str, Any]:
        """Append one datapoint; returns ``{'stream_id', 'granularity', 'datapoint'}``."""
        if timestamp is not None:
            timestamp = normalize_timestamp(timestamp)
        return self._engine.append(stream_id, value, timestamp, bool(check_timestamp))

    def append_multiple(self, datapoints: Sequence[Mapping[str, Any]]) -> None:
        """Append many datapoints, all or nothing.

        Each item is ``{'stream_id', 'value'[, 'timestamp'][, 'check_timestamp']}``. Every
        datapoint is validated before anything is written; a bad one raises an exception whose
        message starts with ``Datapoint <index>:`` and nothing is stored.
        """
        check_datapoint_list(datapoints)
        # Each datapoint is checked by the backend, in the same pass that stores it.
        self._engine.append_multiple(datapoints)

    def append_columns(
        self,
        stream_id: str,
        times: Any,
        values: Any,
        check_timestamp: bool = True,
    ) -> int:
        """Append many datapoints of one stream given as two columns, all or nothing; returns
        how many were appended. For loading history.

        ``times`` is a numpy ``datetime64`` array (any unit) or a sequence of datetimes;
        ``values`` a numpy array (numeric streams) or any sequence. Validated as strictly as
        :meth:`append_multiple` (an error names its ``Datapoint <index>``); with
        ``check_timestamp`` the times must not go back, neither within the columns nor before
        the stream's latest datapoint. Numpy columns are written straight into chunks.
        """
        return self._engine.append_columns(stream_id, times, values, bool(check_timestamp))

    def delete_datapoints(
        self, stream_id: str, before: datetime.datetime, granularity: Any = None
    ) -> int:
        """Drop a stream's raw datapoints (or, with a ``granularity``, its buckets at that
        granularity) older than ``before``, for one-off cleanups; returns how many went.

        Raw datapoints are dropped only where every coarser granularity has been downsampled
        (see :mod:`datastream.retention`); whole chunks go, the one ``before`` falls in is
        rewritten. Reads, counts and ``earliest_datapoint`` follow.
        """
        seconds = bound_seconds(normalize_timestamp(before, "before"), "before")
        name = "raw"
        if granularity is not None:
            check_granularity(granularity)
            name = granularity.name
        return self._engine.delete_datapoints(stream_id, seconds, name)

    def enforce_retention(self, rules: Sequence[Mapping[str, Any]] = ()) -> int:
        """Drop what retention policies say is too old; returns how many datapoints and
        buckets went. Each stream's own policy (``ensure_stream(..., retention=...)``) wins;
        else the first of ``rules`` (``[{"tags": <query>, "keep": <policy>}]``) whose tags
        match. See :mod:`datastream.retention`."""
        return self._engine.enforce_retention(parse_rules(rules))

    def get_data(
        self,
        stream_id: str,
        granularity: Any,
        start: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        start_exclusive: datetime.datetime | None = None,
        end_exclusive: datetime.datetime | None = None,
        reverse: bool = False,
        value_downsamplers: Sequence[str] | None = None,
        time_downsamplers: Sequence[str] | None = None,
    ) -> Datapoints:
        """Datapoints of a stream at ``granularity`` in a time range (see the docs for rules)."""
        if (start is None) == (start_exclusive is None):
            raise exceptions.InvalidTimeRange(
                "One and only one time range start must be specified."
            )
        return self._engine.get_data(
            # The signature names the arguments (it is the public API); DATA_ARGUMENTS, their
            # one list, picks them from it.
            _data_query(stream_id, locals())
        )

    def get_open_buckets(
        self,
        stream_id: str,
        granularity: Any,
        start: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        start_exclusive: datetime.datetime | None = None,
        end_exclusive: datetime.datetime | None = None,
        reverse: bool = False,
        value_downsamplers: Sequence[str] | None = None,
        time_downsamplers: Sequence[str] | None = None,
    ) -> list[tuple[datetime.datetime, dict[str, Any]]]:
        """The open buckets of a stream at a downsampled ``granularity``: those holding
        datapoints that ``downsample_streams`` has not closed yet, summarised from the raw
        datapoints exactly as downsampling will close them (nothing is stored).

        Returns ``(bucket start, datapoint)`` pairs, in time order (newest first with
        ``reverse``), from the first bucket not closed to the bucket of the latest datapoint;
        each datapoint has the keys ``get_data`` would give it. The arguments are those of
        :meth:`get_data`, and select buckets by the same rules, except that the start may be
        left out (every open bucket). At the stream's highest granularity or finer (raw
        datapoints) there are none.
        """
        if start is not None and start_exclusive is not None:
            raise exceptions.InvalidTimeRange("Only one time range start can be specified.")
        return self._engine.get_open_buckets(
            # The signature names the arguments (it is the public API); DATA_ARGUMENTS, their
            # one list, picks them from it.
            _data_query(stream_id, locals())
        )

    # Maintenance -----------------------------------------------------------------------------

    def downsample_streams(
        self,
        query_tags: Mapping[str, Any] | None = None,
        until: datetime.datetime | None = None,
        return_datapoints: bool = False,
        filter_stream: Callable[[Stream], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Close every complete bucket before ``until`` (default now) of the matching streams."""
        if query_tags is not None:
            check_tag_keys(query_tags, "query tags")
        if until is not None:
            until = normalize_timestamp(until, "until")
        check_callable(filter_stream, "filter_stream")
        return self._engine.downsample_streams(
            dict(query_tags) if query_tags is not None else None,
            until,
            bool(return_datapoints),
            filter_stream,
        )

    def backprocess_streams(self, query_tags: Mapping[str, Any] | None = None) -> None:
        """Replay source data into derived streams created with pending backprocessing."""
        if query_tags is not None:
            check_tag_keys(query_tags, "query tags")
        self._engine.backprocess_streams(dict(query_tags) if query_tags is not None else None)

    def delete_streams(self, query_tags: Mapping[str, Any] | None = None) -> None:
        """Delete matching streams and their data; ``None`` deletes everything stored."""
        if query_tags is not None:
            check_tag_keys(query_tags, "query tags")
        self._engine.delete_streams(dict(query_tags) if query_tags is not None else None)

    def _switch_database(self, database_name: str) -> None:
        """Reconnect the storage to another database (tests and the Django test runner)."""
        if not isinstance(self.backend, SwitchableStorage):
            raise NotImplementedError(f"{type(self.backend).__name__} cannot switch databases")
        self.backend.switch_database(database_name)


def _timestamp(name: str) -> Callable[[Any], Any]:
    def normalise(value: Any) -> Any:
        return normalize_timestamp(value, name) if value is not None else None

    return normalise


def _granularity(value: Any) -> Any:
    check_granularity(value)
    return value


#: How each argument of ``get_data`` (after the stream id) is checked and normalised.
_NORMALISE: dict[str, Callable[[Any], Any]] = {
    "granularity": _granularity,
    "start": _timestamp("start"),
    "end": _timestamp("end"),
    "start_exclusive": _timestamp("start_exclusive"),
    "end_exclusive": _timestamp("end_exclusive"),
    "reverse": bool,
    "value_downsamplers": lambda names: check_downsampler_names(names, "value"),
    "time_downsamplers": lambda names: check_downsampler_names(names, "time"),
}
if tuple(_NORMALISE) != DATA_ARGUMENTS:  # pragma: no cover - a change of DataArguments
    raise RuntimeError(f"datastream.api normalises {tuple(_NORMALISE)}, not {DATA_ARGUMENTS}")


def _data_query(stream_id: str, arguments: Mapping[str, Any]) -> DataQuery:
    """The :class:`DataQuery` of a read's arguments (:data:`DATA_ARGUMENTS`, picked from
    ``arguments``), checked and normalised in their order (whether a start is required is the
    caller's rule)."""
    if arguments["end"] is not None and arguments["end_exclusive"] is not None:
        raise exceptions.InvalidTimeRange("Only one time range end can be specified.")
    normalised = {name: normalise(arguments[name]) for name, normalise in _NORMALISE.items()}
    return DataQuery(stream_id=stream_id, **normalised)
