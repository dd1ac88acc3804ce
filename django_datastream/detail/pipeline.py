"""The detail pipeline: one stream and a page (or a streamed export) of its datapoints.

The resource reads the stream (``obj_get``: existence, authorization) and dehydrates it, then
hands the request here, where it walks one step after the other, each step a module of
:mod:`django_datastream.detail`:

1. parse every parameter once into a :class:`~.request.DetailRequest` (query, chart options,
   negotiated format);
2. choose the granularity (:mod:`.granularity`: ``max_points`` picks it);
3. the cache validators (:mod:`.validators`): a current copy is answered 304 here;
4. the window to read: the query itself, or its continuation after the cursor
   (:mod:`.cursors`);
5. read (:mod:`.read`: the lazy ``get_data`` result, or thinned raw datapoints) or export
   (:mod:`.export`: CSV and NDJSON streamed page by page; the pipeline ends there);
6. paginate (:mod:`.pagination`: ``limit``/``offset`` and cursors, ``meta``);
7. finish (:mod:`.finish`: time formats, the open bucket, the ``columns`` shape);
8. render (:func:`django_datastream.http.responses.render`, in the negotiated format).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from tastypie.bundle import Bundle

from ..http.responses import render
from . import export, finish, granularity, pagination, read, validators
from .cursors import Window, window_after_cursor
from .request import DetailRequest

__all__ = ["run"]


def run(detail: DetailRequest, alter: Callable[[Any, Bundle], Bundle]) -> HttpResponse:
    """The answer to ``detail``; ``alter`` is the resource's
    ``alter_detail_data_to_serialize`` hook, applied to the finished bundle."""
    detail = granularity.choose(detail)
    unchanged = validators.check_validators(detail)
    if unchanged is not None:
        return unchanged
    cursor = detail.cursor
    window = Window(detail.arguments) if cursor is None else window_after_cursor(detail, cursor)
    if detail.streamed:
        return export.export_response(detail, window)
    datapoints, raw_count = read.read(detail, window)
    page = pagination.paginate(detail, window, datapoints, raw_count)
    objects, extra = finish.finish_page(
        detail.datastream, detail.stream, detail.query, detail.chart, page["objects"],
        page["meta"],
    )  # fmt: skip
    bundle = detail.bundle
    bundle.data["datapoints"] = objects
    bundle.data["query_params"] = detail.echo | detail.chart_echo
    bundle.data["meta"] = page["meta"]
    bundle.data.update(extra)
    bundle = alter(detail.request, bundle)
    return render(detail.request, detail.serializer, bundle, content_type=detail.content_type)
