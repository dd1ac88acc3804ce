"""Line protocol series as streams.

A field of a series is one stream, found by its **query tags**::

    {"measurement": "cpu", "field": "usage_idle", "series": "cpu,host=a,region=eu"}

``series`` is InfluxDB's series key (the measurement and the tags sorted by key, escaped as in
line protocol), so a series with fewer tags never matches one with more. The tag set itself is
kept as the stream's tag ``tags`` (``{"tags": {"host": "a", "region": "eu"}}``), so that
``?tags__tags__host=a`` finds it. When the resource's authorization restricts reads with
``query_tags`` made of plain values (``{"owner": "alice"}``), those join the query tags: each
client writes in its own namespace and reads back what it wrote.

A stream is created on first sight with the configuration of :func:`stream_config`
(``DATASTREAM_INGEST_STREAMS``). Integer and float fields make ``numeric`` streams, string
and boolean fields ``nominal`` ones.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from datastream import Datastream, Granularity, Stream
from datastream.constants import UNIX_EPOCH
from datastream.downsamplers import expand_value_downsamplers
from datastream.exceptions import UnsupportedDownsampler
from datastream.limits import MAX_DATAPOINT_SECONDS, MIN_DATAPOINT_SECONDS

from ..conf import datastream_settings
from .errors import BadBody
from .lineprotocol import Point, series_key

__all__ = [
    "DEFAULT_STREAM_CONFIG",
    "SeriesField",
    "StreamCache",
    "WritePlan",
    "plan_writes",
    "query_tags_of",
    "stream_config",
]

#: The configuration of streams created by line protocol, unless ``DATASTREAM_INGEST_STREAMS``
#: says otherwise (``"*"`` for every measurement, or a measurement's name).
DEFAULT_STREAM_CONFIG: dict[str, Any] = {
    "value_downsamplers": ["mean", "sum", "min", "max", "sum_squares", "std_dev", "count"],
    "nominal_value_downsamplers": ["count", "most_often"],
    "highest_granularity": "seconds",
}
_CONFIG_KEYS = frozenset(DEFAULT_STREAM_CONFIG)
_RESERVED_QUERY_KEYS = frozenset({"measurement", "field", "series", "tags"})
_SECOND = datetime.timedelta(seconds=1)


def stream_config(measurement: str, value_type: str) -> tuple[list[str], Any]:
    """``(value downsamplers, highest granularity)`` of a new stream of ``measurement`` with
    values of ``value_type``: the measurement's entry of ``DATASTREAM_INGEST_STREAMS`` over
    its ``"*"`` entry over :data:`DEFAULT_STREAM_CONFIG`."""
    configured: Any = datastream_settings.INGEST_STREAMS or {}
    if not isinstance(configured, Mapping):
        raise ImproperlyConfigured("DATASTREAM_INGEST_STREAMS must be a dictionary")
    merged = dict(DEFAULT_STREAM_CONFIG)
    for key in ("*", measurement):
        entry = configured.get(key) or {}
        unknown = set(entry) - _CONFIG_KEYS if isinstance(entry, Mapping) else {"?"}
        if unknown:
            raise ImproperlyConfigured(
                f"DATASTREAM_INGEST_STREAMS[{key!r}] must be a dictionary with the keys "
                f"{sorted(_CONFIG_KEYS)}"
            )
        merged.update(entry)
    granularity = Granularity.by_name.get(str(merged["highest_granularity"]))
    if granularity is None:
        raise ImproperlyConfigured(
            f"DATASTREAM_INGEST_STREAMS: unknown granularity {merged['highest_granularity']!r}"
        )
    key = "value_downsamplers" if value_type == "numeric" else "nominal_value_downsamplers"
    names = merged[key]
    try:
        if isinstance(names, str):
            raise UnsupportedDownsampler("a list of names is expected, not a string")
        expand_value_downsamplers(list(names), value_type)
    except (UnsupportedDownsampler, TypeError, KeyError) as error:
        raise ImproperlyConfigured(
            f"DATASTREAM_INGEST_STREAMS: {key} {names!r} of {measurement!r}: {error}"
        ) from None
    return list(names), granularity


def query_tags_of(
    measurement: str, tags: Mapping[str, str], field_key: str, required: Mapping[str, Any]
) -> dict[str, Any]:
    """The query tags of the stream of ``field_key`` of a series (see the module's docs)."""
    return {
        **required,
        "measurement": measurement,
        "field": field_key,
        "series": series_key(measurement, dict(tags)),
    }


def namespace_tags(required: Mapping[str, Any] | None) -> dict[str, Any]:
    """The part of an authorization's ``query_tags`` that new streams take as tags: plain
    top-level values (strings, numbers, booleans), not operators or nested conditions."""
    if not required:
        return {}
    return {
        key: value
        for key, value in required.items()
        if key not in _RESERVED_QUERY_KEYS and isinstance(value, str | int | float | bool)
    }


def value_type_of(value: Any) -> str:
    """``numeric`` for integers and floats, ``nominal`` for strings and booleans."""
    return "nominal" if isinstance(value, str | bool) else "numeric"


@dataclass
class SeriesField:
    """One stream a request writes to: its query tags, where it first appears, the type of
    its first value, and the stream once found (``None``: to be created)."""

    measurement: str
    field: str
    tags: dict[str, str]
    query_tags: dict[str, Any]
    line: int
    value_type: str
    stream: Stream | None = None
    stream_id: str | None = None

    def prospective_stream(self) -> Stream:
        """The stream this series would create, as the authorization's ``bundle.obj`` (its
        ``id`` is ``None``)."""
        downsamplers, granularity = stream_config(self.measurement, self.value_type)
        return Stream(
            {
                **self.query_tags,
                "tags": dict(self.tags),
                "stream_id": None,
                "value_downsamplers": downsamplers,
                "time_downsamplers": [],
                "highest_granularity": granularity,
                "pending_backprocess": False,
                "latest_datapoint": None,
                "earliest_datapoint": None,
                "value_type": self.value_type,
                "value_type_options": {},
            }
        )


@dataclass
class WritePlan:
    """The streams of a line protocol request and its datapoints, in order, as
    ``(series field, value, seconds or None, line)``."""

    series: dict[tuple[str, str], SeriesField] = field(default_factory=dict)
    points: list[tuple[SeriesField, Any, int | None, int]] = field(default_factory=list)

    def datapoints(self) -> list[dict[str, Any]]:
        """The ``append_multiple`` datapoints, in the order of :attr:`points`."""
        epoch = UNIX_EPOCH
        second = _SECOND
        return [
            {"stream_id": item.stream_id, "value": value}
            if seconds is None
            else {"stream_id": item.stream_id, "value": value,
                  "timestamp": epoch + seconds * second}
            for item, value, seconds, _line in self.points
        ]  # fmt: skip

    def position(self, index: int) -> str:
        """Where datapoint ``index`` was written, for messages: ``Line 3 (field 'usage')``."""
        item, _value, _seconds, line = self.points[index]
        return f"Line {line} (field {item.field!r})"


def plan_writes(points: Iterable[Point], required: Mapping[str, Any]) -> WritePlan:
    """Group ``points`` by stream; times out of the supported range raise
    :class:`~django_datastream.ingest.errors.BadBody` naming the line."""
    plan = WritePlan()
    series = plan.series
    out = plan.points
    for point in points:
        seconds = point.seconds
        if seconds is not None and not MIN_DATAPOINT_SECONDS <= seconds <= MAX_DATAPOINT_SECONDS:
            raise BadBody(
                f"Line {point.line}: the timestamp is out of the supported range "
                "(0001-01-02 to 9999-12-30); check the precision parameter."
            )
        key = point.series or series_key(point.measurement, point.tags)
        for field_key, value in point.fields.items():
            item = series.get((key, field_key))
            if item is None:
                item = series[key, field_key] = SeriesField(
                    point.measurement, field_key, point.tags,
                    {**required, "measurement": point.measurement, "field": field_key,
                     "series": key},
                    point.line, value_type_of(value),
                )  # fmt: skip
            elif value_type_of(value) != item.value_type:
                raise BadBody(
                    f"Line {point.line}: field {field_key!r} is {value_type_of(value)} here but "
                    f"{item.value_type} on line {item.line} (one type per field)."
                )
            out.append((item, value, seconds, point.line))
    return plan


class StreamCache:
    """Streams found by their query tags, kept ``ttl`` seconds per process (at most
    ``size``): a line protocol request does not search the catalog for every series it
    writes to. An entry is dropped when its stream is gone."""

    def __init__(self, ttl: float = 30.0, size: int = 100_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[tuple[int, str], tuple[float, Stream]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(datastream: Datastream, query_tags: Mapping[str, Any]) -> tuple[int, str]:
        return id(datastream), repr(sorted(query_tags.items()))

    def get(self, datastream: Datastream, query_tags: Mapping[str, Any]) -> Stream | None:
        """The cached stream, if fresh."""
        entry = self._entries.get(self._key(datastream, query_tags))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, datastream: Datastream, query_tags: Mapping[str, Any], stream: Stream) -> None:
        """Remember ``stream`` for ``query_tags``."""
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[self._key(datastream, query_tags)] = (time.monotonic() + self.ttl, stream)

    def clear(self) -> None:
        """Forget every stream."""
        with self._lock:
            self._entries.clear()
