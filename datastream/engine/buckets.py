"""Bucket helpers shared by reading and downsampling: gaps, time summaries, storable values."""

from __future__ import annotations

import datetime
import numbers
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..downsamplers import summarise_times, summarise_values
from ..granularity import UTC, GranularityType
from ..limits import INT64_MAX, INT64_MIN
from ..values import encode_number

__all__ = ["DATETIME_KEYS", "storable_value", "summarise_range", "time_out", "with_gaps"]

#: Time summary keys holding timestamps (the others are durations).
DATETIME_KEYS = ("a", "z", "m")


def time_out(time: dict[str, Any], keys: list[str] | None) -> dict[str, Any]:
    """A stored time summary as returned to users (timestamps as datetimes)."""
    out = {}
    for key in keys if keys is not None else time:
        value = time.get(key)
        if key in DATETIME_KEYS and value is not None:
            value = datetime.datetime.fromtimestamp(value, UTC)
        out[key] = value
    return out


def with_gaps(
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


def summarise_range(
    times: list[int],
    values: list[Any],
    granularity: GranularityType,
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


def storable_value(value: dict[str, Any], high_accuracy: bool) -> dict[str, Any]:
    """A bucket's value summary with every number in storable form."""
    if not high_accuracy:
        # Only sums of squares and sums of big integers can leave the int64 range.
        for key in ("s", "q"):
            item = value.get(key)
            if type(item) is int and not INT64_MIN <= item <= INT64_MAX:
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
