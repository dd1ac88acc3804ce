"""The cache validators of a detail answer (its ``ETag`` and ``Cache-Control``), decided
before any datapoint is read: a client whose copy is current gets its 304 at once (see
:mod:`django_datastream.http.caching` for the rules)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse

from datastream.granularity import to_seconds

from ..conf import datastream_settings
from ..http.caching import NO_CACHE, conditional
from ..params.table import QUERY_NAMES
from .request import DetailRequest

__all__ = ["cache_control", "check_validators", "closed_range"]

#: Parameters the ETag takes from the parsed query (the others go in as they are given).
_PARSED = frozenset({*QUERY_NAMES, "format"})


def closed_range(
    granularity: Any,
    highest: Any,
    end: datetime.datetime | None,
    end_exclusive: datetime.datetime | None,
    downsampled_until: Mapping[str, datetime.datetime | None] | None,
) -> bool:
    """True if a query at ``granularity`` with this end reads only closed buckets: a
    downsampled granularity whose last requested bucket ends at or before the stream's
    ``downsampled_until`` for it. Raw data and open-ended ranges are never closed."""
    if granularity >= highest or (end is None and end_exclusive is None):
        return False
    until = (downsampled_until or {}).get(granularity.name)
    if until is None:
        return False
    size = granularity.seconds
    if end is not None:
        last_start = granularity.round_seconds(to_seconds(end))
    else:
        assert end_exclusive is not None
        last_start = granularity.round_seconds(to_seconds(end_exclusive) - 1)
    return last_start + size <= to_seconds(until)


def cache_control(closed: bool, max_age: int) -> str:
    """The ``Cache-Control`` value of an answer (``closed``: see :func:`closed_range`)."""
    if closed and max_age > 0:
        return f"public, max-age={int(max_age)}"
    return NO_CACHE


def check_validators(detail: DetailRequest) -> HttpResponse | None:
    """Remember the tag and ``Cache-Control`` of the answer to ``detail``; the 304 (or 412)
    answer if the request's conditions say the client's copy is current."""
    stream, query, params = detail.stream, detail.query, detail.params
    state = {key: value for key, value in vars(stream).items() if key != "datapoints"}
    parts = (
        "detail",
        state,
        detail.datastream.get_data_version(stream.id),
        detail.echo,
        sorted((key, params.getlist(key)) for key in params if key not in _PARSED),
        detail.content_type,
        detail.serializer.datetime_formatting,
    )
    closed = closed_range(
        query.granularity,
        stream.highest_granularity,
        query.end,
        query.end_exclusive,
        getattr(stream, "downsampled_until", None),
    )
    control = cache_control(closed, datastream_settings.CLOSED_MAX_AGE)
    return conditional(detail.request, parts, control)
