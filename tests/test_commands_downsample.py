"""The ``downsample`` management command."""

from __future__ import annotations

import datetime
import io
import sqlite3

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import QueryDict

from datastream import Granularity

UTC = datetime.UTC
T0 = datetime.datetime(2000, 1, 1, 12, 0, tzinfo=UTC)


def make_streams(store, numbers=(0, 1)):
    """Streams with 200 datapoints one per second from T0, not downsampled."""
    ids = []
    for number in numbers:
        stream_id = store.ensure_stream(
            {"title": f"Stream {number}"},
            {"stream_number": number, "group": {"name": "even" if number % 2 == 0 else "odd"}},
            ["mean", "min", "max"],
            Granularity.Seconds,
        )
        store.append_multiple(
            [
                {
                    "stream_id": stream_id,
                    "value": i,
                    "timestamp": T0 + datetime.timedelta(seconds=i),
                }
                for i in range(200)
            ]
        )
        ids.append(stream_id)
    return ids


def tens(store, stream_id):
    return len(store.get_data(stream_id, Granularity.Seconds10, start=datetime.datetime.min))


def test_downsamples_every_stream(run_command, demo_store):
    ids = make_streams(demo_store)
    assert [tens(demo_store, i) for i in ids] == [0, 0]
    result = run_command("downsample", verbosity=2)
    # The 10-second bucket holding the latest datapoint stays open (19 of 20).
    assert [tens(demo_store, i) for i in ids] == [19, 19]
    assert "Downsampling." in result.stdout
    assert "Done. Downsampled 2 streams:" in result.stdout
    assert "new downsampled datapoints" in result.stdout
    assert "100% 2/2" in result.stderr
    # A second run has nothing left to do.
    again = run_command("downsample")
    assert "2 streams: 0 new downsampled datapoints" in again.stdout


def test_until(run_command, demo_store):
    (stream_id,) = make_streams(demo_store, numbers=(0,))
    run_command("downsample", "--until=2000-01-01T12:01:00")
    assert tens(demo_store, stream_id) == 6
    run_command("downsample", "-u", "2000-01-01T12:02:05")
    assert tens(demo_store, stream_id) == 12


def test_until_is_iso_8601_with_an_offset_or_utc(run_command, demo_store):
    (stream_id,) = make_streams(demo_store, numbers=(0,))
    run_command("downsample", "--until=2000-01-01T13:01:00+01:00")
    assert tens(demo_store, stream_id) == 6
    run_command("downsample", "--until=2000-01-01T12:02:05Z")
    assert tens(demo_store, stream_id) == 12


def test_tag_query(run_command, demo_store):
    ids = make_streams(demo_store, numbers=(0, 1, 2))
    result = run_command("downsample", "--tag", "stream_number=1")
    assert [tens(demo_store, i) for i in ids] == [0, 19, 0]
    assert "Done. Downsampled 1 stream: " in result.stdout
    run_command("downsample", "--tag", "group__name=even", "--tag", "title=Stream 2")
    assert [tens(demo_store, i) for i in ids] == [0, 19, 19]


def test_tag_operators_as_in_the_api(run_command, demo_store):
    ids = make_streams(demo_store, numbers=(0, 1, 2))
    result = run_command("downsample", "--tag", "stream_number__gte=1")
    assert [tens(demo_store, i) for i in ids] == [0, 19, 19]
    assert "Downsampled 2 streams" in result.stdout


def test_no_matching_streams(run_command, demo_store):
    make_streams(demo_store, numbers=(0,))
    result = run_command("downsample", "--tag", "title=nothing like this")
    assert result.stdout.strip() == "No streams to downsample."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--until=2000/01/01 12:00"],
            "Use time format 'yyyy-mm-ddThh:mm:ss' (i.e. '2007-03-04T21:08:12')",
        ),
        (["--until=yesterday"], "--until: Invalid time 'yesterday'. Use time format"),
        (["--until=2000-02-30T00:00:00"], "Invalid time '2000-02-30T00:00:00'"),
        (["--tag", "title"], "Invalid --tag 'title': use KEY=VALUE"),
        (["--tag", "=x"], "Invalid --tag '=x'"),
        (["--tag", "a____b=1"], "Invalid --tag: Invalid tag filter 'tags__a____b'='1'"),
        (["--tag", "a__size=x"], "the 'size' operator needs an integer"),
        (["--tag", "a=1", "--tag", "a__b=2"], "Conflicting tag filter"),
    ],
)
def test_errors(run_command, demo_store, args, message):
    with pytest.raises(CommandError) as raised:
        run_command("downsample", *args)
    assert message in str(raised.value)


def test_tags_parse_by_the_api_rule():
    from django_datastream.management.commands.downsample import parse_tags
    from django_datastream.params.parse import parse_tag_filters

    assert parse_tags([]) is None
    assert parse_tags(["stream_number=1"]) == {"stream_number": 1}
    assert parse_tags(["title=Stream 1", "flag=true", "a__b__c=x"]) == {
        "title": "Stream 1",
        "flag": True,
        "a": {"b": {"c": "x"}},
    }
    assert parse_tags(["a__b=1", "a__c=2", "n__in=1,2"]) == {
        "a": {"b": 1, "c": 2},
        "n": {"in": [1, 2]},
    }
    # One rule: the HTTP API reads tags__KEY=VALUE the same way.
    for tag in ("code=1", "x=null", "v=1.5", "a__all=x,y", "title=Stream 1"):
        key, _, value = tag.partition("=")
        params = QueryDict(mutable=True)
        params[f"tags__{key}"] = value
        assert parse_tags([tag]) == parse_tag_filters(params), tag


def test_a_failing_stream_is_named_and_the_others_are_downsampled(demo_store):
    ids = make_streams(demo_store, numbers=(0, 1, 2))
    # A damaged datapoint of stream 1, written behind the library's back.
    with sqlite3.connect(demo_store.backend.database_name) as connection:
        changed = connection.execute(
            "UPDATE datapoints SET value = 'damaged' WHERE stream = "
            "(SELECT seq FROM streams WHERE stream_id = ?)",
            (ids[1],),
        ).rowcount
    assert changed == 200
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("downsample", stdout=stdout, stderr=stderr)
    assert str(raised.value) == (
        f"Downsampling failed for 1 stream ({ids[1]}); the other streams were downsampled."
    )
    assert f"Downsampling stream {ids[1]} failed: JSONDecodeError" in stderr.getvalue()
    assert [tens(demo_store, i) for i in ids] == [19, 0, 19]
    assert demo_store.get_tags(ids[1])["last_downsampling_error"]["error"].startswith(
        "JSONDecodeError"
    )
