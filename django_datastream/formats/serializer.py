"""Serialisation of API responses: JSON (orjson) here; JSONP, XML, CSV and NDJSON by the
writers of this package (:mod:`.jsonp`, :mod:`.xml`, :mod:`.csv`, :mod:`.ndjson`).

This module alone decides how a page is written. The resource hands over plain data: the
stream list, or a stream whose ``datapoints`` are a page of the lazy ``get_data`` result
(:class:`datastream.Datapoints`). JSON asks that page for the JSON text its storage makes
(``json_array``, no Python object per datapoint); the other formats iterate it. The CSV columns
follow from the response itself (``query_params`` and the stream's fields). Conventions shared
by every format:

* datetimes are ISO 8601 in UTC with a ``Z`` (``TASTYPIE_DATETIME_FORMATTING`` may choose
  ``'iso-8601-strict'``, without microseconds, or ``'rfc-2822'``); naive ones are UTC;
* ``Decimal`` values (high-accuracy streams) are strings;
* NaN and ±Infinity are ``null`` (an empty cell in CSV).
"""

from __future__ import annotations

import csv
import datetime
import decimal
import email.utils
import io
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from django.conf import settings
from tastypie.bundle import Bundle
from tastypie.exceptions import UnsupportedSerializationFormat
from tastypie.serializers import Serializer

from datastream import Datapoints, Streams
from datastream.jsonformat import iso_seconds

from ..conf import datastream_settings
from ..errors import NotAcceptable
from .csv import csv_columns, datapoint_header, datapoint_rows
from .jsonp import (
    CALLBACK_PATTERN,
    MAX_CALLBACK_LENGTH,
    RESERVED_WORDS,
    is_valid_callback,
    wrap_jsonp,
)
from .ndjson import ndjson_lines
from .xml import write_xml

__all__ = [
    "CALLBACK_PATTERN",
    "CONTENT_TYPES",
    "DatastreamSerializer",
    "FormatNotAvailable",
    "MAX_CALLBACK_LENGTH",
    "RESERVED_WORDS",
    "STREAMED_FORMATS",
    "is_valid_callback",
]

#: Short format name -> content type.
CONTENT_TYPES: dict[str, str] = {
    "json": "application/json",
    "jsonp": "text/javascript",
    "xml": "application/xml",
    "csv": "text/csv",
    "ndjson": "application/x-ndjson",
}

#: Formats whose detail answers are streamed (see :mod:`django_datastream.detail.export`).
STREAMED_FORMATS = ("csv", "ndjson")

_ORJSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class FormatNotAvailable(NotAcceptable, UnsupportedSerializationFormat):
    """An enabled format that cannot write this response (CSV of the schema); answered 406
    with the message as it is."""


class DatastreamSerializer(Serializer):
    """tastypie serializer producing JSON through orjson, JSONP, XML and CSV.

    The enabled formats come from ``DATASTREAM_API_FORMATS`` at request time; the datetime
    style from ``TASTYPIE_DATETIME_FORMATTING`` (or the ``datetime_formatting`` argument).
    """

    content_types = CONTENT_TYPES

    def __init__(self, datetime_formatting: str | None = None) -> None:
        self._datetime_formatting = datetime_formatting
        self._to_methods = {ct: getattr(self, f"to_{fmt}") for fmt, ct in CONTENT_TYPES.items()}
        self._from_methods = {CONTENT_TYPES["json"]: self.from_json}

    # Formats ------------------------------------------------------------------------------

    @property
    def formats(self) -> list[str]:  # type: ignore[override]
        return [name for name in datastream_settings.API_FORMATS if name in CONTENT_TYPES]

    @property
    def supported_formats(self) -> list[str]:  # type: ignore[override]
        return [CONTENT_TYPES[name] for name in self.formats]

    @property
    def supported_formats_reversed(self) -> list[str]:  # type: ignore[override]
        return self.supported_formats[::-1]

    @property
    def datetime_formatting(self) -> str:  # type: ignore[override]
        if self._datetime_formatting is not None:
            return self._datetime_formatting
        return getattr(settings, "TASTYPIE_DATETIME_FORMATTING", "iso-8601")

    def serialize(self, bundle: Any, format: str = "application/json", options: Any = None) -> Any:
        method = self._to_methods.get(format.split(";")[0].strip())
        if method is None:
            raise FormatNotAvailable(f"The format {format!r} is not available.")
        return method(bundle, options or {})

    # Scalars ------------------------------------------------------------------------------

    def format_datetime(self, data: datetime.datetime) -> str:
        """A datetime as text in the configured style; naive means UTC."""
        if data.tzinfo is None or data.utcoffset() is None:
            data = data.replace(tzinfo=datetime.UTC)
        style = self.datetime_formatting
        if style == "rfc-2822":
            return email.utils.format_datetime(data)
        if style == "iso-8601-strict":
            data = data.replace(microsecond=0)
        text = data.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def format_date(self, data: datetime.date) -> str:
        """A date as text: ``2014-05-05``, or ``05 May 2014`` in RFC 2822 style."""
        if self.datetime_formatting == "rfc-2822":
            return f"{data.day:02d} {_MONTHS[data.month - 1]} {data.year:04d}"
        return data.isoformat()

    def format_time(self, data: datetime.time) -> str:
        """A time as text: ``01:05:00``, or ``01:05:00 +0000`` in RFC 2822 style."""
        if self.datetime_formatting == "rfc-2822":
            offset = data.utcoffset() or datetime.timedelta(0)
            sign = "-" if offset < datetime.timedelta(0) else "+"
            minutes = abs(int(offset.total_seconds())) // 60
            return f"{data.strftime('%H:%M:%S')} {sign}{minutes // 60:02d}{minutes % 60:02d}"
        if self.datetime_formatting == "iso-8601-strict":
            data = data.replace(microsecond=0)
        return data.isoformat()

    def _default(self, value: Any) -> Any:
        """orjson's fallback for the types it does not write itself."""
        if isinstance(value, Bundle):
            return value.data
        if isinstance(value, decimal.Decimal):
            return str(value)
        if isinstance(value, datetime.datetime):
            return self.format_datetime(value)
        if isinstance(value, datetime.date):
            return self.format_date(value)
        if isinstance(value, datetime.time):
            return self.format_time(value)
        if isinstance(value, Datapoints):
            # The storage's JSON has this style (datapoint times are whole seconds).
            if self.datetime_formatting in ("iso-8601", "iso-8601-strict"):
                return orjson.Fragment(value.json_array())
            return list(iter(value))  # iter(): list() would first count the window
        if isinstance(value, set | frozenset | Streams):
            return list(iter(value))
        raw_json = getattr(value, "__json__", None)  # objects carrying pre-serialised JSON
        if callable(raw_json):
            return orjson.Fragment(raw_json())
        name = getattr(value, "name", None)  # granularity classes
        return name if isinstance(name, str) else str(value)

    def to_plain(self, value: Any) -> Any:
        """``value`` as JSON-compatible builtins (the slow path, used by XML and CSV and when
        orjson cannot write a value, such as an integer beyond 64 bits)."""
        if isinstance(value, Bundle):
            value = value.data
        if isinstance(value, dict):
            return {str(key): self.to_plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple | Datapoints | Streams):
            return [self.to_plain(item) for item in value]
        if value is None or isinstance(value, str | bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        raw_json = getattr(value, "__json__", None)
        if callable(raw_json):
            return self.to_plain(orjson.loads(raw_json()))
        return self.to_plain(self._default(value))

    # JSON and JSONP -----------------------------------------------------------------------

    def to_json(self, data: Any, options: Any = None) -> bytes:
        """Compact UTF-8 JSON."""
        style = self.datetime_formatting
        option = _ORJSON_OPTIONS
        if style == "iso-8601-strict":
            option |= orjson.OPT_OMIT_MICROSECONDS
        elif style != "iso-8601":
            option |= orjson.OPT_PASSTHROUGH_DATETIME
        try:
            return orjson.dumps(data, default=self._default, option=option)
        except orjson.JSONEncodeError:
            pass
        try:  # dictionary keys that are not strings (three times slower, hence not first)
            return orjson.dumps(
                data, default=self._default, option=option | orjson.OPT_NON_STR_KEYS
            )
        except orjson.JSONEncodeError:  # e.g. integers beyond 64 bits
            return json.dumps(
                self.to_plain(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()

    def from_json(self, content: str | bytes) -> Any:
        """Parse JSON (used by the test helpers)."""
        return orjson.loads(content)

    def to_jsonp(self, data: Any, options: Any = None) -> bytes:
        """JSON wrapped in a call of ``options['callback']`` (validated by the caller too)."""
        return wrap_jsonp(self.to_json(data), (options or {}).get("callback", "callback"))

    # XML ----------------------------------------------------------------------------------

    def to_xml(self, data: Any, options: Any = None) -> bytes:
        """tastypie-style XML: ``<response>`` root, ``type`` attributes on non-strings."""
        return write_xml(self.to_plain(data))

    # CSV ----------------------------------------------------------------------------------

    def to_csv(self, data: Any, options: Any = None) -> bytes:
        """Datapoints of a detail response, one row each; or the streams of a list."""
        output = io.StringIO()
        writer = csv.writer(output, lineterminator="\r\n")
        if isinstance(data, Bundle) and "datapoints" in data.data:
            datapoints = data.data["datapoints"]
            rows = iter(datapoints) if datapoints is not None else ()
            self._write_datapoints(writer, rows, *csv_columns(data.data))
        elif isinstance(data, dict) and isinstance(data.get("objects"), list):
            self._write_streams(writer, data["objects"])
        else:
            others = ", ".join(name for name in self.formats if name not in STREAMED_FORMATS)
            raise FormatNotAvailable(
                "The CSV format is not available for this URL: only the stream list and a "
                f"stream's datapoints are written as CSV. Use one of {others} here."
            )
        return output.getvalue().encode()

    def to_ndjson(self, data: Any, options: Any = None) -> bytes:
        """One compact JSON value a line: the datapoints of a detail response (which the
        resource streams instead), or the streams of a list."""
        if isinstance(data, Bundle) and "datapoints" in data.data:
            items: Any = data.data["datapoints"] or ()
        elif isinstance(data, dict) and isinstance(data.get("objects"), list):
            items = data["objects"]
        else:
            others = ", ".join(name for name in self.formats if name not in STREAMED_FORMATS)
            raise FormatNotAvailable(
                "NDJSON is available for the stream list and for a stream's datapoints only; "
                f"ask for another format here: {others}."
            )
        return ndjson_lines(items, self.to_json)

    def csv_cell_converter(self) -> Any:
        """The function turning a value into a CSV cell, as :meth:`to_csv` writes them."""
        return self._cell_converter()

    def _cell_converter(self) -> Any:
        """A function turning a value into a CSV cell (``None`` is written as empty)."""
        iso = self.datetime_formatting == "iso-8601"
        utc = datetime.UTC
        to_json = self.to_json
        format_datetime = self.format_datetime
        default = self._default

        def cell(value: Any) -> Any:
            kind = type(value)
            if kind is str or kind is int or value is None:
                return value
            if kind is float:
                return value if value - value == 0 else None  # NaN and ±inf: empty
            if kind is datetime.datetime:
                if iso and value.tzinfo is utc:
                    if not value.microsecond:  # whole seconds: from a table, not formatted
                        return iso_seconds(int(value.timestamp()))
                    return value.isoformat()[:-6] + "Z"  # drop "+00:00"
                return format_datetime(value)
            if kind is bool:
                return "true" if value else "false"
            if isinstance(value, dict | list | tuple):
                return to_json(value).decode()
            if isinstance(value, decimal.Decimal | int | str):
                return str(value)
            return cell(default(value))

        return cell

    def _write_datapoints(
        self,
        writer: Any,
        datapoints: Iterable[dict[str, Any]],
        raw: bool,
        time_keys: Sequence[str],
        value_keys: Sequence[str],
    ) -> None:
        writer.writerow(datapoint_header(raw, time_keys, value_keys))
        writer.writerows(
            datapoint_rows(datapoints, self._cell_converter(), raw, time_keys, value_keys)
        )

    def _write_streams(self, writer: Any, streams: Iterable[Any]) -> None:
        columns = (
            "id", "resource_uri", "value_type", "highest_granularity", "earliest_datapoint",
            "latest_datapoint", "value_downsamplers", "time_downsamplers", "tags",
            "last_downsampling_error",
        )  # fmt: skip
        joined = {"value_downsamplers", "time_downsamplers"}
        cell = self._cell_converter()
        writer.writerow(columns)
        for stream in streams:
            data = stream.data if isinstance(stream, Bundle) else stream
            writer.writerow(
                [",".join(data.get(c) or ()) if c in joined else cell(data.get(c)) for c in columns]
            )
