"""The parts behind dummystream and datastream_demo: stream types, spans, the progress bar,
the generator."""

from __future__ import annotations

import datetime
import io
import random

import pytest

from django_datastream.management.generator import BackfillPlan, DummyStreams
from django_datastream.management.streamtypes import StreamTypeError, parse_types, random_graph
from django_datastream.management.support import (
    ProgressBar,
    TimeFormatError,
    counted,
    parse_timestamp,
)
from django_datastream.management.timespan import SpanError, parse_span

UTC = datetime.UTC


def test_types_grammar():
    types = parse_types("int, float(-2.5,1e2),enum(on,off) ,graph(3,2),int(-5,+5)")
    assert [(t.kind, t.domain, t.bounds) for t in types] == [
        ("int", "0,100", (0, 100)),
        ("float", "-2.5,1e2", (-2.5, 100.0)),
        ("enum", "on,off", ("on", "off")),
        ("graph", "3,2", (3, 2)),
        ("int", "-5,+5", (-5, 5)),
    ]
    assert [t.value_type for t in types] == ["numeric", "numeric", "nominal", "graph", "numeric"]
    for bad in ["", "int,", "integer", "int(1,2,3)", "float(a,b)", "enum(a b)", "graph(1)"]:
        with pytest.raises(StreamTypeError):
            parse_types(bad)


def test_random_values_stay_in_their_domain():
    rng = random.Random(1)
    integer, real, enum, graph = parse_types("int(-1,1),float(0,0.5),enum(x,y),graph(4,6)")
    assert {integer.random_value(rng) for _ in range(200)} == {-1, 0, 1}
    assert all(0 <= real.random_value(rng) <= 0.5 for _ in range(200))
    assert {enum.random_value(rng) for _ in range(200)} == {"x", "y"}
    value = graph.random_value(rng)
    assert [v["i"] for v in value["v"]] == [0, 1, 2, 3]
    edges = {(e["f"], e["t"]) for e in value["e"]}
    assert len(edges) == len(value["e"]) == 6 and all(a != b for a, b in edges)


def test_random_graph_edge_cases():
    rng = random.Random(2)
    complete = random_graph(rng, 3, 100)
    assert len(complete["e"]) == 6  # every directed edge without loops
    assert random_graph(rng, 1, 5) == {"v": [{"i": 0}], "e": []}
    assert random_graph(rng, 0, 0) == {"v": [], "e": []}


def test_spans():
    assert parse_span("2d").seconds == 172800
    assert parse_span("90m").seconds == 5400
    assert parse_span("15s").is_relative
    fixed = parse_span("2020-01-01T00:00:00  2020-01-01T01:00:00")
    assert not fixed.is_relative
    assert fixed.start == datetime.datetime(2020, 1, 1, tzinfo=UTC)
    assert fixed.end == datetime.datetime(2020, 1, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2007-03-04T21:08:12") == datetime.datetime(
        2007, 3, 4, 21, 8, 12, tzinfo=UTC
    )
    with pytest.raises(SpanError, match="Invalid time span parameter"):
        parse_span("")


def test_times_are_iso_8601_read_as_utc_unless_they_carry_an_offset():
    utc = datetime.datetime(2007, 3, 4, 21, 8, 12, tzinfo=UTC)
    assert parse_timestamp("2007-03-04T21:08:12Z") == utc
    assert parse_timestamp("2007-03-04T23:08:12+02:00") == utc
    assert parse_timestamp("20070304T210812") == utc
    assert parse_timestamp("2007-03-04") == datetime.datetime(2007, 3, 4, tzinfo=UTC)
    span = parse_span("2007-03-04T21:08:12Z 2007-03-05T00:00:00+01:00")
    assert (span.start, span.end) == (utc, datetime.datetime(2007, 3, 4, 23, tzinfo=UTC))
    for text in ("yesterday", "2007-13-01T00:00:00", "2007-03-04T25:00:00", ""):
        with pytest.raises(TimeFormatError, match="Use time format 'yyyy-mm-ddThh:mm:ss'"):
            parse_timestamp(text)
    with pytest.raises(SpanError, match="Invalid time 'yesterday'"):
        parse_span("yesterday 2007-03-04T21:08:12")


def test_counts_are_pluralised():
    assert [counted(n, "stream") for n in (0, 1, 2)] == ["0 streams", "1 stream", "2 streams"]


def test_backfill_plan_counts_both_ends():
    start = datetime.datetime(2020, 1, 1, tzinfo=UTC)
    plan = BackfillPlan(start, start + datetime.timedelta(hours=1), 5, 3)
    assert plan.timestamps == 721 and plan.datapoints == 2163
    stamps = list(plan.iter_timestamps())
    assert stamps[0] == start and stamps[-1] == plan.end and len(stamps) == 721
    assert BackfillPlan(start, start - datetime.timedelta(seconds=1), 5, 3).datapoints == 0


def test_real_time_schedule_does_not_drift():
    calls = []

    class Fake(DummyStreams):
        def append_now(self):
            calls.append(clock[0])
            clock[0] += 0.3  # each round takes a while
            return []

    clock = [100.0]

    def sleep(seconds):
        clock[0] += seconds

    dummy = Fake(None, [], interval=2)
    rounds = dummy.run_real_time(stop_after=7, sleep=sleep, monotonic=lambda: clock[0])
    assert rounds == 4
    assert calls == [100.0, 102.0, 104.0, 106.0]
    assert clock[0] == pytest.approx(107.0)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_and_in_a_log():
    terminal = Terminal()
    bar = ProgressBar(terminal, 4, "Work")
    for done in range(5):
        bar.update(done)
    bar.finish()
    text = terminal.getvalue()
    assert text.startswith("\rWork [") and text.endswith("100% 4/4 (0:00)\n")
    log = io.StringIO()
    bar = ProgressBar(log, 1000, "Work")
    for done in range(0, 1001, 10):
        bar.update(done)
    lines = log.getvalue().splitlines()
    assert len(lines) == 11 and lines[-1].startswith("Work [" + "#" * 30 + "] 100% 1000/1000")
    silent = io.StringIO()
    ProgressBar(silent, 10, enabled=False).update(5)
    assert silent.getvalue() == ""
