"""Reading the datapoints of a detail page: the lazy ``get_data`` result of the request's
window, or with ``thin`` a few actual raw datapoints (:mod:`datastream.thinning`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from datastream import Datastream, Stream, thinning
from datastream.granularity import from_seconds

from ..conf import datastream_settings
from ..params.parse import ChartOptions, DetailQuery, QueryError
from .cursors import Window
from .request import DetailRequest

__all__ = ["read", "thinned_datapoints"]

#: How many of a range's last datapoints are read to find its last non-null one (the end of
#: the thinning bins; past them, the last datapoint's time is used).
_LAST_NON_NULL_SCAN = 1000


def thinned_datapoints(
    datastream: Datastream, stream: Stream, query: DetailQuery, chart: ChartOptions
) -> tuple[list[dict[str, Any]], int]:
    """At most ``max_points`` actual raw datapoints of the range chosen by ``thin``, in the
    order of ``query`` (time order, or reversed), and how many the range held.

    The range is read from the stored chunks as column batches, a batch at a time, and thinned
    by :func:`datastream.thinning.thin_columns`: memory holds one batch and ``O(max_points)``
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

    chosen, count = thinning.thin_columns(
        data.column_batches(thinning.CHUNK_POINTS), chart.max_points, chart.thin, last_time
    )
    datapoints = [{"t": from_seconds(seconds), "v": value} for seconds, value in chosen]
    if query.reverse:
        datapoints.reverse()
    return datapoints, count


def read(detail: DetailRequest, window: Window) -> tuple[Any, int | None]:
    """The datapoints of the page: the lazy ``get_data`` result of ``window`` and ``None``;
    with ``thin``, the thinned datapoints and how many raw ones they stand for."""
    if detail.chart.thin is None:
        return detail.datastream.get_data(detail.stream.id, **window.arguments), None
    if window.position is not None:
        raise QueryError("'thin' answers one page of thinned datapoints: no cursor.")
    return thinned_datapoints(detail.datastream, detail.stream, detail.query, detail.chart)
