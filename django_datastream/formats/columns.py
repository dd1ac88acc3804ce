"""Chart-friendly datapoint layouts: time formats and the ``columns`` shape.

``time_format`` chooses how datapoint times are written: ``iso`` (the default, datetimes left
for the serializer: ISO 8601 with ``Z``), ``epoch`` (integer POSIX seconds) or ``epoch_ms``
(integer milliseconds). It applies to a raw datapoint's ``t`` and to the time downsamplers
whose values are times (``a`` first, ``z`` last, ``m`` mean); interval statistics stay
seconds.

The ``columns`` shape turns a list of datapoints into one array per key, all of the same length
and in the same order: ``{"t": [...], "v": [...]}`` for raw datapoints and
``{"t": {"m": [...]}, "v": {"m": [...], "l": [...]}}`` for downsampled ones.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from datastream.constants import TIMESTAMP_TIME_KEYS, UNIX_EPOCH

__all__ = [
    "SHAPES",
    "TIME_FORMATS",
    "TIME_KEYS_AS_TIMES",
    "time_converter",
    "convert_datapoint",
    "to_columns",
]

#: Values of ``time_format``.
TIME_FORMATS: tuple[str, ...] = ("iso", "epoch", "epoch_ms")

#: Values of ``shape``.
SHAPES: tuple[str, ...] = ("rows", "columns")

#: Time downsampler keys whose values are times (the others are durations in seconds).
TIME_KEYS_AS_TIMES = frozenset(TIMESTAMP_TIME_KEYS)

_SECOND = datetime.timedelta(seconds=1)
_MILLISECOND = datetime.timedelta(milliseconds=1)


def time_converter(time_format: str) -> Callable[[Any], Any]:
    """A function writing one datapoint time in ``time_format`` (``None`` stays ``None``)."""
    if time_format == "iso":
        return _identity
    unit = _SECOND if time_format == "epoch" else _MILLISECOND
    if time_format not in TIME_FORMATS:
        raise ValueError(f"Unknown time format {time_format!r}")

    def convert(value: Any) -> Any:
        if not isinstance(value, datetime.datetime):
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return (value - UNIX_EPOCH) // unit

    return convert


def _identity(value: Any) -> Any:
    return value


def convert_datapoint(datapoint: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """``datapoint`` with its times written by ``convert`` (a :func:`time_converter`)."""
    if convert is _identity or "t" not in datapoint:
        return datapoint
    time = datapoint["t"]
    if isinstance(time, dict):
        time = {k: convert(v) if k in TIME_KEYS_AS_TIMES else v for k, v in time.items()}
    else:
        time = convert(time)
    return {**datapoint, "t": time}


def to_columns(
    datapoints: Iterable[dict[str, Any]],
    raw: bool,
    time_keys: Sequence[str],
    value_keys: Sequence[str],
    convert: Callable[[Any], Any] = _identity,
) -> dict[str, Any]:
    """Datapoints as columns: one array per key, in the datapoints' order.

    Raw datapoints give ``{"t": [...], "v": [...]}``; downsampled ones
    ``{"t": {key: [...]}, "v": {key: [...]}}`` with one array per key of ``time_keys`` and
    ``value_keys`` (a datapoint without a key contributes ``None``).
    """
    if raw:
        times: list[Any] = []
        values: list[Any] = []
        for datapoint in datapoints:
            times.append(convert(datapoint.get("t")))
            values.append(datapoint.get("v"))
        return {"t": times, "v": values}
    time_columns: dict[str, list[Any]] = {key: [] for key in time_keys}
    value_columns: dict[str, list[Any]] = {key: [] for key in value_keys}
    time_convert = {k: convert if k in TIME_KEYS_AS_TIMES else _identity for k in time_keys}
    empty: dict[str, Any] = {}
    for datapoint in datapoints:
        time = datapoint.get("t") or empty
        value = datapoint.get("v") or empty
        for key, column in time_columns.items():
            column.append(time_convert[key](time.get(key)))
        for key, column in value_columns.items():
            column.append(value.get(key))
    columns: dict[str, Any] = {}
    if time_keys:
        columns["t"] = time_columns
    if value_keys:
        columns["v"] = value_columns
    return columns
