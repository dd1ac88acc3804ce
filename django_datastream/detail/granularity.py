"""Choosing the granularity of a detail request: the one asked for, or the one ``max_points``
picks for the range (:func:`datastream.pointbudget.choose_granularity`, given a raw-count
callable the storage answers); with ``thin``, the stream's highest (raw datapoints).
"""

from __future__ import annotations

import dataclasses

from datastream import Datastream, Stream
from datastream.granularity import to_seconds
from datastream.pointbudget import TimeRange, choose_granularity

from ..params.parse import DEFAULT_START, ChartOptions, DetailQuery, query_forms
from .request import DetailRequest

__all__ = ["choose", "choose_query", "time_range"]


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


def choose(detail: DetailRequest) -> DetailRequest:
    """``detail`` with the granularity its query is read at."""
    query = choose_query(detail.datastream, detail.stream, detail.query, detail.chart)
    if query is detail.query:
        return detail
    arguments, echo = query_forms(query)
    return dataclasses.replace(detail, query=query, arguments=arguments, echo=echo)
