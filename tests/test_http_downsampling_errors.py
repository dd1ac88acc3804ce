"""A stream whose downsampling failed says so in the list and detail answers (every format),
until it is downsampled again: an operator sees it where they look at streams."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from django.test import Client
from helpers import G, at, new_stream, seconds

from datastream import exceptions

T0 = at(2022, 3, 1)


def _get(uri, **params):
    response = Client().get(uri, params)
    assert response.status_code == 200, response.content
    return response


def test_the_last_downsampling_error_is_shown_until_the_stream_is_downsampled_again(
    served_datastream, clock, monkeypatch
):
    ds = served_datastream
    good, bad = new_stream(ds, "good"), new_stream(ds, "bad")
    for sid in (good, bad):
        ds.append_multiple(
            [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)} for i in range(30)]
        )
    upsert = ds.backend.upsert_buckets

    def upsert_failing_for_bad(record, granularity, buckets):
        if record["stream_id"] == bad:
            raise OSError("disk on fire")  # a storage failure, as an operator would meet it
        return upsert(record, granularity, buckets)

    monkeypatch.setattr(ds.backend, "upsert_buckets", upsert_failing_for_bad)
    with pytest.raises(exceptions.DownsamplingFailed):
        ds.downsample_streams(until=T0 + seconds(100))
    failure = {"at": clock.now.isoformat().replace("+00:00", "Z"),
               "error": "OSError: disk on fire"}  # fmt: skip

    listed = orjson.loads(_get("/api/v1/stream/", limit=10).content)["objects"]
    assert {s["id"]: s["last_downsampling_error"] for s in listed} == {good: None, bad: failure}
    detail = orjson.loads(_get(f"/api/v1/stream/{bad}/", g="10seconds").content)
    assert detail["last_downsampling_error"] == failure
    assert detail["datapoints"] == []
    rows = list(csv.DictReader(io.StringIO(_get("/api/v1/stream/", format="csv").content
                                           .decode())))  # fmt: skip
    errors = {row["id"]: row["last_downsampling_error"] for row in rows}
    assert errors[good] == "" and orjson.loads(errors[bad]) == failure
    xml = _get(f"/api/v1/stream/{bad}/", format="xml").content.decode()
    assert "disk on fire" in xml

    monkeypatch.setattr(ds.backend, "upsert_buckets", upsert)
    ds.downsample_streams(until=T0 + seconds(100))
    listed = orjson.loads(_get("/api/v1/stream/", limit=10).content)["objects"]
    assert [s["last_downsampling_error"] for s in listed] == [None, None]
    detail = orjson.loads(_get(f"/api/v1/stream/{bad}/", g="10seconds").content)
    # The bucket of the latest datapoint stays open; the two before it are closed.
    assert [d["v"]["c"] for d in detail["datapoints"]] == [10, 10]
    assert detail["query_params"]["granularity"] == G.Seconds10.name
