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
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from datastream.granularity import to_seconds

from .cursors import GetData, Window, continue_datapoints, position_after

__all__ = ["DEFAULT_PAGE_SIZE", "csv_chunks", "datapoint_pages", "ndjson_chunks"]

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
