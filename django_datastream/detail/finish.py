"""Finishing a detail page as the chart parameters ask: times (``time_format``), the open
bucket (``open_bucket``, read with ``Datastream.get_open_buckets``) and the ``columns``
shape, plus ``meta.downsampled_until``.
"""

from __future__ import annotations

import datetime
from typing import Any

from datastream import Datastream, Stream
from datastream.downsamplers import requested_keys

from ..formats.columns import convert_datapoint, time_converter, to_columns
from ..params.parse import ChartOptions, DetailQuery

__all__ = ["finish_page"]


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
    open_from: datetime.datetime | None = None
    last_page = meta.get("next") is None if not query.reverse else not meta.get("offset")
    if chart.open_bucket and not raw and last_page and meta.get("limit", 1) != 0:
        # The query's own range and order: the engine selects buckets as get_data does.
        buckets = datastream.get_open_buckets(stream.id, **query.get_data_arguments())
        opened = [datapoint | {"open": True} for _start, datapoint in buckets]
        if buckets:  # the oldest open bucket: the last one when newest first
            open_from = buckets[-1 if query.reverse else 0][0]
    if chart.shape == "columns":
        extra["open_from"] = convert(open_from) if open_from is not None else None
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
    value_keys, time_keys = requested_keys(
        stream.value_downsamplers, query.value_downsamplers, query.time_downsamplers
    )
    return to_columns(points, raw, time_keys or [], value_keys or []), extra
