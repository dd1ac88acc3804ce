"""The OpenAPI 3.1 description of the API, served at ``/api/v1/openapi.json``.

The document is built at request time from the same definitions the request parsing uses:
parameter names and short forms (:data:`django_datastream.query.ALIASES`), granularities and
downsamplers (:mod:`datastream.constants`), limits and formats (the settings), so it follows the
configuration and cannot drift from the code (a test checks that every parsed parameter is
described). Paths are absolute, under the prefix the API is included at.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from datastream.constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS, VALUE_TYPES
from datastream.granularity import Granularity
from datastream.tagquery import OPERATORS
from datastream.thinning import ALGORITHMS, MIN_POINTS

from . import query
from .chartformat import SHAPES, TIME_FORMATS
from .chartquery import CHART_ALIASES
from .conf import datastream_settings
from .cursors import MAX_CURSOR_LENGTH
from .timeparse import MAX_SECONDS, MIN_SECONDS

__all__ = ["OPENAPI_VERSION", "Parameter", "build_document", "detail_parameters"]

OPENAPI_VERSION = "3.1.0"

_REF = "#/components/schemas/"
_CONTENT_TYPES = {
    "json": "application/json",
    "jsonp": "text/javascript",
    "xml": "application/xml",
    "csv": "text/csv",
    "ndjson": "application/x-ndjson",
}


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A query parameter: its long name, schema and description (the short form comes from
    :data:`django_datastream.query.ALIASES`)."""

    name: str
    schema: dict[str, Any]
    description: str
    explode: bool | None = None

    def objects(self) -> list[dict[str, Any]]:
        """The OpenAPI parameter objects: the long name, then the short form if there is one."""
        short = query.ALIASES.get(self.name) or CHART_ALIASES.get(self.name)
        names = [(self.name, self.description)]
        if short is not None:
            names.append((short, f"Short form of `{self.name}`: {self.description}"))
        result = []
        for name, description in names:
            item: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": False,
                "description": description,
                "schema": self.schema,
            }
            if self.explode is not None:
                item.update(style="form", explode=self.explode)
            result.append(item)
        return result


def _names_and_keys(known: dict[str, str]) -> list[str]:
    return list(dict.fromkeys([*known, *known.values()]))


def _time_schema() -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "integer", "minimum": MIN_SECONDS, "maximum": MAX_SECONDS},
            {"type": "string", "format": "date-time"},
            {"type": "string", "format": "date"},
        ]
    }


def _time(name: str, meaning: str) -> Parameter:
    return Parameter(
        name,
        _time_schema(),
        f"{meaning}: integer UNIX seconds (UTC), or an ISO 8601 / RFC 3339 timestamp "
        "(`2024-01-01T00:00:00Z`, `2024-01-01T01:00:00+01:00`; no offset means UTC). "
        "A fraction of a second is rounded to the whole second selecting the same datapoints.",
    )


def _downsamplers(name: str, known: dict[str, str], kind: str) -> Parameter:
    return Parameter(
        name,
        {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "enum": _names_and_keys(known)},
        },
        f"{kind} downsamplers to return, by name or key, comma-separated and/or repeated; "
        "default: every one the stream keeps.",
        explode=False,
    )


def _limit(default: int, maximum: int, zero: str) -> Parameter:
    capped = f"larger values give {maximum}" if maximum else "no maximum"
    return Parameter(
        "limit",
        {"type": "integer", "minimum": 0},
        f"Items per page: default {default}, {capped}; `0` gives {zero}.",
    )


_OFFSET = Parameter(
    "offset",
    {"type": "integer", "minimum": 0, "maximum": query.MAX_OFFSET},
    "Number of items to skip. Cannot be combined with `cursor`.",
)

_CURSOR = Parameter(
    "cursor",
    {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH},
    "Continue right after the last item of the response whose `meta.next_cursor` this is, "
    "whatever was appended meanwhile. Keep every other parameter but `limit` and `format` "
    "unchanged. Cannot be combined with `offset`.",
)


def _format_parameter(names: Iterable[str]) -> dict[str, Any]:
    return {
        "name": "format",
        "in": "query",
        "required": False,
        "description": "Response format (else chosen by `callback`, then by `Accept`).",
        "schema": {"type": "string", "enum": list(names)},
    }


_CALLBACK = {
    "name": "callback",
    "in": "query",
    "required": False,
    "description": "JSONP function name: dotted JavaScript identifiers, no reserved word.",
    "schema": {
        "type": "string",
        "maxLength": 128,
        "pattern": r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$",
    },
}


def detail_parameters() -> list[Parameter]:
    """The datapoint parameters of ``/stream/<id>/`` (long names)."""
    granularities = [name for g in Granularity.values for name in (g.name, g.key)]
    return [
        Parameter(
            "granularity",
            {"type": "string", "enum": granularities},
            "Granularity by name or key; default: the stream's highest (raw datapoints).",
        ),
        _time("start", "Inclusive start, rounded down to the start of its bucket"),
        _time("start_exclusive", "Exclusive start: the bucket holding it is excluded"),
        _time("end", "Inclusive end: the bucket starting at or before it is included"),
        _time("end_exclusive", "Exclusive end: buckets starting before it are included"),
        Parameter(
            "reverse",
            {"type": "string"},
            "`yes`, `true`, `t`, `1` or `y` (any case): newest first; anything else: oldest "
            "first (the default).",
        ),
        _downsamplers("value_downsamplers", VALUE_DOWNSAMPLERS, "Value"),
        _downsamplers("time_downsamplers", TIME_DOWNSAMPLERS, "Time"),
        Parameter(
            "max_points",
            {"type": "integer", "minimum": 1, "maximum": datastream_settings.DETAIL_MAX_LIMIT},
            "At most this many datapoints over the requested range (a chart's width): picks the "
            "finest granularity that fits. Not with `granularity`.",
        ),
        Parameter(
            "thin",
            {"type": "string", "enum": list(ALGORITHMS)},
            f"Thin raw datapoints to `max_points` (at least {MIN_POINTS}) with this algorithm "
            "instead of choosing a granularity. Needs `max_points`; numeric streams only.",
        ),
        Parameter(
            "shape",
            {"type": "string", "enum": list(SHAPES)},
            "`rows` (default): a list of datapoints; `columns`: one array per key "
            "(JSON, JSONP and XML).",
        ),
        Parameter(
            "time_format",
            {"type": "string", "enum": list(TIME_FORMATS)},
            "Datapoint times as `iso` (default) strings, `epoch` seconds or `epoch_ms` "
            "milliseconds.",
        ),
        Parameter(
            "open_bucket",
            {"type": "string", "enum": ["1", "0", "true", "false", "yes", "no"]},
            "Add the still-open last bucket of a downsampled granularity, computed from raw data.",
        ),
        _limit(
            datastream_settings.DETAIL_LIMIT,
            datastream_settings.DETAIL_MAX_LIMIT,
            "no datapoints (only the metadata and the count)",
        ),
        _OFFSET,
        _CURSOR,
    ]


def list_parameters() -> list[Parameter]:
    """The paging parameters of ``/stream/`` (long names)."""
    return [
        _limit(
            datastream_settings.LIST_LIMIT,
            datastream_settings.LIST_MAX_LIMIT,
            "the largest page",
        ),
        _OFFSET,
        _CURSOR,
    ]


def _tag_filters() -> dict[str, Any]:
    operators = "|".join(sorted(OPERATORS))
    return {
        "name": "tags",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "description": (
            "Tag filters, each a parameter `tags__<tag>[__<tag>…][__<operator>]=<value>` "
            f"(operators: {', '.join(sorted(OPERATORS))}); `in`, `nin` and `all` take "
            "comma-separated and/or repeated values. `true`/`false`, `null`, integers and "
            "finite decimals are matched as such, everything else as a string."
        ),
        "schema": {
            "type": "object",
            "propertyNames": {
                "pattern": rf"^tags__[A-Za-z0-9_]{{1,20}}(__({operators}))?$",
            },
            "additionalProperties": {"type": "string", "maxLength": 50},
            "maxProperties": 3,
        },
    }


# Response schemas ----------------------------------------------------------------------------

_OPEN = {
    "type": "boolean",
    "description": "`true` on a bucket still open, added by `open_bucket`.",
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _components() -> dict[str, Any]:
    granularity_names = [g.name for g in Granularity.values]
    uri = {"type": "string"}
    time = {"type": "string", "description": "ISO 8601 in UTC with `Z` (by default)."}
    stream_properties = {
        "id": {"type": "string"},
        "resource_uri": uri,
        "tags": {"type": "object"},
        "value_downsamplers": {
            "type": "array",
            "items": {"type": "string", "enum": list(VALUE_DOWNSAMPLERS)},
        },
        "time_downsamplers": {
            "type": "array",
            "items": {"type": "string", "enum": list(TIME_DOWNSAMPLERS)},
        },
        "highest_granularity": {"type": "string", "enum": granularity_names},
        "earliest_datapoint": _nullable(time),
        "latest_datapoint": _nullable(time),
        "value_type": {"type": "string", "enum": list(VALUE_TYPES)},
        "last_downsampling_error": {
            "type": "object",
            "description": "The stream's last downsampling failure, present only after one; "
            "removed when the stream is downsampled again.",
            "required": ["at", "error"],
            "properties": {"at": time, "error": {"type": "string"}},
        },
    }
    stream_required = [name for name in stream_properties if name != "last_downsampling_error"]
    meta = {
        "type": "object",
        "required": ["limit", "next", "previous", "total_count", "next_cursor"],
        "properties": {
            "limit": {"type": "integer", "minimum": 0},
            "offset": _nullable({"type": "integer", "minimum": 0}),
            "total_count": {"type": "integer", "minimum": 0},
            "next": _nullable(uri),
            "previous": _nullable(uri),
            "next_cursor": _nullable({"type": "string"}),
            "downsampled_until": {
                "description": "Detail: until when the granularity is downsampled (null for raw "
                "datapoints or nothing downsampled yet).",
            },
        },
    }
    raw_datapoint = {
        "type": "object",
        "required": ["t", "v"],
        "properties": {"t": {"anyOf": [time, {"type": "integer"}]}, "v": {}, "open": _OPEN},
        "additionalProperties": False,
    }
    columns = {
        "type": "object",
        "description": "The `columns` shape: one array per key.",
        "properties": {
            "t": {"anyOf": [{"type": "array"}, {"type": "object"}]},
            "v": {"anyOf": [{"type": "array"}, {"type": "object"}]},
        },
        "additionalProperties": False,
    }
    bucket = {
        "type": "object",
        "required": ["t", "v"],
        "properties": {
            "t": {"type": "object", "propertyNames": {"enum": list(TIME_DOWNSAMPLERS.values())}},
            "v": {"type": "object", "propertyNames": {"enum": list(VALUE_DOWNSAMPLERS.values())}},
            "open": _OPEN,
        },
        "additionalProperties": False,
    }
    query_params = {
        "type": "object",
        "description": "The query as understood, under the long names.",
        "required": ["granularity", "reverse"],
        "properties": {
            "granularity": {"type": "string", "enum": granularity_names},
            "start": _nullable(time),
            "end": _nullable(time),
            "start_exclusive": _nullable(time),
            "end_exclusive": _nullable(time),
            "reverse": {"type": "boolean"},
            "value_downsamplers": _nullable(
                {"type": "array", "items": {"type": "string", "enum": list(VALUE_DOWNSAMPLERS)}}
            ),
            "time_downsamplers": _nullable(
                {"type": "array", "items": {"type": "string", "enum": list(TIME_DOWNSAMPLERS)}}
            ),
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
            "additionalProperties": False,
        },
        "Stream": {
            "type": "object",
            "required": stream_required,
            "properties": stream_properties,
            "additionalProperties": False,
        },
        "Meta": meta,
        "RawDatapoint": raw_datapoint,
        "Bucket": bucket,
        "Columns": columns,
        "QueryParams": query_params,
        "StreamList": {
            "type": "object",
            "required": ["meta", "objects"],
            "properties": {
                "meta": {"$ref": _REF + "Meta"},
                "objects": {"type": "array", "items": {"$ref": _REF + "Stream"}},
            },
        },
        "StreamSet": {
            "type": "object",
            "required": ["objects", "not_found"],
            "properties": {
                "objects": {"type": "array", "items": {"$ref": _REF + "Stream"}},
                "not_found": {"type": "array", "items": {"type": "string"}},
            },
        },
        "StreamDetail": {
            "type": "object",
            "required": [*stream_required, "datapoints", "query_params", "meta"],
            "properties": {
                **stream_properties,
                "datapoints": {
                    "anyOf": [
                        {"type": "array", "items": {"$ref": _REF + "RawDatapoint"}},
                        {"type": "array", "items": {"$ref": _REF + "Bucket"}},
                        {"$ref": _REF + "Columns"},
                    ]
                },
                "query_params": {"$ref": _REF + "QueryParams"},
                "meta": {"$ref": _REF + "Meta"},
                "open_from": {
                    "description": "`columns` shape: the time of the first open bucket added "
                    "by `open_bucket`, or null.",
                },
            },
            "additionalProperties": False,
        },
        "TopLevel": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["list_endpoint", "schema"],
                "properties": {"list_endpoint": uri, "schema": uri},
            },
        },
        "ResourceSchema": {
            "type": "object",
            "required": ["fields"],
            "properties": {"fields": {"type": "object"}, "default_limit": {"type": "integer"}},
        },
    }


# Responses -----------------------------------------------------------------------------------

_ERRORS = {
    "400": "A bad parameter; the message names it and its value.",
    "404": "No such stream (unknown or malformed id).",
    "406": "The format cannot represent this answer.",
    "503": "The datastream backend is not configured or unreachable.",
}


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
    }


def _ok(schema_name: str | None, formats: Iterable[str], description: str) -> dict[str, Any]:
    content = {}
    for name in formats:
        content_type = _CONTENT_TYPES[name]
        if name == "json" and schema_name is not None:
            content[content_type] = {"schema": {"$ref": _REF + schema_name}}
        else:
            content[content_type] = {"schema": {"type": "string"}}
    return {"description": description, "content": content, "headers": _cache_headers()}


def _cache_headers() -> dict[str, Any]:
    return {
        "ETag": {
            "description": "Entity tag of the answer; send it back in `If-None-Match`.",
            "schema": {"type": "string"},
        },
        "Cache-Control": {
            "description": "`public, max-age=…` for answers made of closed buckets only, else "
            "`no-cache`.",
            "schema": {"type": "string"},
        },
    }


def _responses(ok: dict[str, Any], errors: Iterable[str], conditional: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok}
    if conditional:
        responses["304"] = {
            "description": "Not modified: the `If-None-Match` entity tag is current.",
            "headers": _cache_headers(),
        }
    for status in errors:
        responses[status] = _error_response(_ERRORS[status])
    return responses


def _conditional_header() -> dict[str, Any]:
    return {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "Entity tags of cached copies: a current one gives 304.",
        "schema": {"type": "string"},
    }


def _operation(
    operation_id: str,
    summary: str,
    parameters: list[dict[str, Any]],
    responses: dict[str, Any],
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": parameters,
            "responses": responses,
        }
    }


_LIVE_PARAMETERS = (
    "granularity", "start", "start_exclusive", "value_downsamplers", "time_downsamplers",
    "time_format", "open_bucket",
)  # fmt: skip


def _live_operation(stream_id: dict[str, Any]) -> dict[str, Any]:
    parameters = [p for p in detail_parameters() if p.name in _LIVE_PARAMETERS]
    return _operation(
        "followStream",
        "Server-Sent Events: every new datapoint (or closed bucket) of the stream as it arrives.",
        [
            stream_id,
            *[item for parameter in parameters for item in parameter.objects()],
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "description": "Resume after this event id (sent by browsers on reconnection).",
                "schema": {"type": "string"},
            },
            {
                "name": "last_event_id",
                "in": "query",
                "required": False,
                "description": "As the `Last-Event-ID` header.",
                "schema": {"type": "string"},
            },
        ],
        {
            "200": {
                "description": "An endless `text/event-stream`.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            "400": _error_response(_ERRORS["400"]),
            "404": _error_response(_ERRORS["404"]),
        },
    )


def build_document(prefix: str = "/api/v1/", live: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API included at ``prefix`` (e.g. ``/api/v1/``);
    ``live``: the live endpoint ``stream/<id>/live/`` is there too."""
    if not prefix.endswith("/"):
        prefix += "/"
    formats = [name for name in datastream_settings.API_FORMATS if name in _CONTENT_TYPES]
    data_formats = formats
    common = [_format_parameter(formats)]
    if "jsonp" in formats:
        common.append(_CALLBACK)
    json_only = [name for name in formats if name in ("json", "jsonp", "xml")]
    stream_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The stream id (a UUID; upper case and no hyphens are accepted).",
        "schema": {"type": "string", "pattern": "^[0-9A-Fa-f-]{1,40}$"},
    }
    ids = {
        "name": "ids",
        "in": "path",
        "required": True,
        "description": "Stream ids separated by `;`.",
        "schema": {"type": "string", "pattern": "^[0-9A-Fa-f;-]{1,400}$"},
    }

    def expand(parameters: list[Parameter]) -> list[dict[str, Any]]:
        return [item for parameter in parameters for item in parameter.objects()]

    paths = {
        prefix: _operation(
            "getResources",
            "The resources of the API.",
            common,
            _responses(_ok("TopLevel", json_only, "The resources."), ["400", "406"], False),
        ),
        f"{prefix}stream/": _operation(
            "listStreams",
            "Streams, filtered by tags, in creation order, paged.",
            [*expand(list_parameters()), _tag_filters(), *common, _conditional_header()],
            _responses(_ok("StreamList", formats, "A page of streams."), ["400"], True),
        ),
        f"{prefix}stream/schema/": _operation(
            "getStreamSchema",
            "tastypie's schema of the stream resource.",
            common,
            _responses(_ok("ResourceSchema", json_only, "The schema."), ["400", "406"], False),
        ),
        f"{prefix}stream/set/{{ids}}/": _operation(
            "getStreamSet",
            "Several streams by id, in the order given.",
            [ids, *common],
            _responses(_ok("StreamSet", formats, "The streams found."), ["400"], False),
        ),
        f"{prefix}stream/{{id}}/": _operation(
            "getStream",
            "One stream and a page of its datapoints.",
            [stream_id, *expand(detail_parameters()), *common, _conditional_header()],
            _responses(
                _ok("StreamDetail", data_formats, "The stream and its datapoints."),
                ["400", "404"],
                True,
            ),
        ),
        f"{prefix}openapi.json": {
            "get": {
                "operationId": "getOpenAPI",
                "summary": "This document.",
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }
    if live:
        paths[f"{prefix}stream/{{id}}/live/"] = _live_operation(stream_id)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "django-datastream API",
            "version": "1",
            "description": (
                "Read-only time series. Every answer is JSON by default; errors are always "
                '`{"error": "<message>"}`. Every parameter has a long name and a short form.'
            ),
        },
        "paths": paths,
        "components": {"schemas": _components()},
    }
