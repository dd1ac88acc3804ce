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

:func:`thin` works on sequences held in memory. :func:`thin_rows` thins a range of any length
read as an iterable of ``(seconds, value)`` rows, holding at most ``chunk_points`` raw rows (one
chunk, :data:`CHUNK_POINTS` by default) plus ``O(max_points)`` candidates at any time:

* a range that fits in one chunk is thinned by :func:`thin`, exactly as above;
* a longer one is first reduced chunk by chunk to the smallest and largest (and for ``m4`` and
  ``lttb`` the first and last) value of equal-width time bins spanning the range, binned as
  tsdownsample bins: from the first non-null datapoint to the last one (the caller gives the
  time of the last one up front; if it gives the time of a later null datapoint, the bins end
  there instead, a negligible difference). A bin cut by a chunk boundary carries its (at most
  four) candidates into the next chunk, so the reduction is the same as over the whole range.
  Then:

  - ``m4``: the bins are M4's (``max_points // 4`` of them), and the candidates are the
    answer: M4 over every datapoint of the range, as :func:`thin` would choose;
  - ``minmaxlttb``: the candidates are MinMaxLTTB's own preselection (ratio 4: the minimum and
    the maximum of ``2 * max_points`` bins, with the first and the last datapoint), and LTTB
    runs over them, as MinMaxLTTB does over the whole range;
  - ``lttb``: an **approximation**: LTTB runs over the M4 candidates of ``4 * max_points`` bins
    instead of over every datapoint (LTTB's choice in one bucket depends on the whole next
    bucket, so it cannot be computed exactly in bounded memory). It keeps LTTB's look, the
    first and the last datapoint, and chooses actual datapoints; the points chosen may differ
    from LTTB over every datapoint of a long range.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy
import tsdownsample

from .exceptions import InvalidArgument

__all__ = ["ALGORITHMS", "CHUNK_POINTS", "MIN_POINTS", "thin", "thin_columns", "thin_rows"]

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

#: Raw rows :func:`thin_rows` reads and holds at a time (about 8 MB of Python rows).
CHUNK_POINTS = 65_536

#: Time bins of the chunked reduction, per datapoint of the budget (see the module docstring).
_BINS_PER_POINT = {"minmaxlttb": 2, "lttb": 4}

#: Value types a numpy conversion turns into the same floats as :func:`_plottable`.
_PLAIN_NUMBERS = frozenset({int, float, type(None)})

_TIME = operator.itemgetter(0)
_VALUE = operator.itemgetter(1)


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


def _plottable_array(values: Sequence[Any] | numpy.ndarray) -> numpy.ndarray:
    """``values`` as floats for choosing points (NaN where one cannot be drawn): one numpy
    conversion for an array of numbers and for plain numbers and nulls, :func:`_plottable`
    for each value otherwise."""
    if isinstance(values, numpy.ndarray) and values.dtype.kind in "fiu":
        return values.astype(numpy.float64)
    if set(map(type, values)) <= _PLAIN_NUMBERS:
        try:
            return numpy.array(values, dtype=numpy.float64)
        except OverflowError:  # an integer beyond the float range
            pass
    return numpy.fromiter(map(_plottable, values), dtype=numpy.float64, count=len(values))


def _check(max_points: int, algorithm: str) -> Any:
    """The tsdownsample class of ``algorithm``, after checking the arguments."""
    downsampler = _DOWNSAMPLERS.get(algorithm)
    if downsampler is None:
        raise InvalidArgument(
            f"Unknown thinning algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}"
        )
    if isinstance(max_points, bool) or not isinstance(max_points, int):
        raise InvalidArgument(f"max_points must be an integer, not {max_points!r}")
    if max_points < MIN_POINTS:
        raise InvalidArgument(f"Thinning needs max_points of at least {MIN_POINTS}")
    return downsampler


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
    _check(max_points, algorithm)
    if len(times) != len(values):
        raise InvalidArgument("times and values must have the same length")
    return _thin(times, values, max_points, algorithm, algorithm)


def _thin(
    times: Sequence[float], values: Sequence[Any], max_points: int, algorithm: str, run: str
) -> list[int]:
    """:func:`thin` (arguments checked) running tsdownsample's ``run`` algorithm; whether the
    extremes are kept follows ``algorithm``."""
    downsampler = _DOWNSAMPLERS[run]
    y = _plottable_array(values)
    kept = numpy.flatnonzero(~numpy.isnan(y))
    if len(kept) <= max_points:
        return kept.tolist()
    x = numpy.asarray(times, dtype=numpy.float64)[kept]
    y = y[kept]
    chosen = _choose(downsampler, run, x, y, max_points)
    if algorithm in _KEEPS_EXTREMES:
        extremes = {int(numpy.argmin(y)), int(numpy.argmax(y))}
        if not extremes <= set(chosen.tolist()):
            # Make room for the extremes the algorithm missed (it may, for LTTB's sake).
            chosen = numpy.union1d(_choose(downsampler, run, x, y, max_points - 2), list(extremes))
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


def thin_rows(
    rows: Iterable[tuple[Any, Any]],
    max_points: int,
    algorithm: str,
    last_time: Callable[[], float | None],
    chunk_points: int | None = None,
) -> tuple[list[tuple[Any, Any]], int]:
    """At most ``max_points`` of ``rows`` chosen by ``algorithm``, in time order, and how many
    rows were read.

    ``rows`` are ``(POSIX seconds, value)`` pairs in ascending time order, read lazily,
    ``chunk_points`` (default :data:`CHUNK_POINTS`) at a time: memory holds one chunk and
    ``O(max_points)`` candidates, however long the range (see the module docstring for what a
    range of more than one chunk gets). The chosen rows are returned as they came.
    ``last_time`` gives the time of the range's last row with a non-null value (or of its last
    row); it is called only when the rows fill more than one chunk. Raises
    :class:`~datastream.exceptions.InvalidArgument` as :func:`thin` does, and for a
    ``chunk_points`` below 1.
    """
    _check(max_points, algorithm)
    if chunk_points is None:
        chunk_points = CHUNK_POINTS
    if isinstance(chunk_points, bool) or not isinstance(chunk_points, int) or chunk_points < 1:
        raise InvalidArgument(f"chunk_points must be a positive integer, not {chunk_points!r}")
    iterator = iter(rows)
    chunk = list(itertools.islice(iterator, chunk_points))
    following = list(itertools.islice(iterator, 1))
    if not following:  # the whole range in one chunk: thinned exactly
        chosen = thin(list(map(_TIME, chunk)), list(map(_VALUE, chunk)), max_points, algorithm)
        return [chunk[i] for i in chosen], len(chunk)
    chunk += following
    extremes = _extremes(algorithm, max_points, last_time())
    count = 0
    while chunk:
        count += len(chunk)
        extremes.add(chunk)
        chunk = list(itertools.islice(iterator, chunk_points))
    return _choose_among(extremes.rows(), max_points, algorithm), count


def _extremes(algorithm: str, max_points: int, end: float | None) -> _BinExtremes:
    """The chunk-by-chunk reduction of ``algorithm`` (bins as the module docstring says)."""
    if algorithm == "m4":
        bins = max(1, max_points // 4)  # as thin: one bin (first, min, max, last) below 8
    else:
        bins = _BINS_PER_POINT[algorithm] * max_points
    return _BinExtremes(-numpy.inf if end is None else float(end), bins, algorithm != "minmaxlttb")


def _choose_among(
    candidates: list[tuple[Any, Any]], max_points: int, algorithm: str
) -> list[tuple[Any, Any]]:
    """The answer from the reduction's candidates: M4's are the answer; the others run LTTB
    over them (for minmaxlttb: over its own preselection)."""
    if algorithm == "m4":
        return candidates
    times = list(map(_TIME, candidates))
    chosen = _thin(times, list(map(_VALUE, candidates)), max_points, algorithm, "lttb")
    return [candidates[i] for i in chosen]


def thin_columns(
    columns: Iterable[tuple[numpy.ndarray, Any]],
    max_points: int,
    algorithm: str,
    last_time: Callable[[], float | None],
) -> tuple[list[tuple[int, Any]], int]:
    """:func:`thin_rows` for a range read as column chunks ``(seconds array, values)`` (an
    array or a list), in ascending time order: the same choice, without a Python row per
    datapoint; memory holds one chunk and ``O(max_points)`` candidates. Returns the chosen
    ``(seconds, value)`` rows and how many datapoints were read."""
    _check(max_points, algorithm)
    iterator = iter(columns)
    first = next(iterator, None)
    if first is None:
        return [], 0
    following = next(iterator, None)
    if following is None:  # the whole range in one chunk: thinned exactly
        times, values = first
        chosen = _thin(times, values, max_points, algorithm, algorithm)
        return [(int(times[i]), _item(values, i)) for i in chosen], len(times)
    extremes = _extremes(algorithm, max_points, last_time())
    count = 0
    for times, values in itertools.chain((first, following), iterator):
        count += len(times)
        extremes.add_columns(times, values)
    return _choose_among(extremes.rows(), max_points, algorithm), count


def _item(values: Any, index: int) -> Any:
    """``values[index]`` as a Python value (numpy scalars unwrapped)."""
    value = values[index]
    return value.item() if isinstance(value, numpy.generic) else value


class _BinExtremes:
    """The rows of the smallest and largest (and, with ``ends``, the first and last) non-null
    value of each of ``bins`` equal-width time bins spanning the time of the first non-null row
    to ``end``, fed chunk by chunk in time order; the first and the last non-null row always.

    Binned as tsdownsample bins: a time on an inner edge belongs to the earlier bin; times
    after ``end`` (appended meanwhile) belong to the last bin. Only the candidates of the last
    bin a chunk reached can still change (every later row is in that bin or a later one): they
    are carried into the next chunk, the others are final.
    """

    def __init__(self, end: float, bins: int, ends: bool) -> None:
        self._end, self._bins, self._ends = end, bins, ends
        self._inner_edges: numpy.ndarray | None = None
        self._final: list[tuple[Any, Any]] = []
        self._open: list[tuple[Any, Any]] = []
        self._last: tuple[Any, Any] | None = None

    def add(self, chunk: Sequence[tuple[Any, Any]]) -> None:
        """Reduce the next ``chunk`` of rows (later than every row added before)."""
        self.add_columns([row[0] for row in chunk], [row[1] for row in chunk])

    def add_columns(self, times: Sequence[Any] | numpy.ndarray, values: Any) -> None:
        """Reduce the next chunk, given as columns (later than every row added before)."""
        opened = len(self._open)
        y = _plottable_array(values)
        x = numpy.asarray(times, dtype=numpy.float64)
        if opened:
            y = numpy.concatenate([_plottable_array([r[1] for r in self._open]), y])
            x = numpy.concatenate([numpy.array([r[0] for r in self._open], numpy.float64), x])
        kept = numpy.flatnonzero(~numpy.isnan(y))
        if not len(kept):
            return  # (no open candidates either: they are non-null)

        made: dict[int, tuple[Any, Any]] = {}  # one row object per position (identity counts)

        def row(position: int) -> tuple[Any, Any]:
            if position < opened:
                return self._open[position]
            if position not in made:
                index = position - opened
                made[position] = (_item(times, index), _item(values, index))
            return made[position]

        x = x[kept]
        if self._inner_edges is None:  # the first non-null row starts the first bin
            start = float(x[0])
            self._inner_edges = numpy.linspace(start, max(start, self._end), self._bins + 1)[1:-1]
            self._final.append(row(int(kept[0])))
        bins = numpy.searchsorted(self._inner_edges, x, side="left")
        positions = _bin_extremes(bins, y[kept], self._ends)
        chosen = [row(i) for i in kept[positions].tolist()]
        split = int(numpy.searchsorted(bins[positions], bins[-1], side="left"))
        self._final.extend(chosen[:split])
        self._open = chosen[split:]
        self._last = row(int(kept[-1]))

    def rows(self) -> list[tuple[Any, Any]]:
        """Every candidate row so far, in time order (the first and last non-null included)."""
        rows = self._final + self._open
        if self._last is not None and rows[-1] is not self._last:
            rows.append(self._last)
        if len(rows) > 1 and rows[1] is rows[0]:  # the first one, chosen in its bin as well
            del rows[1]
        return rows


def _bin_extremes(bins: numpy.ndarray, y: numpy.ndarray, ends: bool) -> numpy.ndarray:
    """Sorted positions of the smallest and largest ``y`` (and, with ``ends``, the first and
    the last) of each run of equal ``bins`` (non-decreasing bin numbers); the earliest of equal
    extremes."""
    starts = numpy.flatnonzero(numpy.r_[True, bins[1:] != bins[:-1]])
    lengths = numpy.diff(numpy.r_[starts, len(y)])
    run = numpy.repeat(numpy.arange(len(starts)), lengths)
    positions = [starts, starts + lengths - 1] if ends else []
    for reduce in (numpy.minimum, numpy.maximum):
        hits = numpy.flatnonzero(y == reduce.reduceat(y, starts)[run])
        positions.append(hits[numpy.r_[True, run[hits[1:]] != run[hits[:-1]]]])
    return numpy.unique(numpy.concatenate(positions))
