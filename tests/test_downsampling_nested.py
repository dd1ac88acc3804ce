"""Integer streams are downsampled level by level (each granularity from the next finer one):
every bucket equals the one summarised from its raw datapoints, key for key and type for type."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from datastream.engine.buckets import summarise_range, summarise_ranges
from datastream.granularity import Granularity

LOWER = [Granularity.Seconds10, Granularity.Minutes, Granularity.Minutes10, Granularity.Hours,
         Granularity.Hours6, Granularity.Days]  # fmt: skip
NESTABLE = ["c", "s", "m", "l", "u", "q", "d"]


def _same(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


@st.composite
def scans(draw):
    origin = draw(st.integers(-10**9, 10**10))
    spread = draw(st.sampled_from([10, 600, 40_000, 3_000_000]))
    times = sorted(draw(st.lists(st.integers(0, spread), max_size=300)))
    times = [origin + t for t in times]
    small = st.integers(-1000, 1000)
    values = draw(st.lists(small | st.integers(-2**70, 2**70), min_size=len(times),
                           max_size=len(times)))  # fmt: skip
    keys = draw(st.lists(st.sampled_from(NESTABLE), min_size=1, unique=True))
    granularities = sorted(draw(st.sets(st.sampled_from(LOWER), min_size=1)),
                           key=lambda g: g.seconds)  # fmt: skip
    end = origin + spread + draw(st.integers(0, 100_000))
    targets = []
    for granularity in granularities:
        done = granularity.round_seconds(origin + draw(st.integers(0, spread)))
        until = granularity.round_seconds(end)
        if until > done:
            targets.append((granularity, done, until))
    return times, values, keys, targets


@settings(max_examples=200, deadline=None)
@given(scans())
def test_integer_buckets_built_from_finer_ones_equal_buckets_from_raw_datapoints(scan):
    times, values, keys, targets = scan
    if not targets:
        return
    lo = min(target[1] for target in targets)
    hi = max(target[2] for target in targets)
    inside = [(t, v) for t, v in zip(times, values, strict=True) if lo <= t < hi]
    times, values = [t for t, _ in inside], [v for _, v in inside]
    nested = summarise_ranges(times, values, targets, keys, "numeric", False)
    assert list(nested) == [target[0] for target in targets]
    for granularity, start, stop in targets:
        expected = summarise_range(times, values, granularity, start, stop, keys, "numeric",
                                   False, False)  # fmt: skip
        got = nested[granularity]
        assert [row[0] for row in got] == [row[0] for row in expected]
        for (_, value, time), (_, want_value, want_time) in zip(got, expected, strict=True):
            assert list(value) == list(want_value) and list(time) == list(want_time)
            for key in value:
                assert _same(value[key], want_value[key]), (granularity, key)
            for key in time:
                assert _same(time[key], want_time[key]), (granularity, key)
