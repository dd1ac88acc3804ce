"""Streamed exports of datapoints: NDJSON and CSV, written page by page from storage.

An export reads ``page_size`` datapoints at a time, each page a fresh query that continues
right after the previous one (the positions of :mod:`django_datastream.detail.cursors`), so neither
the server's memory nor a storage transaction grows with the size of the export, and datapoints
appended meanwhile are neither repeated nor skipped. The generators yield ``bytes`` chunks for a
``StreamingHttpResponse`` (one chunk per page; Django's ``GZipMiddleware`` compresses them as
they go).

Under an ASGI server (uvicorn, the documented server of the live endpoint) the response gets an
*asynchronous* iterator instead, which makes each chunk in a worker thread
(:func:`asgiref.sync.sync_to_async`, ``thread_sensitive=False``) when the server asks for it:
Django would otherwise read a synchronous iterator whole, in memory, before the first byte.
So under WSGI and ASGI alike, the first bytes leave after the first page and memory stays flat.

An export the ``DATASTREAM_EXPORT_MAX_POINTS`` cap cuts short says so twice: in the header
``X-Datastream-Truncated: <cap>`` (decided by a count before the first byte) and by a last line
written when the cap was actually reached (CSV: ``# truncated: …``; NDJSON:
``{"truncated": true, …}``). Every export names a file: ``Content-Disposition: attachment;
filename="<stream id>_<start>_<end>.<csv|ndjson>"``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import functools
import io
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson
from asgiref.sync import async_to_sync, sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from tastypie.utils.mime import build_content_type

from datastream.constants import TIMESTAMP_TIME_KEYS
from datastream.granularity import from_seconds, to_seconds

from ..conf import datastream_settings
from ..formats.columns import convert_datapoint, time_converter
from ..formats.csv import csv_columns, datapoint_header, datapoint_rows
from ..formats.ndjson import ndjson_lines
from ..formats.serializer import CONTENT_TYPES
from ..http.caching import finish
from ..params.parse import DEFAULT_START, get_parameter, parse_limit, parse_offset
from .cursors import GetData, Window, continue_datapoints, position_after
from .request import DetailRequest

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "TRUNCATED_HEADER",
    "ExportResponse",
    "csv_chunks",
    "datapoint_pages",
    "export_filename",
    "export_response",
    "in_worker_threads",
    "ndjson_chunks",
    "truncated_line",
]

#: Datapoints read per query.
DEFAULT_PAGE_SIZE = 5000

#: The response header of an export cut short by ``DATASTREAM_EXPORT_MAX_POINTS``: the cap.
TRUNCATED_HEADER = "X-Datastream-Truncated"

_CAP_SETTING = "DATASTREAM_EXPORT_MAX_POINTS"
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def _time_of(datapoint: dict[str, Any]) -> int | None:
    """A second inside the datapoint's bucket (its own time for raw datapoints)."""
    time = datapoint.get("t")
    if isinstance(time, dict):
        for key in TIMESTAMP_TIME_KEYS:  # first, last, mean: times inside the bucket
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
    page_size: int | None = None,
    window: Window | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Pages (lists) of the datapoints ``get_data(**arguments)[offset:offset + limit]``
    (``limit`` ``None``: to the end), or of ``window`` when it is given (a cursor's), of
    ``page_size`` datapoints (default :data:`DEFAULT_PAGE_SIZE`)."""
    page_size = page_size or DEFAULT_PAGE_SIZE
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
        yield ndjson_lines(page, dumps)


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

    writer.writerow(datapoint_header(raw, time_keys, value_keys))
    yield flush()
    for page in pages:
        writer.writerows(datapoint_rows(page, cell, raw, time_keys, value_keys))
        yield flush()


def truncated_line(format_name: str, cap: int) -> bytes:
    """The last line of an export cut short at ``cap`` datapoints."""
    if format_name == "ndjson":
        record = {"truncated": True, "max_points": cap, "setting": _CAP_SETTING}
        return orjson.dumps(record) + b"\n"
    return f"# truncated: at most {cap} datapoints per export ({_CAP_SETTING})\r\n".encode()


@dataclasses.dataclass
class _Cut:
    """Whether :func:`_cut_pages` found a datapoint beyond the cap."""

    more: bool = False


def _cut_pages(
    pages: Iterable[list[dict[str, Any]]], cap: int, cut: _Cut
) -> Iterator[list[dict[str, Any]]]:
    """The pages of at most ``cap`` datapoints of ``pages`` (which may hold one more, to tell
    whether the cap cut the export: ``cut.more``)."""
    remaining = cap
    for page in pages:
        if len(page) > remaining:
            cut.more = True
            page = page[:remaining]
        remaining -= len(page)
        if page:
            yield page
        if cut.more:
            return


def _with_trailer(chunks: Iterator[bytes], cut: _Cut, trailer: bytes) -> Iterator[bytes]:
    yield from chunks
    if cut.more:
        yield trailer


def _stamp(seconds: int | None) -> str:
    """``20230101T000000Z`` (``open`` for ``None``)."""
    if seconds is None:
        return "open"
    return from_seconds(seconds).strftime("%Y%m%dT%H%M%SZ")


def export_filename(stream_id: str, start: int | None, end: int | None, extension: str) -> str:
    """``<stream id>_<start>_<end>.<extension>``, times as ``20230101T000000Z`` (``open`` when
    unknown); in the id, runs of characters other than letters, digits, ``.``, ``_`` and ``-``
    become one ``-`` (a safe name on every system, and in a quoted header parameter)."""
    safe_id = _UNSAFE_FILENAME.sub("-", stream_id).strip(".-") or "stream"
    return f"{safe_id}_{_stamp(start)}_{_stamp(end)}.{extension}"


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


async def in_worker_threads(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` as an asynchronous iterator for an ASGI server: each chunk is made in a
    worker thread (``sync_to_async(thread_sensitive=False)``, so exports do not queue behind
    each other in Django's one synchronous thread) when the server asks for the next one:
    nothing is read ahead of what the client takes. ``chunks`` is closed at the end, also
    when the client goes away."""
    pull = sync_to_async(_next_chunk, thread_sensitive=False)
    try:
        while (chunk := await pull(chunks)) is not None:
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            try:
                await sync_to_async(close, thread_sensitive=False)()
            except ValueError:
                # The client went away while a worker thread was making a chunk: the generator
                # is still running there; it is closed when it is collected.
                pass


class ExportResponse(StreamingHttpResponse):
    """A streamed export. Its ``content`` (which Django's streaming responses lack) reads the
    whole body, for tests and for code written against the unstreamed answers; servers send
    ``streaming_content`` chunk by chunk. Under ASGI its content is an asynchronous iterator
    (see :func:`in_worker_threads`)."""

    @property
    def content(self) -> bytes:
        body = getattr(self, "_joined", None)
        if body is None:
            if self.is_async:
                body = async_to_sync(self._join)()
            else:
                body = b"".join(self.streaming_content)
            self._joined = body
        return body

    async def _join(self) -> bytes:
        return b"".join([chunk async for chunk in self.streaming_content])


def _body(request: Any, chunks: Iterator[bytes]) -> Iterator[bytes] | AsyncIterator[bytes]:
    """What the response iterates: ``chunks``, or under ASGI an asynchronous iterator of them."""
    if isinstance(request, ASGIRequest):
        return in_worker_threads(chunks)
    return chunks


def _range_seconds(stream: Any, query: Any) -> tuple[int | None, int | None]:
    """The first and last second of the export's range as asked (the stream's first and last
    datapoint where the query leaves it open)."""
    start = query.start_exclusive or query.start
    if start is None or start == DEFAULT_START:
        start = stream.earliest_datapoint
    end = query.end_exclusive or query.end or stream.latest_datapoint
    return (
        to_seconds(start) if isinstance(start, datetime.datetime) else None,
        to_seconds(end) if isinstance(end, datetime.datetime) else None,
    )


def export_response(detail: DetailRequest, window: Window) -> ExportResponse:
    """The streamed NDJSON or CSV answer of ``detail``: the datapoints of ``window`` from its
    offset, at most ``limit`` (default ``Meta.datapoints_limit``, at most
    ``DATASTREAM_EXPORT_MAX_POINTS``: a larger ``limit`` that the range would fill is cut
    there, and the answer says so), times written as ``time_format`` asks."""
    request, stream, query = detail.request, detail.stream, detail.query
    datastream, serializer, format_name = detail.datastream, detail.serializer, detail.format_name
    max_points = datastream_settings.EXPORT_MAX_POINTS
    default_limit = detail.paging.limit or datastream_settings.DETAIL_LIMIT
    convert = None
    if detail.chart.time_format != "iso":
        times = time_converter(detail.chart.time_format)

        def convert(point: dict[str, Any]) -> dict[str, Any]:
            return convert_datapoint(point, times)

    limit = get_parameter(request.GET, "limit", parse_limit, default_limit)
    capped = bool(max_points) and limit > max_points
    if capped:
        limit = max_points
    offset = window.offset
    if window.position is None:
        offset = get_parameter(request.GET, "offset", parse_offset, 0)
    content_type = build_content_type(CONTENT_TYPES[format_name])
    get_data = functools.partial(datastream.get_data, stream.id)
    filename = export_filename(stream.id, *_range_seconds(stream, query), format_name)
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Access-Control-Expose-Headers": f"Content-Disposition, {TRUNCATED_HEADER}",
    }
    # Counting first (cheap: stored bucket counts) tells before the first byte whether the cap
    # cuts the export; one datapoint more than the cap is read to tell it again at the end.
    if capped and get_data(**window.arguments)[offset : offset + limit + 1].count() > limit:
        headers[TRUNCATED_HEADER] = str(limit)
    if (request.method or "").upper() == "HEAD":
        response = ExportResponse(
            _body(request, iter(())), content_type=content_type, headers=headers
        )
        finish(request, response)
        return response
    pages: Iterable[list[dict[str, Any]]] = datapoint_pages(
        get_data,
        detail.arguments,
        stream.highest_granularity,
        offset,
        limit + 1 if capped else limit,
        window=Window(window.arguments, offset, window.position),
    )
    cut = _Cut()
    if capped:
        pages = _cut_pages(pages, limit, cut)
    if convert is not None:
        pages = ([convert(point) for point in page] for page in pages)
    if format_name == "ndjson":
        chunks = ndjson_chunks(pages, serializer.to_json)
    else:
        columns = {
            "query_params": detail.echo,
            "highest_granularity": stream.highest_granularity.name,
            "value_downsamplers": stream.value_downsamplers,
            "time_downsamplers": stream.time_downsamplers,
        }
        chunks = csv_chunks(pages, serializer.csv_cell_converter(), *csv_columns(columns))
    if capped:
        chunks = _with_trailer(chunks, cut, truncated_line(format_name, limit))
    response = ExportResponse(_body(request, chunks), content_type=content_type, headers=headers)
    finish(request, response)
    return response
