"""Value and time downsamplers: one bucket's datapoints in, one summary datapoint out.

Every downsampled bucket holds the statistics of the raw datapoints that fall into it, at every
granularity, so a day's ``median`` is the median of that day's raw values, not a median of
medians. (For integer values, whose sums, minimums and maximums do not depend on grouping,
:func:`datastream.engine.buckets.summarise_ranges` builds coarser buckets from finer ones with
identical results.) The functions here work on whole lists (one C-level pass per statistic)
rather than one Python call per datapoint, which is what makes downsampling fast.

Formulas (``n`` = number of non-null values in the bucket):

* ``count`` (``c``): ``n``; a pre-aggregated value adds its own ``c``.
* ``sum`` (``s``), ``min`` (``l``), ``max`` (``u``), ``sum_squares`` (``q``): of the non-null
  values; ``None`` when ``n == 0``. Pre-aggregated values add their ``s``/``q`` and take part
  in min/max with their ``l``/``u``.
* ``mean`` (``m``): ``s / n`` (a float; a ``Decimal`` for high-accuracy streams).
* ``std_dev`` (``d``): the *population* standard deviation; ``0`` for one value, ``None`` for
  none. Computed in two passes from the raw values (no cancellation); from ``s``, ``q`` and
  ``n`` only when pre-aggregated values take part.
* ``median`` (``n``): the middle value; the mean of the two middle values for an even ``n``.
* ``frequencies`` (``f``): ``{key: occurrences}``; the key is the value itself for strings and
  its JSON text for anything else (``1``, ``2.5``, ``{"a":1}``).
* ``most_often`` (``o``) / ``least_often`` (``r``): the value seen most / least often; on a tie,
  the one seen first in the bucket.
* Pre-aggregated values (numeric streams only) take part in ``median``, ``most_often`` and
  ``least_often`` as ``c`` copies of their own ``n``/``o``/``r``, and in ``frequencies`` with
  their ``f`` merged in; exact for raw values, an approximation for pre-aggregated ones.

Time downsamplers, over the timestamps of the bucket's datapoints (null values included,
except for ``mean``):

* ``first`` (``a``) / ``last`` (``z``): the first / last timestamp.
* ``mean`` (``m``): mean of the timestamps of the non-null datapoints, floored to the second.
* ``intervals_mean`` (``i``), ``intervals_min`` (``l``), ``intervals_max`` (``u``),
  ``intervals_sum_squares`` (``q``), ``intervals_std_dev`` (``d``): statistics, in seconds, of
  the intervals between consecutive datapoints inside the bucket (population std dev). With
  fewer than two datapoints there is no interval and they are all ``None``.

An empty bucket, or one holding only null values, has ``c = 0`` and ``None`` for every other
value key; an empty bucket's ``a``, ``z`` and ``m`` are the middle of the bucket.
"""

from __future__ import annotations

import decimal
import json
import math
import operator
import statistics
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson

from .constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from .exceptions import InvalidValueWarning, UnsupportedDownsampler

__all__ = [
    "DECIMAL_CONTEXT",
    "SUPPORTED_TYPES",
    "TIME_KEYS",
    "empty_time",
    "empty_value",
    "expand_value_downsamplers",
    "requested_keys",
    "summarise_times",
    "summarise_values",
]

#: Arithmetic context of high-accuracy streams.
DECIMAL_CONTEXT = decimal.Context(prec=64)

#: Which value types each value downsampler supports.
SUPPORTED_TYPES: dict[str, frozenset[str]] = {
    "count": frozenset({"numeric", "nominal", "graph"}),
    "mean": frozenset({"numeric"}),
    "sum": frozenset({"numeric"}),
    "min": frozenset({"numeric"}),
    "max": frozenset({"numeric"}),
    "sum_squares": frozenset({"numeric"}),
    "std_dev": frozenset({"numeric"}),
    "median": frozenset({"numeric"}),
    "most_often": frozenset({"numeric", "nominal"}),
    "least_often": frozenset({"numeric", "nominal"}),
    "frequencies": frozenset({"numeric", "nominal"}),
}

_DEPENDENCIES = {"mean": ("sum", "count"), "std_dev": ("sum", "count", "sum_squares")}

#: Keys of the time downsamplers, in a fixed order.
TIME_KEYS: tuple[str, ...] = tuple(TIME_DOWNSAMPLERS.values())


def expand_value_downsamplers(names: Sequence[str], value_type: str) -> list[str]:
    """The downsamplers a stream stores: ``names`` plus ``count`` and every dependency.

    Raises :class:`UnsupportedDownsampler` for a downsampler that does not support
    ``value_type``. An empty list stays empty.
    """
    if not names:
        return []
    expanded = set(names) | {"count"}
    for name in list(expanded):
        expanded.update(_DEPENDENCIES.get(name, ()))
    for name in sorted(expanded):
        if value_type not in SUPPORTED_TYPES[name]:
            raise UnsupportedDownsampler(
                f"Downsampler '{name}' does not support type '{value_type}'"
            )
    return [name for name in VALUE_DOWNSAMPLERS if name in expanded]


def requested_keys(
    stored: Sequence[str],
    value_downsamplers: Sequence[str] | None,
    time_downsamplers: Sequence[str] | None,
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The value and time keys of a read of downsampled datapoints: those of the requested
    downsamplers (``None``: all) that a stream storing the value downsamplers ``stored``
    (expanded names) has, in the stored order (value keys) and in the order of
    :data:`TIME_KEYS` (time keys); ``None`` for a part not asked for at all (an empty list of
    names: the datapoints have no such part)."""
    stored_keys = tuple(VALUE_DOWNSAMPLERS[name] for name in stored)
    return (
        _requested(value_downsamplers, VALUE_DOWNSAMPLERS, stored_keys),
        _requested(time_downsamplers, TIME_DOWNSAMPLERS, TIME_KEYS),
    )


def _requested(
    names: Sequence[str] | None, known: dict[str, str], keys: tuple[str, ...]
) -> tuple[str, ...] | None:
    """The ``keys`` of the downsamplers ``names`` (``None``: all of them; empty: ``None``)."""
    if names is None:
        return keys
    if not names:
        return None
    wanted = {known[name] for name in names}
    return tuple(key for key in keys if key in wanted)


def frequency_key(value: Any) -> str:
    """The key of ``value`` in a ``frequencies`` dictionary."""
    if isinstance(value, str):
        return value
    if isinstance(value, decimal.Decimal):
        # High-accuracy numbers: the exact decimal text, as the JSON of the number would read.
        return format(value.normalize(), "f") if value != 0 else "0"
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, sort_keys=True, separators=(",", ":"))


def empty_value(keys: Sequence[str]) -> dict[str, Any]:
    """The value of a bucket without non-null values."""
    return {key: (0 if key == "c" else None) for key in keys}


def empty_time(bucket_start: int, duration: int) -> dict[str, Any]:
    """The time summary of an empty bucket: first, last and mean are the bucket's middle."""
    middle = bucket_start + duration // 2
    summary: dict[str, Any] = dict.fromkeys(TIME_KEYS)
    summary["a"] = summary["z"] = summary["m"] = middle
    return summary


def summarise_times(
    times: Sequence[int], non_null_times: Sequence[int], bucket_start: int, duration: int
) -> dict[str, Any]:
    """Time summary of one bucket; ``times`` are sorted POSIX seconds of all its datapoints."""
    if not times:
        return empty_time(bucket_start, duration)
    summary: dict[str, Any] = {"a": times[0], "z": times[-1]}
    if non_null_times:
        summary["m"] = sum(non_null_times) // len(non_null_times)
    else:
        summary["m"] = bucket_start + duration // 2
    if len(times) < 2:
        summary.update(i=None, l=None, u=None, q=None, d=None)
        return summary
    intervals = list(map(operator.sub, times[1:], times[:-1]))
    count = len(intervals)
    total = sum(intervals)
    mean = total / count
    summary["i"] = mean
    summary["l"] = min(intervals)
    summary["u"] = max(intervals)
    squares = sum(map(operator.mul, intervals, intervals))
    summary["q"] = squares
    # Integer intervals: the population variance is exact in integer arithmetic.
    summary["d"] = math.sqrt(squares * count - total * total) / count
    return summary


def _std_dev_from_sums(s: Any, n: int, q: Any, high_accuracy: bool) -> Any:
    if n == 0 or s is None or q is None:
        return None
    if n == 1:
        return 0
    if high_accuracy:
        with decimal.localcontext(DECIMAL_CONTEXT):
            mean_square = decimal.Decimal(q) / n
            variance = mean_square - (decimal.Decimal(s) / n) ** 2
            if abs(variance) <= abs(mean_square) * decimal.Decimal("1e-50"):
                return decimal.Decimal(0)
            if variance < 0:
                warnings.warn(
                    f"Negative variance {variance} in std_dev, reported as 0",
                    InvalidValueWarning,
                    stacklevel=3,
                )
                return decimal.Decimal(0)
            return variance.sqrt()
    mean_square = q / n
    variance = mean_square - (s / n) ** 2
    if abs(variance) <= abs(mean_square) * 1e-12:
        return 0.0
    if variance < 0:
        warnings.warn(
            f"Negative variance {variance} in std_dev, reported as 0",
            InvalidValueWarning,
            stacklevel=3,
        )
        return 0.0
    return math.sqrt(variance)


def _mean(s: Any, n: int, high_accuracy: bool) -> Any:
    if n == 0 or s is None:
        return None
    if high_accuracy:
        with decimal.localcontext(DECIMAL_CONTEXT):
            return decimal.Decimal(s) / n
    return s / n


def _add(values: list[Any], high_accuracy: bool) -> Any:
    if high_accuracy:
        with decimal.localcontext(DECIMAL_CONTEXT):
            return sum(values, decimal.Decimal(0)) if values else None
    if not values:
        return None
    total = sum(values)
    if type(total) is not float:
        return total
    # Floats are re-added with fsum (correctly rounded) so means and deviations stay exact.
    try:
        return math.fsum(values)
    except OverflowError:  # the exact sum is beyond the float range: report it as infinite
        return total


def _squares(values: list[Any], high_accuracy: bool) -> list[Any]:
    if high_accuracy:
        # In the decimal context: a float (or a 28-digit default-context) product would round
        # and leave sums of squares inconsistent with the exact sums.
        with decimal.localcontext(DECIMAL_CONTEXT):
            return [x * x for x in map(decimal.Decimal, values)]
    return list(map(operator.mul, values, values))


def _ranked(counter: Counter, originals: dict[str, Any], least: bool) -> Any:
    if not counter:
        return None
    best_key, best_count = None, None
    for key, count in counter.items():  # insertion order: first seen wins a tie
        if best_count is None or (count < best_count if least else count > best_count):
            best_key, best_count = key, count
    return originals[best_key]


def summarise_values(
    values: Sequence[Any],
    keys: Sequence[str],
    value_type: str,
    high_accuracy: bool = False,
    may_be_aggregated: bool = True,
) -> dict[str, Any]:
    """Value summary of one bucket for the downsampler ``keys`` a stream stores.

    ``values`` are the bucket's datapoint values in time order; ``None`` values are skipped.
    For numeric streams a value may be a pre-aggregated dictionary (see the module docs);
    ``may_be_aggregated=False`` promises there is none, which saves a pass.
    """
    plain = [v for v in values if v is not None] if None in values else list(values)
    if value_type == "numeric":
        aggregated = [v for v in plain if type(v) is dict] if may_be_aggregated else []
        if aggregated:
            plain = [v for v in plain if type(v) is not dict]
        return _summarise_numeric(plain, aggregated, keys, high_accuracy)
    summary: dict[str, Any] = {}
    n = len(plain)
    if "c" in keys:
        summary["c"] = n
    if {"o", "r", "f"} & set(keys):
        originals: dict[str, Any] = {}
        counter: Counter = Counter()
        for value in plain:
            key = frequency_key(value)
            counter[key] += 1
            originals.setdefault(key, value)
        _ranked_keys(summary, keys, counter, originals, n)
    return summary


def _ranked_keys(
    summary: dict[str, Any], keys: Sequence[str], counter: Counter, originals: dict, n: int
) -> None:
    if "o" in keys:
        summary["o"] = _ranked(counter, originals, least=False) if n else None
    if "r" in keys:
        summary["r"] = _ranked(counter, originals, least=True) if n else None
    if "f" in keys:
        summary["f"] = dict(counter) if n else None


def _summarise_numeric(
    plain: list[Any], aggregated: list[dict], keys: Sequence[str], high_accuracy: bool
) -> dict[str, Any]:
    n = len(plain)
    wanted = set(keys)
    s = q = lower = upper = None
    if wanted & {"s", "m", "d"}:
        s = _add(plain, high_accuracy)
    if wanted & {"q", "d"}:
        q = _add(_squares(plain, high_accuracy), high_accuracy)
    if "l" in wanted and plain:
        lower = min(plain)
    if "u" in wanted and plain:
        upper = max(plain)
    for item in aggregated:
        n += item.get("c") or 0
        if item.get("s") is not None:
            s = item["s"] if s is None else s + item["s"]
        if item.get("q") is not None:
            q = item["q"] if q is None else q + item["q"]
        if item.get("l") is not None:
            lower = item["l"] if lower is None else min(lower, item["l"])
        if item.get("u") is not None:
            upper = item["u"] if upper is None else max(upper, item["u"])
    summary: dict[str, Any] = {}
    for key in keys:
        if key == "c":
            summary["c"] = n
        elif key == "s":
            summary["s"] = s if n else None
        elif key == "q":
            summary["q"] = q if n else None
        elif key == "l":
            summary["l"] = lower if n else None
        elif key == "u":
            summary["u"] = upper if n else None
        elif key == "m":
            if type(s) is float and math.isinf(s) and plain and not aggregated:
                # The sum overflowed; the mean of the values itself is finite.
                summary["m"] = math.fsum([x / n for x in plain])
            else:
                summary["m"] = _mean(s, n, high_accuracy)
        elif key == "d":
            if aggregated or high_accuracy or n < 2:
                summary["d"] = _std_dev_from_sums(s, n, q, high_accuracy)
            elif type(s) is int and type(q) is int:
                # Integers: the population variance is exact in integer arithmetic.
                summary["d"] = math.sqrt(q * n - s * s) / n
            else:
                summary["d"] = _two_pass_std_dev(plain, n)
        elif key == "n":
            summary["n"] = _median(plain, aggregated, high_accuracy) if n else None
    if wanted & {"o", "r", "f"}:
        originals: dict[str, Any] = {}
        counter: Counter = Counter()
        for value in plain:
            key = frequency_key(value)
            counter[key] += 1
            originals.setdefault(key, value)
        for item in aggregated:
            for representative in ("o", "r"):
                value = item.get(representative)
                if value is not None and item.get("c"):
                    key = frequency_key(value)
                    counter[key] += item["c"]
                    originals.setdefault(key, value)
            for key, count in (item.get("f") or {}).items():
                counter[key] += count
                originals.setdefault(key, key)
        _ranked_keys(summary, keys, counter, originals, n)
    return summary


def _two_pass_std_dev(values: list[float], n: int) -> float:
    """Population standard deviation of floats, scaled so that huge values cannot overflow."""
    scale = max(abs(min(values)), abs(max(values))) or 1.0
    scaled = [x / scale for x in values]
    mean = math.fsum(scaled) / n
    return scale * math.sqrt(math.fsum([(x - mean) ** 2 for x in scaled]) / n)


def _median(plain: list[Any], aggregated: list[dict], high_accuracy: bool) -> Any:
    values = list(plain)
    for item in aggregated:
        if item.get("n") is not None and item.get("c"):
            values.extend([item["n"]] * item["c"])
    if not values:
        return None
    if high_accuracy:
        values.sort()
        middle = len(values) // 2
        if len(values) % 2:
            return values[middle]
        with decimal.localcontext(DECIMAL_CONTEXT):
            return (decimal.Decimal(values[middle - 1]) + decimal.Decimal(values[middle])) / 2
    return statistics.median(values)
