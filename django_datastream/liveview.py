"""The live endpoint's request side: its parameters and its streaming response.

``GET /api/v1/stream/<id>/live/`` answers ``text/event-stream``. It takes the detail
endpoint's ``granularity``, ``value_downsamplers``, ``time_downsamplers``, ``time_format``,
``open_bucket`` and ``start``/``start_exclusive`` (where to begin: without them, and without a
``Last-Event-ID`` header, only what arrives after the connection opened is sent). Parameters
that shape a page (``end``, ``end_exclusive``, ``reverse``, ``limit``, ``offset``,
``max_points``, ``thin``, ``shape``) make no sense for an endless stream of single datapoints
and answer 400. See :mod:`django_datastream.live` for the events themselves.
"""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from datastream import Datastream, Stream
from datastream.granularity import to_seconds

from .chartquery import ChartOptions
from .conf import datastream_settings, get_datastream
from .live import AFTER_ALL, Cursor, LiveSpec, hub, parse_event_id
from .query import ALIASES, DEFAULT_START, DetailQuery, QueryError, quote

__all__ = ["NOT_LIVE", "live_response", "live_spec", "start_cursor"]

#: Parameters of the detail endpoint the live endpoint refuses.
NOT_LIVE = ("end", "end_exclusive", "reverse", "limit", "offset", "max_points", "thin", "shape")


def check_live_parameters(params: Any) -> None:
    """Raise :class:`QueryError` for a parameter the live endpoint does not take."""
    for name in NOT_LIVE:
        for key in (name, ALIASES.get(name)):
            if key and key in params:
                raise QueryError(
                    f"The live endpoint does not take {quote(key)}: it sends every new "
                    "datapoint as it arrives. Use the detail endpoint for pages of data."
                )


def live_spec(stream: Stream, query: DetailQuery, chart: ChartOptions) -> LiveSpec:
    """What a connection follows, from the parsed detail parameters."""
    raw = query.granularity >= stream.highest_granularity
    return LiveSpec(
        stream_id=stream.id,
        granularity=stream.highest_granularity if raw else query.granularity,
        raw=raw,
        value_downsamplers=None if raw or query.value_downsamplers is None
        else tuple(query.value_downsamplers),
        time_downsamplers=None if raw or query.time_downsamplers is None
        else tuple(query.time_downsamplers),
        time_format=chart.time_format,
        open_bucket=chart.open_bucket and not raw,
    )  # fmt: skip


def start_cursor(request: HttpRequest, spec: LiveSpec, query: DetailQuery) -> Cursor | None:
    """Where the connection resumes: ``Last-Event-ID`` (header, or ``last_event_id``
    parameter), else ``start``/``start_exclusive``; ``None`` for "from now on"."""
    text = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    if text:
        cursor = parse_event_id(text)
        if cursor is None:
            raise QueryError(
                f"Invalid Last-Event-ID: {quote(text)}. Use the id of an event of this "
                "endpoint, such as '1700000000-0'."
            )
        return cursor
    size = spec.granularity.seconds
    if query.start_exclusive is not None:
        seconds = to_seconds(query.start_exclusive)
        return (seconds, AFTER_ALL) if spec.raw else (spec.granularity.round_seconds(seconds), 0)
    if query.start is not None and query.start != DEFAULT_START:
        seconds = to_seconds(query.start)
        if spec.raw:
            return seconds - 1, AFTER_ALL
        return spec.granularity.round_seconds(seconds) - size, 0
    return None


def live_response(
    request: HttpRequest,
    datastream: Datastream,
    stream: Stream,
    query: DetailQuery,
    chart: ChartOptions,
) -> StreamingHttpResponse:
    """The ``text/event-stream`` response of one live connection: a blocking iterator under
    WSGI, an async iterator under ASGI (no thread per connection)."""
    check_live_parameters(request.GET)
    spec = live_spec(stream, query, chart)
    cursor = start_cursor(request, spec, query)
    poller = hub(
        float(datastream_settings.LIVE_POLL_INTERVAL), float(datastream_settings.LIVE_KEEPALIVE)
    )
    from_head = cursor is None
    if isinstance(request, ASGIRequest):
        content: Any = poller.aevents(datastream, spec, cursor, from_head, get_datastream)
    else:
        content = poller.events(datastream, spec, cursor, from_head, get_datastream)
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events on at once
    return response
