"""The read-only tastypie resource of streams and their datapoints."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from tastypie.bundle import Bundle
from tastypie.resources import Resource
from tastypie.utils.mime import build_content_type

from datastream import Datapoints, Datastream, Stream, exceptions
from datastream.constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS, VALUE_TYPES
from datastream.granularity import Granularity

from .conf import datastream_settings, get_datastream
from .fields import (
    DatapointsField,
    DateTimeField,
    DictField,
    GranularityField,
    ListField,
    StringField,
)
from .paginator import DatapointsPaginator, StreamsPaginator
from .query import DetailQuery, QueryError, parse_detail_query, parse_tag_filters, quote
from .responses import ApiError, respond
from .serializers import CONTENT_TYPES, DatastreamSerializer, determine_format

__all__ = ["StreamResource"]

_FORMAT_ATTRIBUTE = "_datastream_format"
_LIST_URI_ATTRIBUTE = "_datastream_list_uri"


class StreamResource(Resource):
    """Streams (``/stream/``, ``/stream/set/<id>;<id>/``) and one stream with its
    datapoints (``/stream/<id>/``). GET, HEAD and OPTIONS only."""

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
    value_type = StringField(
        attribute="value_type", readonly=True, default="numeric", choices=list(VALUE_TYPES)
    )
    datapoints = DatapointsField(attribute="datapoints", null=True, readonly=True, use_in="detail")

    class Meta:
        resource_name = "stream"
        allowed_methods = ["get"]
        serializer = DatastreamSerializer()
        collection_name = "objects"
        default_format = "application/json"

    # Request handling ----------------------------------------------------------------------

    def base_urls(self) -> list[Any]:
        """tastypie's four URLs; ids may contain any character (even a newline), so that
        every path under the resource is answered by it (404 for unknown streams)."""
        name = self._meta.resource_name
        return [
            re_path(rf"^(?P<resource_name>{name})/$", self.wrap_view("dispatch_list"),
                    name="api_dispatch_list"),
            re_path(rf"^(?P<resource_name>{name})/schema/$", self.wrap_view("get_schema"),
                    name="api_get_schema"),
            re_path(rf"^(?P<resource_name>{name})/set/(?P<pk_list>[\s\S]*?)/$",
                    self.wrap_view("get_multiple"), name="api_get_multiple"),
            re_path(rf"^(?P<resource_name>{name})/(?P<pk>[\s\S]*?)/$",
                    self.wrap_view("dispatch_detail"), name="api_dispatch_detail"),
        ]  # fmt: skip

    def wrap_view(self, view: str) -> Any:
        """Every URL answers through :func:`django_datastream.responses.respond`."""

        @csrf_exempt
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return respond(request, self._run_view, view, *args, **kwargs)

        return wrapper

    def _run_view(self, request: HttpRequest, view: str, *args: Any, **kwargs: Any) -> Any:
        setattr(request, _FORMAT_ATTRIBUTE, self.determine_format(request))
        return getattr(self, view)(request, *args, **kwargs)

    def dispatch(self, request_type: str, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Only GET reaches here (see :meth:`wrap_view`)."""
        return getattr(self, f"get_{request_type}")(request, **kwargs)

    def determine_format(self, request: HttpRequest) -> str:
        """The negotiated content type (``?format=``, ``callback``, ``Accept``)."""
        cached = getattr(request, _FORMAT_ATTRIBUTE, None)
        return cached or determine_format(request, self._meta.serializer)

    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        response_class: type[HttpResponse] = HttpResponse,
        **response_kwargs: Any,
    ) -> HttpResponse:
        content_type = self.determine_format(request)
        options = {}
        if content_type == CONTENT_TYPES["jsonp"]:
            options["callback"] = request.GET.get("callback", "callback")
        content = self._meta.serializer.serialize(data, content_type, options)
        return response_class(
            content=content, content_type=build_content_type(content_type), **response_kwargs
        )

    # Data access ---------------------------------------------------------------------------

    @staticmethod
    def datastream() -> Datastream:
        """The configured ``Datastream``; 503 if ``DATASTREAM_BACKEND`` is not set."""
        datastream = get_datastream()
        if datastream is None:
            raise ApiError("Datastream is not configured (set DATASTREAM_BACKEND).", 503)
        return datastream

    def obj_get_list(self, bundle: Bundle, **kwargs: Any) -> Any:
        """Streams matching the ``tags__…`` filters of the request, in creation order."""
        return self.datastream().find_streams(parse_tag_filters(bundle.request.GET))

    def obj_get(self, bundle: Bundle, **kwargs: Any) -> Stream:
        """The stream ``kwargs['pk']``; 404 if there is no such stream."""
        stream_id = kwargs.get("pk", "")
        try:
            return Stream(self.datastream().get_tags(stream_id))
        except exceptions.StreamNotFound:
            raise ApiError(f"Stream {quote(stream_id)} not found.", 404) from None

    def build_bundle(
        self, obj: Any = None, data: Any = None, request: Any = None, **kwargs: Any
    ) -> Bundle:
        return Bundle(obj=obj, data=data, request=request)

    def dehydrate_resource_uri(self, bundle: Bundle) -> str:
        """``<list URI><id>/``; the list URI is reversed once per request."""
        request = bundle.request
        list_uri = getattr(request, _LIST_URI_ATTRIBUTE, None)
        if list_uri is None:
            list_uri = self.get_resource_uri()
            setattr(request, _LIST_URI_ATTRIBUTE, list_uri)
        return f"{list_uri}{bundle.obj.id}/" if list_uri else ""

    def detail_uri_kwargs(self, bundle_or_obj: Any) -> dict[str, Any]:
        obj = bundle_or_obj.obj if isinstance(bundle_or_obj, Bundle) else bundle_or_obj
        return {"pk": obj.id}

    def full_dehydrate(self, bundle: Bundle, for_list: bool = False) -> Bundle:
        """tastypie's ``full_dehydrate`` (fields, ``dehydrate_<field>`` hooks, ``dehydrate``)
        with the per-field lookups done once per resource instead of once per object."""
        data = bundle.data
        for name, field, hook in self._dehydration_plan(for_list):
            use_in = field.use_in
            if callable(use_in) and not use_in(bundle):
                continue
            data[name] = field.dehydrate(bundle, for_list=for_list)
            if hook is not None:
                data[name] = hook(bundle)
        return self.dehydrate(bundle)

    def _dehydration_plan(self, for_list: bool) -> list[tuple[str, Any, Any]]:
        plans = self.__dict__.setdefault("_dehydration_plans", {})
        plan = plans.get(for_list)
        if plan is None:
            mode = "list" if for_list else "detail"
            plan = plans[for_list] = [
                (name, field, getattr(self, f"dehydrate_{name}", None))
                for name, field in self.fields.items()
                if callable(field.use_in) or field.use_in in ("all", mode)
            ]
        return plan

    def _dehydrate_streams(self, request: HttpRequest, all_tags: Any) -> list[Bundle]:
        return [
            self.full_dehydrate(self.build_bundle(obj=Stream(tags), request=request), True)
            for tags in all_tags
        ]

    # Views ---------------------------------------------------------------------------------

    def get_list(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """``{"meta": …, "objects": [stream, …]}``, filtered by tags and paginated."""
        streams = self.obj_get_list(self.build_bundle(request=request))
        paginator = StreamsPaginator(
            request.GET,
            streams,
            resource_uri=self.get_resource_uri(),
            limit=datastream_settings.LIST_LIMIT,
            max_limit=datastream_settings.LIST_MAX_LIMIT,
            collection_name=self._meta.collection_name,
        )
        page = paginator.page()
        page["objects"] = self._dehydrate_streams(request, page["objects"])
        return self.create_response(request, self.alter_list_data_to_serialize(request, page))

    def get_multiple(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """``{"objects": [stream, …], "not_found": [id, …]}`` for ``set/<id>;<id>;…/``, in
        the order of the ids; unknown and malformed ids are listed in ``not_found``."""
        ids = [stream_id for stream_id in kwargs.get("pk_list", "").split(";") if stream_id]
        maximum = datastream_settings.LIST_MAX_LIMIT
        if len(ids) > maximum:
            raise QueryError(f"Too many stream ids: {len(ids)}; at most {maximum} are allowed.")
        datastream = self.datastream()
        found, not_found = [], []
        for stream_id in ids:
            try:
                found.append(datastream.get_tags(stream_id))
            except exceptions.StreamNotFound:
                not_found.append(stream_id)
        data = {"objects": self._dehydrate_streams(request, found), "not_found": not_found}
        return self.create_response(request, self.alter_list_data_to_serialize(request, data))

    def get_detail(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """One stream with a page of its datapoints, ``query_params`` and ``meta``."""
        stream = self.obj_get(self.build_bundle(request=request), **kwargs)
        query = parse_detail_query(request.GET, stream.highest_granularity)
        datapoints = self.datastream().get_data(stream.id, **query.get_data_arguments())
        bundle = self.build_bundle(obj=stream, request=request)
        paginator = DatapointsPaginator(
            request.GET,
            datapoints,
            resource_uri=self.dehydrate_resource_uri(bundle),
            limit=datastream_settings.DETAIL_LIMIT,
            max_limit=datastream_settings.DETAIL_MAX_LIMIT,
        )
        page = paginator.page()
        stream.datapoints = self._datapoints_for(request, page["objects"])
        bundle = self.full_dehydrate(bundle)
        bundle.data["query_params"] = query.echo()
        bundle.data["meta"] = page["meta"]
        bundle.csv_layout = _csv_layout(stream, query)
        return self.create_response(request, self.alter_detail_data_to_serialize(request, bundle))

    def _datapoints_for(self, request: HttpRequest, datapoints: Any) -> Any:
        """The page of datapoints: JSON text made by the storage for JSON responses in the
        default ISO 8601 style (no Python object per datapoint), else the datapoints."""
        json_formats = (CONTENT_TYPES["json"], CONTENT_TYPES["jsonp"])
        if (
            isinstance(datapoints, Datapoints)
            and self.determine_format(request) in json_formats
            and self._meta.serializer.datetime_formatting in ("iso-8601", "iso-8601-strict")
        ):
            return RawJSON(datapoints.json_array())
        # iter(): list() of a result set would first call len(), a second count query.
        return list(iter(datapoints))

    def get_schema(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """The resource schema, with the allowed values of the enumerated fields."""
        return self.create_response(request, self.build_schema())

    def build_schema(self) -> dict[str, Any]:
        schema = super().build_schema()
        schema["default_limit"] = datastream_settings.LIST_LIMIT
        for name, field in self.fields.items():
            choices = getattr(field, "choices", None)
            if choices is not None:
                schema["fields"][name]["choices"] = choices
        return schema


class RawJSON:
    """Pre-serialised JSON, written as it is by the serializer (its ``__json__`` hook)."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text

    def __json__(self) -> bytes:
        return self.text


def _csv_layout(stream: Stream, query: DetailQuery) -> tuple[bool, list[str], list[str]]:
    """(raw?, time keys, value keys): the CSV columns of the requested datapoints."""
    if query.granularity >= stream.highest_granularity:
        return True, [], []
    time_names = query.time_downsamplers
    if time_names is None:
        time_names = [name for name in TIME_DOWNSAMPLERS if name in stream.time_downsamplers]
    value_names = query.value_downsamplers
    if value_names is None:
        value_names = [name for name in VALUE_DOWNSAMPLERS if name in stream.value_downsamplers]
    return (
        False,
        list(dict.fromkeys(TIME_DOWNSAMPLERS[name] for name in time_names)),
        list(dict.fromkeys(VALUE_DOWNSAMPLERS[name] for name in value_names)),
    )
