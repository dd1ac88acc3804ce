"""The OpenAPI 3.1 document: valid (openapi-spec-validator), complete (every parsed parameter
with its short form), and true (schemathesis fuzzes a live server with it: no 5xx, every
response conforming).

``DATASTREAM_FUZZ_EXAMPLES`` sets the number of generated requests (default 2000);
``DATASTREAM_FUZZ_RANDOM=1`` draws new ones on every run instead of the fixed, reproducible
sequence.
"""

from __future__ import annotations

import os
import urllib.parse
import uuid

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from django_datastream import query
from django_datastream.chartquery import CHART_ALIASES
from django_datastream.openapi import build_document, detail_parameters, list_parameters

FUZZ_EXAMPLES = int(os.environ.get("DATASTREAM_FUZZ_EXAMPLES", "2000"))
FUZZ_RANDOM = os.environ.get("DATASTREAM_FUZZ_RANDOM", "") not in ("", "0")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def operation(document, path):
    return document["paths"][path]["get"]


def test_the_document_is_valid_openapi_3_1():
    document = build_document()
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_parameter_is_described_with_its_short_form():
    document = build_document()
    detail = {p["name"] for p in operation(document, "/api/v1/stream/{id}/")["parameters"]}
    listing = {p["name"] for p in operation(document, "/api/v1/stream/")["parameters"]}
    described = {p.name for p in detail_parameters()} | {p.name for p in list_parameters()}
    aliases = {**query.ALIASES, **CHART_ALIASES}
    assert set(aliases) <= described
    for long, short in aliases.items():
        names = detail if long not in ("limit", "offset", "cursor") else detail & listing
        assert {long, short} <= names, long
    assert {"format", "callback", "If-None-Match", "tags"} <= listing


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
    limit = next(
        p for p in operation(document, "/x/stream/{id}/")["parameters"] if p["name"] == "l"
    )
    assert "larger values give 77" in limit["description"]
    format_ = next(
        p for p in operation(document, "/x/stream/")["parameters"] if p["name"] == "format"
    )
    assert format_["schema"]["enum"] == ["json"]


def test_every_error_status_has_the_json_error_body():
    document = build_document()
    for item in document["paths"].values():
        for status, response in item["get"]["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}


# Fuzzing a live server ------------------------------------------------------------------------


@pytest.fixture(params=["api_data", "mongodb_api_data"])
def live_api(request, live_server):
    """The live server serving the HTTP fixture on SQLite (a file database) and MongoDB."""
    data = request.getfixturevalue(request.param)
    with override_settings(**data.backend_settings):
        yield live_server.url, data, request.param


@pytest.mark.slow
def test_the_fuzzer_finds_no_server_error_and_no_nonconforming_answer(live_api):
    base_url, data, kind = live_api
    # The full count on SQLite; a tenth on MongoDB, whose test server is slower.
    examples = FUZZ_EXAMPLES if kind == "api_data" else FUZZ_EXAMPLES // 10
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # The live endpoint streams forever: described, not fuzzed.
    operations = [op for op in operations if not op.path.endswith("/live/")]
    strategy = st.one_of([op.as_strategy() for op in operations])
    # Real stream ids most of the time, so that datapoints are read, not only 404s.
    known = [*data.ids, str(uuid.uuid4())]
    calls = []

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=not FUZZ_RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, pick=st.integers(0, len(known) - 1))
    def fuzz(case, pick):
        if case.path_parameters and "id" in case.path_parameters:
            case.path_parameters["id"] = known[pick]
        if case.path_parameters and "ids" in case.path_parameters:
            case.path_parameters["ids"] = ";".join(known[: pick + 1])
        # A new connection per request: Django's test server with keep-alive waits ~40 ms per
        # answer for delayed TCP acknowledgements.
        response = case.call(base_url=base_url, timeout=30)
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

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
    op = schema.find_operation_by_label("GET /api/v1/stream/{id}/")
    case = op.Case(path_parameters={"id": data.ids[0]}, query={"l": 1})
    with override_settings(**data.backend_settings):
        response = case.call(base_url=base_url, timeout=30)
    assert response.status_code == 200
    try:
        case.validate_response(response, checks=CHECKS)
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
    detail = schema.find_operation_by_label("GET /api/v1/stream/{id}/")
    listing = schema.find_operation_by_label("GET /api/v1/stream/")
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
                case.validate_response(response, checks=CHECKS)
            case = op.Case(
                path_parameters=path, query=params, headers={"If-None-Match": etag_of(first)}
            )
            response = case.call(base_url=live_server.url, timeout=30)
            assert response.status_code == 304
            case.validate_response(response, checks=CHECKS)
