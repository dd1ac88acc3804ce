"""Bucket helpers shared by reading and downsampling: gaps, time summaries, storable values."""

from __future__ import annotations

import datetime
import math
import numbers
import operator
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..constants import TIMESTAMP_TIME_KEYS
from ..downsamplers import summarise_times, summarise_values
from ..granularity import UTC, GranularityType
from ..limits import INT64_MAX, INT64_MIN
from ..values import encode_number

__all__ = [
    "storable_buckets",
    "storable_value",
    "summarise_range",
    "summarise_ranges",
    "time_out",
    "with_gaps",
]

def time_out(time: dict[str, Any], keys: list[str] | None) -> dict[str, Any]:
    """A stored time summary as returned to users (timestamps as datetimes)."""
    out = {}
    for key in keys if keys is not None else time:
        value = time.get(key)
        if key in TIMESTAMP_TIME_KEYS and value is not None:
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


#: Value keys that :func:`summarise_ranges` can build from the next finer granularity exactly.
_NESTABLE_KEYS = frozenset("csmluqd")


def summarise_ranges(
    times: list[int],
    values: list[Any],
    targets: list[tuple[GranularityType, int, int]],
    keys: list[str],
    value_type: str,
    high_accuracy: bool,
) -> dict[GranularityType, list[tuple[int, dict, dict]]]:
    """:func:`summarise_range` for each ``(granularity, lo, hi)`` of ``targets`` (finest
    first), from one ascending scan of raw datapoints covering all of them.

    Numeric streams whose values are all plain integers (no null, no pre-aggregated value, not
    high-accuracy) and that store only count, sum, mean, min, max, sum_squares and std_dev are
    summarised once at the finest granularity and each coarser granularity is built from the
    next finer one: integer sums, minimums and maximums do not depend on grouping, so every
    bucket is identical to the one computed from its raw datapoints. Anything else is
    summarised from the raw datapoints at each granularity.
    """
    types = set(map(type, values))
    if (
        value_type == "numeric"
        and not high_accuracy
        and types == {int}
        and _NESTABLE_KEYS.issuperset(keys)
    ):
        return _summarise_nested(times, values, targets, keys)
    aggregated = value_type == "numeric" and dict in types
    return {
        granularity: summarise_range(
            times, values, granularity, lo, hi, keys, value_type, high_accuracy, aggregated
        )
        for granularity, lo, hi in targets
    }


def _bounds(starts: list[int], index: int, end: int, size: int) -> tuple[list[int], list[int]]:
    """Bucket starts of ``size`` over the ascending ``starts[index:end]``, and the index of
    the first item of each bucket followed by ``end``."""
    buckets, bounds = [], []
    while index < end:
        bucket = starts[index] - starts[index] % size
        buckets.append(bucket)
        bounds.append(index)
        index = bisect_left(starts, bucket + size, index, end)
    bounds.append(end)
    return buckets, bounds


def _summarise_nested(
    times: list[int],
    values: list[int],
    targets: list[tuple[GranularityType, int, int]],
    keys: list[str],
) -> dict[GranularityType, list[tuple[int, dict, dict]]]:
    """See :func:`summarise_ranges`: integer values only, keys among ``c s m l u q d``."""
    lo_all = min(lo for _g, lo, _hi in targets)
    hi_all = max(hi for _g, _lo, hi in targets)
    first, end = bisect_left(times, lo_all), bisect_left(times, hi_all)
    if first or end < len(times):
        times, values = times[first:end], values[first:end]
    inf = math.inf
    count = len(times)
    # The raw datapoints as the finest level: one bucket each (count 1, no interval inside).
    level: tuple[list, ...] = (
        times,
        [1] * count,
        values,
        list(map(operator.mul, values, values)),
        values,
        values,
        times,
        times,
        times,
        [inf] * count,
        [-inf] * count,
        [0] * count,
    )
    computed = {}
    # Each granularity's length is a multiple of every finer one's (10 s, 1 min, 10 min, 1 h,
    # 6 h, 1 day), so a bucket is exactly the finer buckets starting inside it.
    for granularity, lo, hi in sorted(targets, key=lambda t: t[0].seconds):
        level = _coarser(level, granularity.seconds)
        start, stop = bisect_left(level[0], lo), bisect_left(level[0], hi)
        computed[granularity] = _nested_buckets(
            [column[start:stop] for column in level], keys
        )
    return computed


def _coarser(level: tuple[list, ...], size: int) -> tuple[list, ...]:
    """The buckets of ``size`` made of the finer buckets of ``level``. Per bucket, a level
    holds: start, count, sum, sum of squares, min, max, first and last timestamp, sum of
    timestamps, and min, max and sum of squares of the intervals between its datapoints
    (inf, -inf and 0 without any)."""
    sub, mul = operator.sub, operator.mul
    starts, f_n, f_s, f_q, f_l, f_u, f_a, f_z, f_t, f_il, f_iu, f_iq = level
    buckets, bounds = _bounds(starts, 0, len(starts), size)
    # The finer buckets of bucket k are [heads[k], tails[k]); lasts[k] = tails[k] - 1. (Zipped
    # anew in each comprehension: zip reuses its pair, no tuple per bucket.)
    heads, tails = bounds[:-1], bounds[1:]
    lasts = [j - 1 for j in tails]
    # gaps[k]: the interval between the last datapoint of fine bucket k and the first of fine
    # bucket k + 1; inside a coarse bucket [i, j) they are gaps[i:j - 1].
    gaps = list(map(sub, f_a[1:], f_z[:-1]))
    gap_squares = list(map(mul, gaps, gaps))
    return (
        buckets,
        [sum(f_n[i:j]) for i, j in zip(heads, tails)],
        [sum(f_s[i:j]) for i, j in zip(heads, tails)],
        [sum(f_q[i:j]) for i, j in zip(heads, tails)],
        [min(f_l[i:j]) for i, j in zip(heads, tails)],
        [max(f_u[i:j]) for i, j in zip(heads, tails)],
        list(map(f_a.__getitem__, heads)),
        list(map(f_z.__getitem__, lasts)),
        [sum(f_t[i:j]) for i, j in zip(heads, tails)],
        [
            min(min(f_il[i:j + 1]), min(gaps[i:j])) if j > i else f_il[i]
            for i, j in zip(heads, lasts)
        ],
        [
            max(max(f_iu[i:j + 1]), max(gaps[i:j])) if j > i else f_iu[i]
            for i, j in zip(heads, lasts)
        ],
        [sum(f_iq[i:j + 1]) + sum(gap_squares[i:j]) for i, j in zip(heads, lasts)],
    )  # fmt: skip


def _nested_buckets(level: list[list], keys: list[str]) -> list[tuple[int, dict, dict]]:
    """The ``(start, value, time)`` buckets of :func:`_summarise_nested` from per-bucket
    totals, with the very expressions of :func:`~datastream.downsamplers.summarise_values` and
    :func:`~datastream.downsamplers.summarise_times`."""
    sqrt = math.sqrt
    buckets, ns, ss, qs, ls, us, firsts, lasts, sums, ils, ius, iqs = level
    columns = {"c": ns, "s": ss, "q": qs, "l": ls, "u": us}
    if "m" in keys:
        columns["m"] = [s / n for s, n in zip(ss, ns)]
    if "d" in keys:
        columns["d"] = [
            sqrt(q * n - s * s) / n if n > 1 else 0 for s, q, n in zip(ss, qs, ns)
        ]
    value_rows = zip(*[columns[key] for key in keys])
    time_rows = [
        {
            "a": a, "z": z, "m": t // n,
            "i": (z - a) / (n - 1), "l": il, "u": iu, "q": iq,
            "d": sqrt(iq * (n - 1) - (z - a) * (z - a)) / (n - 1),
        }
        if n > 1
        else {"a": a, "z": z, "m": t // n, "i": None, "l": None, "u": None, "q": None, "d": None}
        for a, z, t, n, il, iu, iq in zip(firsts, lasts, sums, ns, ils, ius, iqs)
    ]  # fmt: skip
    return [
        (bucket, dict(zip(keys, row)), time)
        for bucket, row, time in zip(buckets, value_rows, time_rows)
    ]


def storable_buckets(
    buckets: list[tuple[int, dict, dict]], high_accuracy: bool
) -> list[tuple[int, dict, dict]]:
    """``[(start, storable_value(value, high_accuracy), time) ...]`` for ``buckets``; the list
    itself when no value changes (no sum beyond the int64 range)."""
    if not high_accuracy:
        for key in ("s", "q"):
            column = [v.get(key) for _b, v, _t in buckets]
            try:
                if not column or INT64_MIN <= min(column) and max(column) <= INT64_MAX:
                    continue  # NaN and None fail the test or raise: see each value below
            except TypeError:
                pass
            break
        else:
            return buckets
    return [(b, storable_value(v, high_accuracy), t) for b, v, t in buckets]


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
