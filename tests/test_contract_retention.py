"""Retention on every storage: policies by tags and per stream, one-off deletions, nothing
dropped before it is downsampled, and reads, counts, pages and earliest_datapoint correct
after whole chunks went."""

from __future__ import annotations

import datetime

import pytest
from concurrency_workers import SMALL_CHUNKS
from helpers import G, seconds

from datastream import Datastream, exceptions
from datastream.engine import chunkstore
from datastream.granularity import to_seconds

T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    for name, value in SMALL_CHUNKS.items():
        monkeypatch.setattr(chunkstore, name, value)


def _sensor(ds, kind="sensor", **kwargs) -> str:
    """Five days of a datapoint every 10 minutes (720 datapoints)."""
    sid = ds.ensure_stream({"kind": kind}, {}, ["mean", "count"], G.Minutes, **kwargs)
    ds.append_multiple([
        {"stream_id": sid, "value": i, "timestamp": T0 + seconds(600 * i)} for i in range(720)
    ])
    return sid


def _times(data) -> list[int]:
    """Datapoint times (a bucket's first datapoint time)."""
    return [to_seconds(d["t"]["a"] if isinstance(d["t"], dict) else d["t"]) for d in data]


def test_raw_datapoints_are_kept_until_their_buckets_exist(ds):
    sid = _sensor(ds)
    assert ds.delete_datapoints(sid, T0 + 3 * DAY) == 0  # nothing downsampled yet
    assert ds.get_data(sid, G.Minutes, start=T0).count() == 720
    ds.downsample_streams(until=T0 + 2 * DAY)
    assert ds.delete_datapoints(sid, T0 + 3 * DAY) == 288  # up to where buckets exist: 2 days
    raw = ds.get_data(sid, G.Minutes, start=T0)
    assert raw.count() == 432 and _times(raw[:1]) == [to_seconds(T0 + 2 * DAY)]
    hours = ds.get_data(sid, G.Hours, start=T0, end_exclusive=T0 + 2 * DAY)
    assert hours.count() == 48 and all(bucket["v"]["c"] == 6 for bucket in hours)


def test_a_cut_reads_as_if_the_stream_started_there(ds):
    sid = _sensor(ds)
    ds.downsample_streams(until=T0 + 6 * DAY)
    cut = T0 + DAY + seconds(1234)  # inside a chunk, not on a bucket edge
    dropped = ds.delete_datapoints(sid, cut)
    kept = [t for t in range(720) if T0 + seconds(600 * t) >= cut]
    assert dropped == 720 - len(kept)
    raw = ds.get_data(sid, G.Minutes, start=T0)
    assert raw.count() == len(kept)
    assert [d["v"] for d in raw] == kept
    assert [d["v"] for d in ds.get_data(sid, G.Minutes, start=T0, reverse=True)[5:9]] == (
        kept[::-1][5:9]
    )
    assert [d["v"] for d in raw[100:103]] == kept[100:103]
    # Buckets are kept (raw only was asked for): every hour but the latest datapoint's.
    assert ds.get_data(sid, G.Hours, start=T0).count() == 5 * 24 - 1
    assert ds.backend.load_stream(sid)["earliest_datapoint"] == to_seconds(T0)
    ten = ds.delete_datapoints(sid, T0 + 2 * DAY, G.Minutes10)
    assert ten == 2 * 144
    minutes10 = ds.get_data(sid, G.Minutes10, start=T0)
    assert _times(minutes10[:1]) == [to_seconds(T0 + 2 * DAY)]  # none before: not empty ones
    assert minutes10.count() == 3 * 144 - 1
    # Once every series was cut, earliest_datapoint moves to the first datapoint kept at any
    # granularity: here the first raw one after the cut.
    for granularity in (G.Hours, G.Hours6, G.Days):
        ds.delete_datapoints(sid, T0 + 2 * DAY, granularity)
    assert ds.backend.load_stream(sid)["earliest_datapoint"] == to_seconds(T0 + DAY) + 1800


def test_policies_match_by_tags_and_a_stream_policy_wins(make_backend):
    now = [T0 + 10 * DAY]
    ds = Datastream(make_backend(clock=lambda: now[0]))
    sensor = _sensor(ds)
    other = _sensor(ds, "other")
    own = _sensor(ds, "own", retention={"raw": "9d"})
    ds.downsample_streams(until=T0 + 6 * DAY)
    rules = [{"tags": {"kind": "sensor"}, "keep": {"raw": "7d", "10minutes": "8d", "days": None}},
             {"tags": {"kind": "own"}, "keep": {"raw": "1d"}}]
    dropped = ds.enforce_retention(rules)
    assert dropped == 432 + 288 + 144
    assert ds.get_data(sensor, G.Minutes, start=T0).count() == 720 - 432
    assert ds.get_data(sensor, G.Minutes10, start=T0).count() == 719 - 288
    assert ds.get_data(sensor, G.Days, start=T0).count() == 4
    assert ds.get_data(other, G.Minutes, start=T0).count() == 720  # no rule matches
    assert ds.get_data(own, G.Minutes, start=T0).count() == 720 - 144  # its own: 9 days
    assert ds.enforce_retention(rules) == 0  # nothing more to drop


def test_bad_policies_are_refused_with_a_clear_error(ds):
    with pytest.raises(exceptions.InvalidArgument, match="Unknown retention key 'weeks'"):
        ds.enforce_retention([{"tags": {}, "keep": {"weeks": "1d"}}])
    with pytest.raises(exceptions.InvalidArgument, match="'raw' must be a timedelta"):
        ds.ensure_stream({"k": 1}, {}, ["mean"], G.Seconds, retention={"raw": "soon"})
    with pytest.raises(exceptions.InvalidArgument, match="must be positive"):
        ds.enforce_retention([{"tags": {}, "keep": {"raw": -5}}])
    with pytest.raises(exceptions.InvalidArgument, match="rule 0"):
        ds.enforce_retention([{"keep": {"raw": "1d"}, "extra": 1}])


def test_the_downsample_command_and_the_worker_enforce_the_retention_setting(
    settings, tmp_path
):
    from io import StringIO

    from django.core.checks import run_checks
    from django.core.management import call_command

    from django_datastream.conf import get_datastream
    from django_datastream.worker.passes import downsample_pass

    settings.DATASTREAM_BACKEND = "datastream.backends.sqlite.Backend"
    settings.DATASTREAM_BACKEND_SETTINGS = {"database_name": str(tmp_path / "r.sqlite3")}
    settings.DATASTREAM_RETENTION = [{"tags": {"kind": "sensor"}, "keep": {"raw": "1d"}}]
    ds = get_datastream()
    sid = _sensor(ds)
    now = datetime.datetime.now(datetime.UTC)
    ds.append(sid, 1, now)  # the stream is in the present: five days ago is old
    out = StringIO()
    call_command("downsample", stdout=out, stderr=StringIO())
    assert "Retention dropped 720 datapoints and buckets." in out.getvalue()
    assert ds.get_data(sid, G.Minutes, start=T0).count() == 1
    ds.append(sid, 2, now + seconds(1))
    assert downsample_pass(ds).dropped == 0  # a sweep enforces it too: nothing left to drop
    settings.DATASTREAM_RETENTION = [{"tags": {}, "keep": {"raw": "a while"}}]
    errors = [m for m in run_checks() if m.id == "datastream.E010"]
    assert errors and "'raw' must be a timedelta" in errors[0].msg
