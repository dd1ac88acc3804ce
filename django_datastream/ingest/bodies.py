"""Datapoints written as JSON, NDJSON, CSV or columns.

Each body is a list of records with the keys ``t`` (the time, optional: the server's now) and
``v`` (the value), plus ``stream_id`` for the batch endpoint:

* JSON (``application/json``): ``[{"t": …, "v": …}, …]``, or the columns shape
  ``{"t": […], "v": […]}`` (lists of equal length);
* NDJSON (``application/x-ndjson``): one such object per line, blank lines skipped;
* CSV (``text/csv``): a header row naming the columns (``t,v``, any order, other columns
  ignored), then one row per datapoint. A cell that reads as a number is that number, an
  empty cell is ``null``, any other cell is a string.

Times are read by :func:`django_datastream.params.times.parse_datapoint_time` (ISO 8601, or
epoch numbers in the request's ``precision``). A record that cannot be read raises
:class:`~django_datastream.ingest.errors.BadBody` naming its index (JSON) or line (NDJSON,
CSV), before anything is stored.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import quote
from ..params.times import InvalidTime, parse_datapoint_time
from .errors import BadBody, TooLarge

__all__ = ["CONTENT_TYPES", "Record", "parse_records"]

#: Media types of the bodies understood -> their kind.
CONTENT_TYPES: dict[str, str] = {
    "application/json": "json",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/x-jsonlines": "ndjson",
    "text/csv": "csv",
}

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Record:
    """One datapoint read from a body: where it was (``position``, for messages: ``"index 3"``
    or ``"line 4"``), its stream (batch only), time (``None``: now) and value."""

    position: str
    stream_id: Any
    timestamp: datetime.datetime | None
    value: Any


def body_kind(content_type: str | None) -> str:
    """``json``, ``ndjson`` or ``csv`` for a ``Content-Type`` (none, or one of the form
    types curl sends by default, is JSON); raises :class:`BadBody` (415) otherwise."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("", "application/x-www-form-urlencoded", "text/plain"):
        return "json"
    if media.endswith("+json"):
        return "json"
    kind = CONTENT_TYPES.get(media)
    if kind is None:
        raise BadBody(
            f"Unsupported Content-Type {quote(media)}: send application/json, "
            "application/x-ndjson or text/csv.",
            415,
        )
    return kind


def parse_records(
    body: bytes, content_type: str | None, unit: str, batch: bool, max_records: int
) -> list[Record]:
    """The records of ``body``; ``batch`` requires a ``stream_id`` in each. More than
    ``max_records`` (``0``: no limit) raises :class:`TooLarge`."""
    kind = body_kind(content_type)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadBody(f"The body is not UTF-8 text: {error}") from None
    if kind == "csv":
        items: Iterator[tuple[str, Any]] = _csv_items(text)
    elif kind == "ndjson":
        items = _ndjson_items(text)
    else:
        items = _json_items(text, batch)
    records = []
    limit = max_records if max_records and max_records > 0 else None
    for position, item in items:
        if limit is not None and len(records) >= limit:
            raise TooLarge(
                f"More than {limit} datapoints in one request "
                "(DATASTREAM_INGEST_MAX_DATAPOINTS); send smaller batches."
            )
        records.append(_record(position, item, unit, batch))
    return records


def _record(position: str, item: Any, unit: str, batch: bool) -> Record:
    if not isinstance(item, dict):
        raise BadBody(f"Datapoint at {position}: an object with 't' and 'v' is expected.")
    if "v" not in item:
        raise BadBody(f"Datapoint at {position}: the value 'v' is missing.")
    stream_id = None
    if batch:
        stream_id = item.get("stream_id")
        if not isinstance(stream_id, str) or not stream_id:
            raise BadBody(f"Datapoint at {position}: 'stream_id' (a string) is missing.")
    time = item.get("t")
    timestamp = None
    if time is not None and time != "":
        try:
            timestamp = parse_datapoint_time(time, unit)
        except InvalidTime as error:
            raise BadBody(f"Datapoint at {position}: {error}.") from None
    return Record(position, stream_id, timestamp, item["v"])


def _loads(text: str | bytes, where: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise BadBody(f"{where}: not valid JSON ({error}).") from None


def _json_items(text: str, batch: bool) -> Iterator[tuple[str, Any]]:
    data = _loads(text, "The body")
    if isinstance(data, dict):
        yield from _column_items(data, batch)
        return
    if not isinstance(data, list):
        raise BadBody("The body must be a JSON list of datapoints or an object of columns.")
    for index, item in enumerate(data):
        yield f"index {index}", item


def _column_items(data: dict[str, Any], batch: bool) -> Iterator[tuple[str, Any]]:
    names = ["stream_id", "t", "v"] if batch else ["t", "v"]
    unknown = sorted(set(data) - set(names))
    if unknown or "v" not in data:
        raise BadBody(
            f"Columns must be {', '.join(repr(n) for n in names)} (lists of equal length); "
            f"got {sorted(data)}."
        )
    columns = {name: data[name] for name in names if name in data}
    lengths = {len(c) if isinstance(c, list) else -1 for c in columns.values()}
    if -1 in lengths or len(lengths) != 1:
        raise BadBody("Columns must be lists of equal length.")
    for index in range(lengths.pop()):
        yield f"index {index}", {name: column[index] for name, column in columns.items()}


def _ndjson_items(text: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            yield f"line {number}", _loads(line, f"Line {number}")


def _csv_items(text: str) -> Iterator[tuple[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return
        names = [name.strip() for name in header]
        if "v" not in names:
            raise BadBody(f"Line 1: the CSV header must name the columns 't' and 'v'; got {names}.")
        for row in reader:
            if not row or row == [""]:
                continue
            number = reader.line_num
            if len(row) != len(names):
                raise BadBody(f"Line {number}: {len(row)} cells, the header has {len(names)}.")
            item = dict(zip(names, row, strict=True))
            item["v"] = _cell_value(item["v"])
            yield f"line {number}", item
    except csv.Error as error:
        raise BadBody(f"Line {reader.line_num}: not valid CSV ({error}).") from None


def _cell_value(cell: str) -> Any:
    if cell == "":
        return None
    if _NUMBER.fullmatch(cell.strip()):
        text = cell.strip()
        if "." in text or "e" in text or "E" in text:
            return float(text)
        return int(text)
    return cell

