"""A stream whose downsampling failed says so in the list and detail answers (every format),
until it is downsampled again: an operator sees it where they look at streams. Other streams
have no ``last_downsampling_error`` key at all (the original's stream object, exactly)."""

from __future__ import annotations

import csv
import io
from xml.etree import ElementTree

import jsonschema
import orjson
import pytest
from django.test import Client
from helpers import G, at, new_stream, seconds

from datastream import exceptions
from django_datastream.openapi import build_document

T0 = at(2022, 3, 1)


def _get(uri, **params):
    response = Client().get(uri, params)
    assert response.status_code == 200, response.content
    return response


def _conforms(body, schema_name):
    """``body`` is valid for the OpenAPI document's schema ``schema_name``."""
    components = build_document()["components"]
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    jsonschema.Draft202012Validator(schema).validate(body)


def test_the_openapi_stream_has_last_downsampling_error_as_an_optional_object():
    schemas = build_document()["components"]["schemas"]
    for name in ("Stream", "StreamDetail"):
        assert "last_downsampling_error" in schemas[name]["properties"], name
        assert "last_downsampling_error" not in schemas[name]["required"], name
        assert "id" in schemas[name]["required"], name
    error = schemas["Stream"]["properties"]["last_downsampling_error"]
    assert error["type"] == "object" and error["required"] == ["at", "error"]


def _xml_errors(uri):
    """How many ``last_downsampling_error`` elements the XML answer at ``uri`` has."""
    root = ElementTree.fromstring(_get(uri, format="xml").content)
    return len(root.findall(".//last_downsampling_error"))


def test_the_last_downsampling_error_is_shown_until_the_stream_is_downsampled_again(
    served_datastream, clock, monkeypatch
):
    ds = served_datastream
    good, bad = new_stream(ds, "good"), new_stream(ds, "bad")
    for sid in (good, bad):
        ds.append_multiple(
            [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)} for i in range(30)]
        )
    upsert = ds._engine.data.upsert_buckets

    def upsert_failing_for_bad(record, granularity, buckets):
        if record["stream_id"] == bad:
            raise OSError("disk on fire")  # a storage failure, as an operator would meet it
        return upsert(record, granularity, buckets)

    monkeypatch.setattr(ds._engine.data, "upsert_buckets", upsert_failing_for_bad)
    with pytest.raises(exceptions.DownsamplingFailed):
        ds.downsample_streams(until=T0 + seconds(100))
    failure = {"at": clock.now.isoformat().replace("+00:00", "Z"),
               "error": "OSError: disk on fire"}  # fmt: skip

    listing = orjson.loads(_get("/api/v1/stream/", limit=10).content)
    _conforms(listing, "StreamList")
    listed = listing["objects"]
    assert {s["id"]: s.get("last_downsampling_error", "absent") for s in listed} == {
        good: "absent",
        bad: failure,
    }
    detail = orjson.loads(_get(f"/api/v1/stream/{bad}/", g="10seconds").content)
    _conforms(detail, "StreamDetail")
    assert detail["last_downsampling_error"] == failure
    assert detail["datapoints"] == []
    detail = orjson.loads(_get(f"/api/v1/stream/{good}/").content)
    _conforms(detail, "StreamDetail")
    assert "last_downsampling_error" not in detail
    rows = list(csv.DictReader(io.StringIO(_get("/api/v1/stream/", format="csv").content
                                           .decode())))  # fmt: skip
    errors = {row["id"]: row["last_downsampling_error"] for row in rows}
    assert errors[good] == "" and orjson.loads(errors[bad]) == failure
    xml = _get(f"/api/v1/stream/{bad}/", format="xml").content.decode()
    assert "<last_downsampling_error" in xml and "disk on fire" in xml
    assert _xml_errors(f"/api/v1/stream/{good}/") == 0
    assert _xml_errors("/api/v1/stream/") == 1

    monkeypatch.setattr(ds._engine.data, "upsert_buckets", upsert)
    ds.downsample_streams(until=T0 + seconds(100))
    listed = orjson.loads(_get("/api/v1/stream/", limit=10).content)["objects"]
    assert [s["id"] for s in listed] == [good, bad]
    assert all("last_downsampling_error" not in s for s in listed)
    assert _xml_errors("/api/v1/stream/") == 0
    detail = orjson.loads(_get(f"/api/v1/stream/{bad}/", g="10seconds").content)
    assert "last_downsampling_error" not in detail
    # The bucket of the latest datapoint stays open; the two before it are closed.
    assert [d["v"]["c"] for d in detail["datapoints"]] == [10, 10]
    assert detail["query_params"]["granularity"] == G.Seconds10.name
