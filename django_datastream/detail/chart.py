"""The chart parameters at work in a detail request (see :mod:`django_datastream.params.chart`).

The detail view calls, in this order: :func:`choose_query` (``max_points`` picks the
granularity), :func:`thinned_datapoints` (``thin``: a few actual raw datapoints instead of the
lazy ``get_data`` result), the paginator, then :func:`finish_page` (``time_format``,
``open_bucket`` and ``shape`` on the page, plus ``meta.downsampled_until``).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from datastream import Datastream, Stream, thinning
from datastream.constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from datastream.granularity import from_seconds, to_seconds
from datastream.pointbudget import TimeRange, choose_granularity

from ..conf import datastream_settings
from ..formats.columns import convert_datapoint, time_converter, to_columns
from ..live import open_buckets
from ..params.chart import ChartOptions
from ..params.parse import DEFAULT_START, DetailQuery, QueryError

__all__ = ["choose_query", "finish_page", "thinned_datapoints", "time_range"]

#: How many of a range's last datapoints are read to find its last non-null one (the end of
#: the thinning bins; past them, the last datapoint's time is used).
_LAST_NON_NULL_SCAN = 1000


def time_range(stream: Stream, query: DetailQuery) -> TimeRange | None:
    """The range of ``query`` in seconds, as given; a missing end is the stream's latest
    datapoint, a missing start its earliest. ``None`` for a stream without datapoints."""
    if stream.earliest_datapoint is None or stream.latest_datapoint is None:
        return None
    start_exclusive = query.start_exclusive is not None
    start = query.start_exclusive if start_exclusive else query.start
    if start is None or start == DEFAULT_START:
        start, start_exclusive = stream.earliest_datapoint, False
    end_exclusive = query.end_exclusive is not None
    end = query.end_exclusive if end_exclusive else query.end
    if end is None:
        end, end_exclusive = stream.latest_datapoint, False
    return TimeRange(to_seconds(start), to_seconds(end), start_exclusive, end_exclusive)


def choose_query(
    datastream: Datastream, stream: Stream, query: DetailQuery, chart: ChartOptions
) -> DetailQuery:
    """``query`` at the granularity ``max_points`` picks (the highest one with ``thin``)."""
    if chart.max_points is None:
        return query
    highest = stream.highest_granularity
    if chart.thin is not None:
        return dataclasses.replace(query, granularity=highest)
    raw_query = dataclasses.replace(query, granularity=highest, reverse=False)

    def count_raw(limit: int) -> int:
        data = datastream.get_data(stream.id, **raw_query.get_data_arguments())
        return data[: limit + 1].count()

    granularity = choose_granularity(
        chart.max_points, highest, time_range(stream, query), count_raw
    )
    return dataclasses.replace(query, granularity=granularity)


def thinned_datapoints(
    datastream: Datastream, stream: Stream, query: DetailQuery, chart: ChartOptions
) -> tuple[list[dict[str, Any]], int]:
    """At most ``max_points`` actual raw datapoints of the range chosen by ``thin``, in the
    order of ``query`` (time order, or reversed), and how many the range held.

    The range is read as ``(seconds, value)`` rows, a chunk at a time, and thinned by
    :func:`datastream.thinning.thin_rows`: memory holds one chunk and ``O(max_points)``
    candidates however long the range. A range of more than ``DATASTREAM_THIN_MAX_POINTS``
    raw datapoints (counted first, which costs about the same whatever the range) is refused
    with a :class:`QueryError` before any datapoint is read.
    """
    if stream.value_type != "numeric":
        raise QueryError(
            f"'thin' needs a numeric stream; this stream holds {stream.value_type} values."
        )
    assert chart.thin is not None and chart.max_points is not None
    data = datastream.get_data(
        stream.id, **dataclasses.replace(query, reverse=False).get_data_arguments()
    ).batch_size(thinning.CHUNK_POINTS)  # storage reads of at most a chunk, too
    maximum = datastream_settings.THIN_MAX_POINTS
    if maximum:
        total = data.count()
        if total > maximum:
            raise QueryError(
                f"'thin' reads every raw datapoint of the range, and this range holds {total:,}: "
                f"more than {maximum:,} (the DATASTREAM_THIN_MAX_POINTS setting). Ask for a "
                "shorter range, or use 'max_points' without 'thin' (downsampled datapoints)."
            )

    def last_time() -> int | None:
        """The time of the range's last non-null datapoint (within its last few)."""
        arguments = dataclasses.replace(query, reverse=True).get_data_arguments()
        last = None
        rows = datastream.get_data(stream.id, **arguments)[:_LAST_NON_NULL_SCAN]
        for seconds, value in rows.time_value_rows():
            if value is not None:
                return seconds
            last = seconds if last is None else last
        return last

    chosen, count = thinning.thin_rows(
        data.time_value_rows(), chart.max_points, chart.thin, last_time
    )
    datapoints = [{"t": from_seconds(seconds), "v": value} for seconds, value in chosen]
    if query.reverse:
        datapoints.reverse()
    return datapoints, count


def _bucket_bounds(query: DetailQuery) -> tuple[int | None, int | None]:
    """The first and last bucket start (seconds) ``query`` includes, ``None`` when open."""
    size = query.granularity.seconds
    first = last = None
    if query.start_exclusive is not None:
        first = query.granularity.round_seconds(to_seconds(query.start_exclusive)) + size
    elif query.start is not None:
        first = query.granularity.round_seconds(to_seconds(query.start))
    if query.end_exclusive is not None:
        last = query.granularity.round_seconds(to_seconds(query.end_exclusive) - 1)
    elif query.end is not None:
        last = query.granularity.round_seconds(to_seconds(query.end))
    return first, last


def _columns_keys(stream: Stream, query: DetailQuery) -> tuple[list[str], list[str]]:
    time_names = query.time_downsamplers
    if time_names is None:
        time_names = list(TIME_DOWNSAMPLERS)
    value_names = query.value_downsamplers
    stored = [VALUE_DOWNSAMPLERS[name] for name in stream.value_downsamplers]
    if value_names is None:
        value_keys = stored
    else:
        wanted = {VALUE_DOWNSAMPLERS[name] for name in value_names}
        value_keys = [key for key in stored if key in wanted]
    time_keys = [TIME_DOWNSAMPLERS[name] for name in TIME_DOWNSAMPLERS if name in time_names]
    return time_keys, value_keys


def finish_page(
    datastream: Datastream,
    stream: Stream,
    query: DetailQuery,
    chart: ChartOptions,
    objects: Any,
    meta: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """The page's datapoints as the chart parameters ask, and the response's extra top-level
    fields (``open_from`` in the ``columns`` shape). Adds ``downsampled_until`` to ``meta``.

    The page is left as it is (the lazy result, written by the storage's JSON fast path) when
    no chart parameter changes it.
    """
    raw = query.granularity >= stream.highest_granularity
    convert = time_converter(chart.time_format)
    until = None
    if not raw:
        until = (getattr(stream, "downsampled_until", None) or {}).get(query.granularity.name)
    meta["downsampled_until"] = convert(until) if isinstance(until, datetime.datetime) else until
    extra: dict[str, Any] = {}
    opened: list[dict[str, Any]] = []
    open_from = None
    last_page = meta.get("next") is None if not query.reverse else not meta.get("offset")
    if chart.open_bucket and not raw and last_page and meta.get("limit", 1) != 0:
        first, last = _bucket_bounds(query)
        buckets = open_buckets(
            datastream, stream, query.granularity, query.value_downsamplers,
            query.time_downsamplers, first, last,
        )  # fmt: skip
        opened = [datapoint | {"open": True} for _start, datapoint in buckets]
        open_from = buckets[0][0] if buckets else None
        if query.reverse:
            opened.reverse()
    if chart.shape == "columns":
        extra["open_from"] = convert(from_seconds(open_from)) if open_from is not None else None
    if chart.time_format == "iso" and chart.shape == "rows" and not opened:
        return objects, extra
    points = list(iter(objects))
    if query.reverse:
        points = opened + points
    else:
        points.extend(opened)
    points = [convert_datapoint(point, convert) for point in points]
    if chart.shape == "rows":
        return points, extra
    time_keys, value_keys = _columns_keys(stream, query)
    if query.time_downsamplers == []:
        time_keys = []
    if query.value_downsamplers == []:
        value_keys = []
    return to_columns(points, raw, time_keys, value_keys), extra
