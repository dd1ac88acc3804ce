"""The write endpoints in the OpenAPI document: described for a resource that takes writes
(see :func:`django_datastream.ingest.access.writes_enabled`), with its security."""

from __future__ import annotations

from typing import Any

from tastypie.authentication import ApiKeyAuthentication, MultiAuthentication

from . import access as write_access

__all__ = ["INFLUX_SCHEMES", "write_paths"]

#: The credentials InfluxDB clients send, as the resource's ApiKeyAuthentication reads them.
INFLUX_SCHEMES: dict[str, dict[str, Any]] = {
    "InfluxToken": {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "`Token <username>:<api key>` (InfluxDB 2.x clients); line protocol only.",
    },
    "InfluxBasic": {
        "type": "http", "scheme": "basic",
        "description": "username and API key as HTTP Basic credentials (InfluxDB 1.x clients); "
        "line protocol only.",
    },
}  # fmt: skip

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ERRORS = {
    "400": "A bad datapoint or line (the message names its index or line); nothing is stored.",
    "401": "Credentials missing or wrong, or the authorization refuses a stream.",
    "403": "The resource's authentication lets anyone in: anonymous writes are off.",
    "404": "No such stream.",
    "413": "The body (also once decompressed) or its number of datapoints is beyond the limits.",
    "415": "An unsupported Content-Type or Content-Encoding.",
    "429": "The resource's throttle refuses this request.",
}
_RECORDS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["v"],
        "properties": {
            "t": {"type": ["string", "number"], "description": "ISO 8601 or epoch (precision)."},
            "v": {"description": "The value."},
        },
    },
}


def _uses_api_keys(authentication: Any) -> bool:
    if isinstance(authentication, MultiAuthentication):
        return any(_uses_api_keys(backend) for backend in authentication.backends)
    return isinstance(authentication, ApiKeyAuthentication)


def _post(operation_id: str, summary: str, parameters: list[dict[str, Any]],
          content: dict[str, Any], success: str, security: list[dict[str, list[str]]]
          ) -> dict[str, Any]:
    responses = {success: {"description": "Stored."}}
    if success == "201":
        responses[success]["content"] = {"application/json": {"schema": {
            "type": "object", "properties": {"stored": {"type": "integer"}}}}}
    responses.update({status: {"description": text, **_ERROR} for status, text in _ERRORS.items()})
    operation = {"operationId": operation_id, "summary": summary, "parameters": parameters,
                 "requestBody": {"required": True, "content": content}, "responses": responses}
    if security:
        operation["security"] = security
    return {"post": operation}


def _query(name: str, description: str, values: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if values:
        schema["enum"] = values
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def write_paths(prefix: str, resource: Any, suffix: str, requirements: list[dict[str, list[str]]]
                ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``(paths, security schemes)`` of the write endpoints of ``resource`` (none when it
    takes no writes); ``requirements`` are the security requirements of its authentication."""
    meta = resource._meta
    paths: dict[str, Any] = {}
    schemes: dict[str, dict[str, Any]] = {}
    precision = _query("precision", "Unit of epoch times.", ["s", "ms", "us", "ns"])
    bodies = {"application/json": {"schema": {"oneOf": [_RECORDS, {"type": "object"}]}},
              "application/x-ndjson": {"schema": {"type": "string"}},
              "text/csv": {"schema": {"type": "string"}}}
    if write_access.writes_enabled(meta, "detail"):
        paths[f"{prefix}{meta.resource_name}/{{id}}/datapoints/"] = _post(
            f"writeDatapoints{suffix}", "Append datapoints to one stream (all or nothing).",
            [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
             precision], bodies, "201", requirements)
    if write_access.writes_enabled(meta, "list"):
        paths[f"{prefix}datapoints/"] = _post(
            f"writeBatch{suffix}", "Append datapoints to several streams (`stream_id` in each).",
            [precision], bodies, "201", requirements)
        influx = list(requirements)
        if _uses_api_keys(meta.authentication):
            influx += [{"InfluxToken": []}, {"InfluxBasic": []}]
            schemes.update(INFLUX_SCHEMES)
        text = {"text/plain": {"schema": {"type": "string"}}}
        paths[f"{prefix}write"] = _post(
            f"influxWriteV1{suffix}", "InfluxDB 1.x line protocol.",
            [_query("db", "Accepted, not used."), _query("u", "Username."),
             _query("p", "API key."),
             _query("precision", "Unit of timestamps.",
                    ["n", "ns", "u", "us", "ms", "s", "m", "h"])],
            text, "204", influx)
        paths[f"{prefix}api/v2/write"] = _post(
            f"influxWriteV2{suffix}", "InfluxDB 2.x line protocol.",
            [_query("bucket", "Accepted, not used."), _query("org", "Accepted, not used."),
             _query("precision", "Unit of timestamps.", ["ns", "us", "ms", "s"])],
            text, "204", influx)
    return paths, schemes
