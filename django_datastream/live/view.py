"""The live endpoint's request side: its parameters and its streaming response.

``GET /api/v1/stream/<id>/live/`` answers ``text/event-stream``. It takes the detail
endpoint's ``granularity``, ``value_downsamplers``, ``time_downsamplers``, ``time_format``,
``open_bucket`` and ``start``/``start_exclusive`` (where to begin: without them, and without a
``Last-Event-ID`` header or ``last_event_id`` parameter, only what arrives after the connection
opened is sent). Parameters that shape a page (``end``, ``end_exclusive``, ``reverse``,
``limit``, ``offset``, ``max_points``, ``thin``, ``shape``) make no sense for an endless stream
of single datapoints and answer 400, and so does an event id that is not one or lies outside
the supported time range. The connection is registered before the response is returned, so
that its errors are HTTP errors; while it lasts, :func:`access_check` repeats the resource's
authentication and authorization. See :mod:`django_datastream.live` for the events themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from tastypie.authentication import Authentication
from tastypie.authorization import Authorization, ReadOnlyAuthorization

from datastream import Datastream, Stream
from datastream.granularity import to_seconds
from datastream.limits import MAX_DATAPOINT_SECONDS, MIN_DATAPOINT_SECONDS

from .. import conf
from ..authorization import StreamAuthorization
from ..conf import datastream_settings
from ..errors import quote
from ..http.responses import respond
from ..params.parse import ALIASES, ChartOptions, DetailQuery, QueryError
from ..params.table import NOT_LIVE
from .hub import AFTER_ALL, Cursor, LiveSpec, Refusal, event_id_in_range, hub, parse_event_id

__all__ = ["NOT_LIVE", "access_check", "live_response", "live_spec", "start_cursor"]

#: Authorizations that let every authenticated request read every stream: with tastypie's
#: ``Authentication`` (everyone is authenticated) a live connection needs no second check.
_OPEN_AUTHORIZATIONS = (Authorization, ReadOnlyAuthorization, StreamAuthorization)


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


def start_cursor(
    request: HttpRequest, spec: LiveSpec, query: DetailQuery
) -> tuple[Cursor | None, bool]:
    """Where the connection starts: ``(cursor, from_head)``. ``Last-Event-ID`` (header, or
    ``last_event_id`` parameter) resumes after that event; else ``start``/``start_exclusive``
    replay from there (``cursor`` ``None``: from the stream's first event); else
    ``from_head``: only what arrives from now on. Raises :class:`QueryError` for an event id
    that is not one, or whose time lies outside the supported range."""
    text = request.headers.get("Last-Event-ID")
    where = ""
    if not text:
        text = request.GET.get("last_event_id")
        where = " in parameter 'last_event_id'"
    if text:
        cursor = parse_event_id(text)
        if cursor is None:
            raise QueryError(
                f"Invalid Last-Event-ID: {quote(text)}{where}. Use the id of an event of this "
                "endpoint, such as '1700000000-0'."
            )
        if not event_id_in_range(cursor):
            raise QueryError(
                f"Invalid Last-Event-ID: {quote(text)}{where}: its time is outside the "
                "supported range, 0001-01-02T00:00:00Z to 9999-12-30T23:59:59Z "
                f"({MIN_DATAPOINT_SECONDS} to {MAX_DATAPOINT_SECONDS} seconds)."
            )
        return cursor, False
    params = request.GET
    granularity = spec.granularity
    if query.start_exclusive is not None:
        seconds = to_seconds(query.start_exclusive)
        if seconds < MIN_DATAPOINT_SECONDS:
            return None, False
        seconds = min(seconds, MAX_DATAPOINT_SECONDS)
        if spec.raw:
            return (seconds, AFTER_ALL), False
        return (granularity.round_seconds(seconds), 0), False
    if query.start is not None and ("start" in params or ALIASES["start"] in params):
        seconds = min(to_seconds(query.start), MAX_DATAPOINT_SECONDS)
        if seconds <= MIN_DATAPOINT_SECONDS:  # nothing lies before: the whole stream
            return None, False
        if spec.raw:
            return (seconds - 1, AFTER_ALL), False
        return (granularity.round_seconds(seconds) - granularity.seconds, 0), False
    return None, True


def access_check(
    resource: Any, request: HttpRequest, kwargs: dict[str, Any]
) -> Callable[[], Refusal] | None:
    """The access check a live connection repeats while it lasts: the ``resource``'s
    authentication and its authorization of the stream (``obj_get``), as for a new request.
    It returns ``None`` when access is still granted, else the data of the ``error`` event
    ending the connection: the error message and status a new request would get
    (``{"error": "…", "status": 401}``). ``None`` instead of a check when the resource lets
    everyone read every stream (tastypie's ``Authentication`` and an authorization that
    restricts nothing)."""
    meta = resource._meta
    if type(meta.authentication) is Authentication and (
        type(meta.authorization) in _OPEN_AUTHORIZATIONS
    ):
        return None
    names = resource.remove_api_resource_names(kwargs)

    def view(request: HttpRequest) -> HttpResponse:
        resource.is_authenticated(request)
        resource.obj_get(bundle=resource.build_bundle(request=request), **names)
        return HttpResponse(status=204)

    def check() -> Refusal:
        response = respond(request, view)
        if response.status_code < 400:
            return None
        try:
            message = orjson.loads(response.content)["error"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            message = f"{response.reason_phrase}."
        return {"error": message, "status": response.status_code}

    return check


def _configured() -> Datastream | None:
    # The configured datastream as it is, never built here: the hub's thread calls this and
    # must not construct (and leave open) a storage of its own.
    return conf._datastream  # noqa: SLF001


def live_response(
    request: HttpRequest,
    datastream: Datastream,
    stream: Stream,
    query: DetailQuery,
    chart: ChartOptions,
    check: Callable[[], Refusal] | None = None,
) -> StreamingHttpResponse:
    """The ``text/event-stream`` response of one live connection, registered now: a blocking
    iterator under WSGI, an async iterator under ASGI (no thread per connection). ``check``
    (see :func:`access_check`) is repeated while the connection lasts."""
    check_live_parameters(request.GET)
    spec = live_spec(stream, query, chart)
    cursor, from_head = start_cursor(request, spec, query)
    poller = hub(
        float(datastream_settings.LIVE_POLL_INTERVAL), float(datastream_settings.LIVE_KEEPALIVE)
    )
    content: Any
    if isinstance(request, ASGIRequest):
        acheck = None if check is None else sync_to_async(check)
        content = poller.aevents(datastream, spec, cursor, from_head, _configured, acheck)
    else:
        content = poller.events(datastream, spec, cursor, from_head, _configured, check)
    try:
        response = StreamingHttpResponse(content, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass events on at once
    except BaseException:
        content.close()
        raise
    return response
