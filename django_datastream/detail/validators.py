"""The cache validators of a detail answer (its ``ETag`` and ``Cache-Control``), decided
before any datapoint is read: a client whose copy is current gets its 304 at once (see
:mod:`django_datastream.http.caching` for the rules)."""

from __future__ import annotations

from django.http import HttpResponse

from ..conf import datastream_settings
from ..http.caching import cache_control, closed_range, make_etag, not_modified, remember
from ..params.table import QUERY_NAMES
from .request import DetailRequest

__all__ = ["check_validators"]

#: Parameters the ETag takes from the parsed query (the others go in as they are given).
_PARSED = frozenset({*QUERY_NAMES, "format"})


def check_validators(detail: DetailRequest) -> HttpResponse | None:
    """Remember the tag and ``Cache-Control`` of the answer to ``detail``; the 304 (or 412)
    answer if the request's conditions say the client's copy is current."""
    stream, query, params = detail.stream, detail.query, detail.params
    state = {key: value for key, value in vars(stream).items() if key != "datapoints"}
    etag = make_etag(
        "detail",
        state,
        detail.datastream.get_data_version(stream.id),
        query.echo(),
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
    remember(detail.request, etag, control)
    return not_modified(detail.request, etag, control)
