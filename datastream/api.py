"""The Datastream facade: validates arguments, then delegates to a backend."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import exceptions
from .constants import (
    DERIVE_OPERATORS,
    RESERVED_TAGS,
    TIME_DOWNSAMPLERS,
    VALUE_DOWNSAMPLERS,
    VALUE_TYPES,
)
from .granularity import Granularity
from .results import Datapoints, Streams
from .stream import Stream
from .validation import (
    check_downsampler_names,
    check_granularity,
    check_tag_keys,
    normalize_timestamp,
)

__all__ = ["Datastream"]


def _default_value_type_options(value_type: str) -> dict[str, Any]:
    return {"high_accuracy": False} if value_type == "numeric" else {}


class Datastream:
    """A time-series store of tagged streams, on top of a storage ``backend``.

    ``Datastream(datastream.backends.sqlite.Backend('data.sqlite3'))`` is the embedded
    default; see :mod:`datastream.backends.mongodb` for MongoDB.
    """

    Granularity = Granularity
    Stream = Stream
    RESERVED_TAGS = RESERVED_TAGS
    VALUE_DOWNSAMPLERS = VALUE_DOWNSAMPLERS
    TIME_DOWNSAMPLERS = TIME_DOWNSAMPLERS
    DERIVE_OPERATORS = DERIVE_OPERATORS
    VALUE_TYPES = VALUE_TYPES

    def __init__(self, backend: Any) -> None:
        self.backend = backend

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
    ) -> str:
        """Return the id of the one stream matching ``query_tags``, creating it if needed.

        A new stream gets the user tags ``query_tags`` updated with ``tags``. An existing
        stream gets those tags too, after its configuration was checked to be consistent.
        """
        check_tag_keys(query_tags, "query tags")
        check_tag_keys(tags, "tags", reserved=True)
        check_granularity(highest_granularity)
        value_downsamplers = check_downsampler_names(value_downsamplers, "value")
        if value_downsamplers is None:
            raise exceptions.UnsupportedDownsampler("Value downsamplers must be a list of names")
        if derive_from is not None:
            if not isinstance(derive_from, list | tuple):
                derive_from = [derive_from]
            derive_from = list(derive_from)
            if derive_op is None:
                raise ValueError("Missing 'derive_op' argument")
            if derive_op not in DERIVE_OPERATORS:
                raise exceptions.UnsupportedDeriveOperator(
                    f"Unsupported derive operator: {derive_op!r}"
                )
            if derive_args is None:
                derive_args = {}
            if not isinstance(derive_args, Mapping):
                raise exceptions.InvalidOperatorArguments(
                    f"Derive arguments must be a dictionary, not {derive_args!r}"
                )
        elif derive_op is not None:
            raise ValueError("'derive_op' given without 'derive_from'")
        if value_type is None:
            value_type = "numeric"
        if value_type not in VALUE_TYPES:
            raise exceptions.UnsupportedValueType(f"Unsupported value type: {value_type!r}")
        if value_type_options is None:
            value_type_options = _default_value_type_options(value_type)
        if not isinstance(value_type_options, Mapping):
            raise TypeError("Value type options must be a dictionary")
        value_type_options = dict(value_type_options)
        if value_type == "numeric":
            value_type_options.setdefault("high_accuracy", False)
            if not isinstance(value_type_options["high_accuracy"], bool):
                raise TypeError("Value type option 'high_accuracy' must be True or False")
        known = {"high_accuracy"} if value_type == "numeric" else set()
        unknown = sorted(set(value_type_options) - known)
        if unknown:
            raise ValueError(f"Unknown value type option(s) for type {value_type!r}: {unknown}")

        return self.backend.ensure_stream(
            dict(query_tags),
            dict(tags),
            value_downsamplers,
            highest_granularity,
            derive_from,
            derive_op,
            dict(derive_args) if derive_args is not None else None,
            value_type,
            value_type_options,
            bool(derive_backprocess),
        )

    def get_tags(self, stream_id: str) -> dict[str, Any]:
        """All tags of a stream: user tags plus the reserved metadata keys."""
        return self.backend.get_tags(stream_id)

    def update_tags(self, stream_id: str, tags: Mapping[str, Any]) -> None:
        """Set the given user tags (leaf by leaf for nested dictionaries)."""
        check_tag_keys(tags, "tags", reserved=True)
        self.backend.update_tags(stream_id, dict(tags))

    def remove_tag(self, stream_id: str, tag: Mapping[str, Any]) -> None:
        """Remove user tags: ``{'a': ''}`` removes ``a``, ``{'a': {'b': None}}`` only ``a.b``."""
        check_tag_keys(tag, "tag", reserved=True)
        self.backend.remove_tag(stream_id, dict(tag))

    def clear_tags(self, stream_id: str) -> None:
        """Remove every user tag of a stream (its metadata stays)."""
        self.backend.clear_tags(stream_id)

    def find_streams(self, query_tags: Mapping[str, Any] | None = None) -> Streams:
        """Streams whose user tags match ``query_tags`` (all when ``None``), in creation order."""
        if query_tags is not None:
            check_tag_keys(query_tags, "query tags")
        return self.backend.find_streams(dict(query_tags) if query_tags else None)

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
        return self.backend.append(stream_id, value, timestamp, bool(check_timestamp))

    def append_multiple(self, datapoints: Sequence[Mapping[str, Any]]) -> None:
        """Append many datapoints, all or nothing.

        Each item is ``{'stream_id', 'value'[, 'timestamp'][, 'check_timestamp']}``. Every
        datapoint is validated before anything is written; a bad one raises an exception whose
        message starts with ``Datapoint <index>:`` and nothing is stored.
        """
        if isinstance(datapoints, Mapping) or isinstance(datapoints, str | bytes):
            raise TypeError("append_multiple() takes a list of datapoint dictionaries")
        # Each datapoint is checked by the backend, in the same pass that stores it.
        self.backend.append_multiple(datapoints)

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
        if end is not None and end_exclusive is not None:
            raise exceptions.InvalidTimeRange("Only one time range end can be specified.")
        check_granularity(granularity)
        value_downsamplers = check_downsampler_names(value_downsamplers, "value")
        time_downsamplers = check_downsampler_names(time_downsamplers, "time")
        start = normalize_timestamp(start, "start") if start is not None else None
        end = normalize_timestamp(end, "end") if end is not None else None
        if start_exclusive is not None:
            start_exclusive = normalize_timestamp(start_exclusive, "start_exclusive")
        if end_exclusive is not None:
            end_exclusive = normalize_timestamp(end_exclusive, "end_exclusive")
        return self.backend.get_data(
            stream_id,
            granularity,
            start,
            end,
            start_exclusive,
            end_exclusive,
            bool(reverse),
            value_downsamplers,
            time_downsamplers,
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
        return self.backend.downsample_streams(
            dict(query_tags) if query_tags is not None else None,
            until,
            bool(return_datapoints),
            filter_stream,
        )

    def backprocess_streams(self, query_tags: Mapping[str, Any] | None = None) -> None:
        """Replay source data into derived streams created with pending backprocessing."""
        if query_tags is not None:
            check_tag_keys(query_tags, "query tags")
        self.backend.backprocess_streams(dict(query_tags) if query_tags is not None else None)

    def delete_streams(self, query_tags: Mapping[str, Any] | None = None) -> None:
        """Delete matching streams and their data; ``None`` deletes everything stored."""
        if query_tags is not None:
            check_tag_keys(query_tags, "query tags")
        self.backend.delete_streams(dict(query_tags) if query_tags is not None else None)

    def _switch_database(self, database_name: str) -> None:
        """Reconnect the backend to another database (tests and the Django test runner)."""
        self.backend._switch_database(database_name)
