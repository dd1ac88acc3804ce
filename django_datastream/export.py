"""Streamed exports of datapoints: NDJSON and CSV, written page by page from storage.

An export reads ``page_size`` datapoints at a time, each page a fresh query that continues
right after the previous one (the positions of :mod:`django_datastream.cursors`), so neither
the server's memory nor a storage transaction grows with the size of the export, and datapoints
appended meanwhile are neither repeated nor skipped. The generators yield ``bytes`` chunks for a
``StreamingHttpResponse`` (one chunk per page; Django's ``GZipMiddleware`` compresses them as
they go).
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse
from tastypie.utils.mime import build_content_type

from datastream.granularity import to_seconds

from .cursors import GetData, Window, continue_datapoints, position_after

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "ExportResponse",
    "csv_chunks",
    "datapoint_pages",
    "export_response",
    "ndjson_chunks",
]

#: Datapoints read per query.
DEFAULT_PAGE_SIZE = 5000

_TIME_KEYS = ("a", "z", "m")  # first, last, mean: times inside the bucket


def _time_of(datapoint: dict[str, Any]) -> int | None:
    """A second inside the datapoint's bucket (its own time for raw datapoints)."""
    time = datapoint.get("t")
    if isinstance(time, dict):
        for key in _TIME_KEYS:
            value = time.get(key)
            if value is not None:
                return to_seconds(value)
        return None
    return to_seconds(time) if time is not None else None


def datapoint_pages(
    get_data: GetData,
    arguments: dict[str, Any],
    highest: Any,
    offset: int,
    limit: int | None,
    page_size: int = DEFAULT_PAGE_SIZE,
    window: Window | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Pages (lists) of the datapoints ``get_data(**arguments)[offset:offset + limit]``
    (``limit`` ``None``: to the end), or of ``window`` when it is given (a cursor's)."""
    window = window or Window(dict(arguments), offset)
    remaining = limit
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        page = list(iter(get_data(**window.arguments)[window.offset : window.offset + size]))
        if not page:
            return
        yield page
        if remaining is not None:
            remaining -= len(page)
        if len(page) < size:
            return
        position = position_after(get_data, window, highest, [_time_of(d) for d in page])
        window = continue_datapoints(get_data, arguments, highest, position)


def ndjson_chunks(
    pages: Iterable[list[dict[str, Any]]], dumps: Callable[[Any], bytes]
) -> Iterator[bytes]:
    """One JSON datapoint a line (``dumps`` writes one as compact JSON), a chunk per page."""
    for page in pages:
        yield b"".join(dumps(datapoint) + b"\n" for datapoint in page)


def csv_chunks(
    pages: Iterable[list[dict[str, Any]]],
    cell: Callable[[Any], Any],
    raw: bool,
    time_keys: Sequence[str],
    value_keys: Sequence[str],
) -> Iterator[bytes]:
    """CSV with a header row: ``t,v`` for raw datapoints, else a column per time downsampler
    key (``t.m``, …) then per value downsampler key (``v.m``, …). ``cell`` turns a value into
    a cell. A chunk for the header, then one per page."""
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\r\n")

    def flush() -> bytes:
        text = output.getvalue()
        output.seek(0)
        output.truncate()
        return text.encode()

    if raw:
        writer.writerow(("t", "v"))
    else:
        writer.writerow([f"t.{k}" for k in time_keys] + [f"v.{k}" for k in value_keys])
    yield flush()
    empty: dict[str, Any] = {}
    for page in pages:
        if raw:
            writer.writerows((cell(p.get("t")), cell(p.get("v"))) for p in page)
        else:
            writer.writerows(
                [cell(times.get(k)) for k in time_keys] + [cell(values.get(k)) for k in value_keys]
                for times, values in ((p.get("t") or empty, p.get("v") or empty) for p in page)
            )
        yield flush()


class ExportResponse(StreamingHttpResponse):
    """A streamed export. Its ``content`` (which Django's streaming responses lack) reads the
    whole body, for tests and for code written against the unstreamed answers; servers send
    ``streaming_content`` chunk by chunk."""

    @property
    def content(self) -> bytes:
        body = getattr(self, "_joined", None)
        if body is None:
            body = self._joined = b"".join(self.streaming_content)
        return body


def export_response(
    request: Any,
    serializer: Any,
    datastream: Any,
    stream: Any,
    query: Any,
    window: Window,
    format_name: str,
    max_points: int,
    default_limit: int,
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> ExportResponse:
    """The streamed NDJSON or CSV answer of a detail request: the datapoints of ``window``
    from its offset, at most ``limit`` (default ``default_limit``, at most ``max_points``).
    ``convert`` (optional) rewrites each datapoint (time formats)."""
    from .paginator import parse_limit
    from .query import get_parameter
    from .serializers import CONTENT_TYPES, csv_columns

    limit = get_parameter(request.GET, "limit", parse_limit, default_limit)
    limit = min(limit, max_points) if max_points else limit
    offset = window.offset
    if window.position is None:
        from .paginator import parse_offset

        offset = get_parameter(request.GET, "offset", parse_offset, 0)
    content_type = CONTENT_TYPES[format_name]
    if (request.method or "").upper() == "HEAD":
        return ExportResponse(iter(()), content_type=build_content_type(content_type))
    get_data = functools.partial(datastream.get_data, stream.id)
    pages: Iterable[list[dict[str, Any]]] = datapoint_pages(
        get_data,
        query.get_data_arguments(),
        stream.highest_granularity,
        offset,
        limit,
        window=Window(window.arguments, offset, window.position),
    )
    if convert is not None:
        pages = ([convert(point) for point in page] for page in pages)
    if format_name == "ndjson":
        chunks = ndjson_chunks(pages, serializer.to_json)
    else:
        detail = {
            "query_params": query.echo(),
            "highest_granularity": stream.highest_granularity.name,
            "value_downsamplers": stream.value_downsamplers,
            "time_downsamplers": stream.time_downsamplers,
        }
        chunks = csv_chunks(pages, serializer.csv_cell_converter(), *csv_columns(detail))
    return ExportResponse(chunks, content_type=build_content_type(content_type))
