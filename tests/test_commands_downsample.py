"""The ``downsample`` management command."""

from __future__ import annotations

import datetime

import pytest
from django.core.management.base import CommandError

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


def test_tag_query(run_command, demo_store):
    ids = make_streams(demo_store, numbers=(0, 1, 2))
    result = run_command("downsample", "--tag", "stream_number=1")
    assert [tens(demo_store, i) for i in ids] == [0, 19, 0]
    assert "Downsampled 1 streams" in result.stdout
    run_command("downsample", "--tag", "group.name=even", "--tag", "title=Stream 2")
    assert [tens(demo_store, i) for i in ids] == [0, 19, 19]


def test_no_matching_streams(run_command, demo_store):
    make_streams(demo_store, numbers=(0,))
    result = run_command("downsample", "--tag", "title=nothing like this")
    assert result.stdout.strip() == "No streams to downsample."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--until=2000-01-01"],
            "Use time format 'yyyy-mm-ddThh:mm:ss' (i.e. '2007-03-04T21:08:12').",
        ),
        (["--until=yesterday"], "Use time format 'yyyy-mm-ddThh:mm:ss'"),
        (["--tag", "title"], "Invalid tag query 'title'. Use key=value"),
        (["--tag", "=x"], "Invalid tag query '=x'."),
        (["--tag", "a..b=1"], "Invalid tag name 'a..b'."),
    ],
)
def test_errors(run_command, demo_store, args, message):
    with pytest.raises(CommandError) as raised:
        run_command("downsample", *args)
    assert message in str(raised.value)


def test_parse_tag_values_as_json():
    from django_datastream.management.commands.downsample import merge_queries, parse_tag

    assert parse_tag("stream_number=1") == {"stream_number": 1}
    assert parse_tag('code="1"') == {"code": "1"}
    assert parse_tag("title=Stream 1") == {"title": "Stream 1"}
    assert parse_tag("flag=true") == {"flag": True}
    assert parse_tag("a.b.c=x") == {"a": {"b": {"c": "x"}}}
    assert merge_queries([parse_tag("a.b=1"), parse_tag("a.c=2"), parse_tag("d=3")]) == {
        "a": {"b": 1, "c": 2},
        "d": 3,
    }
