"""The OpenAPI 3.1 document: valid (openapi-spec-validator) and complete (every parsed
parameter with its short form, every status the API answers, the security of a protected
resource). That it is true is checked by fuzzing a live server: ``test_openapi_fuzz.py``.

The module collects without the test extra; the validity checks then skip, naming it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from tastypie.authentication import (
    ApiKeyAuthentication,
    Authentication,
    BasicAuthentication,
    MultiAuthentication,
    SessionAuthentication,
)
from tastypie.throttle import CacheThrottle

from django_datastream.openapi import (
    build_document,
    detail_parameters,
    list_parameters,
    resource_access,
)
from django_datastream.params import parse as query
from django_datastream.params.parse import CHART_ALIASES
from django_datastream.resources import StreamResource

DETAIL = "/api/v1/stream/{id}/"
LISTING = "/api/v1/stream/"


def validate(document: dict[str, Any]) -> None:
    """openapi-spec-validator's verdict on ``document`` (the validator is in the test extra)."""
    validator = pytest.importorskip(
        "openapi_spec_validator",
        reason="openapi-spec-validator comes with the test extra: pip install -e '.[test]'",
    )
    validator.validate(document)


def operation(document, path):
    return document["paths"][path]["get"]


def parameter_names(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every query parameter of an operation as it is on the wire: a plain parameter, or a
    property of a ``form``/``explode`` object parameter; ``{name: schema}``."""
    names = {}
    for parameter in op["parameters"]:
        schema = parameter["schema"]
        if parameter.get("explode") and schema.get("type") == "object":
            names.update(schema.get("properties", {}))
        else:
            names[parameter["name"]] = schema
    return names


def test_the_document_is_valid_openapi_3_1():
    document = build_document(live=True)
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_parameter_is_described_with_its_short_form():
    document = build_document()
    detail = parameter_names(operation(document, DETAIL))
    listing = parameter_names(operation(document, LISTING))
    described = {p.name for p in detail_parameters()} | {p.name for p in list_parameters()}
    aliases = {**query.ALIASES, **CHART_ALIASES}
    assert set(aliases) <= described
    for long, short in aliases.items():
        names = detail if long not in ("limit", "offset", "cursor") else detail.keys() & listing
        assert {long, short} <= set(names), long
    assert {"format", "callback"} <= set(listing)
    every = {p["name"] for p in operation(document, LISTING)["parameters"]}
    assert {"If-None-Match", "tags"} <= every


def test_the_document_is_served_where_the_api_is(api):
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document == build_document("/api/v1/", live=True)
    assert "/api/v1/stream/{id}/live/" in document["paths"]
    assert api.get("/api/v1/openapi.json", {"format": "xml"}).json()["openapi"] == "3.1.0"


def test_limits_follow_the_settings():
    with override_settings(DATASTREAM_API_DETAIL_MAX_LIMIT=77, DATASTREAM_API_FORMATS=["json"]):
        document = build_document("/x/")
    detail = parameter_names(operation(document, "/x/stream/{id}/"))
    assert "larger values give 77" in detail["l"]["description"]
    assert detail["max_points"]["maximum"] == 77
    assert detail["format"]["enum"] == ["json"]
    assert "callback" not in detail  # no JSONP


def test_every_error_status_has_the_json_error_body():
    document = build_document(live=True)
    for item in document["paths"].values():
        for status, response in item["get"]["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}


def test_endpoints_reading_the_storage_may_answer_503_and_an_open_api_no_401_nor_429():
    document = build_document(live=True)
    for path, item in document["paths"].items():
        responses = item["get"]["responses"]
        reads = path.startswith("/api/v1/stream/")
        assert ("503" in responses) == reads, path
        assert "401" not in responses and "429" not in responses, path
        assert "security" not in item["get"], path
    assert "securitySchemes" not in document["components"]


def test_formats_an_endpoint_cannot_write_are_not_offered():
    document = build_document()
    for path in ("/api/v1/", "/api/v1/stream/schema/"):
        names = parameter_names(operation(document, path))
        assert names["format"]["enum"] == ["json", "jsonp", "xml"], path
        assert "callback" in names
        content = operation(document, path)["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/javascript", "application/xml"}
    names = parameter_names(operation(document, DETAIL))
    assert names["format"]["enum"] == ["json", "jsonp", "xml", "csv", "ndjson"]
    assert "" not in names["format"]["enum"]


def test_the_rules_joining_parameters_are_in_the_schema():
    """What the API answers 400 to is what the schema refuses (checked with a JSON Schema
    validator on the wire form of the query, and against the API itself)."""
    import jsonschema

    document = build_document()
    op = operation(document, DETAIL)
    validators = [
        (p["schema"], jsonschema.Draft202012Validator(p["schema"]))
        for p in op["parameters"]
        if p.get("explode") and p["schema"].get("type") == "object"
    ]

    def valid(wire: dict[str, Any]) -> bool:
        for schema, validator in validators:
            mine = {k: v for k, v in wire.items() if k in schema["properties"]}
            if not validator.is_valid(mine):
                return False
        return True

    assert valid({"start": 0, "end": 10, "g": "m", "reverse": "YES", "l": 5})
    assert valid({"mp": 10, "th": "m4"}) and valid({"max_points": 4, "thin": "lttb"})
    assert valid({"sh": "columns", "format": "xml"}) and valid({"shape": "rows", "format": "csv"})
    for refused in (
        {"start": 0, "start_exclusive": 1},
        {"s": 0, "sx": 1},
        {"end": 0, "ex": 1},
        {"g": "m", "granularity": "s"},
        {"granularity": "m", "mp": 10},
        {"thin": "m4"},
        {"thin": "m4", "mp": 3},
        {"th": "m4", "mp": 10, "g": "s"},
        {"offset": 1, "cu": "a~b"},
        {"sh": "columns", "format": "csv"},
        {"shape": "columns", "format": "ndjson"},
        {"reverse": "maybe"},
        {"r": ""},
        {"format": ""},
        {"v": "mean,"},
    ):
        assert not valid(refused), refused


# Access control in the document --------------------------------------------------------------


def make_resource(name: str, **meta: Any) -> StreamResource:
    class Meta(StreamResource.Meta):
        resource_name = name

    for key, value in meta.items():
        setattr(Meta, key, value)
    return type(f"Resource_{name}", (StreamResource,), {"Meta": Meta})()


@pytest.mark.parametrize(
    ("authentication", "requirements", "schemes"),
    [
        (Authentication(), [], set()),
        (
            ApiKeyAuthentication(),
            [{"ApiKeyHeader": []}, {"ApiKeyUsername": [], "ApiKeyParameter": []}],
            {"ApiKeyHeader", "ApiKeyUsername", "ApiKeyParameter"},
        ),
        (BasicAuthentication(), [{"BasicAuthentication": []}], {"BasicAuthentication"}),
        (SessionAuthentication(), [{"SessionAuthentication": []}], {"SessionAuthentication"}),
        (
            MultiAuthentication(BasicAuthentication(), SessionAuthentication()),
            [{"BasicAuthentication": []}, {"SessionAuthentication": []}],
            {"BasicAuthentication", "SessionAuthentication"},
        ),
        (
            MultiAuthentication(BasicAuthentication(), Authentication()),
            [{"BasicAuthentication": []}, {}],
            {"BasicAuthentication"},
        ),
    ],
)
def test_security_follows_the_resources_authentication(authentication, requirements, schemes):
    resource = make_resource("guarded", authentication=authentication)
    access = resource_access(resource)
    assert access.requirements == requirements
    assert set(access.schemes) == schemes
    document = build_document("/api/x/", live=True, resources=[resource])
    validate(document)
    assert set(document["components"].get("securitySchemes", {})) == schemes
    for path, item in document["paths"].items():
        if not path.startswith("/api/x/guarded/"):
            continue
        op = item["get"]
        assert op.get("security", []) == requirements, path
        # Credentials are needed unless one of the alternatives is none at all.
        assert ("401" in op["responses"]) == bool(schemes and {} not in requirements), path
        assert "429" not in op["responses"]
    assert document["components"]["securitySchemes" if schemes else "schemas"]
    if "SessionAuthentication" in schemes:
        cookie = document["components"]["securitySchemes"]["SessionAuthentication"]
        assert cookie == {**cookie, "type": "apiKey", "in": "cookie", "name": "sessionid"}
    if "BasicAuthentication" in schemes:
        basic = document["components"]["securitySchemes"]["BasicAuthentication"]
        assert basic == {"type": "http", "scheme": "basic"}


def test_a_throttle_declares_429_with_retry_after():
    resource = make_resource("limited", throttle=CacheThrottle(throttle_at=100))
    document = build_document("/api/x/", resources=[resource, StreamResource()])
    limited = operation(document, "/api/x/limited/{id}/")
    assert limited["operationId"] == "getStream_limited"
    assert "Retry-After" in limited["responses"]["429"]["headers"]
    assert "429" not in operation(document, "/api/x/stream/{id}/")["responses"]
    assert "401" not in limited["responses"]


@pytest.mark.urls("private_api_urls")
def test_the_private_api_serves_its_own_document(client):
    document = client.get("/api/private/openapi.json").json()
    validate(document)
    schemes = document["components"]["securitySchemes"]
    header = schemes["ApiKeyHeader"]
    assert header == {**header, "type": "apiKey", "in": "header", "name": "Authorization"}
    for name in ("stream", "plainstream"):
        for path in (f"/api/private/{name}/", f"/api/private/{name}/{{id}}/"):
            op = operation(document, path)
            assert op["security"][0] == {"ApiKeyHeader": []}
            assert {"401", "429", "503"} <= set(op["responses"])
    assert operation(document, "/api/private/plainstream/")["operationId"] == (
        "listStreams_plainstream"
    )
