"""The OpenAPI 3.1 description of the API, served at ``/api/v1/openapi.json``.

The document is built at request time from the same definitions the request parsing uses:
parameter names and short forms (:data:`django_datastream.params.table.ALIASES`), granularities,
downsamplers and boolean words (:mod:`datastream.constants`, :mod:`django_datastream.params.parse`),
limits and formats (the settings and each resource's ``Meta``), so it follows the
configuration and cannot drift from the code (a test checks that every parsed parameter is
described). Paths are absolute, under the prefix the API is included at, one set per registered
resource.

What the document promises is what the API does, so that a fuzzer can hold it to it:

* Rules join parameters: a long name and its short form, ``start`` and ``start_exclusive``
  (``end`` and ``end_exclusive``), ``granularity`` and ``max_points``, ``offset`` and ``cursor``
  are never given together; ``thin`` needs ``max_points``; ``shape=columns`` is not for CSV and
  NDJSON. The API answers 400 to each. A schema can only join what it describes together, so
  the parameters of each rule are one ``form``/``explode`` object parameter (each property is a
  query parameter of its own on the wire); the others are plain parameters. Each object is
  small on purpose: one schema joining them all is beyond what fuzzers can generate from.
  (Both forms of a name with the same value are accepted too; the schema describes one.)
* Formats an endpoint cannot write (CSV and NDJSON of the resource list and of the schema) are
  not offered there; a ``callback`` must be a valid one whenever JSONP is enabled.
* Security schemes, 401 and 429 follow each resource's ``Meta.authentication``,
  ``Meta.authorization`` and ``Meta.throttle`` (tastypie's API key, HTTP basic and digest and
  session authentications, and ``MultiAuthentication`` of them); every endpoint reading the
  storage may answer 503.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from tastypie.authentication import (
    ApiKeyAuthentication,
    Authentication,
    BasicAuthentication,
    DigestAuthentication,
    MultiAuthentication,
    SessionAuthentication,
)
from tastypie.authorization import Authorization, ReadOnlyAuthorization
from tastypie.throttle import BaseThrottle

from datastream.constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS, VALUE_TYPES
from datastream.granularity import Granularity
from datastream.limits import MAX_TEXT_PATTERN_LENGTH
from datastream.tagquery import LIST_OPERATORS, OPERATORS, TEXT_OPERATORS
from datastream.thinning import MIN_POINTS

from .conf import datastream_settings
from .formats.serializer import (
    CALLBACK_PATTERN,
    CONTENT_TYPES,
    MAX_CALLBACK_LENGTH,
    RESERVED_WORDS,
)
from .ingest.openapi import write_paths
from .params.schemas import Context
from .params.table import ALIASES, LIVE, PARAMETERS, Param

__all__ = [
    "OPENAPI_VERSION",
    "Parameter",
    "ResourceAccess",
    "build_document",
    "detail_parameters",
    "list_parameters",
    "live_parameters",
    "resource_access",
]

OPENAPI_VERSION = "3.1.0"

_REF = "#/components/schemas/"
#: Formats an answer that is not a page of streams or datapoints can be written in.
_PLAIN_FORMATS = ("json", "jsonp", "xml")


# Parameters ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A query parameter: its long name, schema and description (the short form comes from
    :data:`django_datastream.params.table.ALIASES`)."""

    name: str
    schema: dict[str, Any]
    description: str

    @property
    def short(self) -> str | None:
        """The short form of the name, if there is one."""
        return ALIASES.get(self.name)

    def names(self) -> list[str]:
        """The long name, then the short form if there is one."""
        return [self.name] if self.short is None else [self.name, self.short]

    def properties(self) -> dict[str, dict[str, Any]]:
        """The properties of the query object: the long name, then the short form."""
        result = {self.name: {**self.schema, "description": self.description}}
        if self.short is not None:
            result[self.short] = {
                **self.schema,
                "description": f"Short form of `{self.name}`: {self.description}",
            }
        return result


def _parameter(param: Param, context: Context) -> Parameter:
    """The parameter of a table entry, its schema and description written for ``context``."""
    return Parameter(
        param.name, param.kind.schema(context), param.kind.describe(param.meaning, context)
    )


def _format_property(names: Iterable[str]) -> dict[str, Any]:
    return {
        "type": "string",
        "enum": list(names),
        "description": "Response format (else chosen by `callback`, then by `Accept`); "
        "another value, the empty one included, answers 400.",
    }


def _callback_property() -> dict[str, Any]:
    reserved = "|".join(sorted(RESERVED_WORDS))
    return {
        "type": "string",
        "maxLength": MAX_CALLBACK_LENGTH,
        "pattern": f"^{CALLBACK_PATTERN}$",
        "not": {"pattern": rf"(^|\.)({reserved})(\.|$)"},
        "description": "JSONP function name (answers JSONP unless `format` says otherwise): "
        "dotted JavaScript identifiers in ASCII, no reserved word. Checked whenever given.",
    }


def _format_and_callback(formats: list[str]) -> dict[str, dict[str, Any]]:
    """The ``format`` and ``callback`` properties for an endpoint answering in ``formats``."""
    properties = {"format": _format_property(formats)}
    if "jsonp" in datastream_settings.API_FORMATS:
        properties["callback"] = _callback_property()
    return properties


def _format_and_callback_parameters(formats: list[str]) -> list[dict[str, Any]]:
    """``format`` and ``callback`` as plain parameters."""
    return [
        _plain_parameter(name, schema) for name, schema in _format_and_callback(formats).items()
    ]


def detail_parameters(max_points: int | None = None) -> list[Parameter]:
    """The datapoint parameters of ``/stream/<id>/`` (long names), written from
    :data:`django_datastream.params.table.PARAMETERS`; ``max_points``: the largest page of
    datapoints (default: ``DATASTREAM_API_DETAIL_MAX_LIMIT``)."""
    if max_points is None:
        max_points = datastream_settings.DETAIL_MAX_LIMIT
    context = Context(
        max_points,
        datastream_settings.DETAIL_LIMIT,
        "no datapoints (only the metadata and the count)",
    )
    return [_parameter(param, context) for param in PARAMETERS]


def list_parameters(max_limit: int | None = None) -> list[Parameter]:
    """The paging parameters of ``/stream/`` (long names), the detail's paging entries of
    :data:`django_datastream.params.table.PARAMETERS`; ``max_limit``: the largest page
    (default: ``DATASTREAM_API_LIST_MAX_LIMIT``)."""
    if max_limit is None:
        max_limit = datastream_settings.LIST_MAX_LIMIT
    context = Context(max_limit, datastream_settings.LIST_LIMIT, "the largest page")
    return [_parameter(param, context) for param in PARAMETERS if param.role == "paging"]


def live_parameters() -> list[Parameter]:
    """The parameters of ``/stream/<id>/live/`` (long names)."""
    return [p for p in detail_parameters() if p.name in LIVE]


# Rules joining parameters --------------------------------------------------------------------

#: Parameters joined by a rule, each set one ``form``/``explode`` object: (object name, long
#: names, description). Every other parameter with a short form is an object of its own (the
#: two forms, not both), named by its long name.
_GROUPS = (
    ("granularity_or_max_points", ("granularity", "max_points", "thin"),
     "`granularity`, or `max_points` (with `thin` if asked for), not both."),
    ("range_start", ("start", "start_exclusive"), "`start` or `start_exclusive`, not both."),
    ("range_end", ("end", "end_exclusive"), "`end` or `end_exclusive`, not both."),
    ("offset_or_cursor", ("offset", "cursor"), "`offset` or `cursor`, not both."),
    ("shape_and_format", ("shape", "format"),
     "`shape=columns` is for JSON, JSONP and XML: with CSV or NDJSON it answers 400."),
)  # fmt: skip


def _absent(names: Iterable[str]) -> dict[str, Any]:
    """None of ``names`` is given."""
    return {"properties": dict.fromkeys(names, False)}


def _at_most_one(names: list[str]) -> dict[str, Any]:
    """No two of ``names`` are given (said without ``maxProperties``, which a parameter the API
    ignores would count)."""
    return {"anyOf": [_absent(other for other in names if other != name) for name in names]}


def _one_of_names(names: list[str]) -> dict[str, Any]:
    """Exactly one of ``names`` is given."""
    return {
        "anyOf": [
            {"required": [name], **_absent(other for other in names if other != name)}
            for name in names
        ]
    }


def _group_rule(
    name: str, members: Iterable[str], by_name: Mapping[str, Parameter]
) -> dict[str, Any]:
    """The schema keywords of the rule joining the parameters of group ``name``."""
    if name == "granularity_or_max_points":
        granularity = by_name["granularity"].names()
        max_points = by_name["max_points"].names()
        thin = by_name["thin"].names()
        thinned = {
            "allOf": [_one_of_names(max_points), _one_of_names(thin)],
            "properties": {
                **dict.fromkeys(granularity, False),
                **dict.fromkeys(max_points, {"minimum": MIN_POINTS}),
            },
        }
        plain = {**_at_most_one([*granularity, *max_points]), **_absent(thin)}
        return {"anyOf": [plain, thinned]}
    if name == "shape_and_format":
        shape = by_name["shape"].names()
        not_both = _at_most_one(shape)
        rows_or_plain = {
            "anyOf": [
                {"properties": dict.fromkeys(shape, {"const": "rows"})},
                {"properties": {"format": {"enum": list(_PLAIN_FORMATS)}}},
            ]
        }
        return {"allOf": [not_both, rows_or_plain]}
    return _at_most_one([name for member in members for name in by_name[member].names()])


def _object_parameter(
    name: str, description: str, properties: Mapping[str, Any], rule: Mapping[str, Any]
) -> dict[str, Any]:
    """A ``form``/``explode`` query parameter: each of ``properties`` is a query parameter on
    the wire, and ``rule`` (schema keywords) joins them."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "description": description,
        "schema": {
            "type": "object",
            "properties": dict(properties),
            "additionalProperties": False,
            **rule,
        },
    }


def _query_parameters(
    parameters: list[Parameter], extra: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The OpenAPI parameters of ``parameters`` and of the ``extra`` properties (``format``,
    ``callback``…): the parameters a rule joins are one ``form``/``explode`` object (each
    property is a query parameter on the wire), and so is each long name with its short form;
    the others are plain parameters."""
    by_name = {p.name: p for p in parameters}
    extra = dict(extra)
    result = []
    grouped: set[str] = set()
    for name, members, description in _GROUPS:
        if not all(member in by_name or member in extra for member in members):
            continue
        properties: dict[str, Any] = {}
        for member in members:
            if member in by_name:
                properties.update(by_name[member].properties())
            else:
                properties[member] = extra.pop(member)
        grouped.update(members)
        result.append(
            _object_parameter(name, description, properties, _group_rule(name, members, by_name))
        )
    for parameter in parameters:
        if parameter.name in grouped:
            continue
        if parameter.short is None:
            result.append(_plain_parameter(parameter.name, parameter.properties()[parameter.name]))
            continue
        result.append(
            _object_parameter(
                parameter.name,
                f"`{parameter.name}` or its short form `{parameter.short}`.",
                parameter.properties(),
                _at_most_one(parameter.names()),
            )
        )
    result.extend(_plain_parameter(name, schema) for name, schema in extra.items())
    return result


def _plain_parameter(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """A query parameter of its own (``schema`` may carry its ``description``)."""
    schema = dict(schema)
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": schema.pop("description", ""),
        "schema": schema,
    }


def _tag_filters() -> dict[str, Any]:
    """The tag filters of the stream list: one tag name and an operator each."""
    name = r"^tags__[A-Za-z0-9]+(_[A-Za-z0-9]+)*__"

    def group(operators: Iterable[str]) -> str:
        return "(" + "|".join(sorted(operators)) + ")$"

    others = set(OPERATORS) - TEXT_OPERATORS - LIST_OPERATORS - {"size"}
    strings = {"type": "string"}
    return _object_parameter(
        "tags",
        "Tag filters, each a parameter `tags__<tag>[__<tag>…][__<operator>]=<value>` "
        f"(operators: {', '.join(sorted(OPERATORS))}): `tags__<tag>=<value>` is "
        f"`tags__<tag>__exact`; {', '.join(sorted(LIST_OPERATORS))} take comma-separated and/or "
        f"repeated values; `size` an integer; text operators at most {MAX_TEXT_PATTERN_LENGTH} "
        "characters. `true`/`false`, `null`, integers and finite decimals are matched as such, "
        "everything else as a string. A filter on a tag that another filter nests below "
        "(`tags__a=1&tags__a__b=2`) answers 400. The schema describes the operator forms.",
        {},
        {
            "patternProperties": {
                name + group({"size"}): {"type": "string", "pattern": r"^[+-]?[0-9]{1,18}$"},
                name + group(TEXT_OPERATORS): {
                    "type": "string",
                    "maxLength": MAX_TEXT_PATTERN_LENGTH,
                },
                # Repeated, their values add up.
                name + group(LIST_OPERATORS): {
                    "anyOf": [strings, {"type": "array", "items": strings, "minItems": 1}]
                },
                name + group(others): strings,
            }
        },
    )


# Access control ------------------------------------------------------------------------------


@dataclasses.dataclass
class ResourceAccess:
    """What a resource's ``Meta`` says about access: the security requirements and schemes of
    its authentication, and whether it may answer 401 and 429."""

    #: OpenAPI security requirements (alternatives); empty: no credentials needed.
    requirements: list[dict[str, list[str]]] = dataclasses.field(default_factory=list)
    #: Security schemes used by the requirements.
    schemes: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    #: The authentication or the authorization may refuse a request (401).
    unauthorized: bool = False
    #: ``Meta.throttle`` may refuse a request (429).
    throttled: bool = False


def _authentication_access(authentication: Any) -> tuple[list[dict[str, list[str]]], dict, bool]:
    """(requirements, schemes, anonymous) of one tastypie authentication: ``anonymous`` if a
    request without credentials gets through."""
    if isinstance(authentication, MultiAuthentication):
        requirements: list[dict[str, list[str]]] = []
        schemes: dict[str, dict[str, Any]] = {}
        anonymous = False
        for backend in authentication.backends:
            more, more_schemes, open_ = _authentication_access(backend)
            requirements += [r for r in more if r not in requirements]
            schemes.update(more_schemes)
            anonymous = anonymous or open_
        return requirements, schemes, anonymous
    if isinstance(authentication, ApiKeyAuthentication):
        return (
            [{"ApiKeyHeader": []}, {"ApiKeyUsername": [], "ApiKeyParameter": []}],
            {
                "ApiKeyHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`ApiKey <username>:<api key>` (tastypie's "
                    "ApiKeyAuthentication).",
                },
                "ApiKeyUsername": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "username",
                    "description": "The username, with `api_key` (tastypie's "
                    "ApiKeyAuthentication).",
                },
                "ApiKeyParameter": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "api_key",
                    "description": "The API key, with `username`.",
                },
            },
            False,
        )
    if isinstance(authentication, DigestAuthentication):
        return [{"DigestAuthentication": []}], {
            "DigestAuthentication": {"type": "http", "scheme": "digest"}
        }, False  # fmt: skip
    if isinstance(authentication, BasicAuthentication):
        return [{"BasicAuthentication": []}], {
            "BasicAuthentication": {"type": "http", "scheme": "basic"}
        }, False  # fmt: skip
    if isinstance(authentication, SessionAuthentication):
        cookie = getattr(settings, "SESSION_COOKIE_NAME", "sessionid")
        return [{"SessionAuthentication": []}], {
            "SessionAuthentication": {
                "type": "apiKey",
                "in": "cookie",
                "name": cookie,
                "description": "A Django session of a logged-in user.",
            }
        }, False  # fmt: skip
    # tastypie's Authentication lets everyone in; another class has rules of its own, which
    # the document can only announce by its 401 answer.
    return [], {}, type(authentication) is Authentication


def resource_access(resource: Any) -> ResourceAccess:
    """The :class:`ResourceAccess` of a tastypie resource, from its ``Meta``."""
    meta = resource._meta
    requirements, schemes, anonymous = _authentication_access(meta.authentication)
    if anonymous and requirements:
        requirements = [*requirements, {}]  # credentials are optional
    elif anonymous:
        requirements = []
    authorization = type(meta.authorization)
    return ResourceAccess(
        requirements=requirements,
        schemes=schemes,
        unauthorized=not anonymous or authorization not in (Authorization, ReadOnlyAuthorization),
        throttled=type(meta.throttle) is not BaseThrottle,
    )


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
    "400": "A bad parameter; the message names it and its value. Also the rules joining "
    "parameters: a long name and its short form with different values, `start` with "
    "`start_exclusive`, `end` with `end_exclusive`, `granularity` with `max_points`, `offset` "
    "with `cursor`, `thin` without `max_points` (or on a stream that is not numeric), "
    "`shape=columns` with CSV or NDJSON, a cursor the server did not make for this query.",
    "401": "Credentials are missing or wrong, or the authorization refuses the request.",
    "404": "No such stream (unknown or malformed id), or no such URL.",
    "406": "The format cannot represent this answer (e.g. an `Accept` header asking for CSV).",
    "429": "Too many requests: the resource's throttle refuses this one; every request past "
    "the authentication counts, whatever its answer.",
    "503": "The datastream backend is not configured or unreachable.",
}


def _error_response(status: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERRORS[status],
        "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
    }
    if status == "429":
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before the next request.",
                "schema": {"type": "string"},
            }
        }
    return response


def _ok(schema_name: str, formats: Iterable[str], description: str) -> dict[str, Any]:
    content = {}
    for name in formats:
        content_type = CONTENT_TYPES[name]
        if name == "json":
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


def _responses(
    ok: dict[str, Any], errors: Iterable[str], conditional: bool, access: ResourceAccess | None
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok}
    if conditional:
        responses["304"] = {
            "description": "Not modified: the `If-None-Match` entity tag is current.",
            "headers": _cache_headers(),
        }
    statuses = set(errors)
    if access is not None:
        statuses.add("503")
        if access.unauthorized:
            statuses.add("401")
        if access.throttled:
            statuses.add("429")
    for status in sorted(statuses):
        responses[status] = _error_response(status)
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
    access: ResourceAccess | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters,
        "responses": responses,
    }
    if access is not None and access.requirements:
        operation["security"] = access.requirements
    return {"get": operation}


# The document --------------------------------------------------------------------------------


def _stream_id() -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The stream id (a UUID; upper case and no hyphens are accepted).",
        "schema": {"type": "string", "pattern": "^[0-9A-Fa-f-]{1,40}$"},
    }


def _stream_ids(max_limit: int) -> dict[str, Any]:
    at_most = f"{{0,{max_limit - 1}}}" if max_limit else "*"
    return {
        "name": "ids",
        "in": "path",
        "required": True,
        "description": "Stream ids separated by `;`"
        + (f", at most {max_limit} (more answer 400)." if max_limit else "."),
        "schema": {"type": "string", "minLength": 1, "pattern": f"^[^;]*(;[^;]*){at_most}$"},
    }


def _resource_paths(
    prefix: str, resource: Any, formats: list[str], live: bool, suffix: str
) -> dict[str, Any]:
    """The paths of one stream resource (``suffix`` tells its operation ids apart)."""
    meta = resource._meta
    name = meta.resource_name
    access = resource_access(resource)
    base = f"{prefix}{name}/"
    plain = [f for f in formats if f in _PLAIN_FORMATS]
    max_limit = meta.max_limit if meta.max_limit is not None else datastream_settings.LIST_MAX_LIMIT
    detail_max = (
        meta.datapoints_max_limit
        if meta.datapoints_max_limit is not None
        else datastream_settings.DETAIL_MAX_LIMIT
    )
    detail = detail_parameters(detail_max)
    listing = list_parameters(max_limit)
    paths = {
        base: _operation(
            f"listStreams{suffix}",
            "Streams, filtered by tags, in creation order, paged.",
            [
                *_query_parameters(listing, _format_and_callback(formats)),
                _tag_filters(),
                _conditional_header(),
            ],
            _responses(_ok("StreamList", formats, "A page of streams."), ["400"], True, access),
            access,
        ),
        f"{base}schema/": _operation(
            f"getStreamSchema{suffix}",
            "tastypie's schema of the stream resource.",
            _format_and_callback_parameters(plain),
            _responses(_ok("ResourceSchema", plain, "The schema."), ["400", "406"], False, access),
            access,
        ),
        f"{base}set/{{ids}}/": _operation(
            f"getStreamSet{suffix}",
            "Several streams by id, in the order given.",
            [
                _stream_ids(max_limit),
                *_format_and_callback_parameters(formats),
                _conditional_header(),
            ],
            _responses(
                _ok("StreamSet", formats, "The streams found."), ["400", "404"], True, access
            ),
            access,
        ),  # fmt: skip
        f"{base}{{id}}/": _operation(
            f"getStream{suffix}",
            "One stream and a page of its datapoints.",
            [
                _stream_id(),
                *_query_parameters(detail, _format_and_callback(formats)),
                _conditional_header(),
            ],
            _responses(
                _ok("StreamDetail", formats, "The stream and its datapoints."),
                ["400", "404"],
                True,
                access,
            ),
            access,
        ),
    }
    if live:
        paths[f"{base}{{id}}/live/"] = _live_operation(suffix, access)
    return paths


def _live_operation(suffix: str, access: ResourceAccess) -> dict[str, Any]:
    parameters = live_parameters()
    last_event_id = {
        "type": "string",
        "description": "As the `Last-Event-ID` header.",
    }
    return _operation(
        f"followStream{suffix}",
        "Server-Sent Events: every new datapoint (or closed bucket) of the stream as it arrives.",
        [
            _stream_id(),
            *_query_parameters(parameters, {"last_event_id": last_event_id}),
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "description": "Resume after this event id (sent by browsers on reconnection).",
                "schema": {"type": "string"},
            },
        ],
        _responses(
            {
                "description": "An endless `text/event-stream`.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            ["400", "404"],
            False,
            access,
        ),
        access,
    )


def _has_live(resource: Any) -> bool:
    return any("live" in (getattr(pattern, "name", None) or "") for pattern in resource.urls)


def build_document(
    prefix: str = "/api/v1/", live: bool | None = False, resources: Iterable[Any] | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API included at ``prefix`` (e.g. ``/api/v1/``).

    ``resources``: the stream resources registered on the API (default: one
    :class:`~django_datastream.resources.StreamResource`), each described under its
    ``resource_name`` with the access control of its ``Meta``. ``live``: their live endpoints
    ``<resource>/<id>/live/`` are described too (``None``: those of the resources that have
    one in their URLs).
    """
    if not prefix.endswith("/"):
        prefix += "/"
    if resources is None:
        from .resources import StreamResource

        resources = [StreamResource()]
    formats = [name for name in datastream_settings.API_FORMATS if name in CONTENT_TYPES]
    plain = [f for f in formats if f in _PLAIN_FORMATS]
    paths: dict[str, Any] = {
        prefix: _operation(
            "getResources",
            "The resources of the API.",
            _format_and_callback_parameters(plain),
            _responses(_ok("TopLevel", plain, "The resources."), ["400", "406"], False, None),
        ),
    }
    schemes: dict[str, dict[str, Any]] = {}
    for resource in sorted(resources, key=lambda r: r._meta.resource_name != "stream"):
        name = resource._meta.resource_name
        suffix = "" if name == "stream" else "_" + re.sub(r"\W", "_", name)
        has_live = _has_live(resource) if live is None else live
        paths.update(_resource_paths(prefix, resource, formats, has_live, suffix))
        access = resource_access(resource)
        schemes.update(access.schemes)
        more_paths, more_schemes = write_paths(prefix, resource, suffix, access.requirements)
        for path, item in more_paths.items():
            paths.setdefault(path, item)  # /datapoints/ and /write: the first resource's
        schemes.update(more_schemes)
    paths[f"{prefix}openapi.json"] = {
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
    }
    components: dict[str, Any] = {"schemas": _components()}
    if schemes:
        components["securitySchemes"] = schemes
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "django-datastream API",
            "version": "1",
            "description": (
                "Read-only time series. Every answer is JSON by default; errors are always "
                '`{"error": "<message>"}`. Every parameter has a long name and a short form. '
                "The query parameters of an endpoint are described as one object whose "
                "properties are the parameters (`style: form`, `explode: true`), so that the "
                "rules joining them are part of its schema."
            ),
        },
        "paths": paths,
        "components": components,
    }
