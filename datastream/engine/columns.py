"""Columns given to ``append_columns``, validated as strictly as ``append_multiple`` checks
datapoints, without a Python step per datapoint where numpy arrays are given.

Times: a numpy ``datetime64`` array (any unit; floored to seconds, as datetimes are), or a
sequence of ``datetime.datetime`` (naive means UTC). Values: for numeric streams a numpy array
of integers or floats (every one finite), or any sequence (each value checked as ``append``
checks it); for nominal and graph streams any sequence.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import exceptions
from ..granularity import to_seconds
from ..limits import MAX_DATAPOINT_SECONDS, MIN_DATAPOINT_SECONDS
from ..validation import describe, normalize_timestamp
from ..values import normalise_value
from .records import high_accuracy, value_keys

__all__ = ["column_times", "column_values"]


def _at(index: int, message: str) -> exceptions.InvalidTimestamp:
    return exceptions.InvalidTimestamp(f"Datapoint {index}: {message}")


def column_times(times: Any) -> np.ndarray:
    """POSIX seconds (int64) of a times column, checked against the supported range."""
    if isinstance(times, np.ndarray):
        if times.ndim != 1:
            raise exceptions.InvalidTimestamp(f"times must be one-dimensional, not {times.ndim}")
        if times.dtype.kind != "M":
            raise exceptions.InvalidTimestamp(
                f"times must be a datetime64 array or a sequence of datetimes, not an array "
                f"of {times.dtype}"
            )
        if len(times) and np.isnat(times).any():
            index = int(np.flatnonzero(np.isnat(times))[0])
            raise _at(index, "the timestamp is NaT (not a time)")
        micro = times.astype("datetime64[us]").astype(np.int64)
        seconds = np.floor_divide(micro, 1_000_000)
    elif isinstance(times, Sequence) and not isinstance(times, str | bytes):
        seconds = np.empty(len(times), dtype=np.int64)
        for index, timestamp in enumerate(times):
            if type(timestamp) is not datetime.datetime or timestamp.tzinfo is not datetime.UTC:
                try:
                    timestamp = normalize_timestamp(timestamp)
                except exceptions.InvalidTimestamp as error:
                    raise _at(index, str(error)) from None
            seconds[index] = to_seconds(timestamp)
    else:
        raise exceptions.InvalidTimestamp(
            f"times must be a datetime64 array or a sequence of datetimes, not {describe(times)}"
        )
    if len(seconds):
        bad = (seconds < MIN_DATAPOINT_SECONDS) | (seconds > MAX_DATAPOINT_SECONDS)
        if bad.any():
            raise _at(int(np.flatnonzero(bad)[0]), "the timestamp is out of the supported range")
    return seconds


def column_values(values: Any, record: Any, count: int) -> np.ndarray | list:
    """The storable values of a values column for the stream of ``record``: a float64 or
    int64 array, or a list of storable values."""
    if isinstance(values, str | bytes | dict) or not hasattr(values, "__len__"):
        raise exceptions.InvalidValue(
            f"values must be a sequence or an array, not {describe(values)}"
        )
    if len(values) != count:
        raise exceptions.InvalidValue(f"{count} times but {len(values)} values")
    numeric = record["value_type"] == "numeric"
    if isinstance(values, np.ndarray) and numeric and values.ndim == 1:
        if values.dtype.kind == "f":
            finite = np.isfinite(values)
            if not finite.all():
                index = int(np.flatnonzero(~finite)[0])
                raise exceptions.InvalidValue(
                    f"Datapoint {index}: not a finite number: {values[index]!r}"
                )
            return values.astype(np.float64, copy=False)
        if values.dtype.kind == "i" or (values.dtype.kind == "u" and values.dtype.itemsize < 8):
            return values.astype(np.int64, copy=False)
        if values.dtype.kind == "b":
            raise exceptions.InvalidValueType(
                "Booleans are not numbers: a boolean array cannot be stored in a numeric stream"
            )
    if isinstance(values, np.ndarray):
        values = values.tolist()
    keys, accurate, kind = value_keys(record), high_accuracy(record), record["value_type"]
    stored = []
    for index, value in enumerate(values):
        try:
            stored.append(normalise_value(value, kind, keys, accurate))
        except exceptions.DatastreamException as error:
            raise type(error)(f"Datapoint {index}: {error}") from None
    return stored
