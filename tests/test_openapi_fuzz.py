"""The OpenAPI document is true: schemathesis fuzzes a live server with it, with all its
checks (no 5xx, every response conforming, schema-valid requests accepted, schema-violating
ones refused), on SQLite and MongoDB, and on a protected API.

``DATASTREAM_FUZZ_EXAMPLES`` sets the number of generated requests (default 600 on SQLite, a
fifth of it on MongoDB, whose test server is slower); ``DATASTREAM_FUZZ_RANDOM=1`` draws new
ones on every run instead of the fixed, reproducible sequence. schemathesis comes with the test
extra; without it this module is skipped, saying so.
"""

from __future__ import annotations

import os
import urllib.parse
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings

from django_datastream.openapi import build_document

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis comes with the test extra: pip install -e '.[test]'"
)
# Imported once the extra is known to be there (hypothesis comes with it too).
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402

FUZZ_EXAMPLES = int(os.environ.get("DATASTREAM_FUZZ_EXAMPLES", "600"))
FUZZ_RANDOM = os.environ.get("DATASTREAM_FUZZ_RANDOM", "") not in ("", "0")
DETAIL = "/api/v1/stream/{id}/"
LISTING = "/api/v1/stream/"


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
