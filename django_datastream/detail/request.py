"""The detail request, parsed once: :class:`DetailRequest` carries the stream, its datapoint
query, the chart options, the negotiated format and the resource's paging settings through
the pipeline (:mod:`django_datastream.detail.pipeline`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest
from tastypie.bundle import Bundle

from datastream import Datastream, Stream

from ..conf import datastream_settings
from ..formats.serializer import CONTENT_TYPES, STREAMED_FORMATS
from ..http.negotiation import determine_format
from ..params.parse import (
    ChartOptions,
    CursorParameter,
    DetailQuery,
    QueryError,
    parse_detail,
)

__all__ = ["DetailRequest", "PagingSettings"]

_FORMAT_NAMES = {content_type: name for name, content_type in CONTENT_TYPES.items()}


@dataclasses.dataclass(frozen=True)
class PagingSettings:
    """What the resource's ``Meta`` says of a stream's datapoints: the paginator class and
    the page sizes (``None``: the settings' default)."""

    paginator_class: Any
    limit: int | None
    max_limit: int | None


@dataclasses.dataclass(frozen=True)
class DetailRequest:
    """One detail request, parsed: everything the pipeline's steps need."""

    request: HttpRequest
    datastream: Datastream
    stream: Stream
    #: The stream, dehydrated by the resource (``bundle.data`` becomes the answer).
    bundle: Bundle
    query: DetailQuery
    chart: ChartOptions
    #: ``Datastream.get_data`` keyword arguments of ``query`` (besides the stream id).
    arguments: dict[str, Any]
    #: ``query`` as the answer's ``query_params`` shows it (and a cursor is bound to it).
    echo: dict[str, Any]
    #: The chart options not at their default, as ``query_params`` shows them.
    chart_echo: dict[str, Any]
    #: The negotiated content type and its format name (``json``, ``csv``, …).
    content_type: str
    format_name: str
    serializer: Any
    paging: PagingSettings
    #: ``<list URI><id>/``: the base of ``next``/``previous``.
    resource_uri: str

    #: The request's cursor (``None``: the page starts at ``offset``).
    cursor: CursorParameter | None
    #: The query string (a ``QueryDict``).
    params: Any
    #: Whether the answer is a streamed export (CSV and NDJSON, except thinned pages).
    streamed: bool

    @classmethod
    def parse(
        cls,
        request: HttpRequest,
        datastream: Datastream,
        bundle: Bundle,
        serializer: Any,
        paging: PagingSettings,
        resource_uri: str,
    ) -> DetailRequest:
        """Parse and check every parameter of ``request`` (400 for the first one wrong)."""
        stream = bundle.obj
        params = request.GET
        max_limit = paging.max_limit
        if max_limit is None:
            max_limit = datastream_settings.DETAIL_MAX_LIMIT
        parsed = parse_detail(params, stream.highest_granularity, max_limit)
        query, chart = parsed.query, parsed.chart
        content_type = determine_format(request, serializer)
        format_name = _FORMAT_NAMES[content_type]
        if chart.shape == "columns" and format_name in STREAMED_FORMATS:
            raise QueryError(
                "shape=columns is for JSON, JSONP and XML; CSV and NDJSON are always rows."
            )
        return cls(
            request=request,
            params=params,
            streamed=format_name in STREAMED_FORMATS and chart.thin is None,
            datastream=datastream,
            stream=stream,
            bundle=bundle,
            query=query,
            chart=chart,
            arguments=parsed.arguments,
            echo=parsed.echo,
            chart_echo=parsed.chart_echo,
            cursor=parsed.cursor,
            content_type=content_type,
            format_name=format_name,
            serializer=serializer,
            paging=paging,
            resource_uri=resource_uri,
        )
