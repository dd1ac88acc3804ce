"""datastream.pointbudget: the finest granularity within a point budget, at range edges."""

from __future__ import annotations

import pytest

from datastream.granularity import Granularity
from datastream.pointbudget import TimeRange, bucket_span, choose_granularity

G = Granularity
DAY = 86400
T0 = 1_700_006_400  # 2023-11-15T00:00:00Z, a day boundary


def never_called(limit: int) -> int:
    raise AssertionError("the raw count was not needed")


def raw(count: int):
    calls = []

    def count_raw(limit: int) -> int:
        calls.append(limit)
        return count

    count_raw.calls = calls
    return count_raw


@pytest.mark.parametrize(
    "granularity, time_range, span",
    [
        (G.Minutes, TimeRange(T0, T0), 1),
        (G.Minutes, TimeRange(T0, T0 + 59), 1),
        (G.Minutes, TimeRange(T0, T0 + 60), 2),  # end inclusive: 60 opens a second bucket
        (G.Minutes, TimeRange(T0, T0 + 60, end_exclusive=True), 1),
        (G.Minutes, TimeRange(T0 + 59, T0 + 60), 2),  # start rounds down to its bucket
        (G.Minutes, TimeRange(T0 + 59, T0 + 60, start_exclusive=True), 1),
        (G.Minutes, TimeRange(T0, T0 + 59, start_exclusive=True), 0),
        (G.Minutes, TimeRange(T0 + 120, T0), 0),
        (G.Hours, TimeRange(T0, T0 + DAY - 1), 24),
        (G.Hours, TimeRange(T0, T0 + DAY), 25),
        (G.Hours6, TimeRange(T0 - 1, T0 + DAY - 1), 5),
        (G.Days, TimeRange(T0 - 1, T0), 2),
        (G.Days, TimeRange(-DAY - 1, -1), 2),  # before 1970 too
    ],
)
def test_bucket_span_follows_the_get_data_rules(granularity, time_range, span):
    assert bucket_span(granularity, time_range) == span


def test_raw_count_within_budget_keeps_the_highest_granularity():
    count_raw = raw(1000)
    chosen = choose_granularity(1000, G.Seconds, TimeRange(T0, T0 + 365 * DAY), count_raw)
    assert chosen is G.Seconds
    assert count_raw.calls == [1000]


def test_one_raw_datapoint_over_budget_moves_to_a_coarser_granularity():
    # 1001 raw datapoints over 1000 seconds: 10seconds gives 100 buckets.
    chosen = choose_granularity(1000, G.Seconds, TimeRange(T0, T0 + 999), raw(1001))
    assert chosen is G.Seconds10


@pytest.mark.parametrize(
    "end, expected",
    [
        (T0 + 24 * 3600 - 1, G.Hours),  # exactly 24 hour buckets
        (T0 + 24 * 3600, G.Hours6),  # one second more opens a 25th hour
    ],
)
def test_the_budget_edge_between_two_granularities(end, expected):
    assert choose_granularity(24, G.Minutes, TimeRange(T0, end), raw(10**9)) is expected


def test_exclusive_ends_count_one_bucket_fewer():
    # [T0, T0 + 24h] spans 25 hours; excluding either end bucket brings it to 24.
    inclusive = TimeRange(T0, T0 + 24 * 3600)
    assert choose_granularity(24, G.Minutes, inclusive, raw(10**9)) is G.Hours6
    end_excluded = TimeRange(T0, T0 + 24 * 3600, end_exclusive=True)
    assert choose_granularity(24, G.Minutes, end_excluded, raw(10**9)) is G.Hours
    start_excluded = TimeRange(T0 - 1, T0 + 24 * 3600 - 1, start_exclusive=True)
    assert choose_granularity(24, G.Minutes, start_excluded, raw(10**9)) is G.Hours


def test_days_when_even_days_give_more_than_the_budget():
    year = TimeRange(T0, T0 + 365 * DAY)
    assert choose_granularity(10, G.Seconds, year, raw(10**9)) is G.Days
    assert choose_granularity(1, G.Hours, TimeRange(T0, T0 + DAY), raw(48)) is G.Days


def test_never_finer_than_the_stream_and_days_stays_days():
    assert choose_granularity(5, G.Days, TimeRange(T0, T0 + 100 * DAY), raw(100)) is G.Days
    assert choose_granularity(100, G.Hours, TimeRange(T0, T0 + 3600), raw(2)) is G.Hours


def test_an_empty_stream_gets_its_highest_granularity():
    assert choose_granularity(1, G.Minutes, None, never_called) is G.Minutes


def test_budget_one_and_a_single_datapoint():
    assert choose_granularity(1, G.Seconds, TimeRange(T0, T0), raw(1)) is G.Seconds
    # Two datapoints in one minute: one minute bucket.
    assert choose_granularity(1, G.Seconds, TimeRange(T0, T0 + 59), raw(2)) is G.Minutes
