"""The OpenAPI 3.1 document: valid (openapi-spec-validator), complete (every parsed parameter
with its short form, every status the API answers, the security of a protected resource), and
true: schemathesis fuzzes a live server with it, with all its checks (no 5xx, every response
conforming, schema-valid requests accepted, schema-violating ones refused), on SQLite and
MongoDB.

``DATASTREAM_FUZZ_EXAMPLES`` sets the number of generated requests (default 600 on SQLite, a
fifth of it on MongoDB, whose test server is slower); ``DATASTREAM_FUZZ_RANDOM=1`` draws new
ones on every run instead of the fixed, reproducible sequence.
"""

from __future__ import annotations

import os
import urllib.parse
import uuid
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.generation.modes import GenerationMode
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

FUZZ_EXAMPLES = int(os.environ.get("DATASTREAM_FUZZ_EXAMPLES", "600"))
FUZZ_RANDOM = os.environ.get("DATASTREAM_FUZZ_RANDOM", "") not in ("", "0")
DETAIL = "/api/v1/stream/{id}/"
LISTING = "/api/v1/stream/"


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


# Fuzzing a live server ------------------------------------------------------------------------


@pytest.fixture(params=["api_data", "mongodb_api_data"])
def live_api(request, live_server):
    """The live server serving the HTTP fixture on SQLite (a file database) and MongoDB."""
    data = request.getfixturevalue(request.param)
    with override_settings(**data.backend_settings):
        yield live_server.url, data, request.param


def realistic(
    case: Any,
    known: list[str],
    numeric: list[str],
    pick: int,
    base_url: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Make a generated case use what only the server can give (the data dependencies the
    document states in words): real stream ids most of the time (so that datapoints are
    read, not only 404s), a numeric stream for `thin`, and for a cursor the one the server
    made for the same query (none when that query has no next page)."""
    params = case.query or {}
    if case.path_parameters and "id" in case.path_parameters:
        case.path_parameters["id"] = (numeric if {"thin", "th"} & params.keys() else known)[
            pick % (len(numeric) if {"thin", "th"} & params.keys() else len(known))
        ]
    if case.path_parameters and "ids" in case.path_parameters:
        # As many ids as were generated (the schema bounds how many).
        count = len(str(case.path_parameters["ids"]).split(";"))
        case.path_parameters["ids"] = ";".join(known[(pick + i) % len(known)] for i in range(count))
    names = [name for name in ("cursor", "cu") if name in params]
    if names:
        plain = {k: v for k, v in params.items() if k not in ("cursor", "cu", "offset", "o")}
        first = case.operation.Case(
            path_parameters=case.path_parameters, query={**plain, "format": "json"}
        ).call(base_url=base_url, timeout=30, headers=headers)
        token = first.json()["meta"]["next_cursor"] if first.status_code == 200 else None
        for name in names:
            if token is None:
                del params[name]
            else:
                params[name] = token


@pytest.mark.slow
def test_the_fuzzer_with_all_checks_finds_nothing(live_api):
    base_url, data, kind = live_api
    examples = FUZZ_EXAMPLES if kind == "api_data" else FUZZ_EXAMPLES // 5
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # The live endpoint streams forever: described, not fuzzed.
    operations = [op for op in operations if not op.path.endswith("/live/")]
    # Schema-violating requests too, except on the stream list: any `tags__…` name there is a
    # filter or an ignored parameter, and schemathesis sends the extra properties it generates
    # inside a `form`/`explode` object as such parameters (it cannot tell them from violations).
    negative = [op for op in operations if op.path != LISTING]
    strategy = st.one_of(
        [op.as_strategy() for op in operations]
        + [op.as_strategy(generation_mode=GenerationMode.NEGATIVE) for op in negative]
    )
    known = [*data.ids, str(uuid.uuid4())]
    numeric = data.ids[:3]  # the fixture's int and float streams
    calls = []

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=not FUZZ_RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, pick=st.integers(0, 10_000))
    def fuzz(case, pick):
        if case.meta is None or case.meta.generation.mode.is_positive:
            realistic(case, known, numeric, pick, base_url)
        # A new connection per request: Django's test server with keep-alive waits ~40 ms per
        # answer for delayed TCP acknowledgements.
        response = case.call(base_url=base_url, timeout=30)
        calls.append(response.status_code)
        case.validate_response(response)  # every check schemathesis has

    fuzz()
    assert len(calls) >= examples
    assert max(calls) < 500
    assert sum(status == 200 for status in calls) > len(calls) // 10


def test_the_fuzzer_would_notice_a_nonconforming_answer(live_server, api_data):
    """The checks are live: a document promising a shape the API does not give fails."""
    base_url, data = live_server.url, api_data
    document = build_document()
    document["components"]["schemas"]["StreamDetail"]["properties"]["id"] = {"type": "integer"}
    schema = schemathesis.openapi.from_dict(document)
    op = schema.find_operation_by_label(f"GET {DETAIL}")
    case = op.Case(path_parameters={"id": data.ids[0]}, query={"l": 1})
    with override_settings(**data.backend_settings):
        response = case.call(base_url=base_url, timeout=30)
    assert response.status_code == 200
    try:
        case.validate_response(response)
    except BaseExceptionGroup as group:  # schemathesis raises a group of failures
        messages = [str(failure) for failure in group.exceptions]
        assert any('is not of type "integer"' in message for message in messages), messages
    else:
        raise AssertionError("the nonconforming answer went unnoticed")
    assert urllib.parse.urlsplit(base_url).hostname in ("localhost", "127.0.0.1")


def etag_of(response):
    headers = {key.lower(): value for key, value in response.headers.items()}
    etag = headers["etag"]
    return etag[0] if isinstance(etag, list) else etag


def test_cursor_pages_csv_ndjson_and_304_answers_conform(live_server, api_data):
    """Answers the fuzzer rarely reaches: pages by a valid cursor, streamed exports, 304."""
    schema = schemathesis.openapi.from_dict(build_document())
    detail = schema.find_operation_by_label(f"GET {DETAIL}")
    listing = schema.find_operation_by_label(f"GET {LISTING}")
    with override_settings(**api_data.backend_settings):
        for op, path, params in [
            (detail, {"id": api_data.ids[0]}, {"l": 3, "g": "m"}),
            (detail, {"id": api_data.ids[0]}, {"l": 3, "r": "1"}),
            (listing, {}, {"l": 2}),
        ]:
            first = op.Case(path_parameters=path, query=params).call(
                base_url=live_server.url, timeout=30
            )
            op.validate_response(first)
            cursor = first.json()["meta"]["next_cursor"]
            for extra in ({"cu": cursor}, {"cursor": cursor, "format": "csv"},
                          {"cu": cursor, "format": "ndjson"}):  # fmt: skip
                case = op.Case(path_parameters=path, query={**params, **extra})
                response = case.call(base_url=live_server.url, timeout=30)
                assert response.status_code == 200
                case.validate_response(response)
            case = op.Case(
                path_parameters=path, query=params, headers={"If-None-Match": etag_of(first)}
            )
            response = case.call(base_url=live_server.url, timeout=30)
            assert response.status_code == 304
            case.validate_response(response)


@pytest.mark.slow
@pytest.mark.urls("private_api_urls")
def test_the_fuzzer_finds_nothing_on_a_protected_api(owned_data, live_server, transactional_db):
    """The private API of ``tests/private_api_urls.py`` (API keys, owners, a throttle): with
    the key of a user, every check passes, the one that re-sends a request without the
    credentials too (it must be refused)."""
    from django.contrib.auth.models import User
    from tastypie.models import ApiKey

    user = User.objects.create_user("alice")
    ApiKey.objects.create(user=user, key="alice-key")
    cache.clear()
    base_url = live_server.url
    schema = schemathesis.openapi.from_url(f"{base_url}/api/private/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if not op.path.endswith("/live/")]
    strategy = st.one_of([op.as_strategy() for op in operations])
    known = [*owned_data.ids, str(uuid.uuid4())]
    calls = []

    @settings(
        max_examples=max(60, FUZZ_EXAMPLES // 10),
        deadline=None,
        derandomize=not FUZZ_RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, pick=st.integers(0, 10_000))
    def fuzz(case, pick):
        key = {"Authorization": "ApiKey alice:alice-key"}
        realistic(case, known, known, pick, base_url, key)
        case.headers = {**(case.headers or {}), **key}
        response = case.call(base_url=base_url, timeout=30)
        calls.append(response.status_code)
        case.validate_response(response, headers=case.headers)

    with override_settings(**owned_data.backend_settings):
        fuzz()
    cache.clear()
    assert max(calls) < 500
    assert 200 in calls and 429 in calls  # the throttle (30 a minute) answered too
