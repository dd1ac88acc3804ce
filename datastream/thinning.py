"""Thinning raw datapoints to a point budget for charts, on top of ``tsdownsample``.

:func:`thin` picks at most ``max_points`` of a stream's raw datapoints, chosen so that a line
chart drawn from them looks like one drawn from all of them. It returns *indices*: the chosen
datapoints are actual stored datapoints, never averages, in time order.

Algorithms (the names of the HTTP API's ``thin`` parameter):

* ``m4``: per time bin, the first, last, smallest and largest value (Jugel et al., 2014).
  Exact for a line chart with one bin per pixel column; keeps the range's min and max.
* ``lttb``: Largest-Triangle-Three-Buckets (Steinarsson, 2013): visually representative, but
  may drop an extreme value.
* ``minmaxlttb``: LTTB over min/max preselected points (Van Der Donckt et al., 2023): as
  good as LTTB, much faster on long series; the range's min and max are always kept here.

Only non-null numeric values are chosen from: null datapoints are skipped, a pre-aggregated
value counts as its mean (``m``), ``Decimal`` values as floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy
import tsdownsample

from .exceptions import InvalidArgument

__all__ = ["ALGORITHMS", "MIN_POINTS", "thin"]

_DOWNSAMPLERS = {
    "m4": tsdownsample.M4Downsampler,
    "lttb": tsdownsample.LTTBDownsampler,
    "minmaxlttb": tsdownsample.MinMaxLTTBDownsampler,
}

#: The thinning algorithms, by the name the API uses.
ALGORITHMS: tuple[str, ...] = tuple(_DOWNSAMPLERS)

#: The smallest point budget a thinning algorithm accepts (first, min, max and last).
MIN_POINTS = 4

#: Algorithms that keep the smallest and the largest value of the range.
_KEEPS_EXTREMES = frozenset({"m4", "minmaxlttb"})


def _plottable(value: Any) -> float:
    """``value`` as a float for choosing points; NaN when it cannot be drawn."""
    if isinstance(value, dict):
        value = value.get("m")
    if value is None or isinstance(value, bool):
        return numpy.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return numpy.nan


def thin(
    times: Sequence[float], values: Sequence[Any], max_points: int, algorithm: str
) -> list[int]:
    """Indices of at most ``max_points`` datapoints chosen by ``algorithm``, ascending.

    ``times`` are ascending POSIX seconds (any number type) and ``values`` the datapoint
    values, of the same length. When there are no more non-null values than ``max_points``,
    every non-null datapoint is returned. Raises
    :class:`~datastream.exceptions.InvalidArgument` for an unknown algorithm, a budget below
    :data:`MIN_POINTS` or sequences of different lengths.
    """
    downsampler = _DOWNSAMPLERS.get(algorithm)
    if downsampler is None:
        raise InvalidArgument(
            f"Unknown thinning algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}"
        )
    if isinstance(max_points, bool) or not isinstance(max_points, int):
        raise InvalidArgument(f"max_points must be an integer, not {max_points!r}")
    if max_points < MIN_POINTS:
        raise InvalidArgument(f"Thinning needs max_points of at least {MIN_POINTS}")
    if len(times) != len(values):
        raise InvalidArgument("times and values must have the same length")
    y = numpy.fromiter(map(_plottable, values), dtype=numpy.float64, count=len(values))
    kept = numpy.flatnonzero(~numpy.isnan(y))
    if len(kept) <= max_points:
        return kept.tolist()
    x = numpy.asarray(times, dtype=numpy.float64)[kept]
    y = y[kept]
    chosen = _choose(downsampler, algorithm, x, y, max_points)
    if algorithm in _KEEPS_EXTREMES:
        extremes = {int(numpy.argmin(y)), int(numpy.argmax(y))}
        if not extremes <= set(chosen.tolist()):
            # Make room for the extremes the algorithm missed (it may, for LTTB's sake).
            chosen = numpy.union1d(
                _choose(downsampler, algorithm, x, y, max_points - 2), list(extremes)
            )
    return kept[chosen].tolist()


def _choose(
    downsampler: Any, algorithm: str, x: numpy.ndarray, y: numpy.ndarray, n_out: int
) -> numpy.ndarray:
    """Sorted unique positions chosen by the library, within its own constraints."""
    if algorithm == "m4":
        # M4 wants a multiple of 4 and at least two bins; one bin is first/min/max/last.
        n_out -= n_out % 4
        if n_out < 8:
            positions = [0, int(numpy.argmin(y)), int(numpy.argmax(y)), len(y) - 1]
            return numpy.unique(numpy.asarray(positions, dtype=numpy.int64))
    elif n_out < 3:  # LTTB's minimum: first and last plus one
        return numpy.unique(numpy.asarray([int(numpy.argmin(y)), int(numpy.argmax(y))]))
    chosen = downsampler().downsample(x, y, n_out=n_out)
    # M4 may pick one point for two roles (e.g. first and min of a bin).
    return numpy.unique(chosen.astype(numpy.int64))
