"""The read-only tastypie resource of streams and their datapoints.

Requests go through ``wrap_view``, which takes tastypie's ``dispatch`` steps with tastypie's
hooks (and answers the list with its ``get_list``), so every ``Meta`` hook of a subclass
applies: ``authentication``, ``authorization``, ``throttle``, ``cache``, ``paginator_class``,
``limit`` and ``max_limit`` (plus ``datapoints_paginator_class``, ``datapoints_limit`` and
``datapoints_max_limit`` for the datapoints of a stream). The resource keeps tastypie's data
hooks: where the objects come from (``get_object_list``, ``obj_get_list``, ``obj_get``,
``detail_uri_kwargs``), how they are dehydrated (tastypie's ``full_dehydrate``;
``dehydrate_resource_uri``), the schema's ``choices`` (``build_schema``), its own URLs
(``prepend_urls``: ``set/…/`` and ``<id>/live/``). The answer conventions of the API (JSON
errors, CORS, read-only methods with HEAD, the throttle counting every answer once, the 304 of
a current page) are one wrapper of every view, ``wrap_view``, around tastypie's own
``is_authenticated``, ``throttle_check`` and
``log_throttled_access``; ``determine_format`` is the one content negotiation per request.

The detail view reads and dehydrates the stream, then hands the request to the detail pipeline
(:mod:`django_datastream.detail.pipeline`), which parses it once and walks each of its steps
once: granularity, cache validators, read or export, pagination, finish, render.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.utils.cache import patch_cache_control, patch_vary_headers
from tastypie.bundle import Bundle
from tastypie.cache import NoCache
from tastypie.exceptions import ImmediateHttpResponse, Unauthorized
from tastypie.resources import Resource

from datastream import Datastream, Stream, Streams, exceptions
from datastream.constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS, VALUE_TYPES
from datastream.granularity import Granularity
from datastream.tagquery import matches, parse_query

from .conf import datastream_settings, get_datastream
from .detail import pipeline
from .detail.pagination import CursorStreamsPaginator, DatapointsPaginator
from .detail.request import DetailRequest, PagingSettings
from .fields import (
    DatapointsField,
    DateTimeField,
    DictField,
    DownsamplingErrorField,
    GranularityField,
    ListField,
    StringField,
)
from .formats.serializer import (
    DatastreamSerializer,
)
from .http import caching
from .http.negotiation import determine_format
from .http.responses import ApiError, api_view
from .ingest.resource import WritableResource
from .live.view import access_check, check_live_parameters, live_response
from .params.parse import (
    QueryError,
    combine_tag_queries,
    parse_chart_options,
    parse_detail_query,
    parse_tag_filters,
    quote,
)

__all__ = ["NoCacheHeaders", "StreamObjects", "StreamResource"]

logger = logging.getLogger(__name__)

_LIST_URI_ATTRIBUTE = "_datastream_list_uri"
#: tastypie's views (as ``base_urls`` names them) -> (request type of their allowed methods,
#: the method answering them); other views allow GET and are answered by their own method.
_VIEWS = {
    "dispatch_list": ("list", "get_list"),
    "dispatch_detail": ("detail", "get_stream"),
    "get_schema": ("", "get_stream_schema"),
}
#: Views whose answers are tagged from their body (pages of streams).
_TAGGED_BY_BODY = frozenset({"get_list", "get_set"})


class StreamObjects:
    """The streams of a ``find_streams`` result as :class:`datastream.Stream` objects, lazily:
    nothing is read before the objects are counted, sliced and iterated, and counting and
    slicing are pushed down to the storage. This is the ``object_list`` an authorization's
    ``read_list`` receives."""

    def __init__(self, results: Streams | Callable[[], Streams]) -> None:
        self._results = results

    def _streams(self) -> Streams:
        if callable(self._results):
            self._results = self._results()
        return self._results

    def count(self) -> int:
        """The number of streams, counted by the storage."""
        return self._streams().count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Stream]:
        return map(Stream, self._streams())

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            return StreamObjects(self._streams()[key])
        return Stream(self._streams()[key])

    def batch_size(self, batch_size: int) -> StreamObjects:
        """Read ``batch_size`` streams per round trip; returns ``self``."""
        self._streams().batch_size(batch_size)
        return self


class NoCacheHeaders(NoCache):
    """tastypie's default ``Meta.cache`` (nothing cached, ``Vary: Accept``) without its
    ``Cache-Control: no-cache``: caching headers are left to the project, or to a subclass's
    ``Meta.cache`` (``SimpleCache`` sets ``max-age``)."""

    def cache_control(self) -> dict[str, Any]:
        return {}


class StreamResource(WritableResource, Resource):
    """Streams (``/stream/``, ``/stream/set/<id>;<id>/``) and one stream with its
    datapoints (``/stream/<id>/``): GET, HEAD and OPTIONS. The write URLs of
    :class:`~django_datastream.ingest.resource.WritableResource` answer POST when writes are
    enabled (``'post'`` in ``Meta.allowed_methods``, or ``DATASTREAM_WRITES``)."""

    id = StringField(attribute="id", readonly=True, unique=True, help_text="The stream id.")
    tags = DictField(attribute="tags", null=True, help_text="The user tags of the stream.")
    value_downsamplers = ListField(
        attribute="value_downsamplers", readonly=True, choices=list(VALUE_DOWNSAMPLERS)
    )
    time_downsamplers = ListField(
        attribute="time_downsamplers", readonly=True, choices=list(TIME_DOWNSAMPLERS)
    )
    highest_granularity = GranularityField(
        attribute="highest_granularity",
        readonly=True,
        choices=[g.name for g in Granularity.values],
    )
    earliest_datapoint = DateTimeField(attribute="earliest_datapoint", null=True, readonly=True)
    latest_datapoint = DateTimeField(attribute="latest_datapoint", null=True, readonly=True)
    # unique: as the original's schema declared it.
    value_type = StringField(
        attribute="value_type",
        readonly=True,
        unique=True,
        default="numeric",
        choices=list(VALUE_TYPES),
    )
    last_downsampling_error = DownsamplingErrorField(
        attribute="last_downsampling_error",
        null=True,
        readonly=True,
        use_in=lambda bundle: getattr(bundle.obj, "last_downsampling_error", None) is not None,
        help_text="The stream's last downsampling failure ({at, error}); present only after "
        "a failure, until the stream is downsampled again.",
    )
    datapoints = DatapointsField(null=True, readonly=True, use_in="detail")

    class Meta:
        resource_name = "stream"
        allowed_methods = ["get"]
        serializer = DatastreamSerializer()
        collection_name = "objects"
        default_format = "application/json"
        cache = NoCacheHeaders()
        paginator_class = CursorStreamsPaginator
        # Read from the settings at each use (tastypie copies these onto ``_meta``'s class,
        # where a property stays one): ``API_LIMIT_PER_PAGE`` (20),
        # ``DATASTREAM_API_LIST_MAX_LIMIT`` (1000), ``API_DETAIL_LIMIT_PER_PAGE`` (100) and
        # ``DATASTREAM_API_DETAIL_MAX_LIMIT`` (10000). A subclass's ``Meta`` may fix numbers.
        limit = property(lambda meta: datastream_settings.LIST_LIMIT)
        max_limit = property(lambda meta: datastream_settings.LIST_MAX_LIMIT)
        datapoints_paginator_class = DatapointsPaginator
        datapoints_limit = property(lambda meta: datastream_settings.DETAIL_LIMIT)
        datapoints_max_limit = property(lambda meta: datastream_settings.DETAIL_MAX_LIMIT)

    # tastypie's full_dehydrate looks ``dehydrate_<field>`` up on every object it dehydrates; a
    # hook that does not exist costs an AttributeError raised through Resource.__getattr__ each
    # time (most of a page's time). ``None`` says "no hook" at the price of a plain lookup.
    dehydrate_id = dehydrate_tags = dehydrate_value_downsamplers = None
    dehydrate_time_downsamplers = dehydrate_highest_granularity = None
    dehydrate_earliest_datapoint = dehydrate_latest_datapoint = dehydrate_value_type = None
    dehydrate_last_downsampling_error = dehydrate_datapoints = None

    # Answer conventions ----------------------------------------------------------------------

    def wrap_view(self, view: str) -> Callable[..., HttpResponse]:
        """Every URL answers through :func:`django_datastream.http.responses.respond` (the
        method checked first, JSON errors, CORS headers, HEAD); ``Meta.cache`` sets the caching
        headers as in tastypie.

        Around the view, the steps of tastypie's ``dispatch``, in its order, with the API's
        conventions: the method (GET and HEAD, answered as GET, when the view's allowed methods
        have ``'get'``; OPTIONS answers 200, anything else 405: the API is read-only),
        ``is_authenticated``, ``throttle_check``, the view, and ``log_throttled_access`` once
        for every request let through by the throttle, whatever its answer (a page, a
        streamed export, a 304, a HEAD answer, a live connection or an error; tastypie's
        ``dispatch`` records only the views that return normally). Requests answered before
        the throttle is consulted (OPTIONS, a refused method, failed authentication) and the
        throttle's own 429 answers are not counted, as in tastypie.

        tastypie's ``dispatch_list`` is answered by its ``get_list``, ``dispatch_detail`` by
        :meth:`get_stream` (the detail pipeline), ``get_schema`` by :meth:`get_stream_schema`
        (tastypie's, without its own method, authentication and throttle steps). The answers
        of ``get_list`` and :meth:`get_set` are tagged (``ETag``) from their body, and a
        client's current copy is answered 304."""
        kind, name = _VIEWS.get(view, ("", view))
        allowed = getattr(self._meta, f"{kind}_allowed_methods") if kind else ["get"]
        return api_view(functools.partial(self._answer, name), read_methods=allowed)

    def _answer(self, name: str, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.is_authenticated(request)
        self.throttle_check(request)
        try:
            response = getattr(self, name)(request, *args, **kwargs)
        finally:
            self.log_throttled_access(request)
        if name in _TAGGED_BY_BODY:
            unchanged = caching.body_validators(request, response)
            if unchanged is not None:
                return unchanged
        patch_vary_headers(response, ("Accept",))  # the format may follow the Accept header
        cache = self._meta.cache
        varies = getattr(cache, "varies", None)
        if varies:
            patch_vary_headers(response, varies)
        if cache.cacheable(request, response) and cache.cache_control():
            patch_cache_control(response, **cache.cache_control())
        # ETag and Cache-Control of list and detail answers (a Meta.cache of the project's
        # own choosing keeps its Cache-Control).
        caching.finish(request, response, replace_control=type(cache) in (NoCache, NoCacheHeaders))
        return response

    def determine_format(self, request: HttpRequest) -> str:
        """The negotiated content type (``?format=``, ``callback``, ``Accept``)."""
        return determine_format(request, self._meta.serializer)

    # Data access ---------------------------------------------------------------------------

    @staticmethod
    def datastream() -> Datastream:
        """The configured ``Datastream``; 503 if ``DATASTREAM_BACKEND`` is not set or
        cannot be used (the answer names the problem: ``manage.py check`` reports it too)."""
        try:
            datastream = get_datastream()
        except ImproperlyConfigured as error:
            logger.error("Datastream is misconfigured: %s", error)
            raise ApiError(f"Datastream is misconfigured: {error}", 503) from None
        if datastream is None:
            raise ApiError("Datastream is not configured (set DATASTREAM_BACKEND).", 503)
        return datastream

    def authorization_query_tags(self, bundle: Bundle) -> Mapping[str, Any] | None:
        """Tags every stream read by this request must match: the ``query_tags(bundle)`` of
        ``Meta.authorization`` when it has that hook (see
        :class:`django_datastream.authorization.StreamAuthorization`), else ``None``. The
        condition goes into the storage's query, so it is evaluated with its indexes."""
        hook = getattr(self._meta.authorization, "query_tags", None)
        if hook is None:
            return None
        try:
            return hook(bundle)
        except Unauthorized as error:
            self.unauthorized_result(error)
            raise  # unauthorized_result raises; this is for type checkers

    def _find_streams(self, filters: Mapping[str, Any] | None, bundle: Bundle) -> Any:
        query, leftover = combine_tag_queries(filters, self.authorization_query_tags(bundle))
        objects = StreamObjects(lambda: self.datastream().find_streams(query))
        if leftover is None:
            return objects
        # A filter on the very tag the authorization restricts, with another value.
        conditions = parse_query(leftover)
        return [stream for stream in objects if matches(conditions, stream.tags)]

    def get_object_list(self, request: HttpRequest) -> Any:
        """Every stream the request may read (lazily, see :class:`StreamObjects`)."""
        return self._find_streams(None, self.build_bundle(request=request))

    def obj_get_list(self, bundle: Bundle, **kwargs: Any) -> Any:
        """Streams matching the ``tags__…`` filters of the request, in creation order, as
        ``Meta.authorization.read_list`` lets them through (it receives them lazily)."""
        objects = self._find_streams(parse_tag_filters(bundle.request.GET), bundle)
        return self.authorized_read_list(objects, bundle)

    def obj_get(self, bundle: Bundle, **kwargs: Any) -> Stream:
        """The stream ``kwargs['pk']``; 404 if there is no such stream, 401 if the
        authorization refuses it."""
        stream_id = kwargs.get("pk", "")
        try:
            stream = Stream(self.datastream().get_tags(stream_id))
        except exceptions.StreamNotFound:
            raise ApiError(f"Stream {quote(stream_id)} not found.", 404) from None
        bundle.obj = stream
        self._check_query_tags(stream, self.authorization_query_tags(bundle))
        self.authorized_read_detail([stream], bundle)
        return stream

    def _check_query_tags(self, stream: Stream, required: Mapping[str, Any] | None) -> None:
        if required and not matches(parse_query(required), stream.tags):
            try:  # the refusal is the context of the hook's answer (see http.responses)
                raise Unauthorized(f"You are not allowed to read stream {quote(stream.id)}.")
            except Unauthorized as error:
                self.unauthorized_result(error)

    def detail_uri_kwargs(self, bundle_or_obj: Any) -> dict[str, Any]:
        obj = bundle_or_obj.obj if isinstance(bundle_or_obj, Bundle) else bundle_or_obj
        return {"pk": obj.id}

    def dehydrate_resource_uri(self, bundle: Bundle) -> str:
        """``<list URI><id>/``; the list URI is reversed once per request."""
        request = bundle.request
        list_uri = getattr(request, _LIST_URI_ATTRIBUTE, None)
        if list_uri is None:
            list_uri = self.get_resource_uri()
            setattr(request, _LIST_URI_ATTRIBUTE, list_uri)
        return f"{list_uri}{bundle.obj.id}/" if list_uri else ""

    # Views (tastypie's get_list and get_schema are used as they are) ------------------------

    def get_stream(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """One stream with a page of its datapoints (``Meta.datapoints_paginator_class``),
        the understood query (``query_params``) and the page's ``meta``: the stream is read
        and dehydrated here, the rest is the detail pipeline
        (:mod:`django_datastream.detail.pipeline`).

        The stream is read with ``obj_get``, not tastypie's ``cached_obj_get``: a stream found
        in ``Meta.cache`` would skip the authorization (and its metadata moves with every
        append). ``Meta.cache`` still sets the caching headers."""
        stream = self.obj_get(
            bundle=self.build_bundle(request=request), **self.remove_api_resource_names(kwargs)
        )
        bundle = self.full_dehydrate(self.build_bundle(obj=stream, request=request))
        meta = self._meta
        paging = PagingSettings(
            meta.datapoints_paginator_class, meta.datapoints_limit, meta.datapoints_max_limit
        )
        detail = DetailRequest.parse(
            request, self.datastream(), bundle, meta.serializer, paging,
            self.dehydrate_resource_uri(bundle),
        )  # fmt: skip
        response = pipeline.run(detail, self.alter_detail_data_to_serialize)
        if not isinstance(response, HttpResponse):
            # A streamed export: tastypie's dispatch would answer 204 for it.
            raise ImmediateHttpResponse(response)
        return response

    def get_stream_schema(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """``schema/``: tastypie's ``get_schema`` after the steps :meth:`wrap_view` does."""
        bundle = self.build_bundle(request=request)
        self.authorized_read_detail(self.get_object_list(bundle.request), bundle)
        return self.create_response(request, self.build_schema())

    def get_live(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """``<id>/live/``: the stream's new datapoints as Server-Sent Events (see
        :mod:`django_datastream.live.view`), with the detail endpoint's authentication,
        authorization and throttling."""
        check_live_parameters(request.GET)
        stream = self.obj_get(
            bundle=self.build_bundle(request=request), **self.remove_api_resource_names(kwargs)
        )
        query = parse_detail_query(request.GET, stream.highest_granularity)
        chart = parse_chart_options(request.GET, _names_granularity(request.GET))
        if (request.method or "").upper() == "HEAD":
            return HttpResponse(content_type="text/event-stream")
        # Access is checked again while the connection lasts (live.view.access_check).
        check = access_check(self, request, kwargs)
        return live_response(request, self.datastream(), stream, query, chart, check)

    def prepend_urls(self) -> list[Any]:
        """``set/<id>;<id>/`` (:meth:`get_set`, in place of tastypie's ``get_multiple``),
        ``<id>/live/`` and the write URLs (:meth:`write_urls`) before tastypie's detail URL
        (which would take ``live`` into the id)."""
        name = re.escape(self._meta.resource_name)
        return [
            *super().prepend_urls(),
            *self.write_urls(),
            re_path(
                rf"^(?P<resource_name>{name})/set/(?P<pk_list>.*?)/$",
                self.wrap_view("get_set"),
                name="api_get_multiple",
            ),
            re_path(
                rf"^(?P<resource_name>{name})/(?P<pk>[^/]+)/live/$",
                self.wrap_view("get_live"),
                name="api_dispatch_live",
            ),
        ]

    def get_set(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """``{"objects": [stream, …], "not_found": [id, …]}`` for ``set/<id>;<id>;…/``, in
        the order of the ids; unknown and malformed ids, and those of streams the
        authorization does not let through, are listed in ``not_found``."""
        ids = [stream_id for stream_id in kwargs.get("pk_list", "").split(";") if stream_id]
        maximum = self._meta.max_limit
        if maximum is None:
            maximum = datastream_settings.LIST_MAX_LIMIT
        if maximum and len(ids) > maximum:
            raise QueryError(f"Too many stream ids: {len(ids)}; at most {maximum} are allowed.")
        bundle = self.build_bundle(request=request)
        required = self.authorization_query_tags(bundle)
        conditions = parse_query(required) if required else []
        datastream = self.datastream()
        streams: dict[str, Stream] = {}
        for stream_id in ids:
            try:
                stream = Stream(datastream.get_tags(stream_id))
            except exceptions.StreamNotFound:
                continue
            if matches(conditions, stream.tags):
                streams[stream_id] = stream
        readable = {s.id for s in self.authorized_read_list(list(streams.values()), bundle)}
        objects, not_found = [], []
        for stream_id in ids:
            stream = streams.get(stream_id)
            if stream is not None and stream.id in readable:
                objects.append(
                    self.full_dehydrate(self.build_bundle(obj=stream, request=request), True)
                )
            else:
                not_found.append(stream_id)
        data = {self._meta.collection_name: objects, "not_found": not_found}
        return self.create_response(request, self.alter_list_data_to_serialize(request, data))

    def build_schema(self) -> dict[str, Any]:
        """tastypie's schema, with the allowed values (``choices``) of enumerated fields."""
        schema = super().build_schema()
        if schema["default_limit"] is None:
            schema["default_limit"] = datastream_settings.LIST_LIMIT
        for name, field in self.fields.items():
            choices = getattr(field, "choices", None)
            if choices is not None:
                schema["fields"][name]["choices"] = choices
        return schema


def _names_granularity(params: Any) -> bool:
    """True when the request names a granularity (long or short)."""
    return "granularity" in params or "g" in params
