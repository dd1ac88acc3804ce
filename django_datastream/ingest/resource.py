"""The write half of :class:`~django_datastream.resources.StreamResource`.

:class:`WritableResource` adds the write URLs to a tastypie resource (under its ``Api``'s
prefix, e.g. ``/api/v1/``):

=============================  ==============================================================
``stream/<id>/datapoints/``    POST datapoints of one stream (JSON, NDJSON, CSV, columns)
``datapoints/``                POST datapoints of several streams (``stream_id`` in each)
``write``                      InfluxDB 1.x line protocol (``db``, ``precision``, ``u``/``p``)
``api/v2/write``               InfluxDB 2.x line protocol (``bucket``, ``org``, ``precision``)
=============================  ==============================================================

Every write takes tastypie's ``dispatch`` steps with the resource's hooks: the method (POST),
whether writes are on (:mod:`.access`), ``is_authenticated``, ``throttle_check``, the view,
``log_throttled_access``. The view asks ``Meta.authorization``: ``update_detail`` for every
existing stream written to (``bundle.obj`` is the stream), ``create_list`` and then
``create_detail`` for every stream line protocol would create (``bundle.obj`` is the
prospective stream, its ``id`` ``None``); a stream outside the authorization's
``query_tags`` is refused too. Refusals go through ``unauthorized_result`` (401 by default).

A request is all or nothing: the body is read and checked whole, then written with one
``append_multiple`` call, which stores every datapoint or none.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from tastypie.bundle import Bundle
from tastypie.exceptions import Unauthorized

from datastream import Stream, exceptions
from datastream.tagquery import matches, parse_query

from ..conf import datastream_settings
from ..errors import ApiError, quote
from ..http.responses import api_error, api_view
from ..params.times import EPOCH_UNITS
from . import access
from .bodies import parse_records
from .body import read_body
from .errors import BadBody
from .lineprotocol import PRECISIONS, parse_lines
from .series import SeriesField, StreamCache, namespace_tags, plan_writes, stream_config

__all__ = ["STREAMS", "WritableResource"]

logger = logging.getLogger(__name__)

#: Streams found by line protocol requests in this process.
STREAMS = StreamCache()
_DATAPOINT_INDEX = re.compile(r"Datapoint (\d+): (.*)", re.DOTALL)


def _forget_streams(**kwargs: Any) -> None:
    STREAMS.clear()


setting_changed.connect(_forget_streams, dispatch_uid="django_datastream.ingest")


class WritableResource:
    """Mixin of a tastypie ``Resource`` serving the write URLs (see the module's docs)."""

    _meta: Any
    datastream: Callable[[], Any]
    authorization_query_tags: Callable[[Bundle], Mapping[str, Any] | None]

    def write_urls(self) -> list[Any]:
        """The write URL patterns (part of ``prepend_urls``)."""
        name = re.escape(self._meta.resource_name)
        return [
            re_path(
                rf"^(?P<resource_name>{name})/(?P<pk>[^/]+)/datapoints/$",
                self.wrap_write("post_stream_datapoints", "detail"),
                name="api_write_datapoints",
            ),
            re_path(r"^datapoints/$", self.wrap_write("post_datapoints", "list"),
                    name="api_write_batch"),
            re_path(r"^write$", self.wrap_write("post_influx_v1", "list", influx=True),
                    name="api_write_influx_v1"),
            re_path(r"^api/v2/write$", self.wrap_write("post_influx_v2", "list", influx=True),
                    name="api_write_influx_v2"),
        ]  # fmt: skip

    def wrap_write(self, view: str, kind: str, influx: bool = False) -> Callable[..., Any]:
        """The view ``view`` behind tastypie's dispatch steps for writes."""
        return api_view(functools.partial(self._write, view, kind, influx))

    def _write(
        self, view: str, kind: str, influx: bool, request: HttpRequest, **kwargs: Any
    ) -> HttpResponse:
        access.check_write_method(request)
        access.check_writes_allowed(self._meta, kind)
        if influx:
            access.present_influx_credentials(request, self._meta.authentication)
        self.is_authenticated(request)  # type: ignore[attr-defined]
        self.throttle_check(request)  # type: ignore[attr-defined]
        try:
            return getattr(self, view)(request, **kwargs)
        finally:
            self.log_throttled_access(request)  # type: ignore[attr-defined]

    # Views -----------------------------------------------------------------------------------

    def post_stream_datapoints(self, request: HttpRequest, pk: str = "", **kwargs: Any
                               ) -> HttpResponse:
        """Datapoints of the stream ``pk``: 201 ``{"stored": n}``."""
        datastream = self.datastream()
        try:
            stream = Stream(datastream.get_tags(pk))
        except exceptions.StreamNotFound:
            raise ApiError(f"Stream {quote(pk)} not found.", 404) from None
        self.authorize_write(request, stream)
        records = parse_records(
            self._body(request), request.META.get("CONTENT_TYPE"), _epoch_unit(request),
            batch=False, max_records=datastream_settings.INGEST_MAX_DATAPOINTS,
        )  # fmt: skip
        datapoints = [_datapoint(stream.id, record) for record in records]
        self._append(datapoints, lambda index: f"Datapoint at {records[index].position}")
        return _created(len(datapoints))

    def post_datapoints(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Datapoints of several streams (``stream_id`` in each): 201 ``{"stored": n}``."""
        records = parse_records(
            self._body(request), request.META.get("CONTENT_TYPE"), _epoch_unit(request),
            batch=True, max_records=datastream_settings.INGEST_MAX_DATAPOINTS,
        )  # fmt: skip
        datastream = self.datastream()
        checked: set[str] = set()
        for record in records:
            if record.stream_id in checked:
                continue
            try:
                stream = Stream(datastream.get_tags(record.stream_id))
            except exceptions.StreamNotFound:
                raise BadBody(
                    f"Datapoint at {record.position}: stream {quote(record.stream_id)} not found."
                ) from None
            self.authorize_write(request, stream)
            checked.add(record.stream_id)
        datapoints = [_datapoint(record.stream_id, record) for record in records]
        self._append(datapoints, lambda index: f"Datapoint at {records[index].position}")
        return _created(len(datapoints))

    def post_influx_v1(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """InfluxDB 1.x ``/write``: line protocol; ``precision`` ``n`` (default), ``u``,
        ``ms``, ``s``, ``m`` or ``h``; ``db`` and ``rp`` are accepted and not used. 204."""
        return self._line_protocol(request)

    def post_influx_v2(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """InfluxDB 2.x ``/api/v2/write``: line protocol; ``precision`` ``ns`` (default),
        ``us``, ``ms`` or ``s``; ``bucket`` and ``org`` are accepted and not used. 204."""
        return self._line_protocol(request)

    # Steps -----------------------------------------------------------------------------------

    def _body(self, request: HttpRequest) -> bytes:
        return read_body(request, datastream_settings.INGEST_MAX_BODY_SIZE)

    def _line_protocol(self, request: HttpRequest) -> HttpResponse:
        precision = request.GET.get("precision") or "ns"
        if precision not in PRECISIONS:
            raise BadBody(
                f"Invalid precision {quote(precision)}: use one of {', '.join(PRECISIONS)}."
            )
        try:
            text = self._body(request).decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadBody(f"The body is not UTF-8 text: {error}") from None
        points = parse_lines(text, precision, datastream_settings.INGEST_MAX_DATAPOINTS)
        bundle = self.build_bundle(request=request)  # type: ignore[attr-defined]
        required = self.authorization_query_tags(bundle)
        plan = plan_writes(points, namespace_tags(required))
        for attempt in (1, 2):
            self._resolve(request, plan.series.values(), required)
            try:
                self._append(plan.datapoints(), plan.position)
            except ApiError as error:
                if attempt == 1 and error.status_code == 404:  # a cached stream was deleted
                    STREAMS.clear()
                    for item in plan.series.values():
                        item.stream = item.stream_id = None
                    continue
                raise
            break
        return HttpResponse(status=204)

    def _resolve(
        self, request: HttpRequest, series: Any, required: Mapping[str, Any] | None
    ) -> None:
        """Find the stream of each series field (checking ``update_detail``), then create the
        missing ones (checking ``create_list`` and ``create_detail``)."""
        datastream = self.datastream()
        conditions = parse_query(required) if required else []
        missing: list[SeriesField] = []
        for item in series:
            stream = STREAMS.get(datastream, item.query_tags)
            if stream is None:
                found = datastream.find_streams(item.query_tags)[:2]
                found = list(found)
                if len(found) > 1:
                    raise BadBody(
                        f"Line {item.line}: several streams have the query tags "
                        f"{item.query_tags!r}; remove the duplicates."
                    )
                if found:
                    stream = Stream(found[0])
                    STREAMS.put(datastream, item.query_tags, stream)
            if stream is None:
                missing.append(item)
                continue
            self.authorize_write(request, stream, conditions=conditions)
            item.stream, item.stream_id = stream, stream.id
        if not missing:
            return
        try:
            self._create(request, missing, conditions)
        except ImproperlyConfigured as error:
            logger.error("Datastream is misconfigured: %s", error)
            raise ApiError(f"Datastream is misconfigured: {error}", 503) from None

    def _create(self, request: HttpRequest, missing: list[SeriesField], conditions: list[Any]
                ) -> None:
        """Create the streams of ``missing`` once the authorization allows each."""
        datastream = self.datastream()
        prospective = [item.prospective_stream() for item in missing]
        bundle = self.build_bundle(request=request)  # type: ignore[attr-defined]
        try:
            allowed = self._meta.authorization.create_list(prospective, bundle)
        except NotImplementedError:  # tastypie's Authorization: create_detail decides
            allowed = prospective
        allowed_ids = {id(stream) for stream in allowed or ()}
        for item, stream in zip(missing, prospective, strict=True):
            if id(stream) not in allowed_ids:
                self._refuse(f"You are not allowed to create the stream of line {item.line}.")
            self.authorize_write(request, stream, True, item.line, conditions)
        for item in missing:
            downsamplers, granularity = stream_config(item.measurement, item.value_type)
            try:
                stream_id = datastream.ensure_stream(
                    item.query_tags, {"tags": dict(item.tags)}, downsamplers, granularity,
                    value_type=item.value_type,
                )  # fmt: skip
            except (exceptions.MultipleStreamsReturned,
                    exceptions.InconsistentStreamConfiguration) as error:
                # another request created the stream differently meanwhile
                raise ApiError(f"Line {item.line}: {error}", 409) from None
            except exceptions.DatastreamException as error:
                answer = api_error(error)
                if answer is None or answer.status_code >= 500:
                    raise
                raise BadBody(f"Line {item.line}: {answer.message}") from None
            stream = Stream(datastream.get_tags(stream_id))
            STREAMS.put(datastream, item.query_tags, stream)
            item.stream, item.stream_id = stream, stream_id

    def authorize_write(
        self,
        request: HttpRequest,
        stream: Stream,
        create: bool = False,
        line: int | None = None,
        conditions: list[Any] | None = None,
    ) -> None:
        """Refuse (through ``unauthorized_result``) a write to ``stream`` that the resource's
        authorization does not allow: outside its ``query_tags`` (``conditions``: those tags
        already parsed for this request), or refused by its ``update_detail``
        (``create_detail`` for a stream to create)."""
        bundle = self.build_bundle(obj=stream, request=request)  # type: ignore[attr-defined]
        what = (
            f"create the stream of line {line}" if create
            else f"write to stream {quote(str(stream.id))}"
        )  # fmt: skip
        message = f"You are not allowed to {what}."
        if conditions is None:
            required = self.authorization_query_tags(bundle)
            conditions = parse_query(required) if required else []
        if conditions and not matches(conditions, stream.tags):
            self._refuse(message)
        authorization = self._meta.authorization
        check = authorization.create_detail if create else authorization.update_detail
        try:
            allowed = check([stream], bundle)
        except Unauthorized as error:
            self._refuse(str(error) or message)
        if allowed is not True:
            self._refuse(message)

    def _refuse(self, message: str) -> None:
        try:
            raise Unauthorized(message)
        except Unauthorized as error:
            self.unauthorized_result(error)  # type: ignore[attr-defined]
        raise AssertionError("unauthorized_result must raise")

    def _append(self, datapoints: list[dict[str, Any]], position: Callable[[int], str]) -> None:
        """One ``append_multiple``: all or nothing; a refused datapoint answers with the
        library's message and where it was written (``position(index)``)."""
        if not datapoints:
            return
        try:
            self.datastream().append_multiple(datapoints)
        except exceptions.StreamAppendContended:
            raise ApiError("Too many concurrent writers: nothing was stored; retry.", 503) from None
        except exceptions.DatastreamException as error:
            answer = api_error(error)
            if answer is None:
                raise
            match = _DATAPOINT_INDEX.fullmatch(answer.message)
            if match is not None and int(match[1]) < len(datapoints):
                message = f"{position(int(match[1]))}: {match[2]}"
                raise ApiError(message, answer.status_code) from None
            raise answer from None


def _created(count: int) -> HttpResponse:
    """201 ``{"stored": count}``: the answer to a JSON write."""
    return HttpResponse(
        orjson.dumps({"stored": count}), status=201, content_type="application/json"
    )


def _datapoint(stream_id: str, record: Any) -> dict[str, Any]:
    if record.timestamp is None:
        return {"stream_id": stream_id, "value": record.value}
    return {"stream_id": stream_id, "value": record.value, "timestamp": record.timestamp}


def _epoch_unit(request: HttpRequest) -> str:
    unit = request.GET.get("precision") or "s"
    if unit not in EPOCH_UNITS:
        raise BadBody(
            f"Invalid precision {quote(unit)}: epoch times count {', '.join(EPOCH_UNITS)}."
        )
    return unit
