"""The ``dummystream`` management command: options, errors, counts, flush, real time."""

from __future__ import annotations

import datetime

import pytest
from django.core.management.base import CommandError

from datastream import Granularity

UTC = datetime.UTC
MIN = datetime.datetime.min
FIVE_TYPES = "int(0,10),float(-2,2),float(0,100),enum(a,b,c),graph(6,13)"


def count(store, stream_id, granularity=Granularity.Seconds):
    return len(store.get_data(stream_id, granularity, start=MIN))


def streams(store):
    return list(store.find_streams())


def test_upstream_fixture_counts(run_command, demo_store):
    result = run_command(
        "dummystream", f"--types={FIVE_TYPES}", "--span=1h", "--no-real-time", "--seed=1"
    )
    found = streams(demo_store)
    assert [s["title"] for s in found] == [f"Stream {i}" for i in range(5)]
    for stream in found:
        assert count(demo_store, stream["stream_id"]) == 721
        # Downsampled as it goes: every complete 10-second bucket of the hour is there.
        assert count(demo_store, stream["stream_id"], Granularity.Seconds10) == 360
    # M3: the announced number of values is right (721 per stream, both ends inclusive).
    assert "Appending 3605 values (721 per stream)" in result.stdout
    assert "Done. Appended 3605 datapoints to 5 streams." in result.stdout
    assert "Back-filling" in result.stderr and "100%" in result.stderr


def test_stream_tags_and_types(run_command, demo_store):
    run_command("dummystream", f"--types={FIVE_TYPES}", "--span=1m", "--no-real-time")
    by_number = {s["stream_number"]: s for s in streams(demo_store)}
    int_stream, _, _, enum_stream, graph_stream = (by_number[i] for i in range(5))
    assert int_stream["value_type"] == "numeric"
    assert {"mean", "min", "max", "count"} <= set(int_stream["value_downsamplers"])
    assert int_stream["unit_description"] == "random, domain: 0,10"
    assert int_stream["visualization"]["type"] == "line"
    assert int_stream["visualization"]["minimum"] == 0
    assert int_stream["visualization"]["maximum"] == 10
    assert int_stream["description"]
    # M2: enum streams are 'state' charts and graph streams are hidden.
    assert enum_stream["value_type"] == "nominal"
    assert enum_stream["value_downsamplers"] == ["count"]
    assert enum_stream["visualization"]["type"] == "state"
    assert enum_stream["visualization"]["hidden"] is False
    assert graph_stream["value_type"] == "graph"
    assert graph_stream["visualization"]["type"] == "event"
    assert graph_stream["visualization"]["hidden"] is True
    values = {
        dp["v"] for dp in demo_store.get_data(enum_stream["stream_id"], Granularity.Seconds, MIN)
    }
    assert values <= {"a", "b", "c"}
    for dp in demo_store.get_data(int_stream["stream_id"], Granularity.Seconds, start=MIN):
        assert isinstance(dp["v"], int) and 0 <= dp["v"] <= 10
    for dp in demo_store.get_data(graph_stream["stream_id"], Granularity.Seconds, start=MIN):
        assert len(dp["v"]["v"]) == 6 and len(dp["v"]["e"]) == 13


def test_default_is_three_int_streams_without_span(run_command, demo_store):
    # M1: no --span and no --demo is not an error: three int streams, real time only.
    result = run_command("dummystream", "--interval=1", "--stop-after=0")
    found = streams(demo_store)
    assert len(found) == 3
    assert all(s["unit_description"] == "random, domain: 0,100" for s in found)
    assert [count(demo_store, s["stream_id"]) for s in found] == [1, 1, 1]
    assert "Done. Appended 3 datapoints to 3 streams." in result.stdout


def test_number_of_streams(run_command, demo_store):
    run_command("dummystream", "-n", "2", "-s", "30s", "-i", "10", "--no-real-time")
    found = streams(demo_store)
    assert len(found) == 2
    assert [count(demo_store, s["stream_id"]) for s in found] == [4, 4]


def test_demo_preset_with_short_span(run_command, demo_store):
    result = run_command("dummystream", "--demo", "--span=10m", "--no-real-time")
    found = streams(demo_store)
    assert [s["unit_description"] for s in found] == [
        "random, domain: 0,10",
        "random, domain: -2,2",
        "random, domain: 0,100",
    ]
    assert all(count(demo_store, s["stream_id"]) == 121 for s in found)
    assert "363 values" in result.stdout


def test_relative_span_resumes_after_existing_data(run_command, demo_store):
    run_command("dummystream", "--span=10m", "--no-real-time", "-n", "1")
    (stream,) = streams(demo_store)
    first = count(demo_store, stream["stream_id"])
    result = run_command("dummystream", "--span=10m", "--no-real-time", "-n", "1")
    # Only the seconds that passed meanwhile are added, never overlapping data.
    assert count(demo_store, stream["stream_id"]) - first <= 3
    assert "Done." in result.stdout


def test_fixed_span_and_overlap_guard(run_command, demo_store):
    run_command(
        "dummystream", "-n", "1", "--span", "2020-01-01T00:00:00", "2020-01-01T00:01:00",
        "--no-real-time",
    )  # fmt: skip
    (stream,) = streams(demo_store)
    assert count(demo_store, stream["stream_id"]) == 13
    assert stream["earliest_datapoint"] == datetime.datetime(2020, 1, 1, tzinfo=UTC)
    assert stream["latest_datapoint"] == datetime.datetime(2020, 1, 1, 0, 1, tzinfo=UTC)
    # M4: an overlapping fixed span is refused with a clear message, nothing is written.
    with pytest.raises(CommandError, match="already have data until 2020-01-01T00:01:00"):
        run_command(
            "dummystream", "-n", "1", "--span=2020-01-01T00:00:30 2020-01-01T00:02:00",
            "--no-real-time",
        )  # fmt: skip
    assert count(demo_store, stream["stream_id"]) == 13
    run_command(
        "dummystream", "-n", "1", "--span=2020-01-01T00:01:05 2020-01-01T00:02:00",
        "--no-real-time",
    )  # fmt: skip
    assert count(demo_store, stream["stream_id"]) == 25


def test_real_time_rounds(run_command, demo_store):
    result = run_command(
        "dummystream", "-n", "2", "--span=1m", "--interval=1", "--stop-after=1", "--verbosity=2"
    )
    found = streams(demo_store)
    counts = [count(demo_store, s["stream_id"]) for s in found]
    assert counts[0] == counts[1]
    # 61 back-filled + at least the two real-time rounds (catch-up may add one more second).
    assert 63 <= counts[0] <= 70
    assert "in real time for 1 s." in result.stdout
    assert result.stdout.count("Appended ") >= 2


def test_ctrl_c_stops_cleanly_with_a_summary(run_command, demo_store, monkeypatch):
    from django_datastream.management.generator import DummyStreams

    def interrupted(self, *args, **kwargs):
        self.append_now()
        raise KeyboardInterrupt

    monkeypatch.setattr(DummyStreams, "run_real_time", interrupted)
    result = run_command("dummystream", "-n", "1", "--span=1m")
    assert "Interrupted. Appended" in result.stdout
    assert "datapoints to 1 stream." in result.stdout


def test_verbosity_zero_is_silent(run_command, demo_store):
    result = run_command("dummystream", "--span=1m", "--no-real-time", verbosity=0)
    assert result.stdout == "" and result.stderr == ""


def test_flush_noinput_removes_only_datastream_data(run_command, demo_store):
    run_command("dummystream", "--span=1m", "--no-real-time")
    assert len(streams(demo_store)) == 3
    result = run_command("dummystream", "--flush", "--noinput")
    assert streams(demo_store) == []
    assert "Removed all datastream data." in result.stdout


def test_flush_asks_first(run_command, demo_store, monkeypatch):
    run_command("dummystream", "--span=1m", "--no-real-time", "-n", "1")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    result = run_command("dummystream", "--flush")
    assert "Flush cancelled." in result.stdout
    assert len(streams(demo_store)) == 1

    def no_terminal(prompt):
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)
    assert "Flush cancelled." in run_command("dummystream", "--flush").stdout
    assert len(streams(demo_store)) == 1
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    run_command("dummystream", "--flush")
    assert streams(demo_store) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--flush", "--demo"], "Use only '--flush' parameter."),
        (["--flush", "-n", "2"], "Use only '--flush' parameter."),
        (["--flush", "--types=int"], "Use only '--flush' parameter."),
        (["--demo", "-n", "3"], "In demo mode other parameters are fixed."),
        (["--demo", "--types=int"], "In demo mode other parameters are fixed."),
        (["--types=int,foo"], "Invalid stream types string."),
        (["--types=int(1)"], "Invalid stream types string."),
        (["--types=enum()"], "Invalid stream types string."),
        (["--types=int(5,1)"], "Empty domain in 'int(5,1)': 5 > 1."),
        (["--types=float(2,-2)"], "Empty domain in 'float(2,-2)'"),
        (["--types=graph(-1,2)"], "non-negative numbers of nodes and edges"),
        (["-n", "2", "--types=int"], "Number of stream types does not match number of streams."),
        (["-n", "0"], "The number of streams must be at least 1."),
        (["--span=xh"], "Time span value must be an integer."),
        (["--span=0h"], "Time span value must be a positive integer."),
        (["--span=3y"], "Unknown time span unit 'y'."),
        (["--span=2020/01/01 2020/01/02"], "Use time format 'yyyy-mm-ddThh:mm:ss'"),
        (["--span=a b c"], "Invalid time span parameter. It should be one or two"),
        (
            ["--span=2020-01-02T00:00:00 2020-01-01T00:00:00"],
            "Time span starts (2020-01-02T00:00:00) after it ends",
        ),
        (["--no-real-time"], "Nothing to do: with --no-real-time, give a --span"),
        (["--interval=0"], "The interval must be a positive number of seconds."),
        (["--batch-size=0"], "The batch size must be a positive number of datapoints."),
        (["--stop-after=-1"], "--stop-after must not be negative."),
    ],
)
def test_errors(run_command, demo_store, args, message):
    with pytest.raises(CommandError) as raised:
        run_command("dummystream", *args)
    assert message in str(raised.value)
    assert streams(demo_store) == []


def test_conflicting_existing_streams(run_command, demo_store):
    run_command("dummystream", "--types=enum", "--span=10s", "--no-real-time")
    with pytest.raises(CommandError, match="remove them with 'dummystream --flush' first"):
        run_command("dummystream", "--types=int", "--span=10s", "--no-real-time")


def test_help_documents_every_option(capsys):
    from django_datastream.management.commands.dummystream import Command

    parser = Command().create_parser("manage.py", "dummystream")
    for action in parser._actions:
        assert action.help, action.option_strings
    names = {name for action in parser._actions for name in action.option_strings}
    assert {"--streams", "-n", "--interval", "-i", "--types", "-t", "--flush", "--demo",
            "--span", "-s", "--no-real-time", "--noinput"} <= names  # fmt: skip


def test_data_in_the_future_is_a_clear_error(run_command, demo_store):
    run_command("dummystream", "-n", "1", "--span=2100-01-01T00:00:00 2100-01-01T00:00:10",
                "--no-real-time")  # fmt: skip
    with pytest.raises(CommandError, match="Appending in real time failed: "):
        run_command("dummystream", "-n", "1", "--stop-after=0")
