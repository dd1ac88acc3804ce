"""Contract: every datetime the library takes may be naive (UTC), aware with a ``datetime``
time zone, or aware with a ``pytz`` zone (``localize``d), on every backend; what comes back is
always aware UTC."""

import datetime

import pytest
import pytz
from helpers import G, at, new_stream, seconds, values

UTC = datetime.UTC
LJUBLJANA = pytz.timezone("Europe/Ljubljana")
NEW_YORK = pytz.timezone("America/New_York")


def ljubljana(*args):
    return LJUBLJANA.localize(datetime.datetime(*args))


def test_pytz_timestamps_are_stored_as_the_instant_they_name(ds):
    sid = new_stream(ds)
    summer = ljubljana(2020, 6, 1, 12)  # CEST, +02:00
    winter = ljubljana(2020, 12, 1, 12)  # CET, +01:00
    appended = ds.append(sid, 1, summer)
    assert appended["datapoint"]["t"] == at(2020, 6, 1, 10)
    ds.append_multiple([
        {"stream_id": sid, "value": 2, "timestamp": winter},
        {"stream_id": sid, "value": 3, "timestamp": NEW_YORK.localize(
            datetime.datetime(2020, 12, 1, 7, 0, 1))},  # EST, 12:00:01 UTC
        {"stream_id": sid, "value": 4, "timestamp": pytz.utc.localize(
            datetime.datetime(2020, 12, 1, 12, 0, 2))},
    ])
    data = list(ds.get_data(sid, G.Seconds, start=at(2020, 1, 1)))
    assert [d["t"] for d in data] == [at(2020, 6, 1, 10), at(2020, 12, 1, 11),
                                      at(2020, 12, 1, 12, 0, 1), at(2020, 12, 1, 12, 0, 2)]
    assert all(d["t"].utcoffset() == datetime.timedelta(0) for d in data)
    assert ds.get_tags(sid)["latest_datapoint"] == at(2020, 12, 1, 12, 0, 2)


def test_pytz_timestamps_are_checked_against_the_latest_datapoint(ds):
    sid = new_stream(ds)
    ds.append(sid, 1, at(2020, 6, 1, 11))
    from datastream import exceptions

    with pytest.raises(exceptions.InvalidTimestamp, match="older"):
        ds.append(sid, 2, ljubljana(2020, 6, 1, 12))  # 10:00 UTC
    ds.append(sid, 2, ljubljana(2020, 6, 1, 13))  # 11:00 UTC, the same second: allowed
    assert values(ds.get_data(sid, G.Seconds, start=at(2020, 1, 1))) == [1, 2]


def test_pytz_bounds_of_get_data(ds):
    sid = new_stream(ds)
    ds.append_multiple([{"stream_id": sid, "value": i, "timestamp": at(2020, 6, 1, 10, 0, i)}
                        for i in range(5)])

    def read(**bounds):
        return values(ds.get_data(sid, G.Seconds, **bounds))

    assert read(start=ljubljana(2020, 6, 1, 12, 0, 1), end=ljubljana(2020, 6, 1, 12, 0, 3)) == [
        1, 2, 3]
    assert read(start_exclusive=ljubljana(2020, 6, 1, 12, 0, 1),
                end_exclusive=ljubljana(2020, 6, 1, 12, 0, 3)) == [2]
    assert read(start=NEW_YORK.localize(datetime.datetime(2020, 6, 1, 6, 0, 4))) == [4]
    assert read(start=pytz.utc.localize(datetime.datetime(2020, 6, 1, 10, 0, 3))) == [3, 4]


def test_pytz_until_of_downsample_streams(ds):
    sid = new_stream(ds, granularity=G.Seconds)
    ds.append_multiple([{"stream_id": sid, "value": i,
                         "timestamp": at(2020, 6, 1, 10) + seconds(i * 10)}
                        for i in range(8)])  # 10:00:00 .. 10:01:10
    ds.downsample_streams(until=ljubljana(2020, 6, 1, 12, 1))  # 10:01 UTC
    minutes = list(ds.get_data(sid, G.Minutes, start=at(2020, 6, 1)))
    assert [m["t"]["a"] for m in minutes] == [at(2020, 6, 1, 10)]
    assert minutes[0]["v"]["c"] == 6


def test_datetime_time_zones_and_naive_datetimes_name_the_same_instant(ds):
    sid = new_stream(ds)
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    ds.append(sid, 1, datetime.datetime(2020, 6, 1, 12, tzinfo=plus_two))
    ds.append(sid, 2, datetime.datetime(2020, 6, 1, 10, 0, 1))  # naive: UTC
    assert [d["t"] for d in ds.get_data(sid, G.Seconds, start=ljubljana(2020, 6, 1, 12))] == [
        at(2020, 6, 1, 10), at(2020, 6, 1, 10, 0, 1)]
